"""The comparison and protocols benchmarks run, for a few seconds, so that they cannot rot.

No figure is judged here (the machines are shared and noisy): only that every server (every
protocol) answered every request of the load and that the table and its JSON were written
with every cell.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bakery import TEMPLATE

pytestmark = pytest.mark.slow

SCENARIO = "iris, 1 record, 8 conns"


def test_the_comparison_runs_and_writes_its_table(tmp_path: Path) -> None:
    command = [
        sys.executable, str(TEMPLATE / "benchmarks" / "compare.py"), "--seconds", "2",
        "--passes", "1", "--scenario", SCENARIO, "--out", str(tmp_path),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    result = json.loads((tmp_path / "comparison.json").read_text())
    row = result["scenarios"][SCENARIO]
    assert set(row) == {"bare Flask", "the bake"}
    for figures in row.values():
        assert figures["requests_per_s"] > 0
        assert figures["cpu_ms"] > 0
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert set(result["start"]) == {"bare Flask, iris", "the bake, iris"}
    table = (tmp_path / "comparison.md").read_text()
    assert f"| {SCENARIO} |" in table
    assert "bake / bare Flask" in table


def test_the_protocols_benchmark_runs_and_writes_its_table(tmp_path: Path) -> None:
    command = [
        sys.executable, str(TEMPLATE / "benchmarks" / "protocols.py"), "--seconds", "1",
        "--passes", "1", "--out", str(tmp_path),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    # The script stops unless every body answered 200 with one prediction per record.
    assert "every body answered with its predictions" in completed.stdout

    result = json.loads((tmp_path / "protocols.json").read_text())
    protocols = result["protocols"]
    assert len(protocols) == 8
    keys = {"requests_per_s", "p50_ms", "p99_ms", "cpu_ms", "requests_per_s_ratio", "cpu_ratio"}
    for sizes in protocols.values():
        assert set(sizes) == {"1", "100"}
        for figures in sizes.values():
            assert set(figures) == keys
            assert all(value > 0 for value in figures.values())
    table = (tmp_path / "protocols.md").read_text()
    for name in protocols:
        assert table.count(f"| {name} |") == 2  # at 1 and at 100 records
