"""Settings come from the environment; a bad value is named, with the problem."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.service.config import (
    DEFAULT_MODEL_NAME,
    SERVICE_NAME,
    ConfigError,
    ServerSettings,
    Settings,
    format_duration,
)


def test_defaults() -> None:
    settings = Settings.from_env({})
    # From the source tree (as here): the project's own models/, wherever the command runs.
    project = Path(__file__).resolve().parent.parent
    assert settings.model_store == project / "models"
    assert settings.model_name == DEFAULT_MODEL_NAME
    assert settings.model_alias == "production"
    assert settings.max_batch_size == 1000
    assert settings.max_content_length == 1024 * 1024
    assert settings.database_url == f"sqlite:///{project}/models/prediction-log.sqlite3"
    assert (settings.drift_window, settings.accuracy_window) == (
        timedelta(hours=1),
        timedelta(days=1),
    )
    server = ServerSettings.from_env({})
    assert (server.host, server.port, server.web_concurrency) == ("127.0.0.1", 8000, 2)


def test_values_from_the_environment() -> None:
    settings = Settings.from_env({"MODEL_STORE": "/srv/models", "MAX_BATCH_SIZE": "64"})
    assert settings.model_store == Path("/srv/models")
    assert settings.max_batch_size == 64
    assert settings.database_url == "sqlite:////srv/models/prediction-log.sqlite3"
    url = "postgresql+psycopg://app:secret@db:5432/predictions"
    settings = Settings.from_env({"DATABASE_URL": url, "DRIFT_WINDOW": "90m"})
    assert settings.database_url == url
    assert settings.drift_window == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("text", "duration"),
    [("90s", timedelta(seconds=90)), ("15m", timedelta(minutes=15)), ("7d", timedelta(days=7))],
)
def test_durations_read_and_print_alike(text: str, duration: timedelta) -> None:
    assert Settings.from_env({"ACCURACY_WINDOW": text}).accuracy_window == duration
    assert format_duration(duration) == text


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("MAX_BATCH_SIZE", "many", "Not a valid integer."),
        ("MAX_BATCH_SIZE", "0", "greater than or equal to 1"),
        ("MAX_CONTENT_LENGTH", "10", "greater than or equal to 1024"),
        ("LOG_LEVEL", "verbose", "Must be one of"),
        ("GUNICORN_ACCESS_LOG", "maybe", "Not a valid boolean."),
        ("MODEL_NAME", "Iris Model", "lowercase"),
        ("MODEL_ALIAS", "", "lowercase"),
        ("MODEL_STORE", "", "Give the model store's directory."),
        ("DRIFT_WINDOW", "1 hour", "is not a duration such as 90s, 15m, 1h or 7d"),
        ("ACCURACY_WINDOW", "0h", "is not a duration"),
        ("DRIFT_THRESHOLD", "-1", "greater than or equal to 0"),
        ("PREDICTION_LOG", "sometimes", "Not a valid boolean."),
    ],
)
def test_bad_app_setting(variable: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}='{value}': .*{problem}"):
        Settings.from_env({variable: value})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "http"),
        ("PORT", "70000"),
        ("WEB_CONCURRENCY", "0"),
    ],
)
def test_bad_server_setting(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}='{value}': "):
        ServerSettings.from_env({variable: value})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"MAX_BATCH_SIZE": "x", "LOG_LEVEL": "y"})
    assert "LOG_LEVEL=" in str(error.value)
    assert "MAX_BATCH_SIZE=" in str(error.value)


def test_runtime_dir_is_the_instance_s_own() -> None:
    first = ServerSettings.from_env({"PORT": "8001"}).runtime_dir
    second = ServerSettings.from_env({"PORT": "8002"}).runtime_dir
    assert first != second
    assert first == Path(tempfile.gettempdir()) / f"{SERVICE_NAME}-8001"
    assert ServerSettings.from_env({"RUNTIME_DIR": "/run/x"}).runtime_dir == Path("/run/x")


def test_a_relative_store_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"MODEL_STORE": "store"}).model_store == tmp_path / "store"


@pytest.mark.parametrize(
    ("environ", "port"),
    [
        ({"PORT": "8080"}, 8080),
        ({"PORT": "8080", "AIP_HTTP_PORT": "8081"}, 8081),
        ({"PORT": "8080", "AIP_HTTP_PORT": "8081", "SAGEMAKER_BIND_TO_PORT": "8082"}, 8082),
    ],
)
def test_a_platform_s_port_wins_over_port(environ: dict[str, str], port: int) -> None:
    """SageMaker's (an inference pipeline's) and Vertex AI's, over the image's own PORT."""
    assert ServerSettings.from_env(environ).port == port


def test_vertex_ai_routes() -> None:
    route = "/v1/endpoints/123/deployedModels/456:predict"
    settings = Settings.from_env({"AIP_PREDICT_ROUTE": route, "AIP_HEALTH_ROUTE": "/health"})
    assert (settings.vertex_predict_route, settings.vertex_health_route) == (route, "/health")
    assert Settings.from_env({}).vertex_predict_route is None
    for bad in ("predict", "/a b", "/<name>"):
        with pytest.raises(ConfigError, match=r"^AIP_PREDICT_ROUTE="):
            Settings.from_env({"AIP_PREDICT_ROUTE": bad})


def test_a_read_only_store_keeps_its_prediction_log_in_the_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SageMaker's /opt/ml/model, an image with the store inside: one log per store still."""
    store = tmp_path / "models"
    store.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != store)
    url = Settings.from_env({"MODEL_STORE": str(store)}).database_url
    assert url.startswith(f"sqlite:///{tempfile.gettempdir()}/{SERVICE_NAME}-")
    other = Settings.from_env({"MODEL_STORE": str(tmp_path)}).database_url
    assert other == f"sqlite:///{tmp_path}/prediction-log.sqlite3"
