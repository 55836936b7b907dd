"""The API's own bodies around the model's records: batches, feedback, answers and errors.

What a record holds is ``model/schemas.py``'s ``InstanceSchema`` and what a prediction holds
is ``model/predict.py``'s ``PredictionSchema``; the rest of what /openapi.json shows is here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from ..model.predict import PredictionSchema
from ..model.schemas import InstanceSchema
from .fields import CheckedList, RecordSchema


class BatchRequestSchema(Schema):
    """A body holding one list of items, 1 to MAX_BATCH_SIZE of them."""

    #: The name of the list field, and what its items are called in messages.
    items_field: ClassVar[str]
    items_noun: ClassVar[str]

    def __init__(self, *, max_batch_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_batch_size = max_batch_size

    @pre_load
    def refuse_oversized_batch(self, data: Any, **_kwargs: Any) -> Any:
        """Count the items before validating any of them: a huge batch fails fast."""
        if isinstance(data, dict):
            items = data.get(self.items_field)
            if isinstance(items, list) and len(items) > self.max_batch_size:
                raise ValidationError(
                    f"Send at most {self.max_batch_size} {self.items_noun} per request "
                    f"(MAX_BATCH_SIZE); got {len(items)}.",
                    field_name=self.items_field,
                )
        return data


class PredictRequestSchema(BatchRequestSchema):
    """The body of POST /v1/predict: 1 to MAX_BATCH_SIZE records, scored as one batch."""

    items_field = items_noun = "instances"
    error_messages: dict[str, str] = {"type": "Must be a JSON object with an 'instances' array."}

    instances = CheckedList(
        fields.Nested(InstanceSchema),
        required=True,
        validate=validate.Length(min=1, error="Send at least one instance."),
        metadata={"description": "The records to score, in order."},
    )


class FeedbackItemSchema(RecordSchema):
    """The true outcome of one prediction, learned later."""

    id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The prediction's id, as /v1/predict gave it."},
    )
    # Its type is checked per item (evaluation.outcome_problem): one wrong item is reported
    # and the others are stored.
    actual = fields.Raw(
        required=True,
        allow_none=True,
        metadata={"description": "{{ 'The true class label.' if cookiecutter.task == 'classification' else 'The true value, a number.' }}"},
    )


class FeedbackRequestSchema(BatchRequestSchema):
    """The body of POST /v1/feedback: 1 to MAX_BATCH_SIZE outcomes."""

    items_field = "feedback"
    items_noun = "feedback items"
    error_messages: dict[str, str] = {"type": "Must be a JSON object with a 'feedback' array."}

    feedback = CheckedList(
        fields.Nested(FeedbackItemSchema),
        required=True,
        validate=validate.Length(min=1, error="Send at least one feedback item."),
    )


class RejectedItemSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "Position in 'feedback'."})
    id = fields.String(required=True)
    problem = fields.String(required=True)


class FeedbackResponseSchema(Schema):
    stored = fields.Integer(required=True, metadata={"description": "Items stored."})
    rejected = fields.List(fields.Nested(RejectedItemSchema), required=True)
    request_id = fields.String(required=True)


class ModelRefSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True, metadata={"description": "The version number."})


class PredictResponseSchema(Schema):
    predictions = fields.List(fields.Nested(PredictionSchema), required=True)
    model = fields.Nested(ModelRefSchema, required=True)
    request_id = fields.String(required=True)


class ModelInfoSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    alias = fields.String(required=True, metadata={"description": "The alias followed."})
    selected_by = fields.String(
        required=True,
        metadata={"description": "'alias <name>', or 'MODEL_VERSION=<n>' when pinned."},
    )
    last_refused = fields.Dict(
        allow_none=True,
        metadata={"description": "The last version this worker refused to swap in, and why."},
    )
    registry_problem = fields.String(
        allow_none=True, metadata={"description": "What is wrong with registry.json, if anything."}
    )
    framework = fields.String(required=True)
    serializer = fields.String(required=True)
    task = fields.String(required=True)
    features = fields.List(fields.String(), required=True)
    classes = fields.List(fields.Raw(), metadata={"description": "Classification only."})
    categories = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "The values each category feature may take with this version."},
    )
    created_at = fields.String(required=True)
    sha256 = fields.String(
        required=True, metadata={"description": "Digest of the version's artifact files."}
    )
    files = fields.Dict(keys=fields.String(), values=fields.String())
    metrics = fields.Dict(keys=fields.String(), values=fields.Float())
    metrics_on = fields.String(
        allow_none=True, metadata={"description": "Data the metrics are of."}
    )
    libraries = fields.Dict(keys=fields.String(), values=fields.String())
    source = fields.String(metadata={"description": "train-example, or the registered file."})
    notes = fields.String()


class MonitoringReportSchema(Schema):
    prediction_log = fields.String(
        allow_none=True, metadata={"description": "The log's database; null when it is off."}
    )
    computed_at = fields.String(
        required=True,
        metadata={"description": "When the monitor computed it (MONITOR_INTERVAL_SECONDS)."},
    )
    drift = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The served version's PSI per feature over DRIFT_WINDOW, with the "
            "record count, threshold and, when no score could be computed, the problem."
        },
    )
    quality = fields.Dict(
        allow_none=True,
        metadata={"description": "Per version, feedback count and scores over ACCURACY_WINDOW."},
    )


class StatusSchema(Schema):
    status = fields.String(required=True)
    model = fields.Nested(ModelRefSchema)


class ErrorDetailSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Problems per input path, e.g. instances.3.sepal_length."},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)
    request_id = fields.String(required=True)
