"""The prediction log's database out of reach: the service starts and predicts all the same,
feedback and reports answer 503, the rows wait and are written once the database is back, and
nothing answered is lost uncounted (a stop counts what it could not write)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.monitoring.prediction_log import PredictionLog
from {{ cookiecutter.package_name }}.service.services import services

#: Nothing listens on port 1 of the loopback: refused at once.
UNREACHABLE_POSTGRES = "postgresql+psycopg://app:secret@127.0.0.1:1/log"


def dropped(reason: str) -> float:
    labels = {"reason": reason}
    return REGISTRY.get_sample_value("prediction_log_dropped_records_total", labels) or 0


def written() -> float:
    return REGISTRY.get_sample_value("prediction_log_written_records_total") or 0


@pytest.fixture
def blocked_sqlite(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite URL whose folder cannot be made (a file is where it would be), as on a full
    or read-only disk, and the file to remove to let the database be created."""
    blocker = tmp_path / "log"
    blocker.write_text("not a folder")
    return f"sqlite:///{blocker / 'prediction-log.sqlite3'}", blocker


@pytest.fixture(params=["postgresql down", "sqlite file cannot be made"])
def unreachable_url(request: pytest.FixtureRequest, blocked_sqlite: tuple[str, Path]) -> str:
    return UNREACHABLE_POSTGRES if request.param == "postgresql down" else blocked_sqlite[0]


def test_the_service_starts_and_predicts_without_its_log(
    make_app: Callable[..., Flask],
    unreachable_url: str,
    instance: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = make_app(DATABASE_URL=unreachable_url).test_client()
    assert client.get("/readyz").status_code == 200
    answer = client.post("/v1/predict", json={"instances": [instance]})
    assert answer.status_code == 200
    assert REGISTRY.get_sample_value("prediction_log_up") == 0
    assert "prediction log: its database is out of reach" in capsys.readouterr().out
    for response in (
        client.get("/v1/monitoring"),
        client.post("/v1/feedback", json={"feedback": [{"id": "x-0", "actual": 1}]}),
    ):
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "prediction_log_unavailable"
        assert "127.0.0.1" not in response.get_data(as_text=True)


def test_queued_rows_are_written_once_the_database_is_back(
    make_app: Callable[..., Flask], blocked_sqlite: tuple[str, Path], instance: dict[str, Any]
) -> None:
    url, blocker = blocked_sqlite
    app = make_app(DATABASE_URL=url)
    client = app.test_client()
    before = written()
    ids = [
        client.post("/v1/predict", json={"instances": [instance] * 3}).get_json()["predictions"]
        for _ in range(5)
    ]
    blocker.unlink()  # the disk has room again
    log: PredictionLog = services(app).prediction_log
    assert log.flush(timeout=30)
    assert written() == before + 15
    assert log.state()["up"] is True
    feedback = {"feedback": [{"id": ids[0][0]["id"], "actual": instance_label(client)}]}
    assert client.post("/v1/feedback", json=feedback).get_json()["stored"] == 1
    assert client.get("/v1/monitoring").status_code == 200


def instance_label(client: Any) -> Any:
    """An outcome of the right type for this model's task."""
    info = client.get("/v1/model").get_json()
    return info["classes"][0] if info.get("classes") else 1.0


def test_a_stop_counts_what_it_could_not_write(
    make_app: Callable[..., Flask], unreachable_url: str, instance: dict[str, Any]
) -> None:
    app = make_app(DATABASE_URL=unreachable_url)
    client = app.test_client()
    before = dropped("shutdown")
    for _ in range(4):
        assert client.post("/v1/predict", json={"instances": [instance] * 2}).status_code == 200
    services(app).prediction_log.close(timeout=0.5)
    assert dropped("shutdown") == before + 8
