"""Each command of the CLI, as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import runtime
from {{ cookiecutter.package_name }}.cli import GUNICORN_CONFIG, WSGI_APP, main
from {{ cookiecutter.package_name }}.model import predict
from {{ cookiecutter.package_name }}.model.example_data import load_example_data
from {{ cookiecutter.package_name }}.model.features import FEATURE_TYPES, FEATURES
from {{ cookiecutter.package_name }}.model.training import fit
from {{ cookiecutter.package_name }}.service.services import services
from {{ cookiecutter.package_name }}.store import serializer
from {{ cookiecutter.package_name }}.store.digests import hash_files
from {{ cookiecutter.package_name }}.store.registry import ModelStore


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def cell_text(value: Any) -> str:
    """A value as a CSV cell holds it (true and false for a flag)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows([[cell_text(cell) for cell in row] for row in rows])
    return path


def records_csv(path: Path, records: list[dict[str, Any]], **columns: list[Any]) -> Path:
    """``records`` as a CSV with a column per feature, and the extra ``columns`` after them."""
    rows = [[record[name] for name in FEATURES] for record in records]
    extra = [list(values) for values in zip(*columns.values(), strict=True)] or [[]] * len(rows)
    return write_csv(
        path, [*FEATURES, *columns], [[*row, *more] for row, more in zip(rows, extra, strict=True)]
    )


@pytest.fixture
def notebook_model(tmp_path: Path) -> list[str]:
    """A model trained and saved "in a notebook", outside the store: how to register it."""
    records, targets = load_example_data()
    model = fit(records, targets)
    folder = tmp_path / "notebook"
    folder.mkdir()
    serializer.save(model, folder)
    if not runtime.NEEDS_MODEL_METADATA:
        return [str(folder / serializer.ARTIFACT)]
    model_metadata = tmp_path / "model-metadata.json"
    model_metadata.write_text(json.dumps(predict.describe_model(model)))
    return [str(folder / serializer.ARTIFACT), "--model-metadata", str(model_metadata)]


@pytest.fixture
def reference_csv(tmp_path: Path) -> Path:
    """Example records with a target column, as a notebook would export them."""
    records, targets = load_example_data()
    return records_csv(tmp_path / "reference.csv", records, target=targets)


def test_train_example_registers_and_promotes_each_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_STORE", str(tmp_path / "models"))
    runner = CliRunner()
    code, output = invoke(runner, "train-example", "--notes", "first")
    assert code == 0, output
    assert "version 1" in output
    assert "production -> 1" in output
    code, output = invoke(runner, "train-example")
    assert code == 0, output
    assert "production -> 2" in output
    code, output = invoke(runner, "models", "history", "--json")
    assert [(e["from"], e["to"]) for e in json.loads(output)] == [(None, 1), (1, 2)]


def test_models_list(runner: CliRunner) -> None:
    code, output = invoke(runner, "models", "list", "--json")
    assert code == 0, output
    [row] = json.loads(output)
    assert row["version"] == 1
    assert row["aliases"] == ["production"]
    assert row["metrics"]
    code, output = invoke(runner, "models", "list")
    assert code == 0
    assert output.split()[0] == "1"
    assert "production" in output


def test_models_show(runner: CliRunner, store: ModelStore) -> None:
    code, output = invoke(runner, "models", "show", "1", "--json")
    assert code == 0, output
    assert json.loads(output) == store.metadata(1)
    code, output = invoke(runner, "models", "show", "1")
    assert code == 0
    assert store.metadata(1)["sha256"] in output
    code, output = invoke(runner, "models", "show", "9")
    assert code == 1
    assert "no version 9" in output


def test_promote_rollback_and_history(runner: CliRunner) -> None:
    assert invoke(runner, "train-example")[0] == 0
    code, output = invoke(runner, "models", "promote", "1", "--reason", "v2 is worse")
    assert (code, output.strip()) == (0, "production: 2 -> 1")
    code, output = invoke(runner, "models", "rollback", "--reason", "oops")
    assert (code, output.strip()) == (0, "production: 1 -> 2 (rolled back)")
    code, output = invoke(runner, "models", "history")
    assert code == 0
    assert "rollback  production: 1 -> 2" in output
    assert "oops" in output
    code, output = invoke(runner, "models", "promote", "2")
    assert "already points to version 2" in output


