"""Slow layer: the generated README's quick start works as written (make targets, own venv)."""

from __future__ import annotations

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
    assert "Registered iris version 1" in output
    assert "production -> 1" in output
    assert (project / "models" / "iris" / "registry.json").is_file()
    assert "All checks passed!" in run(["make", "lint"], cwd=project, env=env)
    assert " passed" in run(["make", "test"], cwd=project, env=env)
