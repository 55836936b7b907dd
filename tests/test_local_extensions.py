"""The Jinja filters that quote free text for TOML and Python."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib

import pytest

from local_extensions import (
    example_instance,
    example_values,
    feature_types,
    oip_inputs,
    py_string,
    toml_string,
)

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


def test_feature_types_reads_the_features_answer_as_the_hook_does() -> None:
    assert feature_types("a, b : int,c:category ,d:bool") == {
        "a": "float",
        "b": "int",
        "c": "category",
        "d": "bool",
    }


def test_example_instance_is_valid_json_of_each_type() -> None:
    assert json.loads(example_instance("rooms:int,area,zone:category,new:bool")) == {
        "rooms": 3,
        "area": 0.5,
        "zone": "north",
        "new": True,
    }
    iris = json.loads(example_instance("sepal_length,sepal_width,petal_length,petal_width"))
    assert iris["sepal_length"] == 5.1


def test_example_values_give_each_feature_s_value_as_json() -> None:
    values = example_values("rooms:int,zone:category")
    assert {name: json.loads(value) for name, value in values.items()} == {
        "rooms": 3,
        "zone": "north",
    }


def test_oip_inputs_are_one_tensor_per_feature_of_its_datatype() -> None:
    inputs = json.loads(oip_inputs("rooms:int,area,zone:category,new:bool"))
    assert inputs == [
        {"name": "rooms", "datatype": "INT64", "shape": [1], "data": [3]},
        {"name": "area", "datatype": "FP64", "shape": [1], "data": [0.5]},
        {"name": "zone", "datatype": "BYTES", "shape": [1], "data": ["north"]},
        {"name": "new", "datatype": "BOOL", "shape": [1], "data": [True]},
    ]
