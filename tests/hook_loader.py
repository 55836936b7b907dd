"""Load a hook script as a module, rendered with given answers the way cookiecutter renders it."""

from __future__ import annotations

import json
import types
from pathlib import Path

from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

TEMPLATE = Path(__file__).resolve().parent.parent


def default_answers(**overrides: str) -> dict:
    """The answers cookiecutter gives with --no-input and ``overrides``, rendered."""
    context = generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json"), extra_context=overrides
    )
    return dict(prompt_for_config(context, no_input=True))


def load_hook(name: str, answers: dict) -> types.ModuleType:
    """The hook ``name`` rendered with ``answers``, executed as a module (main() not run)."""
    source = (TEMPLATE / "hooks" / f"{name}.py").read_text(encoding="utf-8")
    env = StrictEnvironment(context={"cookiecutter": answers})
    rendered = env.from_string(source).render(cookiecutter=answers)
    module = types.ModuleType(name)
    module.__dict__["__name__"] = name  # not "__main__": main() stays unrun
    exec(compile(rendered, f"hooks/{name}.py", "exec"), module.__dict__)
    assert json.loads(json.dumps(answers)) == module.ANSWERS
    return module
