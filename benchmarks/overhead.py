"""What the baked service's validation, error handling, request ids and JSON logging cost per
request, against a bare Flask route doing the same scikit-learn prediction (bare_app.py).

    .venv/bin/python benchmarks/overhead.py [--seconds 8] [--rounds 3]

Bakes the defaults, trains the example model, then measures side by side in one run:
  1. in one process with Flask's test client (benchmarks/inprocess.py), per request;
  2. under gunicorn with the same settings for both (2 workers x 2 threads, preloaded), driven by
     wrk (1 thread, 8 connections) on 127.0.0.1, rounds interleaved.
The OpenAPI document is built once at start-up, so it adds nothing per request. Figures vary
with the machine and its load: compare the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


from loadgen import serve, stop

from bakery import bake_into, clean_env, package_name, project_venv, run
from served import free_port

HERE = Path(__file__).resolve().parent
RECORD = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def wait_ready(port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            body = b'{"instances": [%s]}' % json.dumps(RECORD).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port} within 60 s")


def wrk(port: int, seconds: int, script: Path) -> dict[str, float]:
    output = run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/v1/predict"],
        timeout=seconds + 60,
    )  # fmt: skip
    if "Non-2xx" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)$", output, re.M).groups()
        return float(value) * units[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return {"requests_per_s": rate, "p50_ms": latency("50"), "p99_ms": latency("99")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per round")
    parser.add_argument("--rounds", type=int, default=3, help="gunicorn rounds per app")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    work = Path(tempfile.mkdtemp(prefix="overhead-"))
    started = time.perf_counter()
    project = bake_into(work)
    bake_seconds = time.perf_counter() - started
    package = package_name(project)
    python = str(project_venv(project) / "bin" / "python")
    store = work / "models"
    env = clean_env(
        PYTHONPATH=f"{project / 'src'}:{HERE}",
        MODEL_STORE=str(store),
        BARE_MODEL_DIR=str(store / "iris-classifier" / "1"),
        BENCH_PACKAGE=package,
        OMP_NUM_THREADS="1",
    )
    run([python, "-m", package, "train-example"], env=env)

    print(f"baked {project.name} in {bake_seconds:.2f} s; measuring in one process ...", flush=True)
    inprocess = json.loads(run([python, str(HERE / "inprocess.py")], env=env, timeout=1800))

    script = work / "post.lua"
    body = json.dumps({"instances": [RECORD]})
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{body}'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
    )
    gunicorn = [python, "-m", "gunicorn"]
    commands = {
        "bare": [*gunicorn, "--workers", "2", "--worker-class", "gthread", "--threads", "2",
                 "--preload", "--no-control-socket", "--chdir", str(HERE), "bare_app:app"],
        "service": [*gunicorn, "--config", f"python:{package}.gunicorn_conf", f"{package}.wsgi:app"],
    }  # fmt: skip
    served: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for round_number in range(args.rounds):
        for name, command in commands.items():
            port = free_port()
            extra = ["--bind", f"127.0.0.1:{port}"] if name == "bare" else []
            process = serve([*command, *extra], {**env, "PORT": str(port)}, work / f"{name}.log")
            try:
                wait_ready(port, "/v1/predict")
                served[name].append(wrk(port, args.seconds, script))
            finally:
                stop(process)
            print(f"round {round_number + 1} {name}: {served[name][-1]}", flush=True)

    report(inprocess, served)
    shutil.rmtree(work)


def report(inprocess: dict, served: dict[str, list[dict[str, float]]]) -> None:
    print("\nIn one process (Flask test client), median microseconds per request:")
    print(f"{'records':>8} {'bare':>8} {'service':>8} {'no access log':>14} {'validation':>11}")
    for size in (1, 100):
        row = inprocess[f"batch_{size}"]
        print(
            f"{size:>8} {row['bare']:>8.0f} {row['service']:>8.0f} "
            f"{row['service_no_access_log']:>14.0f} {row['validation_only']:>11.0f}"
        )
        print(
            f"{'':>8} service - bare = {row['service'] - row['bare']:.0f} us "
            f"(x{row['service'] / row['bare']:.2f}); the access log line is "
            f"{row['service'] - row['service_no_access_log']:.0f} us of it"
        )
    medians = {
        name: {key: statistics.median(r[key]) for key in rounds[0]}
        for name, rounds in served.items()
        for r in [
            dict(zip(rounds[0], zip(*(x.values() for x in rounds), strict=True), strict=True))
        ]
    }
    print("\nUnder gunicorn (2 workers x 2 threads), wrk 1 thread x 8 connections, 1 record:")
    for name, figures in medians.items():
        print(
            f"  {name:>8}: {figures['requests_per_s']:>7.0f} req/s  p50 {figures['p50_ms']:.2f} ms"
            f"  p99 {figures['p99_ms']:.2f} ms"
        )
    ratio = medians["service"]["requests_per_s"] / medians["bare"]["requests_per_s"]
    print(f"  service / bare throughput: {ratio:.2f}")


if __name__ == "__main__":
    main()
