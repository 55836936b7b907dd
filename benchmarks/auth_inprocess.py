"""What checking the API key costs per request, in one process with Flask's test client.

Run by auth_cost.py in an api_key bake's venv; prints one JSON object: the median microseconds
per /v1/predict request (1 record) with the key checked and with the check taken out of the
same app (rounds interleaved, each side first in every other round), and the check alone, timed
in a request context.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import statistics
import time
import timeit

PACKAGE = os.environ["BENCH_PACKAGE"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
KEY = os.environ["API_KEYS"].split(",")[0]


def per_request_us(client: object, body: bytes, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.post("/v1/predict", data=body, headers=headers)  # type: ignore[attr-defined]
        assert response.status_code == 200, response.get_data()
    return (time.perf_counter() - start) / REQUESTS * 1e6


def main() -> None:
    app = importlib.import_module(f"{PACKAGE}.service.app").create_app()
    logging.getLogger(f"{PACKAGE}.access").setLevel(logging.WARNING)
    features = app.extensions["model_holder"].current.metadata["features"]
    body = json.dumps({"instances": [dict.fromkeys(features, 1.5)]}).encode()
    headers = {"Content-Type": "application/json", "X-API-Key": KEY}
    hooks = app.before_request_funcs[None]
    check = next(hook for hook in hooks if hook.__name__ == "require_key")
    client = app.test_client()
    samples: dict[str, list[float]] = {"with_key_check": [], "without": []}
    for round_ in range(ROUNDS):
        for side in ("with_key_check", "without")[:: 1 if round_ % 2 else -1]:
            if side == "without":
                hooks.remove(check)
            samples[side].append(per_request_us(client, body, headers))
            if side == "without":
                hooks.append(check)
    medians = {name: round(statistics.median(values), 1) for name, values in samples.items()}
    medians["difference_us"] = round(medians["with_key_check"] - medians["without"], 1)
    with app.test_request_context("/v1/predict", method="POST", headers=headers):
        calls = 100_000
        medians["check_alone_us"] = round(timeit.timeit(check, number=calls) / calls * 1e6, 2)
    print(json.dumps({"rounds": ROUNDS, "requests_per_round": REQUESTS, **medians}))


if __name__ == "__main__":
    main()
