"""Jinja filters that quote free text (names, descriptions) safely for the files they land in.

Answers can hold quotes, backslashes and any Unicode; Jinja's own ``tojson`` escapes astral
characters as surrogate pairs, which TOML refuses, so these quote by hand.
"""

from cookiecutter.utils import simple_filter

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


# The Jinja extensions cookiecutter.json names in _extensions; each adds the filter of the
# function's name.
TomlStringExtension = simple_filter(toml_string)
PyStringExtension = simple_filter(py_string)
