"""The OpenAPI document at /openapi.json and a browsable version of it at /docs."""

from __future__ import annotations

import html
from typing import Any

from flask import Blueprint, Response, current_app

from ..openapi import TITLE, build_spec

bp = Blueprint("docs", __name__)

# Swagger UI comes from a CDN so the service ships no front-end assets; without the CDN the
# page still links the raw document.
SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>__TITLE__ API</title>
  <link rel="stylesheet" href="__SWAGGER_UI__/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui">
    <p>Loading the API docs. If they do not appear, read <a href="openapi.json">openapi.json</a>.</p>
  </div>
  <script src="__SWAGGER_UI__/swagger-ui-bundle.js"></script>
  <script>SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});</script>
</body>
</html>
"""


@bp.record_once
def _build_spec(state: Any) -> None:
    # Built once per app: the document only changes with the code and the settings.
    settings = state.app.config["SETTINGS"]
    state.app.extensions["openapi"] = build_spec(settings.max_batch_size)


@bp.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return current_app.extensions["openapi"]


@bp.get("/docs")
def docs() -> Response:
    page = DOCS_PAGE.replace("__TITLE__", html.escape(TITLE)).replace("__SWAGGER_UI__", SWAGGER_UI)
    return Response(page, mimetype="text/html")
