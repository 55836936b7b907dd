"""Per-request cost inside one process, with Flask's test client: no network, no gunicorn.

Run by overhead.py in the bake's venv; prints one JSON object. Compares the baked service
(validation, error envelope, request ids, access log line) with the bare route of
bare_app.py doing the same prediction, rounds interleaved so drift on a shared machine hits
each alike.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import statistics
import time
from typing import Any

PACKAGE = os.environ["BENCH_PACKAGE"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))


def per_request_us(client: Any, body: bytes, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        response = client.post("/v1/predict", data=body, content_type="application/json")
        assert response.status_code == 200, response.get_data()
    return (time.perf_counter() - start) / count * 1e6


def per_call_us(call: Any, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - start) / count * 1e6


def measure() -> dict[str, Any]:
    """Median microseconds per request of each app, for 1 and 100 records per request."""
    bare = importlib.import_module("bare_app").app.test_client()
    service_app = importlib.import_module(f"{PACKAGE}.service.app").create_app()
    service = service_app.test_client()
    access = logging.getLogger(f"{PACKAGE}.access")
    schema = service_app.extensions["predict_request_schema"]
    features = service_app.extensions["model_holder"].current.metadata["features"]

    results: dict[str, Any] = {"rounds": ROUNDS, "requests_per_round": REQUESTS}
    for size in (1, 100):
        payload = {"instances": [dict.fromkeys(features, 1.5)] * size}
        body = json.dumps(payload).encode()
        count = REQUESTS if size == 1 else REQUESTS // 10
        samples: dict[str, list[float]] = {"bare": [], "service": [], "service_no_access_log": []}
        for _ in range(ROUNDS):
            samples["bare"].append(per_request_us(bare, body, count))
            access.setLevel(logging.INFO)
            samples["service"].append(per_request_us(service, body, count))
            access.setLevel(logging.WARNING)
            samples["service_no_access_log"].append(per_request_us(service, body, count))
        access.setLevel(logging.NOTSET)
        validation = [per_call_us(lambda p=payload: schema.load(p), count) for _ in range(ROUNDS)]
        results[f"batch_{size}"] = {
            **{name: statistics.median(values) for name, values in samples.items()},
            "validation_only": statistics.median(validation),
        }
    return results


def main() -> None:
    # The service writes its JSON log lines to stdout: written for real, then dropped.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        results = measure()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
