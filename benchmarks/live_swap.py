"""How a running service should pick up a promotion: its registry watch, or gunicorn's reload.

    .venv/bin/python benchmarks/live_swap.py [--changes 6]

Bakes the defaults, installs the bake as a wheel, registers three versions, then for each
mechanism serves them with 2 gunicorn workers on 127.0.0.1 under 8 clients posting without
pause, and moves the alias `--changes` times with the real CLI:
  watch  the shipped configuration: preloaded master, each worker polling registry.json;
  hup    preload off and no watch, a SIGHUP to the master after each command (gunicorn starts
         new workers, which load the model, and retires the old ones gracefully).
Prints failed requests, latency percentiles, and the seconds from each command returning (or
HUP sent) to the last answer naming another version.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


from bakery import bake_into, project_venv
from http_client import wait_for
from served import ALIAS_CHANGES, Installed, Load, Server, free_port

PAUSE_SECONDS = 3.0


def serve_with_hup(installed: Installed, store: Path, work: Path) -> Server:
    """The same gunicorn settings, but workers load the model after fork, and no watch."""
    package = installed.package
    config = work / "hup_conf.py"
    config.write_text(f"from {package}.gunicorn_conf import *  # noqa: F403\npreload_app = False\n")
    port = free_port()
    env = installed.env(
        store, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2", MODEL_POLL_SECONDS="0"
    )
    with open(work / "hup.log", "w") as log:
        process = subprocess.Popen(
            [
                str(installed.python),
                "-m",
                "gunicorn",
                "--config",
                str(config),
                f"{package}.wsgi:app",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(process, port, work / "hup.log")


def run_mechanism(name: str, installed: Installed, store: Path, work: Path, changes: int) -> dict:
    installed.cli(store, "models", "promote", "3")
    server = (
        installed.serve(store, work / "watch.log")
        if name == "watch"
        else serve_with_hup(installed, store, work)
    )
    try:
        wait_for(server.port, "/readyz", 200)
        load = Load(server.port).start()
        time.sleep(2)
        windows = []
        for args, version in ALIAS_CHANGES[:changes]:
            started = time.time()
            installed.cli(store, "models", *args)
            if name == "hup":
                server.process.send_signal(signal.SIGHUP)
            windows.append((started, time.time(), version))
            time.sleep(PAUSE_SECONDS)
        load.stop()
    finally:
        server.stop()
    ends = [started for started, _, _ in windows[1:]] + [float("inf")]
    settle = [
        load.settled_after(returned, end, str(version))
        for (_, returned, version), end in zip(windows, ends, strict=True)
    ]
    latencies = sorted(taken for *_, taken in load.received)
    return {
        "requests": len(load.received),
        "failed": len(load.failures) + sum(1 for _, status, *_ in load.received if status != 200),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "max_ms": latencies[-1] * 1000,
        "settle_s": settle,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--changes",
        type=int,
        default=6,
        choices=range(1, len(ALIAS_CHANGES) + 1),
        metavar="N",
        help=f"alias changes per mechanism (1 to {len(ALIAS_CHANGES)})",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="live-swap-"))
    project = bake_into(work)
    installed = Installed.install(project, project_venv(project) / "bin" / "python", work / "site")
    store = work / "models"
    for _ in range(3):
        installed.cli(store, "train-example")
    for name in ("watch", "hup"):
        figures = run_mechanism(name, installed, store, work, args.changes)
        settle = ", ".join(f"{value:.2f}" for value in figures["settle_s"])
        print(
            f"{name:>5}: {figures['requests']} requests, {figures['failed']} failed; "
            f"latency p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
            f"max {figures['max_ms']:.0f} ms; seconds to the last stale answer: {settle}",
            flush=True,
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
