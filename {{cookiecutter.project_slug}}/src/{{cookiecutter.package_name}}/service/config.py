"""Settings, read from environment variables (12-factor) and validated once at start-up.

A bad value stops start-up with one line naming the variable, never a traceback.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

#: The model this service serves unless MODEL_NAME names another.
DEFAULT_MODEL_NAME = "{{ cookiecutter.model_name }}"
#: Names this service's runtime directory (gunicorn's control socket) under the temp dir.
SERVICE_NAME = "{{ cookiecutter.project_slug }}"
#: The prediction log's SQLite file in the model store, unless DATABASE_URL names a database.
PREDICTION_LOG_FILE = "prediction-log.sqlite3"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
NAME = validate.Regexp(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$",
    error="Use lowercase letters and digits, optionally joined by '.', '_' or '-'.",
)


#: Where SageMaker unpacks a model's model.tar.gz (read-only) before it starts the container.
SAGEMAKER_MODEL_DIR = "/opt/ml/model"
#: A route Vertex AI names (AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE): a plain absolute URL path.
ROUTE = validate.Regexp(
    r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,500}$",
    error="Give an absolute URL path, such as /v1/endpoints/1/deployedModels/2:predict.",
)


def default_model_store() -> str:
    """``models/`` in the project when this package runs from its source tree (``make
    install`` installs it so), wherever the command or the notebook runs; else SageMaker's
    model directory, where it exists (SageMaker unpacks a tarball of the store there); else
    ``models/`` in the working directory (an installed wheel; the image's is ``/models``)."""
    package = Path(__file__).resolve().parents[1]  # src/<package>/service/config.py
    project = package.parent.parent
    if package.parent.name == "src" and (project / "pyproject.toml").is_file():
        return str(project / "models")
    if Path(SAGEMAKER_MODEL_DIR).is_dir():
        return SAGEMAKER_MODEL_DIR
    return "models"


def default_database_url(store: Path) -> str:
    """The prediction log's SQLite file: in the model store, one log per store, so instances
    on one machine never share it; in the temp directory if the store is read-only (an image
    with the store inside, SageMaker's model directory), still one per store."""
    existing = next(path for path in (store, *store.parents) if path.exists())
    if os.access(existing, os.W_OK):
        return f"sqlite:///{store / PREDICTION_LOG_FILE}"
    digest = hashlib.sha256(str(store).encode()).hexdigest()[:12]
    return f"sqlite:///{Path(tempfile.gettempdir()) / f'{SERVICE_NAME}-{digest}-{PREDICTION_LOG_FILE}'}"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class ConfigError(Exception):
    """A setting has a bad value; the message names the variable and the problem."""


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h"`` or ``"7d"`` as a timedelta; ValueError for anything else."""
    match = _DURATION.fullmatch(text.strip())
    if not match or float(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 1h or 7d")
    return timedelta(**{_DURATION_UNITS[match[2]]: float(match[1])})


def format_duration(duration: timedelta) -> str:
    """A duration in the largest unit that divides it: ``timedelta(hours=24)`` is ``"1d"``."""
    seconds = duration.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size:g}{unit}"
    return f"{seconds:g}s"


class Duration(fields.Field):
    """A positive duration written as a number and a unit: 90s, 15m, 1h, 7d."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> timedelta:
        try:
            return parse_duration(str(value))
        except ValueError as error:
            raise ValidationError(str(error)) from None


class _EnvironmentSchema(Schema):
    """Reads only its own variables: the environment holds many others."""

    class Meta:
        unknown = EXCLUDE


class _AppEnvironment(_EnvironmentSchema):
    model_store = fields.String(
        data_key="MODEL_STORE",
        load_default=default_model_store,
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
    predict_timeout = fields.Float(
        data_key="PREDICT_TIMEOUT", load_default=10.0, validate=validate.Range(0, 3600)
    )
    max_content_length = fields.Integer(
        data_key="MAX_CONTENT_LENGTH", load_default=1024 * 1024, validate=validate.Range(min=1024)
    )
    log_level = fields.String(
        data_key="LOG_LEVEL", load_default="INFO", validate=validate.OneOf(LOG_LEVELS)
    )
    gunicorn_access_log = fields.Boolean(data_key="GUNICORN_ACCESS_LOG", load_default=False)
    request_metrics = fields.Boolean(data_key="REQUEST_METRICS", load_default=True)
    prediction_log = fields.Boolean(data_key="PREDICTION_LOG", load_default=True)
    database_url = fields.String(data_key="DATABASE_URL", load_default=None)
    prediction_log_queue_size = fields.Integer(
        data_key="PREDICTION_LOG_QUEUE_SIZE", load_default=10_000, validate=validate.Range(min=1)
    )
    monitor_interval_seconds = fields.Float(
        data_key="MONITOR_INTERVAL_SECONDS", load_default=30.0, validate=validate.Range(0, 3600)
    )
    drift_window = Duration(data_key="DRIFT_WINDOW", load_default=timedelta(hours=1))
    drift_threshold = fields.Float(
        data_key="DRIFT_THRESHOLD", load_default=0.2, validate=validate.Range(min=0)
    )
    drift_min_records = fields.Integer(
        data_key="DRIFT_MIN_RECORDS", load_default=100, validate=validate.Range(min=1)
    )
    accuracy_window = Duration(data_key="ACCURACY_WINDOW", load_default=timedelta(hours=24))
    vertex_health_route = fields.String(
        data_key="AIP_HEALTH_ROUTE", load_default=None, validate=ROUTE
    )
    vertex_predict_route = fields.String(
        data_key="AIP_PREDICT_ROUTE", load_default=None, validate=ROUTE
    )
{%- if cookiecutter.auth == "api_key" %}
    api_keys = fields.String(data_key="API_KEYS", load_default="")
    api_keys_file = fields.String(data_key="API_KEYS_FILE", load_default=None)
    metrics_need_key = fields.Boolean(data_key="METRICS_NEED_KEY", load_default=True)
{%- endif %}


class _ServerEnvironment(_EnvironmentSchema):
    host = fields.String(data_key="HOST", load_default="127.0.0.1")
    port = fields.Integer(data_key="PORT", load_default=8000, validate=validate.Range(1, 65535))
    # The ports managed platforms give the container: they win over PORT (the image sets one).
    sagemaker_port = fields.Integer(
        data_key="SAGEMAKER_BIND_TO_PORT", load_default=None, validate=validate.Range(1, 65535)
    )
    vertex_port = fields.Integer(
        data_key="AIP_HTTP_PORT", load_default=None, validate=validate.Range(1, 65535)
    )
    web_concurrency = fields.Integer(
        data_key="WEB_CONCURRENCY", load_default=2, validate=validate.Range(min=1)
    )
    threads = fields.Integer(data_key="THREADS", load_default=1, validate=validate.Range(min=1))
    timeout = fields.Integer(data_key="TIMEOUT", load_default=30, validate=validate.Range(min=1))
    # Below 30 s: SageMaker (and Kubernetes' default grace period) kill 30 s after SIGTERM.
    graceful_timeout = fields.Integer(
        data_key="GRACEFUL_TIMEOUT", load_default=25, validate=validate.Range(min=1)
    )
    keepalive = fields.Integer(data_key="KEEPALIVE", load_default=5, validate=validate.Range(min=0))
    request_read_timeout = fields.Float(
        data_key="REQUEST_READ_TIMEOUT", load_default=30.0, validate=validate.Range(1, 3600)
    )
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
            for name, messages in sorted(error.normalized_messages().items())
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
    #: Seconds a request waits for the model before it answers 504; 0 waits for ever.
    predict_timeout: float
    max_content_length: int
    log_level: str
    gunicorn_access_log: bool
    #: Count requests, latency, batch sizes, predictions and input bins (REQUEST_METRICS).
    request_metrics: bool
    #: Store every prediction, for feedback, drift and reports (PREDICTION_LOG).
    prediction_log: bool
    #: SQLAlchemy URL of the prediction log; by default a SQLite file in the model store.
    database_url: str
    #: Requests whose predictions may wait to be written; beyond it they are dropped, counted.
    prediction_log_queue_size: int
    #: How often each worker recomputes drift, accuracy and resource use; 0 only on demand.
    monitor_interval_seconds: float
    drift_window: timedelta
    #: A feature whose population stability index exceeds this is drifting (0.2 is customary).
    drift_threshold: float
    #: Fewer records than this in the window give no drift score: it would be noise.
    drift_min_records: int
    accuracy_window: timedelta
    #: Vertex AI's routes for health and predictions (AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE),
    #: served beside the others; None where Vertex AI names none.
    vertex_health_route: str | None
    vertex_predict_route: str | None
{%- if cookiecutter.auth == "api_key" %}
    #: Accepted API keys, comma-separated (API_KEYS), and a file of more, one per line.
    api_keys: str
    api_keys_file: Path | None
    #: Whether /metrics needs a key too (a scraper then sends one).
    metrics_need_key: bool
{%- endif %}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read the settings from ``environ`` (default: the process environment)."""
        values = _load(_AppEnvironment(), environ)
        # Absolute, so that every message names the store wherever it was read from.
        values["model_store"] = Path(values["model_store"]).absolute()
        if not values["database_url"]:
            values["database_url"] = default_database_url(values["model_store"])
{%- if cookiecutter.auth == "api_key" %}
        values["api_keys_file"] = Path(values["api_keys_file"]) if values["api_keys_file"] else None
{%- endif %}
        return cls(**values)


@dataclass(frozen=True)
class ServerSettings:
    """What gunicorn needs; read by gunicorn_conf.py and the ``serve`` command."""

    host: str
    #: PORT, unless a platform names another: SAGEMAKER_BIND_TO_PORT, then AIP_HTTP_PORT.
    port: int
    web_concurrency: int
    threads: int
    timeout: int
    graceful_timeout: int
    keepalive: int
    #: Seconds a client has to send a whole request, headers and body (408 after that).
    request_read_timeout: float
    max_requests: int
    runtime_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read the settings from ``environ`` (default: the process environment)."""
        values = _load(_ServerEnvironment(), environ)
        # SageMaker's port (an inference pipeline's container), then Vertex AI's, then PORT.
        sagemaker_port, vertex_port = values.pop("sagemaker_port"), values.pop("vertex_port")
        values["port"] = sagemaker_port or vertex_port or values["port"]
        # Keyed by port: instances on one machine never share a control socket.
        default_runtime = Path(tempfile.gettempdir()) / f"{SERVICE_NAME}-{values['port']}"
        values["runtime_dir"] = Path(values["runtime_dir"] or default_runtime)
        return cls(**values)
