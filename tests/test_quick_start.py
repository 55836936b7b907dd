"""Slow layer: the generated README's quick start works as written (make targets, own venv)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bakery import clean_env, run
from combos import DEFAULT, Combo


@pytest.mark.slow
def test_make_train_example_lint_and_test(bake: Callable[[Combo], Path], tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(bake(DEFAULT), project)
    env = clean_env()
    output = run(["make", "train-example"], cwd=project, env=env)
    store = project / "models" / "iris-classifier"
    assert f"Registered iris-classifier version 1 in {store}" in output
    assert "production -> 1" in output
    assert (store / "registry.json").is_file()
    # The README's commands, as it writes them: the command on PATH once the venv is active.
    listed = run(
        ["bash", "-c", ". .venv/bin/activate && iris-classifier models list"], cwd=project, env=env
    )
    assert listed.split()[:1] == ["1"]
    assert "production" in listed
    assert "All checks passed!" in run(["make", "lint"], cwd=project, env=env)
    # The notebook's kernel: this project's venv, where Jupyter looks for kernels.
    jupyter = tmp_path / "jupyter"
    run(["make", "kernel"], cwd=project, env={**env, "JUPYTER_DATA_DIR": str(jupyter)})
    spec = json.loads((jupyter / "kernels" / "iris-classifier" / "kernel.json").read_text())
    assert spec["argv"][0] == str(project / ".venv" / "bin" / "python")
    assert " passed" in run(["make", "test"], cwd=project, env=env)
