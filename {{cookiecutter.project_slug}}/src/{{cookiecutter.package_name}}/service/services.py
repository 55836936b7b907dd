"""What an app's requests and gunicorn's hooks share: one typed object, built by create_app.

Flask's ``app.extensions`` is a dict of anything; keeping everything under one key, in one
dataclass, lets a type checker follow each use, and shows in one place what a worker holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:  # these modules reach the services through this one
    from ..monitoring.monitor import Monitor
    from ..monitoring.prediction_log import PredictionLog
    from .config import Settings
    from .inference import Inference
    from .schemas import FeedbackRequestSchema
    from .serving import ModelHolder

#: The key of the services in ``app.extensions``.
EXTENSION = "services"


@dataclass
class Services:
    """The settings, the served model and the objects built from them, once per app."""

    settings: Settings
    model_holder: ModelHolder
    #: None when PREDICTION_LOG is off.
    prediction_log: PredictionLog | None
    monitor: Monitor
    inference: Inference
    feedback_schema: FeedbackRequestSchema
    #: The OpenAPI document and the version it was built for, once a client asked for it.
    openapi: tuple[int | None, dict[str, Any]] | None = None

    def attach(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self


def services(app: Flask | None = None) -> Services:
    """The services of ``app``, or of the app handling the current request."""
    found: Services = (current_app if app is None else app).extensions[EXTENSION]
    return found
