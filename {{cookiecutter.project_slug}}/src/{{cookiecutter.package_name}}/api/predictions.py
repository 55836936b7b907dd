"""POST /v1/predict: validate a batch of records, score it in one call, answer with ids."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, current_app, g, request

from ..errors import ApiError
from ..predict import predict
from ..schemas import PredictRequestSchema
from ..serving import holder

bp = Blueprint("predictions", __name__)


def json_body() -> Any:
    """The request body as JSON: 415 unless declared JSON, 400 unless it parses."""
    if not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the body as JSON with the header Content-Type: application/json.",
        )
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError) as error:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {error}.") from None


@bp.record_once
def _build_schema(state: Any) -> None:
    # One schema instance per app: building it costs more than validating a small batch.
    settings = state.app.config["SETTINGS"]
    state.app.extensions["predict_request_schema"] = PredictRequestSchema(
        max_batch_size=settings.max_batch_size
    )


@bp.post("/v1/predict")
def predict_view() -> dict:
    model_holder = holder()
    loaded = model_holder.get()
    schema: PredictRequestSchema = current_app.extensions["predict_request_schema"]
    instances = schema.load(json_body())["instances"]
    # One id prefix per request, one suffix per record: ids stay unique and cheap to make.
    prefix = uuid.uuid4().hex
    predictions = [
        {"id": f"{prefix}-{index}", **prediction}
        for index, prediction in enumerate(predict(loaded.model, instances))
    ]
    return {
        "predictions": predictions,
        "model": model_holder.model_ref(loaded),
        "request_id": g.request_id,
    }
