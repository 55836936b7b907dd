"""CPU time of the worst bodies of each shape, in one process with Flask's test client.

Run by worst_case_bodies.py in the bake's venv; prints one JSON object: per shape, the body's
size, the status, the answer's size, and the median CPU milliseconds of ROUNDS requests.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import time
from collections.abc import Callable

PACKAGE = os.environ["BENCH_PACKAGE"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
#: Body size: by default just under MAX_CONTENT_LENGTH's default.
LIMIT = int(os.environ.get("BENCH_BODY_BYTES", str(1024 * 1024 - 200)))
#: Only the shapes whose names contain one of these (comma-separated); all by default.
ONLY = [name for name in os.environ.get("BENCH_SHAPES", "").split(",") if name]
BATCH = 1000  # MAX_BATCH_SIZE's default


def repeated(prefix: str, item: str, suffix: str, separator: str = ",") -> str:
    count = (LIMIT - len(prefix) - len(suffix)) // (len(item) + len(separator))
    return prefix + separator.join([item] * count) + suffix


def shapes(features: list[str]) -> dict[str, Callable[[], str]]:
    per_record = LIMIT // BATCH - 1
    wrong = "x" * (per_record // len(features) - max(map(len, features)) - 6)
    wrong_record = "{" + ",".join(f'"{name}":"{wrong}"' for name in features) + "}"
    width = max(1, per_record // 50 - 5)
    unknown_record = "{" + ",".join(f'"{i:0{width}d}":1' for i in range(50)) + "}"
    return {
        "distinct unknown keys in one record": lambda: (
            '{"instances":[{' + ",".join(f'"k{i:07d}":1' for i in range(LIMIT // 13)) + "}]}"
        ),
        "one key repeated": lambda: repeated('{"instances":[{', '"a":1', "}]}"),
        "one huge key": lambda: repeated('{"instances":[{"', "x", '":1}]}', ""),
        "nested arrays": lambda: "[" * (LIMIT // 2) + "]" * (LIMIT // 2),
        "1,000 records, every value wrong": lambda: (
            '{"instances":[' + ",".join([wrong_record] * BATCH) + "]}"
        ),
        "1,000 records of 50 unknown keys": lambda: (
            '{"instances":[' + ",".join([unknown_record] * BATCH) + "]}"
        ),
        "too many records": lambda: repeated('{"instances":[', "{}", "]}"),
        "a huge number": lambda: repeated('{"instances":[{"' + features[0] + '":', "1", "}]}", ""),
        "lone surrogates": lambda: repeated('{"instances":[{"', "\\ud800", '":1}]}', ""),
    }


def main() -> None:
    app = importlib.import_module(f"{PACKAGE}.service.app").create_app()
    client = app.test_client()
    features = app.extensions["model_holder"].current.metadata["features"]
    results = {}
    for name, make in shapes(features).items():
        if ONLY and not any(part in name for part in ONLY):
            continue
        body = make().encode()
        times = []
        for _ in range(ROUNDS):
            started = time.process_time()
            response = client.post("/v1/predict", data=body, content_type="application/json")
            times.append((time.process_time() - started) * 1000)
        results[name] = {
            "body_bytes": len(body),
            "status": response.status_code,
            "answer_bytes": len(response.data),
            "cpu_ms": round(statistics.median(times), 1),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
