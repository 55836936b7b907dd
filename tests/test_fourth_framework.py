"""docs/adding-a-framework.md is complete: a fourth framework made by following it, in a copy of
the template, bakes a project whose own suite passes, with no shared file edited.

The throwaway framework is scikit-learn under another name (its files copied, its name
changed), so it needs no new library; what it proves is that the checklist's folders and
cookiecutter.json are all that a framework needs. Its notebooks are copied too, in place of
scripts/generate_notebooks.py's cells for it.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from bakery import TEMPLATE, clean_env, package_name, project_venv, run

NAME = "fourth"
#: What a copy of the template leaves out: caches, venvs, builds, history.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", ".cache", "build", "__pycache__", "*.pyc")


def add_framework_by_the_checklist(template: Path) -> None:
    """Steps "A framework" of docs/adding-a-framework.md, for a copy of scikit-learn."""
    variants = template / "{{cookiecutter.project_slug}}" / "_variants"
    # Add: its folder (facts, runtime, requirements, serializer tests, fragments) ...
    shutil.copytree(variants / "framework" / "sklearn", variants / "framework" / NAME)
    facts_path = variants / "framework" / NAME / "_template" / "framework.json"
    facts = json.loads(facts_path.read_text(encoding="utf-8"))
    facts.update(label="Fourth", serializers=["joblib"])
    facts_path.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    # ... and its model code and notebook for each task.
    for task in ("classification", "regression"):
        shutil.copytree(
            variants / "framework-task" / f"sklearn-{task}",
            variants / "framework-task" / f"{NAME}-{task}",
        )
    # The formats it shares: one format belongs to one framework's prompt, so scikit-learn
    # keeps pickle and the fourth takes joblib in this copy.
    sklearn_facts_path = variants / "framework" / "sklearn" / "_template" / "framework.json"
    sklearn_facts = json.loads(sklearn_facts_path.read_text(encoding="utf-8"))
    sklearn_facts["serializers"] = ["pickle"]
    sklearn_facts_path.write_text(json.dumps(sklearn_facts, indent=2) + "\n", encoding="utf-8")
    # Edit: cookiecutter.json, its name and its label.
    config_path = template / "cookiecutter.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["framework"].append(NAME)
    config["__prompts__"]["framework"][NAME] = "Fourth"
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_a_fourth_framework_by_the_checklist_bakes_and_passes(tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=NOT_COPIED)
    add_framework_by_the_checklist(template)

    # In a process of its own, away from the real template (python -m puts the working
    # directory first on the path): this one has imported the real local_extensions.
    bakes = tmp_path / "bakes"
    run(
        [sys.executable, "-m", "cookiecutter", str(template), "--no-input", "-o", str(bakes),
         f"framework={NAME}"],
        cwd=tmp_path,
        env=clean_env(HOME=str(tmp_path)),
    )  # fmt: skip
    (project,) = bakes.iterdir()
    package = package_name(project)
    assert f'FRAMEWORK = "{NAME}"' in (project / "src" / package / "__init__.py").read_text()
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "what serving needs to know about Fourth" in readme
    assert "model.joblib" in readme
    assert not (project / "_variants").exists()

    python = project_venv(project) / "bin" / "python"
    output = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=clean_env(HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / "hypothesis")),
        timeout=1200,
    )
    assert " passed" in output
    assert " failed" not in output
