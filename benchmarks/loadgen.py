"""Load with wrk timed from the client's side, and what a server process tree costs.

Shared by the benchmarks. Traffic goes to 127.0.0.1 only; servers are stopped by the pid
their benchmark started.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMED_SCRIPT = HERE / "timed.lua"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    """What one wrk run saw: every latency is the client's own (timed.lua)."""

    requests: int
    seconds: float
    failed: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds


def need_wrk() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")


def wrk(
    url: str,
    body_file: Path,
    *,
    connections: int,
    seconds: int,
    headers: dict[str, str] | None = None,
) -> Load:
    """Closed-loop load: ``connections`` clients, each sending its next request when the last
    is answered, for ``seconds``. wrk runs on the last core when there are two or more (the
    servers keep the others), one thread per connection so timed.lua can time each request.
    The body file's bytes are posted as they are, with ``headers`` if given (in place of
    Content-Type: application/json)."""
    command = [
        "wrk", f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
        "-s", str(TIMED_SCRIPT), url,
    ]  # fmt: skip
    cores = os.cpu_count() or 1
    if cores > 1 and shutil.which("taskset"):
        command = ["taskset", "-c", str(cores - 1), *command]
    environment = {**os.environ, "BODY_FILE": str(body_file)}
    environment.pop("BODY_HEADERS", None)
    if headers is not None:
        lines = [f"{name}: {value}\n" for name, value in headers.items()]
        environment["BODY_HEADERS"] = "".join(lines)
    started = time.monotonic()
    completed = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=seconds + 120
    )
    elapsed = time.monotonic() - started
    timed = re.search(r"^TIMED (.*)$", completed.stdout, re.M)
    if completed.returncode != 0 or timed is None:
        raise SystemExit(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    figures = dict(item.split("=") for item in timed.group(1).split())
    duration = re.search(r"requests in ([\d.]+)(ms|s|m)", completed.stdout)
    scale = {"ms": 1e-3, "s": 1.0, "m": 60.0}
    seconds_run = float(duration.group(1)) * scale[duration.group(2)] if duration else elapsed
    return Load(
        requests=int(figures["requests"]),
        seconds=seconds_run,
        failed=int(figures["failed"]) + int(figures["errors"]),
        p50_ms=float(figures["p50_ms"]),
        p99_ms=float(figures["p99_ms"]),
        max_ms=float(figures["max_ms"]),
    )


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn's master and its workers)."""
    tree, index = [pid], 0
    while index < len(tree):
        children = Path(f"/proc/{tree[index]}/task/{tree[index]}/children")
        with contextlib.suppress(OSError):  # gone meanwhile
            tree += [int(child) for child in children.read_text().split()]
        index += 1
    return tree


def pss_mib(pid: int) -> float:
    """The tree's proportional set size in MiB (shared pages split between the processes
    sharing them), from /proc/<pid>/smaps_rollup."""
    total_kib = 0
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total_kib += sum(int(line.split()[1]) for line in lines if line.startswith("Pss:"))
    return total_kib / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time used so far by the tree: its live processes, and the children
    ``pid`` has reaped (gunicorn replaces a worker every MAX_REQUESTS)."""
    ticks = 0
    for member in process_tree(pid):
        try:
            # The command name (field 2) may hold spaces: the fields that follow it are fixed.
            stat = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(stat[11]) + int(stat[12])  # utime and stime: fields 14 and 15
        if member == pid:
            ticks += int(stat[13]) + int(stat[14])  # cutime and cstime of reaped children
    return ticks / CLOCK_TICKS


def serve(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a server in a session of its own, its output appended to ``log``."""
    with open(log, "ab") as output:
        return subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server this benchmark started and to every process it started (its
    session, made by ``serve``: MLflow's command leaves uvicorn running otherwise), then wait."""
    _signal_session(process, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        _signal_session(process, signal.SIGKILL)
        process.wait(timeout=10)


def _signal_session(process: subprocess.Popen, signum: int) -> None:
    # The group serve() made: this benchmark's processes only. None left: nothing to do.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def wait_until_answered(
    url: str, body: bytes, process: subprocess.Popen, limit: float = 120
) -> float:
    """Seconds until ``url`` first answers ``body`` with 200; SystemExit if the server exits
    or ``limit`` passes first."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before answering {url}")
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"nothing answered 200 at {url} within {limit:g} s")
