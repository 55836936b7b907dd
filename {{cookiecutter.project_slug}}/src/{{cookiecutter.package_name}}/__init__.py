"""A Flask + gunicorn service for the {{ cookiecutter.model_name }} model.

From a notebook: ``from {{ cookiecutter.package_name }} import register``, then ``register(model, train_df, ...)``
(see ``registration.register``).
"""

import os
from typing import TYPE_CHECKING, Any

from .runtime import IMPORT_ENVIRONMENT

# What the framework reads when it is first imported, which this package does after this file
# (runtime.py says what and why); a variable set yourself wins.
for _variable, _value in IMPORT_ENVIRONMENT.items():
    os.environ.setdefault(_variable, _value)

if TYPE_CHECKING:
    from .store.registration import register

__all__ = ["FRAMEWORK", "TASK", "register"]

#: The framework and task this service was generated for; metadata.json records them and the
#: model store refuses versions made for others.
FRAMEWORK = "{{ cookiecutter.framework }}"
TASK = "{{ cookiecutter.task }}"


def __getattr__(name: str) -> Any:
    # Importing ``register`` (in a notebook) loads the model machinery only then: the service,
    # its command line and gunicorn import this package first, and need none of it yet.
    if name == "register":
        from .store.registration import register

        return register
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
