{%- set features = cookiecutter.features | feature_types -%}
{%- set field_class = {"float": "JSONNumber", "int": "WholeNumber", "bool": "JSONBoolean", "category": "CategoryValue"} -%}
"""What one record to score holds: validated on every request, and shown in /openapi.json.

Edit ``InstanceSchema`` when the model's inputs change. Its field names are the JSON keys
clients send, one field per feature of ``features.FEATURE_TYPES`` (which gives the order in
which the model sees them), each of the field class for its type (``service/fields.py``): add
``validate=validate.Range(...)`` to a field to tighten its range. Which values a category
feature takes is the served version's: its training data's (``inference.check_categories``).
The API's other bodies (batches, feedback, answers) are ``service/schemas.py``'s.
"""

from __future__ import annotations

from ..service import fields
from .features import FEATURES


class InstanceSchema(fields.RecordSchema):
    """One record to score: every feature the model was trained on, each of its type."""

    # Unknown keys are refused (marshmallow's default) with a message that lists the features,
    # so a misspelt name is easy to spot.
    error_messages: dict[str, str] = {
        "type": "Must be a JSON object of feature values.",
        "unknown": f"Unknown field; the features are: {', '.join(FEATURES)}.",
    }
{% for name, kind in features.items() %}
    {{ name }} = fields.{{ field_class[kind] }}(required=True)
{%- endfor %}
