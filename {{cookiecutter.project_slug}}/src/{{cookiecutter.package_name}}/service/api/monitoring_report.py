"""GET /v1/monitoring: drift of the served version and accuracy per version, as JSON."""

from __future__ import annotations

from flask import Blueprint

from ...monitoring.prediction_log import UNAVAILABLE_MESSAGE, PredictionLogUnavailableError
from ..errors import ApiError
from ..operations import operation
from ..schemas import MonitoringReportSchema
from ..services import services

bp = Blueprint("monitoring_report", __name__)


@bp.get("/v1/monitoring")
@operation(
    "Input drift and accuracy over time, from the prediction log",
    answer=MonitoringReportSchema,
    answer_description="As the monitor last computed it.",
    errors=("503",),
)
def monitoring_report() -> dict:
    """What the drift and accuracy gauges show, as the monitor last computed it."""
    try:
        return services().monitor.latest_report()
    except PredictionLogUnavailableError:
        raise ApiError(503, "prediction_log_unavailable", UNAVAILABLE_MESSAGE) from None
