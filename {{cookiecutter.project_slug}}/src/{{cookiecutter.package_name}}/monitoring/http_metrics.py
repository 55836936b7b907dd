"""Prometheus metrics at /metrics, summed across gunicorn's workers.

Under gunicorn each worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR (set by
gunicorn_conf.py before anything imports prometheus_client), and a scrape reads them all.
Without that variable (tests, a single process) the default registry is served. How a gauge
combines across workers is its ``multiprocess_mode``: per worker (``liveall``, a ``pid``
label), summed, or the most recent value any worker computed (drift and accuracy, which every
worker computes alike from the shared prediction log).

The metrics of what the model answers (predictions by class or value, accuracy or error from
feedback) are in ``model_metrics``. The README lists every metric.
"""

from __future__ import annotations

import os
import time

import psutil
from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from ..service import dialects, logs
from ..service.operations import operation

#: Latency buckets for a model answering in milliseconds, with room for slow outliers.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000)

# Traffic.
REQUESTS = Counter(
    "http_requests",
    "Requests answered, by endpoint (its route), method, status, model version and protocol "
    "(native, oip, kserve_v1, sagemaker or vertex).",
    ["endpoint", "method", "status", "model_version", "protocol"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from a request's arrival in the app to its answer, by endpoint.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
REQUESTS_REFUSED = Counter(
    "http_requests_refused",
    "Requests the server answered before the app saw them, by status: 400 not HTTP, 408 not "
    "in full within REQUEST_READ_TIMEOUT, 413 over MAX_CONTENT_LENGTH, 414 and 431 too long "
    "a request line or headers, 503 too many bytes held at once.",
    ["status"],
)
IN_FLIGHT = Gauge(
    "http_requests_in_flight", "Requests being handled now.", multiprocess_mode="livesum"
)
BATCH_SIZE = Histogram(
    "prediction_batch_size", "Records per accepted prediction request.", buckets=BATCH_BUCKETS
)

# The model.
MODEL_LOADS = Counter(
    "model_loads",
    "Versions this service tried to load, by outcome: loaded, or refused (any check failed).",
    ["model", "version", "outcome"],
)
MODEL_SWAPS = Counter(
    "model_swaps",
    "Times a worker swapped the version it serves for another, while serving.",
    ["model"],
)
MODEL_READY = Gauge(
    "model_ready",
    "1 while this worker serves a verified model, 0 while it serves none (per worker).",
    multiprocess_mode="liveall",
)

# Inputs: their distribution and its drift from the training data.
FEATURE_VALUES = Counter(
    "feature_values",
    "Records scored, by feature and by the bin of the serving version's training reference "
    "their value fell in.",
    ["model_version", "feature", "bin"],
)
FEATURE_REFERENCE = Gauge(
    "feature_reference_ratio",
    "Share of the training data in each bin, per feature: what feature_values is compared with.",
    ["model_version", "feature", "bin"],
    multiprocess_mode="livemostrecent",
)
DRIFT = Gauge(
    "feature_drift_psi",
    "Population stability index of each feature's inputs over DRIFT_WINDOW against the "
    "served version's training data (0: the same distribution; over 0.2: drifted).",
    ["feature"],
    multiprocess_mode="livemostrecent",
)
DRIFT_RECORDS = Gauge(
    "feature_drift_window_records",
    "Records the drift scores are computed from.",
    multiprocess_mode="livemostrecent",
)

# The prediction log.
PREDICTION_LOG_WRITTEN = Counter(
    "prediction_log_written_records", "Predictions written to the prediction log."
)
PREDICTION_LOG_DROPPED = Counter(
    "prediction_log_dropped_records",
    "Predictions not written to the prediction log, by reason: queue_full (the database was "
    "slower than the traffic, or out of reach for long), write_failed (it refused the rows) or "
    "shutdown (still queued when a worker stopped).",
    ["reason"],
)
PREDICTION_LOG_UP = Gauge(
    "prediction_log_up",
    "1 while every worker's prediction log database takes what is asked of it, 0 while one's "
    "is out of reach (predictions go on; their rows wait in the queue).",
    multiprocess_mode="livemin",
)
FEEDBACK_ITEMS = Counter(
    "feedback_items", "Feedback items received, by outcome: stored or rejected.", ["outcome"]
)
# Exported at 0 from the start, so that rates and alerts have a series before the first event.
for _reason in ("queue_full", "write_failed", "shutdown"):
    PREDICTION_LOG_DROPPED.labels(_reason)
for _outcome in ("stored", "rejected"):
    FEEDBACK_ITEMS.labels(_outcome)
for _status in ("400", "408", "413", "414", "431", "503"):
    REQUESTS_REFUSED.labels(_status)

# Resources, per process: the standard process collector gives none in multiprocess mode.
WORKER_MEMORY = Gauge(
    "worker_resident_memory_bytes",
    "Resident memory of each worker.",
    multiprocess_mode="liveall",
)
WORKER_CPU = Gauge(
    "worker_cpu_seconds", "CPU time each worker has used.", multiprocess_mode="liveall"
)
MASTER_MEMORY = Gauge(
    "master_resident_memory_bytes",
    "Resident memory of gunicorn's master process.",
    multiprocess_mode="livemostrecent",
)
MASTER_CPU = Gauge(
    "master_cpu_seconds",
    "CPU time gunicorn's master process has used.",
    multiprocess_mode="livemostrecent",
)

#: The methods a request is counted under; any other a client makes up counts as "other", so
#: that no client can add series (each costs memory in every worker and a line in each scrape).
COUNTED_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)

bp = Blueprint("metrics", __name__)
_processes: dict[str, psutil.Process] = {}


def watch_master(pid: int) -> None:
    """Report the resources of gunicorn's master (pid) too, from this worker."""
    _processes["master"] = psutil.Process(pid)


def refresh_resources() -> None:
    """Set this process's memory and CPU gauges (and the master's, when it is watched)."""
    worker = _processes.get("worker")
    if worker is None or worker.pid != os.getpid():  # a new process after a fork
        worker = _processes["worker"] = psutil.Process()
    for process, memory, cpu in (
        (worker, WORKER_MEMORY, WORKER_CPU),
        (_processes.get("master"), MASTER_MEMORY, MASTER_CPU),
    ):
        if process is None:
            continue
        try:
            with process.oneshot():
                memory.set(process.memory_info().rss)
                times = process.cpu_times()
                cpu.set(times.user + times.system)
        except psutil.Error:  # the master is gone: this worker is about to be too
            continue


@bp.get("/metrics")
@operation(
    "Prometheus metrics of every worker, summed",
    answer={"type": "string"},
    answer_description="Prometheus' text exposition format.",
    media_type="text/plain",
)
def metrics() -> Response:
    """Every metric of every worker, in Prometheus' text format."""
    refresh_resources()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _request_started() -> None:
    IN_FLIGHT.inc()
    g.counted_in_flight = True


def _request_answered(response: Response) -> Response:
    # The route, not the path: a path is any string a client sends, a route one of a few.
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    method = request.method if request.method in COUNTED_METHODS else "other"
    version = logs.model_version_var.get() or ""
    protocol = dialects.current().name
    REQUESTS.labels(endpoint, method, str(response.status_code), version, protocol).inc()
    LATENCY.labels(endpoint).observe(time.perf_counter() - g.started)
    return response


def _request_finished(_error: BaseException | None) -> None:
    if g.pop("counted_in_flight", False):
        IN_FLIGHT.dec()


def init_app(app: Flask, *, request_metrics: bool) -> None:
    """Serve /metrics; count every request unless REQUEST_METRICS is off."""
    app.register_blueprint(bp)
    if request_metrics:
        app.before_request(_request_started)
        app.after_request(_request_answered)
        app.teardown_request(_request_finished)
