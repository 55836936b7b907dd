"""Slow layer: the house-prices journey, as a data scientist takes it.

A bake with an int and a category feature; its notebook fits a scikit-learn pipeline (a
ColumnTransformer choosing columns by name) on a pandas DataFrame and registers it from a cell
with ``register()``, while the service runs under gunicorn on an empty store. The service
serves it; traffic whose neighborhoods moved shows drift on that feature alone; a neighborhood
the training data never had is refused with the allowed ones. What each step printed goes to
CI's log.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bakery import run
from combos import Combo
from http_client import request, wait_for
from report import say
from served import Installed, Server

pytestmark = pytest.mark.slow

HOUSE_PRICES = Combo(
    "house-prices",
    {
        "project_name": "House Prices",
        "task": "regression",
        "features": "rooms:int,area,age,neighborhood:category",
        "container": "none",
        "kubernetes": "none",
        "monitoring_stack": "none",
        "ci": "none",
    },
)
# Runs a notebook top to bottom in the bake's venv (which has nbclient) and saves its outputs.
RUN_NOTEBOOK = """
import sys
import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, kernel_name="python3", timeout=600,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(notebook, sys.argv[3])
"""


def outputs(notebook: Path) -> list[str]:
    """The text each code cell printed or showed, in order."""
    cells = json.loads(notebook.read_text())["cells"]
    texts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            texts.append("".join(text).strip())
    return texts


@pytest.fixture
def installed(install: Callable[[Combo], Installed]) -> Installed:
    """The house-prices bake, installed as a package."""
    return install(HOUSE_PRICES)


@pytest.fixture
def server(installed: Installed, tmp_path: Path) -> Iterator[Server]:
    """The service on an empty store, watching it closely, and computing drift often."""
    server = installed.serve(
        tmp_path / "models",
        tmp_path / "service.jsonl",
        MODEL_POLL_SECONDS="0.2",
        MONITOR_INTERVAL_SECONDS="0.5",
        DRIFT_MIN_RECORDS="100",
    )
    yield server
    server.stop()


def test_a_dataframe_pipeline_from_a_notebook_cell_is_served_and_drift_shows_on_the_category(
    installed: Installed, server: Server, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    store = tmp_path / "models"
    assert wait_for(server.port, "/readyz", 503).json()["error"]["code"] == "model_not_ready"

    # The notebook's cells, as the data scientist runs them: fit, register, ask the service.
    notebook = installed.project / "notebooks" / "train.ipynb"
    executed = tmp_path / "executed.ipynb"
    env = installed.env(store, SERVICE_URL=f"http://127.0.0.1:{server.port}")
    code = ["-c", RUN_NOTEBOOK, str(notebook), str(tmp_path), str(executed)]
    run([str(installed.python), *code], env=env, timeout=600)
    printed = outputs(executed)
    registered = next(text for text in printed if text.startswith("Registered the Pipeline"))
    assert f"as house-prices version 1 in {store / 'house-prices'}" in registered
    assert "holdout: mae " in registered
    served = json.loads(printed[-1])
    assert served["model"] == {"name": "house-prices", "version": "1"}
    say(pytestconfig, "journey", "the notebook's register() cell printed:\n" + registered)
    say(pytestconfig, "journey", "the service answered the notebook:", json.dumps(served))

    metadata = json.loads((store / "house-prices" / "1" / "metadata.json").read_text())
    assert metadata["feature_types"]["neighborhood"] == "category"
    neighborhoods = metadata["reference"]["neighborhood"]["values"]
    rarest = neighborhoods[-1]

    # Traffic where every house is in the rarest neighborhood, all else as in training.
    example = f"from {installed.package}.model.example_data import load_example_data as load\n"
    example += "import json; print(json.dumps(load()[0][:150]))"
    houses = json.loads(run([str(installed.python), "-c", example], env=env))
    moved = [{**house, "neighborhood": rarest} for house in houses]
    for start in range(0, len(moved), 50):
        body = {"instances": moved[start : start + 50]}
        answer = request(server.port, "POST", "/v1/predict", body)
        assert answer.status == 200, answer.body
    deadline = time.monotonic() + 30
    while True:
        drift = request(server.port, "GET", "/v1/monitoring").json()["drift"]
        if drift["records"] >= 150 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    scores = {name: item["psi"] for name, item in drift["features"].items()}
    assert drift["features"]["neighborhood"]["drifting"], drift
    assert all(score < 0.2 for name, score in scores.items() if name != "neighborhood"), scores
    say(pytestconfig, "journey", f"PSI after 150 houses in {rarest!r}:", json.dumps(scores))
    # The monitor thread of each worker sets the gauge every MONITOR_INTERVAL_SECONDS.
    psi, deadline = math.nan, time.monotonic() + 30
    while not psi > 0.2 and time.monotonic() < deadline:
        metrics = request(server.port, "GET", "/metrics").body.decode()
        gauge = 'feature_drift_psi{feature="neighborhood"}'
        psi = float(
            next(line for line in metrics.splitlines() if line.startswith(gauge)).split()[-1]
        )
        time.sleep(0.5)
    assert psi == pytest.approx(scores["neighborhood"], rel=0.05)
    bins = [line for line in metrics.splitlines() if 'feature="neighborhood"' in line]
    say(pytestconfig, "journey", "/metrics for the category:\n" + "\n".join(bins))

    unknown = {**houses[0], "neighborhood": "atlantis"}
    refused = request(server.port, "POST", "/v1/predict", {"instances": [unknown]})
    assert refused.status == 422
    problem = refused.json()["error"]["fields"]["instances.0.neighborhood"][0]
    assert (
        problem
        == f"Must be one of the values in the training data: {', '.join(map(json.dumps, sorted(neighborhoods)))}."
    )
    say(pytestconfig, "journey", "an unknown neighborhood:", refused.body.decode())
