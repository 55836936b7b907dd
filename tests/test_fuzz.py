"""Slow layer: schemathesis over the served bake's own /openapi.json, every check, positive and
negative cases: no 5xx, every answer as the document says, every limit the service enforces
stated in it. The default bake, and one with auth=api_key given its key. The server runs on
127.0.0.1 and is stopped by its pid; the case counts go to CI's log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from combos import COMBOS, DEFAULT, Combo
from http_client import wait_for
from report import say
from served import Installed, Server

pytestmark = pytest.mark.slow

KEY = "fuzz-key-0123456789abcdefghij"
#: Examples per operation and phase: over a thousand cases in all, in about a minute.
EXAMPLES = 600
#: Fixed, so a run can be repeated; FUZZ_SEED tries others.
SEED = os.environ.get("FUZZ_SEED", "14")
KEYED = next(combo for combo in COMBOS if combo.api_key and combo.framework == "sklearn")


@pytest.fixture(scope="module", params=[DEFAULT, KEYED], ids=["default", "api_key"])
def combo(request: pytest.FixtureRequest) -> Combo:
    return request.param


@pytest.fixture(scope="module")
def installed(install: Callable[[Combo], Installed], combo: Combo) -> Installed:
    return install(combo)


def test_schemathesis_finds_nothing(
    installed: Installed,
    combo: Combo,
    start_server: Callable[..., Server],
    tmp_path: Path,
    pytestconfig: pytest.Config,
) -> None:
    store = tmp_path / "models"
    installed.cli(store, "train-example")
    keys = {"API_KEYS": KEY} if combo.api_key else {}
    server = start_server(store, **keys)
    wait_for(server.port, "/readyz", 200)
    headers = ["--header", f"Authorization: Bearer {KEY}"] if combo.api_key else []
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"), "run",
            f"http://127.0.0.1:{server.port}/openapi.json", *headers,
            "--checks", "all", "--mode", "all", "--max-examples", str(EXAMPLES),
            "--seed", SEED, "--no-color",
        ],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    say(
        pytestconfig,
        f"fuzz {combo.id}",
        cases[0] if cases else "no count",
        f"exit {completed.returncode};",
        output.strip().splitlines()[-1],
    )
    assert completed.returncode == 0, output[-5000:]
    assert cases is not None
    assert int(cases[1]) >= 1000
    assert cases[1] == cases[2]  # every case passed every check
