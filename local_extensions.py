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
VARIANTS = Path(__file__).resolve().parent / "{{cookiecutter.project_slug}}" / "_variants"
FOR_THE_TEMPLATE = "_template"
#: The answer that picks each option's folder, for fragment().
FRAGMENT_OPTIONS = {
    "framework": "framework",
    "serializer": "__serializer",
    "kubernetes": "kubernetes",
}


def _read_facts(option: str, file_name: str) -> dict[str, dict[str, Any]]:
    """Each value's facts, from its own folder: ``_variants/<option>/<value>/_template/<file>``."""
    facts = {}
    for path in sorted((VARIANTS / option).glob(f"*/{FOR_THE_TEMPLATE}/{file_name}")):
        facts[path.parent.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    return facts


#: The one declaration of what the template derives from each framework: cookiecutter.json's
#: ``__serializer`` and ``__encoding``, the pre-gen hook's checks, the deploy files' sizes,
#: and the bakes the template's tests make. A Jinja global rather than a private answer, so it
#: is never frozen into a project's replay or .cruft.json.
#: What a framework.json holds (docs/adding-a-framework.md lists each fact): its label, its
#: formats ("auto" picks the first), its encoding ("none": the records' table as it is;
#: "one_hot": float32 with categories one-hot), deploy sizes, and the README's words for it.
FRAMEWORKS: dict[str, dict[str, Any]] = _read_facts("framework", "framework.json")
#: Each serializer's facts (format.json): the artifact's name in a version folder.
FORMATS: dict[str, dict[str, Any]] = _read_facts("serializer", "format.json")
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


def example_values(features: str) -> dict[str, str]:
    """A valid record of the example model, each feature's value as JSON: an iris flower, or a
    synthetic record."""
    types = feature_types(features)
    if list(types) == list(_IRIS_EXAMPLE) and set(types.values()) == {"float"}:
        return dict(_IRIS_EXAMPLE)
    return {name: _EXAMPLE_VALUES[kind] for name, kind in types.items()}


def example_instance(features: str) -> str:
    """A valid record of the example model as a JSON object."""
    values = example_values(features)
    return "{" + ", ".join(f'"{name}": {value}' for name, value in values.items()) + "}"


#: The Open Inference Protocol's datatype of each feature type (the bake's adapters/oip.py).
_OIP_DATATYPES = {"float": "FP64", "int": "INT64", "bool": "BOOL", "category": "BYTES"}


def oip_inputs(features: str) -> str:
    """The example record as Open Inference Protocol inputs, one per feature, as JSON."""
    types = feature_types(features)
    values = example_values(features)
    tensors = [
        f'{{"name": "{name}", "datatype": "{_OIP_DATATYPES[kind]}", "shape": [1], '
        f'"data": [{values[name]}]}}'
        for name, kind in types.items()
    ]
    return "[" + ", ".join(tensors) + "]"


class FrameworksExtension(Extension):
    """``frameworks`` and ``formats`` in every template, hook and cookiecutter.json value."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["frameworks"] = FRAMEWORKS
        environment.globals["formats"] = FORMATS


@pass_context
def fragment(context: Any, name: str, option: str = "framework") -> str:
    """The path of the chosen framework's (or serializer's, or Kubernetes variant's) fragment
    ``name``, for ``{% include fragment(name) ignore missing %}``: one without it adds nothing
    there."""
    value = context["cookiecutter"][FRAGMENT_OPTIONS[option]]
    return f"_variants/{option}/{value}/{FOR_THE_TEMPLATE}/{name}"


class FragmentsExtension(Extension):
    """``fragment(name)`` in every template: the chosen framework's piece of a shared file."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["fragment"] = fragment


# Each of these adds the filter of the function's name.
TomlStringExtension = simple_filter(toml_string)
PyStringExtension = simple_filter(py_string)
FeatureTypesExtension = simple_filter(feature_types)
ExampleInstanceExtension = simple_filter(example_instance)
OipInputsExtension = simple_filter(oip_inputs)

#: What template_extensions.TemplateExtensions (the one extension cookiecutter.json names)
#: applies to every environment: add a new filter or global here.
EXTENSIONS: tuple[type[Extension], ...] = (
    TomlStringExtension,
    PyStringExtension,
    FeatureTypesExtension,
    ExampleInstanceExtension,
    OipInputsExtension,
    FrameworksExtension,
    FragmentsExtension,
)
