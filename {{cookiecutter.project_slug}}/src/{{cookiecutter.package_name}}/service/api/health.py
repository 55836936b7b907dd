"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint

from ..operations import operation
from ..schemas import StatusSchema
from ..services import services

bp = Blueprint("health", __name__)


@bp.get("/livez")
@operation("Liveness: the process answers", answer=StatusSchema, answer_description="Alive.")
def livez() -> dict:
    """The process is up and answering."""
    return {"status": "alive"}


@bp.get("/readyz")
@operation(
    "Readiness: a verified model is loaded and warmed up",
    answer=StatusSchema,
    answer_description="Ready.",
    errors=("503",),
)
def readyz() -> dict:
    """200 once a verified model is loaded and warmed up; 503 with the reason until then."""
    model_holder = services().model_holder
    loaded = model_holder.get()
    return {"status": "ready", "model": model_holder.model_ref(loaded)}
