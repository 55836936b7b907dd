"""POST /v1/predict: validate a batch of records, score it in one call, answer with ids."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from ...model.schemas import PredictRequestSchema
from ...monitoring.monitor import monitor
from ...monitoring.prediction_log import new_id_prefix
from .. import json_text
from ..deadlines import Deadline, DeadlineExceededError
from ..errors import ApiError
from ..fast_path import BatchLoader
from ..records import parse_json
from ..serving import (
    UnknownCategoryError,
    UnscorableRecordsError,
    check_categories,
    holder,
    score,
)

bp = Blueprint("predictions", __name__)


def body_bytes() -> bytes:
    """The request body: 413 over MAX_CONTENT_LENGTH however it was sent, 400 if it cannot be
    read as framed (a bad chunk size, chunks shorter than they say, a body cut short)."""
    limit = request.max_content_length
    # A chunked body (no Content-Length) is cut at the limit without an error: look for more.
    chunked = request.content_length is None
    try:
        body = request.get_data(cache=False)
        too_large = (
            chunked
            and limit is not None
            and len(body) >= limit
            and bool(request.environ["wsgi.input"].read(1))
        )
    except RequestEntityTooLarge:
        raise
    except Exception:  # the server's reader refuses the framing; its error names its internals
        raise ApiError(
            400,
            "malformed_body",
            "The request body could not be read as sent: its chunked encoding is invalid, or "
            "it ended before the length it announced.",
        ) from None
    if too_large:
        raise RequestEntityTooLarge()
    return body


def json_body() -> Any:
    """The request body as JSON: 415 unless declared JSON, 400 unless it parses."""
    if not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the body as JSON with the header Content-Type: application/json.",
        )
    try:
        return parse_json(body_bytes())
    except (ValueError, RecursionError) as error:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {error}.") from None


@bp.record_once
def _build_schema(state: Any) -> None:
    # One schema instance per app: building it costs more than validating a small batch.
    settings = state.app.config["SETTINGS"]
    schema = PredictRequestSchema(max_batch_size=settings.max_batch_size)
    state.app.extensions["predict_request_schema"] = schema
    state.app.extensions["predict_request_loader"] = BatchLoader(schema)
    state.app.extensions["predict_deadline"] = Deadline(settings.predict_timeout)


@bp.post("/v1/predict")
def predict_view() -> Response:
    model_holder = holder()
    loaded = model_holder.get()
    loader: BatchLoader = current_app.extensions["predict_request_loader"]
    instances = loader.load(json_body())["instances"]
    try:
        check_categories(loaded, instances)
    except UnknownCategoryError as error:
        raise ValidationError(error.problems) from None  # answered like any invalid field
    # One id prefix per request, one suffix per record: ids stay unique and cheap to make.
    prefix = new_id_prefix()
    deadline: Deadline = current_app.extensions["predict_deadline"]
    try:
        answers = deadline.run(score, loaded.model, instances)
    except DeadlineExceededError as error:
        message = (
            f"The model gave no answer within {error.seconds:g} s (PREDICT_TIMEOUT); the "
            "prediction was abandoned."
        )
        raise ApiError(504, "prediction_timeout", message) from None
    except UnscorableRecordsError as error:
        problem = "The model gave no finite prediction for this record: are its values sensible?"
        fields = {f"instances.{index}": [problem] for index in error.indices}
        raise ApiError(422, "unscorable_input", f"Invalid input: {error}.", fields) from None
    predictions = [{"id": f"{prefix}-{index}", **answer} for index, answer in enumerate(answers)]
    latency_ms = (time.perf_counter() - g.started) * 1000
    monitor().observe(
        loaded,
        instances,
        answers,
        id_prefix=prefix,
        request_id=g.request_id,
        latency_ms=latency_ms,
    )
    body = {
        "predictions": predictions,
        "model": model_holder.model_ref(loaded),
        "request_id": g.request_id,
    }
    # Every number is finite (score checked): orjson encodes a large batch several times
    # faster than the app's JSON provider.
    return current_app.response_class(json_text.dumps(body), mimetype="application/json")
