"""The OpenAPI document, built by apispec from the marshmallow schemas that validate requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from ..model.schemas import (
    ErrorSchema,
    FeedbackRequestSchema,
    FeedbackResponseSchema,
    JSONBoolean,
    ModelInfoSchema,
    MonitoringReportSchema,
    PredictRequestSchema,
    PredictResponseSchema,
    StatusSchema,
    WholeNumber,
)

TITLE = {{ cookiecutter.project_name | py_string }}
DISTRIBUTION = "{{ cookiecutter.project_slug }}"

_ERRORS = {
    "400": "The body is not valid JSON (in UTF-8, no key twice in one object), or its chunked "
    "encoding is invalid.",
    "408": "The request did not arrive in full within REQUEST_READ_TIMEOUT.",
    "413": "The body is larger than MAX_CONTENT_LENGTH.",
    "415": "The body is not declared as application/json.",
    "422": "The body failed validation; `fields` names each problem by path.",
    "503": "Not available yet or here (no verified model loaded, or no prediction log); "
    "the message says why.",
    "504": "The model gave no answer within PREDICT_TIMEOUT.",
}


def _json(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: _json(ErrorSchema, _ERRORS[status]) for status in statuses}


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source checkout
        return "0+unknown"


def _body(schema: Any, max_content_length: int) -> dict[str, Any]:
    return {
        "required": True,
        "description": f"JSON, at most {max_content_length} bytes (MAX_CONTENT_LENGTH).",
        "content": {"application/json": {"schema": schema}},
    }


def build_spec(
    max_batch_size: int,
    max_content_length: int,
    categories: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3 document of this service, as a dict ready for JSON.

    ``categories`` are the values each category feature may take with the served version:
    they become the ``enum`` of its field.
    """
    marshmallow = MarshmallowPlugin()
    spec = APISpec(
        title=TITLE,
        version=_version(),
        openapi_version="3.0.3",
        plugins=[marshmallow],
        info={"description": "Predictions from a versioned, integrity-checked model."},
    )
    # The API's own fields, by the JSON type they take (apispec knows marshmallow's only).
    marshmallow.map_to_openapi_type(WholeNumber, "integer", None)
    marshmallow.map_to_openapi_type(JSONBoolean, "boolean", None)
    spec.path(
        path="/v1/predict",
        operations={
            "post": {
                "summary": "Score 1 to MAX_BATCH_SIZE records in one batch",
                "requestBody": _body(
                    PredictRequestSchema(max_batch_size=max_batch_size), max_content_length
                ),
                "responses": {
                    "200": _json(PredictResponseSchema, "One prediction per record, in order."),
                    **_errors("400", "408", "413", "415", "422", "503", "504"),
                },
            }
        },
    )
    spec.path(
        path="/v1/feedback",
        operations={
            "post": {
                "summary": "Report the true outcomes of earlier predictions, by prediction id",
                "requestBody": _body(
                    FeedbackRequestSchema(max_batch_size=max_batch_size), max_content_length
                ),
                "responses": {
                    "200": _json(
                        FeedbackResponseSchema,
                        "How many items were stored; each refused one by index, with why.",
                    ),
                    **_errors("400", "408", "413", "415", "422", "503"),
                },
            }
        },
    )
    spec.path(
        path="/v1/monitoring",
        operations={
            "get": {
                "summary": "Input drift and accuracy over time, from the prediction log",
                "responses": {
                    "200": _json(MonitoringReportSchema, "As the monitor last computed it."),
                    **_errors("503"),
                },
            }
        },
    )
    spec.path(
        path="/v1/model",
        operations={
            "get": {
                "summary": "The model version that answers, with its provenance",
                "responses": {
                    "200": _json(ModelInfoSchema, "The served version."),
                    **_errors("503"),
                },
            }
        },
    )
    spec.path(
        path="/livez",
        operations={
            "get": {
                "summary": "Liveness: the process answers",
                "responses": {"200": _json(StatusSchema, "Alive.")},
            }
        },
    )
    spec.path(
        path="/readyz",
        operations={
            "get": {
                "summary": "Readiness: a verified model is loaded and warmed up",
                "responses": {"200": _json(StatusSchema, "Ready."), **_errors("503")},
            }
        },
    )
    spec.path(
        path="/metrics",
        operations={
            "get": {
                "summary": "Prometheus metrics of every worker, summed",
                "responses": {
                    "200": {
                        "description": "Prometheus' text exposition format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    )
    document = spec.to_dict()
    # The batch limit is a setting, checked before validation; show it in the schema too.
    instances = document["components"]["schemas"]["PredictRequest"]["properties"]["instances"]
    instances["maxItems"] = max_batch_size
    document["components"]["schemas"]["FeedbackRequest"]["properties"]["feedback"]["maxItems"] = (
        max_batch_size
    )
    properties = document["components"]["schemas"]["Instance"]["properties"]
    for name, values in (categories or {}).items():
        properties[name]["enum"] = sorted(values)
    return document
