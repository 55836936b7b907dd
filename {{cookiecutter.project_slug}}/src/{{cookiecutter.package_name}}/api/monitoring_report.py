"""GET /v1/monitoring: drift of the served version and accuracy per version, as JSON."""

from __future__ import annotations

from flask import Blueprint

from ..monitoring import monitor

bp = Blueprint("monitoring_report", __name__)


@bp.get("/v1/monitoring")
def monitoring_report() -> dict:
    """What the drift and accuracy gauges show, computed now from the prediction log."""
    return monitor().report()
