"""The generated docs pages match their sources; every prompt is documented."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from bakery import TEMPLATE


@pytest.mark.parametrize("script", ["generate_docs.py", "generate_notebooks.py"])
def test_generated_files_are_up_to_date(script: str) -> None:
    """The docs pages and the notebooks match their sources (each script's --check)."""
    completed = subprocess.run(
        [sys.executable, str(TEMPLATE / "scripts" / script), "--check"],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_every_prompt_has_help_and_a_question() -> None:
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    help_texts = tomllib.loads((TEMPLATE / "docs" / "option-help.toml").read_text())
    prompts = [key for key in config if not key.startswith("_")]
    assert set(help_texts) == set(prompts)
    assert set(config["__prompts__"]) == set(prompts)
