"""POST /v1/predict: validate a batch of records, score it in one call, answer with ids."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g

from .. import json_text
from ..deadlines import DeadlineExceededError
from ..errors import ApiError
from ..inference import UnscorableRecordsError
from ..operations import operation
from ..schemas import PredictRequestSchema, PredictResponseSchema
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
    shared = services()
    model_holder = shared.model_holder
    try:
        prediction = shared.inference.predict(
            model_holder.get(),
            json_body(),
            monitor=shared.monitor,
            request_id=g.request_id,
            started=g.started,
        )
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
    body = {
        "predictions": prediction.predictions,
        "model": model_holder.model_ref(prediction.loaded),
        "request_id": g.request_id,
    }
    # Every number is finite (score checked): orjson encodes a large batch several times
    # faster than the app's JSON provider.
    return current_app.response_class(json_text.dumps(body), mimetype="application/json")