def test_verify_reports_a_tampered_version(
    runner: CliRunner, store: ModelStore, artifact_file: Callable[[int], Path]
) -> None:
    code, output = invoke(runner, "models", "verify")
    assert (code, output.strip()) == (0, "ok     version 1")
    tampered = artifact_file(1)
    tampered.write_bytes(b"tampered")
    name = tampered.relative_to(store.version_dir(1)).as_posix()
    code, output = invoke(runner, "models", "verify", "1")
    assert code == 1
    assert f"FAILED version 1 failed verification: {name}" in output


def test_pack_gives_a_tarball_the_service_serves_from_read_only_files(
    runner: CliRunner, store: ModelStore, tmp_path: Path
) -> None:
    """What SageMaker does with model.tar.gz: unpack it, read-only, and serve from it."""
    output = tmp_path / "model.tar.gz"
    code, said = invoke(runner, "models", "pack", str(output))
    assert code == 0, said
    with tarfile.open(output) as archive:
        members = archive.getmembers()
        archive.extractall(tmp_path / "opt-ml-model", filter="data")
    names = {member.name for member in members}
    assert f"{store.name}/registry.json" in names
    assert not [name for name in names if "prediction-log" in name or "/." in name]
    assert {member.mode for member in members} == {0o755, 0o644}
    assert {member.uid for member in members} == {0}
    unpacked = ModelStore(tmp_path / "opt-ml-model", store.name)
    assert unpacked.resolve("production") == 1
    assert unpacked.load(1).version == 1  # every file matches its sha256


def test_pack_refuses_a_tampered_version(
    runner: CliRunner, artifact_file: Callable[[int], Path], tmp_path: Path
) -> None:
    artifact_file(1).write_bytes(b"tampered")
    result = runner.invoke(main, ["models", "pack", str(tmp_path / "model.tar.gz")])
    assert result.exit_code == 1
    assert "failed verification" in result.output


def test_register_a_notebook_model_with_reference_data(
    runner: CliRunner, store: ModelStore, notebook_model: list[str], reference_csv: Path
) -> None:
    code, output = invoke(
        runner,
        "models",
        "register",
        *notebook_model,
        "--reference-data",
        str(reference_csv),
        "--target",
        "target",
        "--notes",
        "from the notebook",
    )
    assert code == 0, output
    assert f"version 2 in {store.directory}" in output
    assert "holdout: none measured" in output
    assert "models promote 2" in output
    metadata = store.metadata(2)
    assert metadata["notes"] == "from the notebook"
    # Measured on the data the model was fitted on: never called holdout.
    assert metadata["metrics"] == {}
    assert metadata["metrics_on"] is None
    assert metadata["training_metrics"]
    assert metadata["reference_data"].startswith("reference.csv")
    assert set(metadata["reference"]) == set(FEATURES)
    assert metadata["files"] == hash_files(Path(notebook_model[0]).parent)  # the same bytes
    assert store.resolve("production") == 1  # registering does not serve it


def test_register_with_evaluation_data_gives_holdout_metrics(
    runner: CliRunner, store: ModelStore, notebook_model: list[str], tmp_path: Path
) -> None:
    records, targets = load_example_data()
    train = records_csv(tmp_path / "train.csv", records[:100], target=targets[:100])
    test = records_csv(tmp_path / "test.csv", records[100:150], target=targets[100:150])
    arguments = ["--reference-data", str(train), "--eval-data", str(test), "--target", "target"]
    code, output = invoke(runner, "models", "register", *notebook_model, *arguments)
    assert code == 0, output
    metadata = store.metadata(2)
    assert metadata["metrics"]
    assert metadata["metrics_on"] == "test.csv, 50 records"
    assert f"holdout: {next(iter(metadata['metrics']))}" in output


