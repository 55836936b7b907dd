"""Prometheus metrics at /metrics, summed across gunicorn's workers.

Under gunicorn each worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR (set by
gunicorn_conf.py before anything imports prometheus_client), and a scrape reads them all.
Without that variable (tests, a single process) the default registry is served.
"""

from __future__ import annotations

import os

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)

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

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """Every metric of every worker, in Prometheus' text format."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
