"""POST /v1/predict: validate a batch of records, score it in one call, answer with ids."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g

from .. import json_text
from ..operations import operation
from ..schemas import PredictRequestSchema, PredictResponseSchema
from ..scoring import predict_records
from ..services import services
from .bodies import json_body

bp = Blueprint("predictions", __name__)


@bp.post("/v1/predict")
@operation(
    "Score 1 to MAX_BATCH_SIZE records in one batch",
    body=PredictRequestSchema,
    answer=PredictResponseSchema,
    answer_description="One prediction per record, in order.",
    errors=("400", "408", "413", "415", "422", "503", "504"),
)
def predict_view() -> Response:
    prediction = predict_records(json_body())
    body = {
        "predictions": prediction.predictions,
        "model": services().model_holder.model_ref(prediction.loaded),
        "request_id": g.request_id,
    }
    # Every number is finite (score checked): orjson encodes a large batch several times
    # faster than the app's JSON provider.
    return current_app.response_class(json_text.dumps(body), mimetype="application/json")
