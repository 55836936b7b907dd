{%- set features = cookiecutter.features | feature_types -%}
{%- set field_class = {"float": "JSONNumber", "int": "WholeNumber", "bool": "JSONBoolean", "category": "CategoryValue"} -%}
"""The API's request and response schemas: what is validated, and what /openapi.json shows.

Edit ``InstanceSchema`` when the model's inputs change. Its field names are the JSON keys
clients send, one field per feature of ``features.FEATURE_TYPES`` (which gives the order in
which the model sees them), each of the field class for its type. Which values a category
feature takes is the served version's: its training data's (``inference.check_categories``).
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, pre_load, utils, validate
from marshmallow.types import ErrorMessages

from ..service.errors import MAX_REPORTED_FIELDS, flatten_messages
from ..service.feature_values import (
    MAX_CATEGORY_LENGTH,
    MAX_MAGNITUDE,
    MAX_WHOLE_MAGNITUDE,
    beyond_magnitude,
)
from .features import FEATURES
from .predict import PredictionSchema

# Numbers beyond MAX_MAGNITUDE are refused: far past any real feature, and small enough that
# scaling or a dot product cannot overflow to infinity. Tighten a feature's range with
# ``validate=validate.Range(...)`` on its field.


def _documented(limits: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` whose metadata states ``limits`` in /openapi.json (apispec copies OpenAPI
    keywords from a field's metadata): the document shows every limit the service enforces."""
    return {**kwargs, "metadata": {**limits, **kwargs.get("metadata", {})}}


class JSONNumber(fields.Float):
    """A finite JSON number: strings such as "5.1", booleans, null, NaN and infinities fail."""

    default_error_messages: ErrorMessages = {
        "not_number": "Must be a JSON number.",
        "out_of_range": f"Must be between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        limits = {"minimum": -MAX_MAGNITUDE, "maximum": MAX_MAGNITUDE}
        super().__init__(**_documented(limits, kwargs))

    def _validated(self, value: Any) -> float:
        # marshmallow's Float also accepts numeric strings; the API takes numbers only.
        if type(value) not in (int, float):
            raise self.make_error("not_number")
        if type(value) is int and beyond_magnitude(value):  # before Float rounds it
            raise self.make_error("out_of_range")
        number = super()._validated(value)
        if beyond_magnitude(number):
            raise self.make_error("out_of_range")
        return number


class WholeNumber(JSONNumber):
    """A whole JSON number (``3``, or ``3.0``); ``3.5`` fails."""

    default_error_messages: ErrorMessages = {"not_whole": "Must be a whole number."}

    def __init__(self, **kwargs: Any) -> None:
        # Whole bounds, exact: a client that checks "maximum: 1e+100" in floats cannot tell
        # 10**100 + 1 from it.
        limits = {"minimum": -MAX_WHOLE_MAGNITUDE, "maximum": MAX_WHOLE_MAGNITUDE}
        super().__init__(**_documented(limits, kwargs))

    def _validated(self, value: Any) -> int:
        number = super()._validated(value)  # a JSON integer's bound is checked there, exactly
        if type(value) is int:
            return value  # as sent: through a float, 2**53 + 1 would become 2**53
        if abs(number) > MAX_WHOLE_MAGNITUDE:  # compared exactly: the float 1e100 is over it
            raise self.make_error("out_of_range")
        if not number.is_integer():
            raise self.make_error("not_whole")
        return int(number)


class JSONBoolean(fields.Field):
    """``true`` or ``false``: strings such as "true", numbers and null fail."""

    default_error_messages: ErrorMessages = {"not_boolean": "Must be true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("not_boolean")
        return value


class CategoryValue(fields.String):
    """A category's value: a non-empty JSON string (numbers fail), at most 200 characters."""

    default_error_messages: ErrorMessages = {
        "invalid": "Must be a string: one of the category's values.",
        "length": f"Must be 1 to {MAX_CATEGORY_LENGTH} characters.",
    }

    def __init__(self, **kwargs: Any) -> None:
        limits = {"minLength": 1, "maxLength": MAX_CATEGORY_LENGTH}
        super().__init__(**_documented(limits, kwargs))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not 1 <= len(text) <= MAX_CATEGORY_LENGTH:
            raise self.make_error("length")
        return text


class RecordSchema(Schema):
    """A JSON object of named fields. One with far more keys than it has fields is refused as
    a whole: listing each unknown key of a body that is nothing but keys would cost more than
    the answer can show (it lists MAX_REPORTED_FIELDS problems)."""

    @pre_load
    def refuse_crowded_object(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict) and len(data) > len(self.fields) + MAX_REPORTED_FIELDS:
            names = ", ".join(field.data_key or name for name, field in self.fields.items())
            raise ValidationError(f"Has {len(data)} fields; send only these: {names}.")
        return data


class CheckedList(fields.List):
    """A list whose items are checked in order until MAX_REPORTED_FIELDS problems are found.

    The answer lists no more problems than that, so checking on would only cost time: a body
    of a thousand bad records costs what one of a few does.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if not utils.is_collection(value):
            raise self.make_error("invalid")
        value = value if isinstance(value, Sized) else list(value)  # a JSON array is a list
        result = []
        errors: dict[Any, Any] = {}
        problems = 0
        for index, item in enumerate(value):
            try:
                result.append(self.inner.deserialize(item, **kwargs))
            except ValidationError as error:
                errors[index] = error.messages
                problems += len(flatten_messages(error.messages))
                if problems >= MAX_REPORTED_FIELDS and index + 1 < len(value):
                    stopped = (
                        f"Checked items 0 to {index} of {len(value)}, then stopped: they hold "
                        f"{problems} problems already."
                    )
                    errors = {"_schema": [stopped], **errors}
                    break
        if errors:
            raise ValidationError(errors)
        return result


class InstanceSchema(RecordSchema):
    """One record to score: every feature the model was trained on, each of its type."""

    # Unknown keys are refused (marshmallow's default) with a message that lists the features,
    # so a misspelt name is easy to spot.
    error_messages: dict[str, str] = {
        "type": "Must be a JSON object of feature values.",
        "unknown": f"Unknown field; the features are: {', '.join(FEATURES)}.",
    }
{% for name, kind in features.items() %}
    {{ name }} = {{ field_class[kind] }}(required=True)
{%- endfor %}


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
