"""POST /v1/feedback: per-item refusals in a 200, 422 only for a malformed body."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.monitoring.prediction_ids import (
    issued_at,
    new_id_prefix,
)
from {{ cookiecutter.package_name }}.monitoring.prediction_log import (
    ALREADY_LABELLED,
    UNKNOWN_ID,
    PredictionLog,
    ScoredBatch,
)
from {{ cookiecutter.package_name }}.service.services import services


@pytest.fixture
def logged_client(make_app: Callable[..., Flask], database_url: str) -> FlaskClient:
    """A client of the service with its prediction log in the test's database."""
    return make_app(DATABASE_URL=database_url).test_client()


def predicted(client: FlaskClient, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post("/v1/predict", json={"instances": records})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["predictions"]


def outcome(prediction: dict[str, Any]) -> Any:
    """A well-typed outcome for this task: what the model itself answered."""
    return prediction["label"] if "label" in prediction else prediction["value"]


def test_feedback_is_stored_and_bad_items_are_refused_by_index(
    logged_client: FlaskClient, records: list[dict[str, Any]]
) -> None:
    predictions = predicted(logged_client, records[:3])
    items = [
        {"id": predictions[0]["id"], "actual": outcome(predictions[0])},
        {"id": "no-such-prediction", "actual": outcome(predictions[1])},
        {"id": predictions[1]["id"], "actual": {"not": "an outcome"}},
        {"id": predictions[2]["id"], "actual": outcome(predictions[2])},
        {"id": predictions[2]["id"], "actual": outcome(predictions[2])},
    ]
    response = logged_client.post("/v1/feedback", json={"feedback": items})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["stored"] == 2
    assert [(item["index"], item["id"]) for item in body["rejected"]] == [
        (1, "no-such-prediction"),
        (2, predictions[1]["id"]),
        (4, predictions[2]["id"]),
    ]
    problems = [item["problem"] for item in body["rejected"]]
    assert problems[0] == UNKNOWN_ID
    assert problems[1].startswith("Must be")
    assert problems[2] == ALREADY_LABELLED
    again = logged_client.post("/v1/feedback", json={"feedback": items[:1]}).get_json()
    assert again["stored"] == 0
    assert again["rejected"][0]["problem"] == ALREADY_LABELLED


@pytest.mark.parametrize("actual", [None, True, [1], {"a": 1}])
def test_an_outcome_of_the_wrong_type_is_refused_for_that_item_only(
    logged_client: FlaskClient, records: list[dict[str, Any]], actual: Any
) -> None:
    predictions = predicted(logged_client, records[:2])
    items = [{"id": predictions[0]["id"], "actual": actual}]
    items.append({"id": predictions[1]["id"], "actual": outcome(predictions[1])})
    body = logged_client.post("/v1/feedback", json={"feedback": items}).get_json()
    assert body["stored"] == 1
    assert [item["index"] for item in body["rejected"]] == [0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "feedback"),
        ({"feedback": []}, "feedback"),
        ({"feedback": "x"}, "feedback"),
        ({"feedback": [{"actual": 1}]}, "feedback.0.id"),
        ({"feedback": [{"id": "a"}]}, "feedback.0.actual"),
        ({"feedback": [{"id": 7, "actual": 1}]}, "feedback.0.id"),
        ({"feedback": [{"id": "a", "actual": 1, "extra": 1}]}, "feedback.0.extra"),
        ([], "body"),
    ],
)
def test_a_malformed_body_is_a_422_naming_the_field(
    logged_client: FlaskClient, body: Any, field: str
) -> None:
    response = logged_client.post("/v1/feedback", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_more_items_than_max_batch_size_is_a_422(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    client = make_app(DATABASE_URL=database_url, MAX_BATCH_SIZE="2").test_client()
    items = [{"id": str(index), "actual": 1} for index in range(3)]
    response = client.post("/v1/feedback", json={"feedback": items})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["feedback"] == [
        "Send at most 2 feedback items per request (MAX_BATCH_SIZE); got 3."
    ]


def test_without_the_prediction_log_feedback_is_a_503_saying_why(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(PREDICTION_LOG="false").test_client()
    response = client.post("/v1/feedback", json={"feedback": [{"id": "a", "actual": 1}]})
    assert response.status_code == 503
    assert "PREDICTION_LOG=false" in response.get_json()["error"]["message"]
    assert client.get("/v1/monitoring").get_json()["prediction_log"] is None


def test_an_id_tells_when_it_was_issued() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    issued = issued_at(f"{new_id_prefix()}-7")
    assert issued is not None
    assert before <= issued <= datetime.now(UTC)
    assert issued_at("no-such-prediction") is None


def test_feedback_that_overtakes_its_prediction_waits_for_it(
    make_app: Callable[..., Flask], database_url: str, records: list[dict[str, Any]]
) -> None:
    """Another worker answered the prediction and has not written its row yet."""
    app = make_app(DATABASE_URL=database_url)
    client = app.test_client()
    log: PredictionLog = services(app).prediction_log
    answer = predicted(client, records[:1])[0]
    assert log.flush()
    early_id = f"{new_id_prefix()}-0"  # issued elsewhere a moment ago, still queued there
    stale_id = f"{(int(new_id_prefix()[:12], 16) - 3_600_000):012x}{'0' * 20}-0"
    items = [
        {"id": early_id, "actual": outcome(answer)},
        {"id": stale_id, "actual": outcome(answer)},
        {"id": early_id, "actual": outcome(answer)},
    ]
    body = client.post("/v1/feedback", json={"feedback": items}).get_json()
    assert body["stored"] == 1
    assert [(item["index"], item["problem"]) for item in body["rejected"]] == [
        (1, UNKNOWN_ID),
        (2, ALREADY_LABELLED),
    ]
    assert log.resolve_pending_feedback() == 0  # its prediction is not written yet
    batch = ScoredBatch.encode(
        id_prefix=early_id.removesuffix("-0"),
        created_at=datetime.now(UTC),
        model_name="other-worker",
        model_version=1,
        request_id="r",
        latency_ms=1.0,
        instances=records[:1],
        outputs=[{key: value for key, value in answer.items() if key != "id"}],
    )
    log.record(batch)
    assert log.flush()
    assert log.resolve_pending_feedback() == 1
    labelled = log.labelled(datetime.now(UTC) - timedelta(hours=1))
    assert [version for version, _, _ in labelled] == [1]
