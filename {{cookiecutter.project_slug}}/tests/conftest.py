"""Fixtures: the example model trained once per session, and a private copy of it per test."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.model.example_data import load_example_data
from {{ cookiecutter.package_name }}.monitoring.log_database import make_engine
from {{ cookiecutter.package_name }}.monitoring.log_tables import (
    per_record_schema,
    schema,
)
from {{ cookiecutter.package_name }}.service.app import create_app
from {{ cookiecutter.package_name }}.service.config import DEFAULT_MODEL_NAME
from {{ cookiecutter.package_name }}.service.services import services
from {{ cookiecutter.package_name }}.store.metadata import REGISTRY_FILE
from {{ cookiecutter.package_name }}.store.reference import typical_instance
from {{ cookiecutter.package_name }}.store.registration import train_example
from {{ cookiecutter.package_name }}.store.registry import ModelStore


class _CreatesMarkerWhenLoaded:
    """Unpickling this runs code: it creates a marker file. Proves what is deserialized."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


{% if cookiecutter.auth == "api_key" -%}
#: The key the tests' apps accept and their clients send, as every client must (test_auth.py
#: tries the others).
TEST_API_KEY = "test-suite-key-0123456789"


class KeyedClient(FlaskClient):
    """A test client that sends TEST_API_KEY with every request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_X_API_KEY"] = TEST_API_KEY


@pytest.fixture(autouse=True)
def clients_send_the_key() -> Iterator[None]:
    """Every app a test makes accepts TEST_API_KEY (API_KEYS: gunicorn_conf and the services
    the tests start read the environment), and every client sends it (API_KEY: the notebook's
    client reads it). A patch of its own, which a test's monkeypatch.undo() leaves in place."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("API_KEYS", TEST_API_KEY)
        patch.setenv("API_KEY", TEST_API_KEY)
        patch.setattr(Flask, "test_client_class", KeyedClient)
        yield


{% endif -%}
@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose version 1 is the example model, promoted to production; trained once."""
    root = tmp_path_factory.mktemp("trained") / "models"
    store = ModelStore(root, DEFAULT_MODEL_NAME)
    store.promote(train_example(store), "production", reason="test session")
    return root


@pytest.fixture
def store_root(trained_store: Path, tmp_path: Path) -> Path:
    """A private copy of the trained store, free to change."""
    root = tmp_path / "models"
    shutil.copytree(trained_store, root)
    return root


@pytest.fixture
def store(store_root: Path) -> ModelStore:
    """The test's model store."""
    return ModelStore(store_root, DEFAULT_MODEL_NAME)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The prediction log's database: a SQLite file, then PostgreSQL if TEST_DATABASE_URL names
    one (its prediction log tables are dropped first)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'prediction-log.sqlite3'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL names no PostgreSQL database to run this test on too")
    engine = make_engine(url)
    schema.drop_all(engine)
    per_record_schema.drop_all(engine)  # a per-record log a test made (test_prediction_log)
    engine.dispose()
    return url


@pytest.fixture
def make_app(store_root: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test's store; keyword arguments override settings."""
    apps: list[Flask] = []

    def make(**settings: str) -> Flask:
        # No threads by default: tests call ModelHolder.refresh() and Monitor.update() when
        # they mean to.
        config = {"MODEL_STORE": str(store_root), "MODEL_POLL_SECONDS": "0"}
{%- if cookiecutter.auth == "api_key" %}
        config["API_KEYS"] = TEST_API_KEY
{%- endif %}
        apps.append(create_app({**config, "MONITOR_INTERVAL_SECONDS": "0", **settings}))
        return apps[-1]

    yield make
    for app in apps:  # write what is queued and release the database, as a worker's exit does
        if services(app).prediction_log is not None:
            services(app).prediction_log.close(timeout=3)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The service with default settings, serving version 1."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the service."""
    return app.test_client()


@pytest.fixture
def without_since() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A monitoring report's section without ``since``: each report's window ends when it is
    computed, so two reports computed a second apart differ there and nowhere else."""
    return lambda section: {key: value for key, value in section.items() if key != "since"}


@pytest.fixture
def empty_store_app(tmp_path: Path) -> Flask:
    """The service started on a store with no model in it."""
    config = {"MODEL_STORE": str(tmp_path / "empty"), "MODEL_POLL_SECONDS": "0"}
{%- if cookiecutter.auth == "api_key" %}
    config["API_KEYS"] = TEST_API_KEY
{%- endif %}
    return create_app(config)


@pytest.fixture
def instance(store: ModelStore) -> dict[str, Any]:
    """A valid record: each number's median in the training data, each other feature's most
    frequent value."""
    return typical_instance(store.metadata(1)["reference"])


@pytest.fixture
def runner(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose MODEL_STORE is the test's store."""
    monkeypatch.setenv("MODEL_STORE", str(store_root))
    return CliRunner()


@pytest.fixture
def records() -> list[dict[str, Any]]:
    """Ten records of the example data."""
    return load_example_data()[0][:10]


@pytest.fixture
def predict_each(client: FlaskClient) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Predict records one request at a time: the answers a batch must match."""

    def predict(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answers = []
        for record in records:
            response = client.post("/v1/predict", json={"instances": [record]})
            answers.extend(response.get_json()["predictions"])
        return answers

    return predict


@pytest.fixture
def unset_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Unset variables for one test, and restore them after it, even if the code sets them.

    (monkeypatch.delenv records nothing for a variable that is not set, so one the code under
    test then sets would leak into later tests.)
    """

    def unset(*names: str) -> None:
        for name in names:
            monkeypatch.setenv(name, "")  # records the current state for the teardown
            monkeypatch.delenv(name)

    return unset


@pytest.fixture
def code_running_pickle(tmp_path: Path) -> tuple[bytes, Path]:
    """A pickle that creates a marker file when it is loaded, and the marker's path."""
    marker = tmp_path / "code-ran"
    # Protocol 2: the one torch.load expects, so it is refused for what it does, not its form.
    return pickle.dumps(_CreatesMarkerWhenLoaded(marker), protocol=2), marker


@pytest.fixture
def artifact_file(store: ModelStore) -> Callable[[int], Path]:
    """A file of a version's artifact: the one to tamper with, and the name errors give."""

    def first_file(version: int) -> Path:
        return store.version_dir(version) / min(store.metadata(version)["files"])

    return first_file


@pytest.fixture
def move_alias_unchecked(store: ModelStore) -> Callable[[int], None]:
    """Point production at a version as a hand edit or another tool might: unverified."""

    def move(version: int) -> None:
        path = store.directory / REGISTRY_FILE
        registry = json.loads(path.read_text())
        registry["history"].append(
            {"time": "t", "action": "promote", "alias": "production",
             "from": registry["aliases"]["production"], "to": version, "reason": "", "user": "x"}
        )  # fmt: skip
        registry["aliases"]["production"] = version
        path.write_text(json.dumps(registry))

    return move
