"""The Jinja filters that quote free text for TOML and Python."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib

import pytest

from local_extensions import py_string, toml_string

SAMPLES = [
    "plain",
    'double "quotes"',
    "single 'quotes'",
    'both \' and " and "',
    "back\\slash",
    "triple \"\"\" and '''",
    "tab\tand\x7fdel and \x1b escape",
    "café 😀 \u2028 line separator",
    "",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_toml_string_round_trips(text: str) -> None:
    assert tomllib.loads(f"value = {toml_string(text)}")["value"] == text


@pytest.mark.parametrize("text", SAMPLES)
def test_py_string_round_trips(text: str) -> None:
    assert ast.literal_eval(py_string(text)) == text


def test_py_string_quotes_like_ruff() -> None:
    """Double quotes, unless single quotes need fewer escapes (ruff format's rule)."""
    assert py_string("a") == '"a"'
    assert py_string('say "hi"') == "'say \"hi\"'"
    assert py_string('it\'s "x"') == "'it\\'s \"x\"'"
    assert py_string("a'b\"c") == '"a\'b\\"c"'


@pytest.mark.parametrize("text", SAMPLES)
def test_ruff_format_leaves_py_string_as_it_is(text: str) -> None:
    source = f"TITLE = {py_string(text)}\n"
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", "x.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert formatted == source