def test_registering_the_same_file_again_adds_no_version(
    runner: CliRunner, store: ModelStore, notebook_model: list[str], reference_csv: Path
) -> None:
    arguments = [*notebook_model, "--reference-data", str(reference_csv)]
    assert invoke(runner, "models", "register", *arguments)[0] == 0
    code, output = invoke(runner, "models", "register", *arguments, "--promote")
    assert code == 0, output
    assert "is identical to version 2" in output
    assert "not registered again" in output
    assert store.versions() == [1, 2]
    assert store.resolve("production") == 2  # --promote promoted the identical version


def test_register_says_when_it_starts_a_new_store(
    notebook_model: list[str], reference_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_STORE", str(tmp_path / "elsewhere"))
    arguments = [*notebook_model, "--reference-data", str(reference_csv)]
    code, output = invoke(CliRunner(), "models", "register", *arguments)
    assert code == 0, output
    assert f"Note: {tmp_path / 'elsewhere'}" in output
    assert "started a new model store" in output

{%- if "category" in (cookiecutter.features | feature_types).values() %}


def test_register_needs_reference_data_for_category_features(
    runner: CliRunner, notebook_model: list[str]
) -> None:
    code, output = invoke(runner, "models", "register", *notebook_model, "--promote")
    assert code == 1
    assert "register the model with its reference data" in output
{%- else %}


def test_register_and_promote_without_reference_data(
    runner: CliRunner, store: ModelStore, notebook_model: list[str]
) -> None:
    code, output = invoke(runner, "models", "register", *notebook_model, "--promote")
    assert code == 0, output
    assert store.resolve("production") == 2
    assert store.metadata(2)["reference"] is None
{%- endif %}


def test_register_refuses_a_file_that_is_not_a_model(
    runner: CliRunner, tmp_path: Path, reference_csv: Path
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model")
    code, output = invoke(
        runner, "models", "register", str(junk), "--reference-data", str(reference_csv)
    )
    assert code == 1
    assert str(junk) in output
    assert "Traceback" not in output


def test_register_needs_reference_data_for_a_target(
    runner: CliRunner, notebook_model: list[str]
) -> None:
    code, output = invoke(runner, "models", "register", *notebook_model, "--target", "y")
    assert code == 2
    assert "--eval-data or --reference-data" in output


def test_predict_a_csv_file(runner: CliRunner, tmp_path: Path) -> None:
    records, targets = load_example_data()
    # The target column, as in the CSV given to models register: left out, with a note.
    path = records_csv(tmp_path / "batch.csv", records[:7], target=targets[:7])
    result = runner.invoke(main, ["predict", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == "Not features, left out: target\n"
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["row"] for line in lines] == list(range(7))
    assert all(line["model_version"] == "1" for line in lines)


def test_predict_a_json_file_in_batches(
    runner: CliRunner, tmp_path: Path, instance: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BATCH_SIZE", "2")
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"instances": [instance] * 5}))
    output_path = tmp_path / "out.jsonl"
    code, output = invoke(runner, "predict", str(path), "--output", str(output_path))
    assert code == 0, output
    assert len(output_path.read_text().splitlines()) == 5


# A cell each type refuses, and why.
BAD_CELLS = {
    "float": ("abc", "is not a number"),
    "int": ("2.5", "is not a whole number"),
    "bool": ("maybe", "is not true or false"),
    "category": ("", "is empty"),
}


@pytest.mark.parametrize("name", FEATURES)
def test_predict_refuses_a_cell_of_the_wrong_type(
    runner: CliRunner, tmp_path: Path, instance: dict[str, Any], name: str
) -> None:
    cell, problem = BAD_CELLS[FEATURE_TYPES[name]]
    path = records_csv(tmp_path / "bad.csv", [{**instance, name: cell}])
    code, output = invoke(runner, "predict", str(path))
    assert code == 1
    assert f"line 2, column {name}: {cell!r} {problem}" in output


@pytest.mark.parametrize(
    ("columns", "cells", "problem"),
    [
        (list(FEATURES), len(FEATURES) + 1, "line 2: more cells than the header"),
        ([*FEATURES[1:], "colour"], len(FEATURES), f"has no column {FEATURES[0]}"),
        ([*FEATURES, FEATURES[0]], len(FEATURES) + 1, "more than once"),
    ],
    ids=["extra-cells", "missing-column", "repeated"],
)
def test_predict_refuses_a_bad_csv(
    runner: CliRunner, tmp_path: Path, columns: list[str], cells: int, problem: str
) -> None:
    path = write_csv(tmp_path / "bad.csv", columns, [["1"] * cells])
    code, output = invoke(runner, "predict", str(path))
    assert code == 1
    assert problem in output
{%- if "float" in (cookiecutter.features | feature_types).values() %}


def test_predict_refuses_a_non_finite_number(
    runner: CliRunner, tmp_path: Path, instance: dict[str, Any]
) -> None:
    name = next(name for name, kind in FEATURE_TYPES.items() if kind == "float")
    path = records_csv(tmp_path / "bad.csv", [{**instance, name: "nan"}])
    code, output = invoke(runner, "predict", str(path))
    assert code == 1
    assert "is not finite" in output
{%- endif %}


def test_predict_reads_a_csv_with_a_byte_order_mark(
    runner: CliRunner, tmp_path: Path, instance: dict[str, Any]
) -> None:
    path = tmp_path / "excel.csv"
    lines = [",".join(FEATURES), ",".join(cell_text(instance[name]) for name in FEATURES)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    code, output = invoke(runner, "predict", str(path))
    assert code == 0, output
    assert json.loads(output)["row"] == 0


def test_predict_refuses_deeply_nested_json(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, output = invoke(runner, "predict", str(path))
    assert code == 1
    assert "cannot read" in output


def test_a_store_that_is_a_file_is_a_clean_error(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    monkeypatch.setenv("MODEL_STORE", str(not_a_directory))
    code, output = invoke(runner, "train-example")
    assert code == 1
    assert "Not a directory" in output


def test_predict_refuses_invalid_json_records(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"instances": [{name: [] for name in FEATURES}]}))
    code, output = invoke(runner, "predict", str(path))
    assert code == 1
    assert f"instances.0.{FEATURES[0]}: " in output


def test_serve_execs_gunicorn_with_the_service_config(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, unset_env: Callable[..., None]
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda _path, argv: calls.append(argv))
    unset_env("PORT", "WEB_CONCURRENCY")
    code, output = invoke(runner, "serve", "--port", "8123", "--workers", "3")
    assert code == 0, output
    [argv] = calls
    assert argv[1:] == ["-m", "gunicorn", "--config", GUNICORN_CONFIG, WSGI_APP]
    assert (os.environ["PORT"], os.environ["WEB_CONCURRENCY"]) == ("8123", "3")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PORT", "eighty"), ("MAX_BATCH_SIZE", "0"), ("LOG_LEVEL", "LOUD"), ("MODEL_NAME", "../x")],
)
def test_a_bad_setting_stops_a_command_with_its_name(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setattr(os, "execv", lambda *_args: pytest.fail("must not start gunicorn"))
    monkeypatch.setenv(variable, value)
    code, output = invoke(runner, "serve")
    assert code == 1
    assert output.startswith(f"Error: {variable}='{value}': ")
    assert "Traceback" not in output


def test_monitor_report_gives_drift_and_accuracy_from_the_log(
    runner: CliRunner, client: FlaskClient, records: list[dict[str, Any]]
) -> None:
    predictions = client.post("/v1/predict", json={"instances": records}).get_json()["predictions"]
    actual = predictions[0].get("label", predictions[0].get("value"))
    feedback = {"feedback": [{"id": predictions[0]["id"], "actual": actual}]}
    assert client.post("/v1/feedback", json=feedback).get_json()["stored"] == 1
    services(client.application).prediction_log.flush()

    result = runner.invoke(main, ["monitor", "report", "--since", "1h", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    version = report["versions"]["1"]
    assert version["predictions"] == len(records)
    assert version["drift"]["records"] == len(records)
    assert "DRIFT_MIN_RECORDS" in version["drift"]["problem"]  # 10 records: too few to score
    assert version["quality"]["feedback"] == 1

    text = runner.invoke(main, ["monitor", "report"])
    assert text.exit_code == 0, text.output
    assert "version 1: 10 predictions" in text.output
    assert "on 1 feedback" in text.output


def test_monitor_report_refuses_a_bad_duration(runner: CliRunner) -> None:
    result = runner.invoke(main, ["monitor", "report", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "'yesterday' is not a duration" in result.output
