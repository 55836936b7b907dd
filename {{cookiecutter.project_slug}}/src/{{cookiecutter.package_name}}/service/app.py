"""The application factory: settings, logging, errors, the model and the API, wired once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from ..monitoring import http_metrics
from ..monitoring.monitor import open_monitor
from ..server.turns import turns
from . import {{ "auth, " if cookiecutter.auth == "api_key" }}errors, logs, serving
from .adapters import invocations, kserve_v1, oip, vertex
from .api import docs, feedback, health, model_info, monitoring_report, predictions
from .config import Settings
from .inference import Inference
from .schemas import FeedbackRequestSchema
from .services import Services


class StrictJSONProvider(DefaultJSONProvider):
    """Refuses NaN and infinities, which JSON cannot spell (json.dumps writes them anyway)."""

    sort_keys = False  # keep each answer's fields in the documented order

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return super().dumps(obj, allow_nan=False, **kwargs)


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """Build the service.

    ``config`` maps setting names to values (``{"MODEL_STORE": ...}``) in place of the
    process environment: the seam tests use.
    """
    settings = Settings.from_env(config)
    # Before the app exists, as Flask advises; the same configuration gunicorn applies.
    logs.configure_logging(settings.log_level, access_log=settings.gunicorn_access_log)

    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_content_length)
    app.json = StrictJSONProvider(app)

    logs.init_app(app)
    errors.init_app(app)
{%- if cookiecutter.auth == "api_key" %}
    auth.init_app(app, settings)  # after logs: a refused request has its id too
{%- endif %}
    http_metrics.init_app(app, request_metrics=settings.request_metrics)
    model_holder = serving.init_app(app, settings)
    monitor = open_monitor(settings, model_holder)
    Services(
        settings=settings,
        model_holder=model_holder,
        prediction_log=monitor.log,
        monitor=monitor,
        inference=Inference(
            max_batch_size=settings.max_batch_size, predict_timeout=settings.predict_timeout
        ),
        feedback_schema=FeedbackRequestSchema(max_batch_size=settings.max_batch_size),
    ).attach(app)
    for blueprint in (
        predictions.bp,
        feedback.bp,
        model_info.bp,
        monitoring_report.bp,
        health.bp,
        docs.bp,
    ):
        app.register_blueprint(blueprint)
    # The standard protocols, beside the native API, over the same inference path.
    oip.init_app(app)
    kserve_v1.init_app(app)
    invocations.init_app(app)
    vertex.init_app(app, settings)
    # Counted, so that background threads take their turns between requests.
    app.wsgi_app = turns.wrap(app.wsgi_app)  # type: ignore[method-assign]
    return app
