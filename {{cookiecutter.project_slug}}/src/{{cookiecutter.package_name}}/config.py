"""Settings, read from environment variables (12-factor) and validated once at start-up.

A bad value stops start-up with one line naming the variable, never a traceback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

#: The model this service serves unless MODEL_NAME names another.
DEFAULT_MODEL_NAME = "{{ cookiecutter.model_name }}"
#: Names this service's runtime directory (gunicorn's control socket) under the temp dir.
SERVICE_NAME = "{{ cookiecutter.project_slug }}"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
NAME = validate.Regexp(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$",
    error="Use lowercase letters and digits, optionally joined by '.', '_' or '-'.",
)


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable and the problem."""


class _EnvironmentSchema(Schema):
    """Reads only its own variables: the environment holds many others."""

    class Meta:
        unknown = EXCLUDE


class _AppEnvironment(_EnvironmentSchema):
    model_store = fields.String(
        data_key="MODEL_STORE",
        load_default="models",
        validate=validate.Length(min=1, error="Give the model store's directory."),
    )
    model_name = fields.String(
        data_key="MODEL_NAME", load_default=DEFAULT_MODEL_NAME, validate=NAME
    )
    model_alias = fields.String(data_key="MODEL_ALIAS", load_default="production", validate=NAME)
    model_version = fields.Integer(
        data_key="MODEL_VERSION", load_default=None, validate=validate.Range(min=1)
    )
    model_poll_seconds = fields.Float(
        data_key="MODEL_POLL_SECONDS", load_default=1.0, validate=validate.Range(min=0, max=3600)
    )
    allow_library_mismatch = fields.Boolean(data_key="ALLOW_LIBRARY_MISMATCH", load_default=False)
    max_batch_size = fields.Integer(
        data_key="MAX_BATCH_SIZE", load_default=1000, validate=validate.Range(min=1, max=100_000)
    )
    max_content_length = fields.Integer(
        data_key="MAX_CONTENT_LENGTH", load_default=1024 * 1024, validate=validate.Range(min=1024)
    )
    log_level = fields.String(
        data_key="LOG_LEVEL", load_default="INFO", validate=validate.OneOf(LOG_LEVELS)
    )
    gunicorn_access_log = fields.Boolean(data_key="GUNICORN_ACCESS_LOG", load_default=False)


class _ServerEnvironment(_EnvironmentSchema):
    host = fields.String(data_key="HOST", load_default="127.0.0.1")
    port = fields.Integer(data_key="PORT", load_default=8000, validate=validate.Range(1, 65535))
    web_concurrency = fields.Integer(
        data_key="WEB_CONCURRENCY", load_default=2, validate=validate.Range(min=1)
    )
    threads = fields.Integer(data_key="THREADS", load_default=2, validate=validate.Range(min=1))
    timeout = fields.Integer(data_key="TIMEOUT", load_default=30, validate=validate.Range(min=1))
    graceful_timeout = fields.Integer(
        data_key="GRACEFUL_TIMEOUT", load_default=30, validate=validate.Range(min=1)
    )
    keepalive = fields.Integer(data_key="KEEPALIVE", load_default=5, validate=validate.Range(min=0))
    max_requests = fields.Integer(
        data_key="MAX_REQUESTS", load_default=10_000, validate=validate.Range(min=0)
    )
    runtime_dir = fields.String(data_key="RUNTIME_DIR", load_default=None)


def _load(schema: Schema, environ: Mapping[str, str] | None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    try:
        return schema.load(dict(environ))
    except ValidationError as error:
        problems = "; ".join(
            f"{name}={environ.get(name, '')!r}: {' '.join(messages)}"
            for name, messages in sorted(error.messages.items())
        )
        raise ConfigError(problems) from None


@dataclass(frozen=True)
class Settings:
    """What the application needs: where the models are, how much input it takes, its logs.

    The logging settings are here, not in ServerSettings, because the app and gunicorn apply
    the same logging configuration (whichever comes first, the other repeats it).
    """

    model_store: Path
    model_name: str
    model_alias: str
    #: A version to serve whatever the alias says (MODEL_VERSION); None follows the alias.
    model_version: int | None
    #: How often each worker looks for alias changes in registry.json; 0 never does.
    model_poll_seconds: float
    allow_library_mismatch: bool
    max_batch_size: int
    max_content_length: int
    log_level: str
    gunicorn_access_log: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read the settings from ``environ`` (default: the process environment)."""
        values = _load(_AppEnvironment(), environ)
        values["model_store"] = Path(values["model_store"])
        return cls(**values)


@dataclass(frozen=True)
class ServerSettings:
    """What gunicorn needs; read by gunicorn_conf.py and the ``serve`` command."""

    host: str
    port: int
    web_concurrency: int
    threads: int
    timeout: int
    graceful_timeout: int
    keepalive: int
    max_requests: int
    runtime_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read the settings from ``environ`` (default: the process environment)."""
        values = _load(_ServerEnvironment(), environ)
        # Keyed by port: instances on one machine never share a control socket.
        default_runtime = Path(tempfile.gettempdir()) / f"{SERVICE_NAME}-{values['port']}"
        values["runtime_dir"] = Path(values["runtime_dir"] or default_runtime)
        return cls(**values)
