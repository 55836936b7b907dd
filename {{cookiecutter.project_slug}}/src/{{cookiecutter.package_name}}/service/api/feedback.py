"""POST /v1/feedback: the true outcomes of earlier predictions, for accuracy over time."""

from __future__ import annotations

from flask import Blueprint, g

from ...monitoring.evaluation import outcome_problem
from ...monitoring.http_metrics import FEEDBACK_ITEMS
from ...monitoring.prediction_log import UNAVAILABLE_MESSAGE, PredictionLogUnavailableError
from ..errors import ApiError
from ..operations import operation
from ..schemas import FeedbackRequestSchema, FeedbackResponseSchema
from ..services import services
from .bodies import json_body

bp = Blueprint("feedback", __name__)


@bp.post("/v1/feedback")
@operation(
    "Report the true outcomes of earlier predictions, by prediction id",
    body=FeedbackRequestSchema,
    answer=FeedbackResponseSchema,
    answer_description="How many items were stored; each refused one by index, with why.",
    errors=("400", "408", "413", "415", "422", "503"),
)
def feedback_view() -> dict:
    """Store each item's outcome; refuse, by index, unknown or already-labelled ids and
    outcomes of the wrong type. Only a malformed body is an error (422)."""
    shared = services()
    log = shared.prediction_log
    if log is None:
        raise ApiError(
            503,
            "prediction_log_off",
            "Feedback needs the prediction log, which is off here (PREDICTION_LOG=false).",
        )
    items = shared.feedback_schema.load(json_body())["feedback"]
    problems = {
        index: problem
        for index, item in enumerate(items)
        if (problem := outcome_problem(item["actual"])) is not None
    }
    candidates = [index for index in range(len(items)) if index not in problems]
    try:
        refused = log.add_feedback([(items[i]["id"], items[i]["actual"]) for i in candidates])
    except PredictionLogUnavailableError:
        raise ApiError(503, "prediction_log_unavailable", UNAVAILABLE_MESSAGE) from None
    problems.update({candidates[position]: problem for position, problem in refused.items()})
    rejected = [
        {"index": index, "id": items[index]["id"], "problem": problem}
        for index, problem in sorted(problems.items())
    ]
    stored = len(items) - len(rejected)
    FEEDBACK_ITEMS.labels("stored").inc(stored)
    FEEDBACK_ITEMS.labels("rejected").inc(len(rejected))
    return {"stored": stored, "rejected": rejected, "request_id": g.request_id}
