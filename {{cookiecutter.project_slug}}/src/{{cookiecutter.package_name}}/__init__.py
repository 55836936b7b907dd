"""A Flask + gunicorn service for the {{ cookiecutter.model_name }} model.

From a notebook: ``from {{ cookiecutter.package_name }} import register``, then ``register(model, train_df, ...)``
(see ``registration.register``).
"""
{% if cookiecutter.framework == "tensorflow" %}
import os
{%- endif %}
from typing import TYPE_CHECKING, Any
{%- if cookiecutter.framework == "tensorflow" %}

# TensorFlow reads these when it is first imported, which this package does after this file:
# warnings and errors only on stderr (2), and no oneDNN notice (the same numerics on every CPU).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
{%- endif %}

if TYPE_CHECKING:
    from .registration import register

__all__ = ["FRAMEWORK", "TASK", "register"]

#: The framework and task this service was generated for; metadata.json records them and the
#: model store refuses versions made for others.
FRAMEWORK = "{{ cookiecutter.framework }}"
TASK = "{{ cookiecutter.task }}"


def __getattr__(name: str) -> Any:
    # Importing ``register`` (in a notebook) loads the model machinery only then: the service,
    # its command line and gunicorn import this package first, and need none of it yet.
    if name == "register":
        from .registration import register

        return register
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
