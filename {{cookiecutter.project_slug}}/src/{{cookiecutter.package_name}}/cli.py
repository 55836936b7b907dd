"""The command line: train, register, promote, roll back, verify, serve and score models.

Configuration comes from the same environment variables as the service (MODEL_STORE,
MODEL_NAME, MODEL_ALIAS, ...); see README.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TextIO

import click
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from . import runtime
from .model.features import CATEGORICAL
from .monitoring.monitor import range_report
from .monitoring.prediction_log import PredictionLog
from .service.config import ConfigError, ServerSettings, Settings, format_duration, parse_duration
from .service.errors import flatten_messages
from .service.inference import Inference, UnscorableRecordsError
from .service.records import RecordsError, read_instances, read_json_object
from .store.packing import pack
from .store.registration import register_artifact, train_example
from .store.registry import ModelStore, StoreError

WSGI_APP = "{{ cookiecutter.package_name }}.wsgi:app"
GUNICORN_CONFIG = "python:{{ cookiecutter.package_name }}.gunicorn_conf"


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Expected failures end the command with their message, not a traceback."""
    try:
        yield
    except (ConfigError, StoreError, RecordsError, OSError) as error:
        raise click.ClickException(str(error)) from None


def _settings() -> Settings:
    with _clean_errors():
        return Settings.from_env()


def _store() -> ModelStore:
    settings = _settings()
    return ModelStore.from_settings(settings)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


class DurationType(click.ParamType):
    """A duration such as 90s, 15m, 24h or 7d."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


@click.group()
def main() -> None:
    """Train, register, promote, roll back, verify, serve and score models."""


@main.command("train-example")
@click.option("--notes", default="", help="Free text kept in the version's metadata.")
def train_example_command(notes: str) -> None:
    """Train the example model, register it as the next version and promote it."""
    settings = _settings()
    store = ModelStore.from_settings(settings)
    with _clean_errors():
        version = train_example(store, notes=notes)
        store.promote(version, settings.model_alias, reason="train-example")
    metrics = store.metadata(version)["metrics"]
    scores = ", ".join(f"{name} {value:.3f}" for name, value in metrics.items())
    click.echo(
        f"Registered {store.name} version {version} in {store.directory.resolve()} "
        f"(holdout {scores}); {settings.model_alias} -> {version}"
    )


@main.group()
def models() -> None:
    """The versioned model store: register, list, show, promote, roll back, verify."""


def _model_metadata_option(command: Callable[..., None]) -> Callable[..., None]:
    """``--model-metadata``, for a framework whose models need more than their files to load."""
    if not runtime.NEEDS_MODEL_METADATA:
        return command
    return click.option(
        "--model-metadata",
        "model_metadata_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="JSON object of what loading the model needs besides its files (see README.md).",
    )(command)


@models.command("register", help=runtime.REGISTER_HELP)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@_model_metadata_option
@click.option(
    "--reference-data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of the training records, a header of feature names: the reference for drift"
    + (" and the values each category may take." if CATEGORICAL else "."),
)
@click.option(
    "--eval-data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of records the model was not fitted on, with --target: the holdout metrics.",
)
@click.option(
    "--target", help="The column of the true outcome in --eval-data (and --reference-data)."
)
@click.option("--notes", default="", help="Free text kept in the version's metadata.")
@click.option("--promote", is_flag=True, help="Point the alias at the new version.")
def register_command(
    path: Path,
    reference_data: Path | None,
    eval_data: Path | None,
    target: str | None,
    notes: str,
    promote: bool,
    model_metadata_file: Path | None = None,
) -> None:
    # Its help is the framework's (runtime.REGISTER_HELP): what PATH is, and how it is loaded.
    if target and not (reference_data or eval_data):
        raise click.UsageError("--target names a column of --eval-data or --reference-data")
    if eval_data and not target:
        raise click.UsageError("--eval-data needs --target: the column of the true outcome")
    settings = _settings()
    store = ModelStore.from_settings(settings)
    with _clean_errors():
        registered = register_artifact(
            store,
            path,
            model_metadata=read_json_object(model_metadata_file) if model_metadata_file else None,
            reference_data=reference_data,
            eval_data=eval_data,
            target=target,
            notes=notes,
        )
        for line in registered.summary(str(path)):
            click.echo(line)
        if promote:
            entry = store.promote(
                registered.version, settings.model_alias, reason=f"models register {path.name}"
            )
            if entry is None:
                click.echo(
                    f"{settings.model_alias} already points to version {registered.version}."
                )
            else:
                click.echo(f"{settings.model_alias}: {entry['from']} -> {entry['to']}")
    if not promote:
        click.echo(f"Serve it with: {sys.argv[0]} models promote {registered.version}")


def _version_rows(store: ModelStore) -> list[dict[str, Any]]:
    aliases = store.aliases()
    rows = []
    for version in store.versions():
        metadata = store.metadata(version)
        rows.append(
            {
                "version": version,
                "created_at": metadata.get("created_at"),
                "sha256": metadata.get("sha256"),
                "aliases": sorted(name for name, target in aliases.items() if target == version),
                "metrics": metadata.get("metrics") or {},
                "notes": metadata.get("notes", ""),
            }
        )
    return rows


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(as_json: bool) -> None:
    """List the registered versions with their aliases, metrics and notes."""
    store = _store()
    with _clean_errors():
        rows = _version_rows(store)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        click.echo(f"No versions of {store.name} in {store.directory}.")
        return
    for row in rows:
        metrics = " ".join(f"{name}={value:.3f}" for name, value in row["metrics"].items())
        aliases = ",".join(row["aliases"]) or "-"
        click.echo(
            f"{row['version']:>4}  {row['created_at']}  {row['sha256'][:12]}  {aliases:<12}  "
            f"{metrics}  {row['notes']}".rstrip()
        )


@models.command("show")
@click.argument("version", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_command(version: int, as_json: bool) -> None:
    """Show a version's metadata."""
    with _clean_errors():
        metadata = _store().metadata(version)
    if as_json:
        _print_json(metadata)
        return
    for key in ("created_at", "source", "notes", "framework", "serializer", "task", "sha256"):
        click.echo(f"{key:>11}: {metadata.get(key)}")
    click.echo(f"{'features':>11}: {', '.join(metadata.get('features', []))}")
    if "classes" in metadata:
        click.echo(f"{'classes':>11}: {', '.join(map(str, metadata['classes']))}")
    click.echo(f"{'metrics':>11}: {metadata.get('metrics')} ({metadata.get('metrics_on')})")
    click.echo(f"{'libraries':>11}: {metadata.get('libraries')}")


