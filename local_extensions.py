"""The template's Jinja additions: filters that quote free text (names, descriptions) safely for
the files they land in, and the facts about frameworks that several files need.

Answers can hold quotes, backslashes and any Unicode; Jinja's own ``tojson`` escapes astral
characters as surrogate pairs, which TOML refuses, so these quote by hand.
"""

import json
from pathlib import Path
from typing import Any

from cookiecutter.utils import simple_filter
from jinja2 import Environment, pass_context
from jinja2.ext import Extension

#: Where each framework keeps what the template reads from it: its facts (framework.json) and
#: the pieces shared files include (a Dockerfile's step, a CI job's environment). Never moved
#: into a bake.
FRAMEWORK_VARIANTS = (
    Path(__file__).resolve().parent / "{{cookiecutter.project_slug}}" / "_variants" / "framework"
)
FOR_THE_TEMPLATE = "_template"


def _read_frameworks() -> dict[str, dict[str, Any]]:
    """Each framework's facts, from its own folder (see docs/adding-a-framework.md):

    - ``label``: its name for people;
    - ``serializers``: the formats its models are saved in ("auto" picks the first);
    - ``encoding``: how records become the model's input ("none": the records' table as it
      is; "one_hot": float32 with categories one-hot, encoding.py);
    - ``memory``: a pod's request and limit (deploy/k8s/deployment.yaml);
    - ``worker_memory_alert``: the resident memory of a worker that raises an alert.
    """
    facts = {}
    for path in sorted(FRAMEWORK_VARIANTS.glob(f"*/{FOR_THE_TEMPLATE}/framework.json")):
        facts[path.parent.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    return facts


#: The one declaration of what the template derives from each framework: cookiecutter.json's
#: ``__serializer`` and ``__encoding``, the pre-gen hook's checks, the deploy files' sizes,
#: and the bakes the template's tests make. A Jinja global rather than a private answer, so it
#: is never frozen into a project's replay or .cruft.json.
FRAMEWORKS: dict[str, dict[str, Any]] = _read_frameworks()
#: Each framework's formats, from FRAMEWORKS.
SERIALIZERS: dict[str, tuple[str, ...]] = {
    name: tuple(facts["serializers"]) for name, facts in FRAMEWORKS.items()
}

_CONTROL_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _escape(text: str, quote: str, unicode_escape: str) -> str:
    out = []
    for char in text:
        if char in ("\\", quote):
            out.append("\\" + char)
        elif char in _CONTROL_ESCAPES:
            out.append(_CONTROL_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(unicode_escape % ord(char))
        else:
            out.append(char)
    return "".join(out)


def toml_string(value: str) -> str:
    """A TOML basic string: double quotes, control characters escaped, Unicode kept."""
    return '"' + _escape(str(value), '"', "\\u%04X") + '"'


def py_string(value: str) -> str:
    """A Python string literal quoted the way ``ruff format`` would leave it.

    ruff prefers double quotes but switches to single quotes when that needs fewer escapes.
    """
    text = str(value)
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + _escape(text, quote, "\\x%02x") + quote


def feature_types(features: str) -> dict[str, str]:
    """The ``features`` answer (``rooms:int,area``) as each name and its type, float by default.

    Read as hooks/pre_gen_project.py reads it, which refuses answers that do not parse.
    """
    pairs = {}
    for item in str(features).split(","):
        name, colon, kind = item.partition(":")
        pairs[name.strip()] = kind.strip() if colon else "float"
    return pairs


#: What the example data holds for each type (synthetic.LEVELS in a bake), for the examples.
_EXAMPLE_VALUES = {"float": "0.5", "int": "3", "bool": "true", "category": '"north"'}
_IRIS_EXAMPLE = {
    "sepal_length": "5.1",
    "sepal_width": "3.5",
    "petal_length": "1.4",
    "petal_width": "0.2",
}


def example_instance(features: str) -> str:
    """A valid record of the example model as JSON: an iris flower, or a synthetic record."""
    types = feature_types(features)
    if list(types) == list(_IRIS_EXAMPLE) and set(types.values()) == {"float"}:
        values = _IRIS_EXAMPLE
    else:
        values = {name: _EXAMPLE_VALUES[kind] for name, kind in types.items()}
    return "{" + ", ".join(f'"{name}": {value}' for name, value in values.items()) + "}"


class FrameworksExtension(Extension):
    """``frameworks`` in every template, hook and cookiecutter.json value: ``FRAMEWORKS``."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["frameworks"] = FRAMEWORKS


@pass_context
def fragment(context: Any, name: str) -> str:
    """The path of the chosen framework's fragment ``name``, for ``{% include ... ignore missing %}``:
    a framework without that fragment adds nothing there."""
    framework = context["cookiecutter"]["framework"]
    return f"_variants/framework/{framework}/{FOR_THE_TEMPLATE}/{name}"


class FragmentsExtension(Extension):
    """``fragment(name)`` in every template: the chosen framework's piece of a shared file."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["fragment"] = fragment


# The Jinja extensions cookiecutter.json names in _extensions; each of these adds the filter of
# the function's name.
TomlStringExtension = simple_filter(toml_string)
PyStringExtension = simple_filter(py_string)
FeatureTypesExtension = simple_filter(feature_types)
ExampleInstanceExtension = simple_filter(example_instance)
