"""What monitoring costs per request: the default bake with its request metrics and prediction
log on, against the same bake with them off (REQUEST_METRICS=false, PREDICTION_LOG=false).

    .venv/bin/python benchmarks/monitoring_cost.py [--seconds 8] [--rounds 3] [--postgres]

Bakes the defaults and trains the example model. First, in one process
(benchmarks/inprocess_monitoring.py): CPU time per request of each configuration, the log's
writer thread included. Then it serves the bake under gunicorn (2 workers x 2
threads) in each configuration, rounds interleaved, driven by wrk (1 thread, 8 connections) on
127.0.0.1 with 1 record and with 100 records per request. After each round it reads from
/metrics how many predictions were written to the log and how many were dropped. With
--postgres the log also runs on a throwaway PostgreSQL (the Debian package). Figures vary with
the machine and its load: compare the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import RECORD, serve, stop, wait_ready, wrk

from bakery import bake_into, clean_env, package_name, project_venv, run
from postgres import postgres_database
from served import free_port

HERE = Path(__file__).resolve().parent

OFF = {"REQUEST_METRICS": "false", "PREDICTION_LOG": "false"}
METRICS_ONLY = {"REQUEST_METRICS": "true", "PREDICTION_LOG": "false"}
ALL_ON = {"REQUEST_METRICS": "true", "PREDICTION_LOG": "true"}


def log_counts(port: int) -> tuple[float, float]:
    """(written, dropped) prediction-log rows, from the service's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()

    def total(name: str) -> float:
        return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

    return (
        total("prediction_log_written_records_total"),
        total("prediction_log_dropped_records_total"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per configuration")
    parser.add_argument("--postgres", action="store_true", help="also log to PostgreSQL")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="monitoring-cost-"))
        stack.callback(shutil.rmtree, work)
        project = bake_into(work)
        package = package_name(project)
        python = str(project_venv(project) / "bin" / "python")
        store = work / "models"
        env = clean_env(PYTHONPATH=str(project / "src"), MODEL_STORE=str(store))
        run([python, "-m", package, "train-example"], env=env)
        inprocess_env = {**env, "PYTHONPATH": f"{project / 'src'}:{HERE}", "BENCH_PACKAGE": package}
        inprocess = json.loads(
            run([python, str(HERE / "inprocess_monitoring.py")], env=inprocess_env, timeout=1800)
        )
        print(f"in one process: {inprocess}", flush=True)

        configurations = {
            "off": OFF,
            "metrics only": METRICS_ONLY,
            "metrics + log (SQLite)": ALL_ON,
        }
        if args.postgres:
            url = stack.enter_context(postgres_database())
            configurations["metrics + log (PostgreSQL)"] = {**ALL_ON, "DATABASE_URL": url}

        scripts = {}
        for size in (1, 100):
            scripts[size] = work / f"post-{size}.lua"
            body = json.dumps({"instances": [RECORD] * size})
            scripts[size].write_text(
                f"wrk.method = 'POST'\nwrk.body = '{body}'\n"
                "wrk.headers['Content-Type'] = 'application/json'\n"
            )
        command = [python, "-m", "gunicorn", "--config", f"python:{package}.gunicorn_conf"]
        command.append(f"{package}.wsgi:app")
        results: dict[tuple[int, str], list[dict[str, float]]] = {}
        for round_number in range(args.rounds):
            for size, script in scripts.items():
                for name, settings in configurations.items():
                    port = free_port()
                    server_env = {**env, **settings, "PORT": str(port), "WEB_CONCURRENCY": "2"}
                    process = serve(command, server_env, work / "server.log")
                    try:
                        wait_ready(port, "/v1/predict")
                        figures = wrk(port, args.seconds, script)
                        figures["written"], figures["dropped"] = log_counts(port)
                    finally:
                        stop(process)
                    results.setdefault((size, name), []).append(figures)
                    print(
                        f"round {round_number + 1}, {size} record(s), {name}: {figures}", flush=True
                    )
        report_inprocess(inprocess)
        report(results, list(configurations))


def report_inprocess(inprocess: dict) -> None:
    print("\nIn one process (Flask test client), median CPU microseconds per request:")
    for size in (1, 100):
        row = inprocess[f"batch_{size}"]
        base = row["off"]
        print(f"{size} record(s) per request")
        for name, cpu in row.items():
            print(f"  {name:<28} {cpu:>7.0f} us (x{cpu / base:.2f} of off, +{cpu - base:.0f} us)")


def report(results: dict[tuple[int, str], list[dict[str, float]]], names: list[str]) -> None:
    print("\nUnder gunicorn (2 workers x 2 threads), wrk 1 thread x 8 connections; medians:")
    for size in (1, 100):
        print(f"\n{size} record(s) per request")
        base = statistics.median(r["requests_per_s"] for r in results[(size, "off")])
        for name in names:
            rounds = results[(size, name)]
            rate = statistics.median(r["requests_per_s"] for r in rounds)
            p50 = statistics.median(r["p50_ms"] for r in rounds)
            p99 = statistics.median(r["p99_ms"] for r in rounds)
            dropped = sum(r["dropped"] for r in rounds)
            written = sum(r["written"] for r in rounds)
            print(
                f"  {name:<28} {rate:>7.0f} req/s (x{rate / base:.2f} of off)  "
                f"p50 {p50:.2f} ms  p99 {p99:.2f} ms  log rows written {written:.0f}, "
                f"dropped {dropped:.0f}"
            )


if __name__ == "__main__":
    main()