@models.command("history")
@click.option("--alias", help="Only the changes of this alias.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def history_command(alias: str | None, as_json: bool) -> None:
    """Every promotion and rollback: when, who, from which version to which, and why."""
    with _clean_errors():
        entries = [e for e in _store().history() if alias is None or e["alias"] == alias]
    if as_json:
        _print_json(entries)
        return
    for entry in entries:
        click.echo(
            f"{entry['time']}  {entry['action']:<8}  {entry['alias']}: {entry['from']} -> "
            f"{entry['to']}  by {entry['user']}  {entry['reason']}".rstrip()
        )


@models.command("promote")
@click.argument("version", type=int)
@click.option("--alias", help="The alias to move (default: MODEL_ALIAS, production).")
@click.option("--reason", default="", help="Why, for the history.")
def promote_command(version: int, alias: str | None, reason: str) -> None:
    """Point the alias at VERSION, after verifying its files."""
    settings = _settings()
    alias = alias or settings.model_alias
    with _clean_errors():
        entry = ModelStore.from_settings(settings).promote(version, alias, reason)
    if entry is None:
        click.echo(f"{alias} already points to version {version}.")
    else:
        click.echo(f"{alias}: {entry['from']} -> {entry['to']}")


@models.command("rollback")
@click.option("--alias", help="The alias to move back (default: MODEL_ALIAS, production).")
@click.option("--reason", default="", help="Why, for the history.")
def rollback_command(alias: str | None, reason: str) -> None:
    """Point the alias back to the version it pointed to before its last change."""
    settings = _settings()
    alias = alias or settings.model_alias
    with _clean_errors():
        entry = ModelStore.from_settings(settings).rollback(alias, reason)
    click.echo(f"{alias}: {entry['from']} -> {entry['to']} (rolled back)")


@models.command("verify")
@click.argument("version", type=int, required=False)
def verify_command(version: int | None) -> None:
    """Check the sha256 of every file of VERSION (default: every version)."""
    store = _store()
    versions = [version] if version is not None else store.versions()
    if not versions:
        raise click.ClickException(f"no versions of {store.name} in {store.directory}")
    failed = 0
    for number in versions:
        try:
            store.verify(number)
        except StoreError as error:
            failed += 1
            click.echo(f"FAILED {error}", err=True)
        else:
            click.echo(f"ok     version {number}")
    if failed:
        raise click.ClickException(f"{failed} of {len(versions)} versions failed verification")


@models.command("pack")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
def pack_command(output: Path) -> None:
    """Write the store as one tarball, OUTPUT (model.tar.gz, as SageMaker takes a model).

    Every version is verified first; the tarball unpacked anywhere is a store the service
    serves (SageMaker unpacks it into /opt/ml/model, where the service looks).
    """
    store = _store()
    with _clean_errors():
        versions = pack(store, output)
    listed = ", ".join(map(str, versions))
    click.echo(f"Packed {store.name} (versions {listed}; aliases {store.aliases()}) into {output}")


@main.command()
@click.option("--host", help="Interface to bind (HOST; default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (PORT; default 8000).")
@click.option("--workers", type=int, help="Worker processes (WEB_CONCURRENCY; default 2).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API under gunicorn (replaces this process)."""
    for variable, value in (("HOST", host), ("PORT", port), ("WEB_CONCURRENCY", workers)):
        if value is not None:
            os.environ[variable] = str(value)
    with _clean_errors():  # fail here, in one line, rather than in gunicorn
        Settings.from_env()
        ServerSettings.from_env()
    argv = [sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONFIG, WSGI_APP]
    os.execv(sys.executable, argv)


@main.command("predict")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    type=click.File("w"),
    default="-",
    help="Where to write one JSON prediction per line (default: stdout).",
)
@click.option("--version", type=int, help="Score with this version instead of the alias's.")
def predict_command(path: Path, output: TextIO, version: int | None) -> None:
    """Score PATH (a CSV with a header of feature names, or request-shaped JSON) offline.

    The records go through the service's own validation and predict path, in batches of
    MAX_BATCH_SIZE, with the version the alias points to.
    """
    settings = _settings()
    store = ModelStore.from_settings(settings)
    with _clean_errors():
        loaded = store.load(version if version is not None else store.resolve(settings.model_alias))
        instances, ignored = read_instances(path)
    if ignored:
        click.echo(f"Not features, left out: {', '.join(ignored)}", err=True)
    # The service's own path, with the whole file as one batch to validate (every problem is
    # reported before anything is written) and no deadline: nobody is waiting on a socket.
    inference = Inference(max_batch_size=len(instances), predict_timeout=0)
    try:
        records = inference.validate(loaded, {"instances": instances})
    except ValidationError as error:
        _refuse_records(path, flatten_messages(error.messages))
    for start, batch in _batches(records, settings.max_batch_size):
        try:
            answers = inference.score(loaded, batch)
        except UnscorableRecordsError as error:
            rows = ", ".join(str(start + index) for index in error.indices)
            message = f"the model gave no finite prediction for row(s) {rows}"
            raise click.ClickException(message) from None
        for offset, answer in enumerate(answers):
            row = {"row": start + offset, **answer, "model_version": str(loaded.version)}
            output.write(json.dumps(row, allow_nan=False) + "\n")


def _refuse_records(path: Path, problems: dict[str, list[str]]) -> NoReturn:
    lines = [f"{field}: {'; '.join(messages)}" for field, messages in problems.items()]
    raise click.ClickException(f"{path} has invalid records:\n" + "\n".join(lines))


def _batches(records: list[Any], size: int) -> Iterator[tuple[int, list[Any]]]:
    for start in range(0, len(records), size):
        yield start, records[start : start + size]


@main.group()
def monitor() -> None:
    """Drift and accuracy from the prediction log, without Prometheus."""


@monitor.command("report")
@click.option(
    "--since",
    type=DurationType(),
    default="24h",
    show_default=True,
    help="How far back to look: 90s, 15m, 24h, 7d.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def report_command(since: timedelta, as_json: bool) -> None:
    """Per version: predictions and input drift over the period, and accuracy on the feedback
    received in it (DATABASE_URL, or the SQLite log in MODEL_STORE)."""
    settings = _settings()
    store = ModelStore.from_settings(settings)
    log = PredictionLog(settings.database_url)
    until = datetime.now(UTC)
    try:
        log.create_schema()  # an empty log reports nothing rather than failing
        report = range_report(
            log,
            store,
            since=until - since,
            until=until,
            threshold=settings.drift_threshold,
            min_records=settings.drift_min_records,
        )
    except SQLAlchemyError as error:
        raise click.ClickException(f"cannot read the prediction log: {error}") from None
    finally:
        log.engine.dispose()
    if as_json:
        _print_json(report)
        return
    click.echo(
        f"Prediction log {report['prediction_log']}, last {format_duration(since)} "
        f"({report['since']} to {report['until']})"
    )
    if not report["versions"]:
        click.echo("No predictions and no feedback in this period.")
    for version, summary in report["versions"].items():
        click.echo(f"version {version}: {summary['predictions']} predictions")
        for line in _report_lines(summary):
            click.echo(f"  {line}")


def _report_lines(summary: dict[str, Any]) -> Iterator[str]:
    drift = summary.get("drift")
    if drift is not None:
        if drift.get("problem"):
            yield f"drift: none computed, {drift['problem']}"
        else:
            scores = "  ".join(
                f"{name} {item['psi']:.3f}{' DRIFTING' if item['drifting'] else ''}"
                for name, item in drift["features"].items()
            )
            yield f"drift (PSI over {drift['records']} records, threshold {drift['threshold']}): {scores}"
    quality = summary.get("quality")
    if quality is not None:
        scores = "  ".join(
            f"{name} {value:.4g}" for name, value in quality.items() if name != "feedback"
        )
        yield f"on {quality['feedback']} feedback: {scores}"
