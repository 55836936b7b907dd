"""The OpenAPI document at /openapi.json and a browsable version of it at /docs."""

from __future__ import annotations

import html
from typing import Any

from flask import Blueprint, Response, current_app

{% if cookiecutter.auth == "api_key" -%}
from .. import auth
{% endif -%}
from ..openapi import TITLE, build_spec
from ..services import services

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
{%- if cookiecutter.auth == "api_key" %}
  <script>
    // The document needs the API key too: asked once per tab, sent with every request.
    const key = sessionStorage.getItem("apiKey") || window.prompt("API key") || "";
    sessionStorage.setItem("apiKey", key);
    SwaggerUIBundle({
      url: "openapi.json",
      dom_id: "#swagger-ui",
      requestInterceptor: (request) => {
        request.headers["X-API-Key"] = key;
        return request;
      },
    });
  </script>
{%- else %}
  <script>SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});</script>
{%- endif %}
</body>
</html>
"""


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
        settings = shared.settings
        document = build_spec(
            current_app, settings.max_batch_size, settings.max_content_length, categories
        )
{%- if cookiecutter.auth == "api_key" %}
        document = auth.documented(document, settings)
{%- endif %}
        built = shared.openapi = (version, document)
    return built[1]


@bp.get("/docs")
def docs() -> Response:
    page = DOCS_PAGE.replace("__TITLE__", html.escape(TITLE)).replace("__SWAGGER_UI__", SWAGGER_UI)
    return Response(page, mimetype="text/html")
