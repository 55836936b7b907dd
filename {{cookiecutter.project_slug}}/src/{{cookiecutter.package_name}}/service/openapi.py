"""The OpenAPI document, built by apispec from the routes and the schemas that validate them.

Each view declares its entry with ``@operation(...)`` (``operations.py``) under its route, and
the document is made from the app's URL map: a route and its documentation are one
declaration, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from werkzeug.routing import Rule

from .fields import JSONBoolean, WholeNumber
from .operations import OPERATIONS, Operation
from .schemas import BatchRequestSchema, ErrorSchema

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
_PATH_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def service_version() -> str:
    """The version of the installed distribution: the API's, and the server's in /v2."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source checkout
        return "0+unknown"


def _openapi_path(rule: Rule) -> str:
    """A Flask rule as an OpenAPI path: ``/v1/models/<name>`` -> ``/v1/models/{name}``."""
    return _PATH_VARIABLE.sub(r"{\1}", rule.rule)


def _spec_operation(
    declared: Operation, rule: Rule, max_batch_size: int, max_content_length: int
) -> dict[str, Any]:
    spec_operation: dict[str, Any] = {"summary": declared.summary}
    if rule.arguments:
        spec_operation["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in sorted(rule.arguments)
        ]
    if declared.body is not None:
        body = declared.body
        schema = (
            body(max_batch_size=max_batch_size) if issubclass(body, BatchRequestSchema) else body()
        )
        spec_operation["requestBody"] = {
            "required": True,
            "description": f"JSON, at most {max_content_length} bytes (MAX_CONTENT_LENGTH).",
            "content": {"application/json": {"schema": schema}},
        }
    answer = {"schema": declared.answer}
    spec_operation["responses"] = {
        "200": {
            "description": declared.answer_description,
            "content": {declared.media_type: answer},
        },
        **{
            status: {
                "description": _ERRORS[status],
                "content": {"application/json": {"schema": ErrorSchema}},
            }
            for status in declared.errors
        },
    }
    return spec_operation


def build_spec(
    app: Flask,
    max_batch_size: int,
    max_content_length: int,
    categories: Mapping[str, Iterable[str]] | None = None,
    example: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3 document of ``app``'s declared routes, as a dict ready for JSON.

    ``categories`` are the values each category feature may take with the served version:
    they become the ``enum`` of its field. ``example`` is a record that version takes, shown
    as the record's example (Swagger UI's "Try it out" starts from it).
    """
    marshmallow = MarshmallowPlugin()
    spec = APISpec(
        title=TITLE,
        version=service_version(),
        openapi_version="3.0.3",
        plugins=[marshmallow],
        info={"description": "Predictions from a versioned, integrity-checked model."},
    )
    # The API's own fields, by the JSON type they take (apispec knows marshmallow's only).
    marshmallow.map_to_openapi_type(WholeNumber, "integer", None)
    marshmallow.map_to_openapi_type(JSONBoolean, "boolean", None)
    batches: list[type[BatchRequestSchema]] = []
    for rule in app.url_map.iter_rules():
        declared = OPERATIONS.get(app.view_functions[rule.endpoint])
        if declared is None:
            continue  # not part of the API: the docs page and the document itself
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        spec.path(
            path=_openapi_path(rule),
            operations={
                method.lower(): _spec_operation(declared, rule, max_batch_size, max_content_length)
                for method in methods
            },
        )
        if declared.body is not None and issubclass(declared.body, BatchRequestSchema):
            batches.append(declared.body)
    document = spec.to_dict()
    schemas = document["components"]["schemas"]
    # The batch limit is a setting, checked before validation; show it in the schema too.
    for batch in batches:
        name = batch.__name__.removesuffix("Schema")  # apispec's own naming of components
        schemas[name]["properties"][batch.items_field]["maxItems"] = max_batch_size
    properties = schemas["Instance"]["properties"]
    for name, values in (categories or {}).items():
        properties[name]["enum"] = sorted(values)
    if example is not None:
        schemas["Instance"]["example"] = dict(example)
    return document
