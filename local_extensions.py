"""The template's Jinja additions: filters that quote free text (names, descriptions) safely for
the files they land in, and the facts about frameworks that several files need.

Answers can hold quotes, backslashes and any Unicode; Jinja's own ``tojson`` escapes astral
characters as surrogate pairs, which TOML refuses, so these quote by hand.
"""

from cookiecutter.utils import simple_filter
from jinja2 import Environment
from jinja2.ext import Extension

#: Each framework and the formats its models are saved in; "auto" picks the first. The one
#: declaration: cookiecutter.json derives ``__serializer`` from it, the pre-gen hook checks the
#: answers against it, and the template's tests bake every pair. A global rather than a
#: private answer, so it is never frozen into a project's replay or .cruft.json.
SERIALIZERS: dict[str, tuple[str, ...]] = {
    "sklearn": ("joblib", "pickle"),
    "pytorch": ("torch_state_dict",),
    "tensorflow": ("savedmodel",),
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


class SerializersExtension(Extension):
    """``serializers`` in every template, hook and cookiecutter.json value: ``SERIALIZERS``."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["serializers"] = SERIALIZERS


# The Jinja extensions cookiecutter.json names in _extensions; each of these adds the filter of
# the function's name.
TomlStringExtension = simple_filter(toml_string)
PyStringExtension = simple_filter(py_string)
FeatureTypesExtension = simple_filter(feature_types)
ExampleInstanceExtension = simple_filter(example_instance)
