"""gunicorn settings, each read from the environment where it varies between deployments.

Used by ``{{ cookiecutter.project_slug }} serve`` and the container as
``gunicorn --config python:{{ cookiecutter.package_name }}.gunicorn_conf {{ cookiecutter.package_name }}.wsgi:app``.
"""

import os

from {{ cookiecutter.package_name }} import runtime

# The framework's thread limits, set before anything imports it (runtime.py says which and
# why); a variable set yourself wins. Importing the package imports no framework yet.
for _variable, _value in runtime.SERVER_ENVIRONMENT.items():
    os.environ.setdefault(_variable, _value)

import gc  # noqa: E402 - after the thread limits, on purpose
import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from flask import Flask  # noqa: E402
from gunicorn.arbiter import Arbiter  # noqa: E402
from gunicorn.config import Config  # noqa: E402
from gunicorn.glogging import Logger  # noqa: E402
from gunicorn.workers.base import Worker  # noqa: E402

{% if cookiecutter.auth == "api_key" -%}
from {{ cookiecutter.package_name }}.service.auth import read_keys  # noqa: E402
{% endif -%}
from {{ cookiecutter.package_name }}.service.config import (  # noqa: E402
    ConfigError,
    ServerSettings,
    Settings,
)
from {{ cookiecutter.package_name }}.service.logs import (  # noqa: E402
    configure_logging,
    logging_config,
)
from {{ cookiecutter.package_name }}.service.services import (  # noqa: E402
    EXTENSION,
    Services,
    services,
)


def _refuse_to_start(problem: str) -> None:
    """Stop before gunicorn starts, with one JSON log line naming the problem."""
    configure_logging()
    logging.getLogger("gunicorn.error").critical(f"configuration error: {problem}")
    sys.exit(1)


try:
    _server = ServerSettings.from_env()
    _app = Settings.from_env()  # checked here too, so a bad one stops start-up in one line
{%- if cookiecutter.auth == "api_key" %}
    read_keys(_app.api_keys, _app.api_keys_file)  # no API key, no start
{%- endif %}
except ConfigError as error:
    _refuse_to_start(str(error))

bind = f"{_server.host}:{_server.port}"
workers = _server.web_concurrency
# gunicorn's gthread worker, but each request is read whole by the worker's event loop before
# the app sees it (worker.py says why): slow or idle clients cost a socket, never the worker.
# With THREADS=1 the event loop's thread runs the app itself; more run it in a thread pool.
worker_class = "{{ cookiecutter.package_name }}.server.worker.BufferingWorker"
threads = _server.threads
# A worker silent for this long is killed and replaced: keep it above the slowest prediction.
timeout = _server.timeout
# On SIGTERM or a reload, requests in flight get this long to finish.
graceful_timeout = _server.graceful_timeout
keepalive = _server.keepalive
# Recycle workers now and then (jitter avoids all restarting at once): bounds slow leaks in
# native libraries.
max_requests = _server.max_requests
max_requests_jitter = _server.max_requests // 10
# Whether the master loads the model once and the workers share it copy-on-write, or each
# worker loads its own after the fork: the framework's fork-safety decides (runtime.py).
preload_app = runtime.LOAD_BEFORE_FORK
# The worker heartbeat file lives in memory, not on a disk that may stall (containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# A control socket of this instance's own: the default path is shared by every gunicorn of a
# user, and the first one to exit deletes it for the others. Its directory must be ours alone:
# under a shared /tmp another user could have made it first.
_server.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
_runtime = _server.runtime_dir.stat()
if _runtime.st_uid != os.getuid() or _runtime.st_mode & 0o022:
    _refuse_to_start(
        f"RUNTIME_DIR={str(_server.runtime_dir)!r} must belong to this user and not be writable "
        "by others; remove it or choose another"
    )
control_socket = str(_server.runtime_dir / "gunicorn.ctl")
# Prometheus' multiprocess mode: each worker writes its samples to files in this directory and a
# scrape sums them. Set here, before the app imports prometheus_client; emptied at each start
# (here, not in on_starting, which runs after a preloaded app has written its own files), or
# the files of past processes pile up and slow every scrape.
_metrics_dir = Path(
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_server.runtime_dir / "metrics"))
)
_metrics_dir.mkdir(parents=True, exist_ok=True)
for _stale in _metrics_dir.glob("*.db"):
    _stale.unlink()
# The same JSON lines as the app. The app writes one access line per request with the request
# id and model version, so gunicorn's own access log is off unless GUNICORN_ACCESS_LOG=true;
# then its lines take both from the response headers.
logconfig_dict = logging_config(_app.log_level, access_log=_app.gunicorn_access_log)
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s '
    "model_version=%({x-model-version}o)s"
)
loglevel = _app.log_level.lower()


class AccessAwareLogger(Logger):
    """gunicorn's logger, but it builds an access line only when its logger would write it:
    gunicorn builds one per request whenever logging is configured by dict (about 2% of a
    one-record request's CPU), even with gunicorn.access set to drop it."""

    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        self._writes_access_lines = self.access_log.isEnabledFor(logging.INFO)

    @property
    def access_log_enabled(self) -> bool:
        return getattr(self, "_writes_access_lines", False)


logger_class = AccessAwareLogger


def when_ready(server: Arbiter) -> None:
    """Drop the master's per-process gauges before the first fork: the master serves nothing,
    and gauges it wrote (importing a preloaded app writes them at 0) would read as a worker
    that is not ready."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid())


def pre_fork(server: Arbiter, worker: Worker) -> None:
    """Freeze the master's objects before each fork, so that the workers' garbage collector
    leaves them alone. Otherwise each collection in a worker writes to every object the master
    made (the app, a preloaded model), and the memory pages the workers shared with the master
    become their own: the tree's PSS after 8 s of 100-record requests was 332 MiB against
    249 MiB frozen."""
    gc.freeze()


def post_worker_init(worker: Worker) -> None:
    """Each worker follows the registry and runs its monitor, starting before it takes a
    request; the monitor also reports the master's resources.

    A worker forked from a preloaded master (at start, or when max_requests recycles one) holds
    the version the master loaded at start, and catches up with the alias first; a worker that
    loaded the model itself holds the version the alias named.
    """
    shared = services(worker.wsgi)
    shared.model_holder.watch()
    shared.monitor.start(master_pid=os.getppid())


def worker_exit(server: Arbiter, worker: Worker) -> None:
    """On a graceful stop, write the predictions still queued for the prediction log."""
    # Also called in the master for a worker that vanished, and after a failed start: the
    # app may not be there.
    app = getattr(worker, "wsgi", None)
    shared = app.extensions.get(EXTENSION) if isinstance(app, Flask) else None
    if isinstance(shared, Services) and shared.prediction_log is not None:
        shared.prediction_log.close(timeout=_server.graceful_timeout / 2)


def child_exit(server: Arbiter, worker: Worker) -> None:
    """Keep a dead worker's counts, and drop its gauges, from the summed metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
