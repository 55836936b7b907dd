{%- set features = cookiecutter.features | feature_types -%}
"""The model's input features: the request's JSON keys and, in this order, the model's columns.

Each feature has a type, which decides what a request may send and how drift is measured:

- ``float``: any finite JSON number;
- ``int``: a whole number;
- ``bool``: ``true`` or ``false``;
- ``category``: a string, one of the values the training data holds (each version's
  metadata.json keeps them; any other value is refused, naming the allowed ones).
"""

from typing import Literal

FeatureType = Literal["float", "int", "bool", "category"]

#: Every feature and its type, in the order the model was trained on; schemas.InstanceSchema
#: has one field per name.
FEATURE_TYPES: dict[str, FeatureType] = {
{%- for name, kind in features.items() %}
    "{{ name }}": "{{ kind }}",
{%- endfor %}
}
FEATURES: tuple[str, ...] = tuple(FEATURE_TYPES)
#: Features whose values are numbers: scaled, and binned by their training quantiles for drift.
NUMERIC: tuple[str, ...] = tuple(n for n, t in FEATURE_TYPES.items() if t in ("float", "int"))
#: Features with true/false values.
BOOLEAN: tuple[str, ...] = tuple(n for n, t in FEATURE_TYPES.items() if t == "bool")
#: Features whose values are strings from a fixed set (one-hot encoded, say).
CATEGORICAL: tuple[str, ...] = tuple(n for n, t in FEATURE_TYPES.items() if t == "category")
