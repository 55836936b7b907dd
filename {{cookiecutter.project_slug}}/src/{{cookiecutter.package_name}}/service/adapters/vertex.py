"""Vertex AI's custom-container contract: health and predictions on the routes it names.

Vertex AI tells the container its routes in AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE (their
defaults look like ``/v1/endpoints/<id>/deployedModels/<id>:predict``), read once at start
(``config.py``); without them these routes do not exist. The port is AIP_HTTP_PORT.

    GET  AIP_HEALTH_ROUTE    200 once a model is ready; 503 until then
    POST AIP_PREDICT_ROUTE   {"instances": [...], "parameters": {...}} -> {"predictions": [...]}

``instances`` are records or rows in feature order; ``parameters`` are ignored (the model
takes none). The predictions are ``/v1/predict``'s, each with its id; the answer holds nothing
else, as Vertex AI requires (the model's version is in X-Model-Version). Vertex AI refuses
requests over 1.5 MB before they arrive: MAX_CONTENT_LENGTH=1572864 matches it. Errors are
``{"error": "<text>"}``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from .. import dialects, json_text
from ..api.bodies import json_body
from ..config import Settings
from ..scoring import predict_records
from ..services import services
from .tables import instances

logger = logging.getLogger(__name__)

DIALECT = dialects.Dialect("vertex", error_body=dialects.error_as_text, invalid_input_status=400)
HEALTH_ENDPOINT = "vertex_health"
PREDICT_ENDPOINT = "vertex_predict"


def health() -> dict[str, Any]:
    services().model_holder.get()  # 503 with the reason while no model is ready
    return {"status": "ready"}


def predict() -> Response:
    """Score ``instances`` with the served version; ``parameters`` are ignored."""
    records = instances(json_body(), extra=("parameters",))
    prediction = predict_records({"instances": records})
    body = json_text.dumps({"predictions": prediction.predictions})
    return current_app.response_class(body, mimetype="application/json")


def _taken(app: Flask, route: str, method: str) -> bool:
    """Whether a route of the service already answers ``method`` at ``route``."""
    try:
        app.url_map.bind("localhost").match(route, method=method)
    except HTTPException:  # NotFound, MethodNotAllowed, a redirect: nothing answers it as it is
        return False
    return True


def init_app(app: Flask, settings: Settings) -> None:
    """Serve Vertex AI's routes when AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE name them.

    A route the service already has is left to it: a health route such as ``/v2/health/ready``
    answers as Vertex AI needs, and so does a predict route such as KServe V1's
    ``/v1/models/<name>:predict`` (``{"instances"}`` in, ``{"predictions"}`` out).
    """
    registered = dialects.of_app(app)
    for route, method, endpoint, view in (
        (settings.vertex_predict_route, "POST", PREDICT_ENDPOINT, predict),
        (settings.vertex_health_route, "GET", HEALTH_ENDPOINT, health),
    ):
        if route is None:
            continue
        if _taken(app, route, method):
            logger.info("Vertex AI's route is one of the service's own", extra={"route": route})
            continue
        app.add_url_rule(route, endpoint, view, methods=[method])
        probes = (endpoint,) if endpoint == HEALTH_ENDPOINT else ()
        registered.register(DIALECT, paths=(route,), probes=probes)
