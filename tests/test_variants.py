"""A framework lives in its variant folders: no file shared by every framework branches on it.

A shared file may name the framework (``{{ cookiecutter.framework }}``), read its facts
(``frameworks[cookiecutter.framework].memory``: a framework without them fails the bake) and
include its fragments (``{% include fragment(...) ignore missing %}``); any other use of the
framework, its serializer or its encoding in a shared file is a branch that a new framework
would fall into silently (an ``else`` that means TensorFlow).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bakery import TEMPLATE
from local_extensions import FOR_THE_TEMPLATE, FRAMEWORKS

PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
#: The variant options that are the framework's own (its folders hold its files).
FRAMEWORK_OPTIONS = ("framework", "framework-task", "serializer", "encoding")
#: Jinja's blocks and expressions.
JINJA = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
INCLUDE = re.compile(r'fragment\("([^"]+)"')
FRAMEWORK_FACT = re.compile(r"cookiecutter\.(framework|__serializer|__encoding)\b")
#: Naming the answer is not a branch.
PLAIN = re.compile(r"\{\{-?\s*cookiecutter\.(framework|__serializer)\s*-?\}\}")
#: Nor is reading the framework's facts, or its format's.
FACTS = ("frameworks[cookiecutter.framework]", "formats[cookiecutter.__serializer]")


def shared_files() -> list[Path]:
    framework_folders = [PROJECT / "_variants" / option for option in FRAMEWORK_OPTIONS]
    return sorted(
        path
        for path in PROJECT.rglob("*")
        if path.is_file() and not any(path.is_relative_to(f) for f in framework_folders)
    )


def _without_facts(jinja: str) -> str:
    for facts in FACTS:
        jinja = jinja.replace(facts, "")
    return jinja


def framework_branches(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [
        match.group(0)
        for match in JINJA.finditer(text)
        if FRAMEWORK_FACT.search(_without_facts(match.group(0)))
        and not PLAIN.fullmatch(match.group(0))
    ]


@pytest.mark.parametrize("path", shared_files(), ids=lambda p: str(p.relative_to(PROJECT)))
def test_a_shared_file_does_not_branch_on_the_framework(path: Path) -> None:
    assert framework_branches(path) == []


def test_the_check_sees_a_branch_and_lets_a_name_pass(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    sample.write_text(
        '{% if cookiecutter.framework == "pytorch" %}x{% endif %}{{ cookiecutter.framework }}\n'
        "{{ 'a' if cookiecutter.__serializer == 'pickle' }}{{ cookiecutter.__serializer }}"
        "{{ frameworks[cookiecutter.framework].label }}{{ formats[cookiecutter.__serializer] }}",
        encoding="utf-8",
    )
    assert framework_branches(sample) == [
        '{% if cookiecutter.framework == "pytorch" %}',
        "{{ 'a' if cookiecutter.__serializer == 'pickle' }}",
    ]


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_a_frameworks_facts_agree_with_its_runtime_module(framework: str) -> None:
    # The README reads these from framework.json, the service from runtime.py.
    runtime = PROJECT / "_variants" / "framework" / framework / "src"
    (module,) = runtime.glob("*/runtime.py")
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(module.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    facts = FRAMEWORKS[framework]
    assert values["NEEDS_MODEL_METADATA"] == facts["needs_model_metadata"]
    assert values["LOAD_BEFORE_FORK"] == facts["load_before_fork"]


def test_each_frameworks_fragments_are_included_somewhere() -> None:
    # A fragment nothing includes is dead text that a maintainer would edit in vain.
    included = set()
    for path in shared_files():
        included |= set(INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace")))
    for folder in sorted((PROJECT / "_variants").glob(f"*/*/{FOR_THE_TEMPLATE}")):
        for fragment in folder.iterdir():
            if fragment.suffix != ".json":
                assert fragment.name in included, fragment
