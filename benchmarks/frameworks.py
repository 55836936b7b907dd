"""Each framework's bake served side by side: throughput, latency, memory and start-up.

    .venv/bin/python benchmarks/frameworks.py [--seconds 8] [--rounds 3]

Bakes the iris classifier for scikit-learn, PyTorch and TensorFlow, trains each one's example
model, then, rounds interleaved, serves each under its own gunicorn settings (2 workers x 2
threads) on 127.0.0.1 and measures: seconds from start to the first 200 prediction; the
process tree's proportional set size (PSS: shared pages split between the processes sharing
them) once ready and again after the load; and wrk with 8 connections posting one record.
Figures vary with the machine and its load: compare the frameworks within one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from loadgen import pss_mib
from overhead import RECORD, serve, stop, wait_ready, wrk

from bakery import bake_into, clean_env, package_name, project_venv, run
from served import free_port

FRAMEWORKS = ("sklearn", "pytorch", "tensorflow")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per framework")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    work = Path(tempfile.mkdtemp(prefix="frameworks-"))
    setups = {}
    for framework in FRAMEWORKS:
        project = bake_into(work / framework, framework=framework)
        package = package_name(project)
        python = str(project_venv(project) / "bin" / "python")
        env = clean_env(PYTHONPATH=str(project / "src"), MODEL_STORE=str(work / framework / "m"))
        run([python, "-m", package, "train-example"], env=env, timeout=600)
        command = [python, "-m", "gunicorn", "--config", f"python:{package}.gunicorn_conf"]
        setups[framework] = ([*command, f"{package}.wsgi:app"], env)
        print(f"{framework}: baked and trained", flush=True)

    script = work / "post.lua"
    body = json.dumps({"instances": [RECORD]})
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{body}'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
    )
    results: dict[str, list[dict[str, float]]] = {name: [] for name in FRAMEWORKS}
    for round_number in range(args.rounds):
        for framework, (command, env) in setups.items():
            port = free_port()
            started = time.monotonic()
            process = serve(command, {**env, "PORT": str(port)}, work / f"{framework}.log")
            try:
                wait_ready(port, "/v1/predict")
                ready = time.monotonic() - started
                time.sleep(1)  # let the second worker finish loading too
                idle = pss_mib(process.pid)
                figures = wrk(port, args.seconds, script)
                figures |= {"ready_s": ready, "pss_ready_mib": idle}
                figures["pss_loaded_mib"] = pss_mib(process.pid)
            finally:
                stop(process)
            results[framework].append(figures)
            print(f"round {round_number + 1} {framework}: {figures}", flush=True)

    print("\nMedians; gunicorn 2 workers x 2 threads, wrk 1 thread x 8 connections, 1 record:")
    print(f"{'':<11} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ready s':>8} {'PSS MiB':>8}")
    baseline = statistics.median(r["requests_per_s"] for r in results["sklearn"])
    for framework, rounds in results.items():
        median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        print(
            f"{framework:<11} {median['requests_per_s']:>8.0f} {median['p50_ms']:>7.2f} "
            f"{median['p99_ms']:>7.2f} {median['ready_s']:>8.1f} {median['pss_loaded_mib']:>8.0f}"
            f"   ({median['requests_per_s'] / baseline:.2f}x scikit-learn's req/s; "
            f"PSS {median['pss_ready_mib']:.0f} MiB when ready)"
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
