"""KServe's V1 protocol (TensorFlow Serving's REST API, as KServe's SDK speaks it).

    GET  /                              {"status": "alive"}: the SDK's liveness check
    GET  /v1/models                     {"models": [name]}
    GET  /v1/models/{name}              {"name", "ready": true}, or 503 until a model is
    POST /v1/models/{name}:predict      {"instances": [...]} -> {"predictions": [...]}

``instances`` are records (objects of feature values) or rows (arrays in feature order);
``inputs`` may stand in their place, as rows or as columns by name. The predictions are
``/v1/predict``'s, each with its id. Errors are ``{"error": "<text>"}``: 400 for a bad request,
404 for an unknown model, 503 while no model is ready.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app
from werkzeug.routing import BaseConverter

from .. import dialects, json_text
from ..api.bodies import json_body
from ..errors import ApiError, echoed
from ..scoring import predict_records
from ..services import services
from .tables import instances

bp = Blueprint("kserve_v1", __name__)

DIALECT = dialects.Dialect(
    "kserve_v1",
    error_body=dialects.error_as_text,
    invalid_input_status=400,
)


class ModelNameConverter(BaseConverter):
    """A model name in a path: no ``/`` and no ``:``, so ``GET /v1/models/iris:predict`` is
    the predict route's (405), not a model called ``iris:predict``."""

    regex = "[^/:]+"


def _known(name: str) -> None:
    served = services().model_holder.store.name
    if name != served:
        raise ApiError(
            404,
            "model_not_found",
            f"Unknown model {echoed(name)!r}: this server serves {served!r}.",
        )


@bp.get("/")
def alive() -> dict[str, Any]:
    return {"status": "alive"}


@bp.get("/v1/models")
def models() -> dict[str, Any]:
    return {"models": [services().model_holder.store.name]}


@bp.get("/v1/models/<model_name:name>")
def model_ready(name: str) -> dict[str, Any]:
    _known(name)
    services().model_holder.get()  # 503 with the reason while no model is ready
    return {"name": name, "ready": True}


@bp.post("/v1/models/<model_name:name>:predict")
def predict(name: str) -> Response:
    """Score ``instances`` with the served version: ``/v1/predict``'s answers, in V1's body."""
    _known(name)
    prediction = predict_records({"instances": instances(json_body())})
    body = json_text.dumps({"predictions": prediction.predictions})
    return current_app.response_class(body, mimetype="application/json")


def init_app(app: Flask) -> None:
    """Serve the protocol's routes; answer their errors, and 404s under /v1/models/, its way."""
    app.url_map.converters["model_name"] = ModelNameConverter
    probes = (f"{bp.name}.{view.__name__}" for view in (alive, model_ready))
    dialects.of_app(app).register(
        DIALECT, blueprint=bp.name, paths=("/v1/models/",), probes=tuple(probes)
    )
    app.register_blueprint(bp)
