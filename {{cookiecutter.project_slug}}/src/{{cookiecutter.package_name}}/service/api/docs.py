"""The OpenAPI document at /openapi.json and a browsable version of it at /docs.

The page (``docs.html``, package data) runs Swagger UI from the files of the pinned
flask-swagger-ui package, served here under /docs/: the docs work with no internet, and the
page loads nothing from any other origin.
"""

from __future__ import annotations

import functools
import hashlib
import html
from importlib.resources import files
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import NotFound

from ...store.reference import typical_instance
{% if cookiecutter.auth == "api_key" -%}
from .. import auth
{% endif -%}
from ..openapi import TITLE, build_spec
from ..services import services

bp = Blueprint("docs", __name__)

PAGE = files(__package__).joinpath("docs.html").read_text(encoding="utf-8")
#: Swagger UI's dist/ folder, as flask-swagger-ui (pinned in requirements.in) installs it.
SWAGGER_UI = files("flask_swagger_ui").joinpath("dist")
#: The files of it the page loads, and their types: nothing else of the folder is served.
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-16x16.png": "image/png",
    "favicon-32x32.png": "image/png",
}
#: The files change only with the pin, but their URLs do not: browsers keep them a day, then
#: ask again with If-None-Match and get a 304 while they are unchanged.
ASSET_MAX_AGE = 24 * 60 * 60


@bp.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    # Built once per served version: the document changes only with the code, the settings
    # and the values the version's category features take.
    shared = services()
    current = shared.model_holder.current
    version = None if current is None else current.version
    built = shared.openapi
    if built is None or built[0] != version:
        categories = {} if current is None else current.allowed_values
        # "Try it out" starts from a record the served version takes: its warm-up record.
        example = None
        if current is not None:
            example = typical_instance(current.metadata.get("reference"))
        settings = shared.settings
        document = build_spec(
            current_app, settings.max_batch_size, settings.max_content_length, categories, example
        )
{%- if cookiecutter.auth == "api_key" %}
        document = auth.documented(document, settings)
{%- endif %}
        built = shared.openapi = (version, document)
    return built[1]


@bp.get("/docs")
def docs() -> Response:
    return Response(PAGE.replace("__TITLE__", html.escape(TITLE)), mimetype="text/html")


@functools.cache
def _asset(name: str) -> tuple[bytes, str]:
    """An asset's bytes and their digest, read once per worker (about 2 MB in all)."""
    data = SWAGGER_UI.joinpath(name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:32]


@bp.get("/docs/<name>")
def asset(name: str) -> Response:
    """One of Swagger UI's files; any other name is a 404."""
    mimetype = ASSETS.get(name)
    if mimetype is None:
        raise NotFound()
    data, digest = _asset(name)
    response = Response(data, mimetype=mimetype)
    response.set_etag(digest)
    response.cache_control.public = True
    response.cache_control.max_age = ASSET_MAX_AGE
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.make_conditional(request)  # a 304 when the browser's copy is this one
    return response
