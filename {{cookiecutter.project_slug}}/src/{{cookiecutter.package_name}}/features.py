{%- set features = cookiecutter.features.split(",") | map("trim") | list -%}
"""The model's input features: the request's JSON keys and, in this order, the model's columns."""

FEATURES: tuple[str, ...] = (
    # In the order the model was trained on; schemas.InstanceSchema has one field per name.
{%- for feature in features %}
    "{{ feature }}",
{%- endfor %}
)
