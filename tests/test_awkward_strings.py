"""Free text with quotes, backslashes, triple quotes, braces and any Unicode bakes valid files."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

# Cookiecutter renders answers as Jinja, so a literal "{{" is given as {{ '{{' }}.
AWKWARD = {
    "project_name": "Café \"Quoted\" \\ Back '''  \"\"\" {{ '{{' }} x }} 😀",
    "description": 'Predicts O\'Brien\'s "churn" \\d+ """ {{ \'{%\' }} raw %}; import os; ünïcödé ✓',
    "author_name": 'Zoë "Z" O\'Connor \\ Jr. \u00a0😀',
}
RENDERED = {
    "project_name": 'Café "Quoted" \\ Back \'\'\'  """ {{ x }} 😀',
    "description": 'Predicts O\'Brien\'s "churn" \\d+ """ {% raw %}; import os; ünïcödé ✓',
    "author_name": 'Zoë "Z" O\'Connor \\ Jr. \u00a0😀',
}


@pytest.fixture(scope="module")
def project(cookies_session) -> Path:
    """The default bake with awkward free text everywhere it can go."""
    result = cookies_session.bake(extra_context=AWKWARD)
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


def test_slug_and_package_are_clean(project: Path) -> None:
    assert project.name == "cafe-quoted-back-x"
    assert (project / "src" / "cafe_quoted_back_x").is_dir()


def test_pyproject_keeps_the_text_exactly(project: Path) -> None:
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["description"] == RENDERED["description"]
    assert metadata["authors"] == [{"name": RENDERED["author_name"], "email": "you@example.com"}]


def test_python_keeps_the_text_exactly(project: Path) -> None:
    source = (project / "src" / "cafe_quoted_back_x" / "service" / "openapi.py").read_text(
        encoding="utf-8"
    )
    [title] = [
        node.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "TITLE"
    ]
    assert ast.literal_eval(title) == RENDERED["project_name"]


def test_readme_shows_the_name(project: Path) -> None:
    assert (
        (project / "README.md")
        .read_text(encoding="utf-8")
        .startswith(f"# {RENDERED['project_name']}\n")
    )


def test_still_lint_clean(project: Path) -> None:
    for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
