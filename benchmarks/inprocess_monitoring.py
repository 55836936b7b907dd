"""CPU time per request of monitoring inside one process, with Flask's test client.

Run by monitoring_cost.py in the bake's venv; prints one JSON object. The same bake is built
three times (monitoring off, request metrics only, metrics and the SQLite prediction log) and
each serves the same requests, rounds interleaved. CPU time is the whole process's (the log's
writer thread included, its queue written before the clock stops), so unlike a throughput
figure it does not depend on how gunicorn spreads connections over workers.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import statistics
import time
from typing import Any

PACKAGE = os.environ["BENCH_PACKAGE"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CONFIGURATIONS = {
    "off": {"REQUEST_METRICS": "false", "PREDICTION_LOG": "false"},
    "metrics only": {"REQUEST_METRICS": "true", "PREDICTION_LOG": "false"},
    "metrics + log (SQLite)": {"REQUEST_METRICS": "true", "PREDICTION_LOG": "true"},
}


def cpu_us_per_request(app: Any, body: bytes, count: int) -> float:
    client = app.test_client()
    log = app.extensions["prediction_log"]
    start = time.process_time()
    for _ in range(count):
        response = client.post("/v1/predict", data=body, content_type="application/json")
        assert response.status_code == 200, response.get_data()
    if log is not None:
        assert log.flush(60), "the prediction log did not catch up"
    return (time.process_time() - start) / count * 1e6


def measure() -> dict[str, Any]:
    create_app = importlib.import_module(f"{PACKAGE}.service.app").create_app
    settings = {"MODEL_STORE": os.environ["MODEL_STORE"], "MONITOR_INTERVAL_SECONDS": "0"}
    apps = {name: create_app({**settings, **extra}) for name, extra in CONFIGURATIONS.items()}
    features = apps["off"].extensions["model_holder"].current.metadata["features"]
    results: dict[str, Any] = {"rounds": ROUNDS, "requests_per_round": REQUESTS}
    for size in (1, 100):
        body = json.dumps({"instances": [dict.fromkeys(features, 1.5)] * size}).encode()
        count = REQUESTS if size == 1 else REQUESTS // 10
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(ROUNDS):
            for name, app in apps.items():
                samples[name].append(cpu_us_per_request(app, body, count))
        results[f"batch_{size}"] = {name: statistics.median(v) for name, v in samples.items()}
    for app in apps.values():
        if app.extensions["prediction_log"] is not None:
            app.extensions["prediction_log"].close()
    return results


def main() -> None:
    # The service writes its JSON log lines to stdout: written for real, then dropped.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        results = measure()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
