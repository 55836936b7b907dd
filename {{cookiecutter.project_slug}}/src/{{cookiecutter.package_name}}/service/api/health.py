"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint

from ..services import services

bp = Blueprint("health", __name__)


@bp.get("/livez")
def livez() -> dict:
    """The process is up and answering."""
    return {"status": "alive"}


@bp.get("/readyz")
def readyz() -> dict:
    """200 once a verified model is loaded and warmed up; 503 with the reason until then."""
    model_holder = services().model_holder
    loaded = model_holder.get()
    return {"status": "ready", "model": model_holder.model_ref(loaded)}
