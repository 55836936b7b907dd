"""The bakes in combos.py cover the prompts: no value of cookiecutter.json goes untested."""

from __future__ import annotations

import pytest

from combos import CHOICES, COMBOS, IRIS, Combo
from local_extensions import SERIALIZERS, feature_types


def answer(combo: Combo, prompt: str) -> str:
    """The combo's answer to a choice prompt: its own, or the default (the first value)."""
    return combo.context.get(prompt, CHOICES[prompt][0])


@pytest.mark.parametrize("prompt", sorted(CHOICES))
def test_every_value_of_every_choice_is_baked(prompt: str) -> None:
    baked = {answer(combo, prompt) for combo in COMBOS}
    assert baked == set(CHOICES[prompt])


def test_every_framework_is_baked_with_every_task_and_each_of_its_formats() -> None:
    assert set(SERIALIZERS) == set(CHOICES["framework"])
    for framework, formats in SERIALIZERS.items():
        baked = [combo for combo in COMBOS if answer(combo, "framework") == framework]
        assert {answer(combo, "task") for combo in baked} == set(CHOICES["task"]), framework
        assert {answer(combo, "serializer") for combo in baked} == {"auto", *formats}, framework


def test_every_format_is_a_serializer_choice_and_belongs_to_one_framework() -> None:
    formats = [name for names in SERIALIZERS.values() for name in names]
    assert sorted(formats) == sorted(set(formats))
    assert set(CHOICES["serializer"]) == {"auto", *formats}


def test_scikit_learn_bakes_each_format_with_each_task() -> None:
    pairs = {
        (answer(combo, "serializer"), answer(combo, "task"))
        for combo in COMBOS
        if answer(combo, "framework") == "sklearn"
    }
    assert pairs == {
        (serializer, task)
        for serializer in ("auto", *SERIALIZERS["sklearn"])
        for task in CHOICES["task"]
    }


def test_every_type_of_feature_is_baked_in_each_task() -> None:
    for task in CHOICES["task"]:
        types = set()
        for combo in COMBOS:
            if answer(combo, "task") == task:
                types |= set(feature_types(combo.context.get("features", IRIS)).values())
        assert {"float", "int", "bool", "category"} <= types, task


def test_combo_ids_are_unique() -> None:
    ids = [combo.id for combo in COMBOS]
    assert len(ids) == len(set(ids))
