"""A prediction request as every route runs it, its problems as ApiErrors.

The served version, the one inference path, and its problems as ApiErrors (which each
route's dialect words its own way).

``/v1/predict`` and every standard protocol's route call ``predict_records``; they differ only
in how records arrive and how answers leave.
"""

from __future__ import annotations

from typing import Any

from flask import g

from .deadlines import DeadlineExceededError
from .errors import ApiError
from .inference import Prediction, UnscorableRecordsError
from .services import services


def predict_records(body: Any) -> Prediction:
    """Validate and score a request-shaped ``body`` (``{"instances": [...]}``) with the served
    version, count and log it: 503 while no model is ready, 504 past PREDICT_TIMEOUT, 422 (as
    marshmallow's ValidationError, by path) for invalid records."""
    shared = services()
    try:
        return shared.inference.predict(
            shared.model_holder.get(),
            body,
            monitor=shared.monitor,
            request_id=g.request_id,
            started=g.started,
        )
    except DeadlineExceededError as error:
        message = (
            f"The model gave no answer within {error.seconds:g} s (PREDICT_TIMEOUT); the "
            "prediction was abandoned."
        )
        raise ApiError(504, "prediction_timeout", message) from None
    except UnscorableRecordsError as error:
        problem = "The model gave no finite prediction for this record: are its values sensible?"
        fields = {f"instances.{index}": [problem] for index in error.indices}
        raise ApiError(422, "unscorable_input", f"Invalid input: {error}.", fields) from None
