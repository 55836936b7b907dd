"""A framework lives in its variant folders: no file shared by every framework branches on it.

A shared file may name the framework (``{{ cookiecutter.framework }}``), read its facts
(``frameworks[cookiecutter.framework].memory``: a framework without them fails the bake) and
include its fragments (``{% include fragment(...) ignore missing %}``); any other use of the
framework, its serializer or its encoding in a shared file is a branch that a new framework
would fall into silently (an ``else`` that means TensorFlow).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bakery import TEMPLATE

PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
#: The variant options that are the framework's own (its folders hold its files).
FRAMEWORK_OPTIONS = ("framework", "framework-task", "serializer", "encoding")
#: Jinja's blocks and expressions.
JINJA = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
FRAMEWORK_FACT = re.compile(r"cookiecutter\.(framework|__serializer|__encoding)\b")
#: Naming the answer is not a branch.
PLAIN = re.compile(r"\{\{-?\s*cookiecutter\.(framework|__serializer)\s*-?\}\}")
#: Nor is reading the framework's facts.
FACTS = "frameworks[cookiecutter.framework]"
#: Shared files whose framework branches are still to move into the variants.
NOT_YET_MOVED = {"README.md"}


def shared_files() -> list[Path]:
    framework_folders = [PROJECT / "_variants" / option for option in FRAMEWORK_OPTIONS]
    return sorted(
        path
        for path in PROJECT.rglob("*")
        if path.is_file() and not any(path.is_relative_to(f) for f in framework_folders)
    )


def framework_branches(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [
        match.group(0)
        for match in JINJA.finditer(text)
        if FRAMEWORK_FACT.search(match.group(0).replace(FACTS, ""))
        and not PLAIN.fullmatch(match.group(0))
    ]


@pytest.mark.parametrize(
    "path",
    [p for p in shared_files() if str(p.relative_to(PROJECT)) not in NOT_YET_MOVED],
    ids=lambda p: str(p.relative_to(PROJECT)),
)
def test_a_shared_file_does_not_branch_on_the_framework(path: Path) -> None:
    assert framework_branches(path) == []


def test_the_files_not_yet_moved_still_need_it() -> None:
    # Once a file is clean, it leaves NOT_YET_MOVED and the test above keeps it clean.
    for name in NOT_YET_MOVED:
        assert framework_branches(PROJECT / name), name


def test_the_check_sees_a_branch_and_lets_a_name_pass(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    sample.write_text(
        '{% if cookiecutter.framework == "pytorch" %}x{% endif %}{{ cookiecutter.framework }}\n'
        "{{ 'a' if cookiecutter.__serializer == 'pickle' }}{{ cookiecutter.__serializer }}"
        "{{ frameworks[cookiecutter.framework].label }}",
        encoding="utf-8",
    )
    assert framework_branches(sample) == [
        '{% if cookiecutter.framework == "pytorch" %}',
        "{{ 'a' if cookiecutter.__serializer == 'pickle' }}",
    ]
