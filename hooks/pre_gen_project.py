"""Refuse answers that would bake a broken project, before any file is written.

Each check returns one line naming the problem and the valid choices, or None. main() prints
every problem found and exits 1; cookiecutter then writes nothing.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

# The answers arrive as a JSON string literal: no quote, backslash or brace in them can break
# this file.
ANSWERS: dict = json.loads({{ cookiecutter | tojson | tojson }})

# Each framework and the formats its models are saved in; "auto" picks the first. Declared once,
# in the framework's folder (_variants/framework/<name>/_template/framework.json).
SERIALIZERS: dict[str, list[str]] = {
    name: facts["serializers"] for name, facts in json.loads({{ frameworks | tojson | tojson }}).items()
}
# Modules a package of the generated project's name would shadow: its dependencies, its tools,
# and the test packages that sys.stdlib_module_names leaves out.
RESERVED_MODULES = frozenset(
    {
        "apispec", "blinker", "click", "cloudpickle", "conftest", "filelock", "flask",
        "gunicorn", "iniconfig", "itsdangerous", "jinja2", "joblib", "keras", "markupsafe",
        "marshmallow", "narwhals", "numpy", "packaging", "pandas", "pip", "pkg_resources", "pluggy",
        "prometheus_client", "pytest", "pythonjsonlogger", "ruff", "scipy", "setuptools", "sklearn", "tensorflow",
        "test", "tests", "threadpoolctl", "torch", "werkzeug",
    }
)  # fmt: skip
SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
MODEL_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
# The types a feature may have (``name:type``); a name without one is a float.
FEATURE_TYPES = ("float", "int", "bool", "category")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# The options whose every value but "none" deploys the service's container image.
NEEDS_THE_IMAGE = ("kubernetes", "monitoring_stack")


def split_features(text: str) -> list[str]:
    """The feature list as the template reads it: comma-separated, spaces trimmed."""
    return [item.strip() for item in text.split(",")]


def parse_feature(item: str) -> tuple[str, str]:
    """``name[:type]`` as the template reads it: the name and its type, float by default."""
    name, colon, kind = item.partition(":")
    return name.strip(), kind.strip() if colon else "float"


def check_one_line_texts(answers: dict) -> str | None:
    for key in ("project_name", "description", "author_name"):
        value = answers[key]
        if not value.strip():
            return f"{key} is empty: give a short text."
        if "\n" in value or "\r" in value:
            return f"{key} must fit on one line (package metadata cannot hold a newline)."
    return None


def check_email(answers: dict) -> str | None:
    if not EMAIL.fullmatch(answers["author_email"]):
        return f"author_email {answers['author_email']!r} is not an email address (name@host.tld)."
    return None


def check_slug(answers: dict) -> str | None:
    slug = answers["project_slug"]
    if not SLUG.fullmatch(slug):
        return (
            f"project_slug {slug!r} is not valid: use lowercase letters, digits and single "
            "hyphens, starting with a letter (e.g. iris-classifier)."
        )
    return None


def check_package_name(answers: dict) -> str | None:
    name = answers["package_name"]
    if not PACKAGE.fullmatch(name) or keyword.iskeyword(name):
        return (
            f"package_name {name!r} is not a valid module name: use lowercase letters, digits "
            "and underscores, starting with a letter (e.g. iris_classifier)."
        )
    if name in sys.stdlib_module_names or name in RESERVED_MODULES:
        return (
            f"package_name {name!r} would shadow the {name!r} module the service or its tools "
            "import: choose another name (e.g. iris_classifier)."
        )
    return None


def check_model_name(answers: dict) -> str | None:
    name = answers["model_name"]
    if not MODEL_NAME.fullmatch(name):
        return (
            f"model_name {name!r} is not valid: it names a folder of the model store, so use "
            "lowercase letters and digits, optionally joined by '.', '_' or '-' (e.g. iris)."
        )
    return None


def check_features(answers: dict) -> str | None:
    items = split_features(answers["features"])
    if items == [""]:
        return "features is empty: give the model's input names, comma-separated (e.g. age,income)."
    names = []
    for item in items:
        name, kind = parse_feature(item)
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            return (
                f"feature {name!r} is not valid: each feature becomes a JSON key and a Python "
                "name, so use letters, digits and underscores, starting with a letter "
                "(e.g. sepal_length)."
            )
        if kind not in FEATURE_TYPES:
            return (
                f"feature {item!r} has the type {kind!r}: use {', '.join(FEATURE_TYPES)} "
                f"after a colon (e.g. {name}:int), or no type for float."
            )
        names.append(name)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        return f"features lists {', '.join(duplicates)} more than once: each name must be unique."
    return None


def check_framework(answers: dict) -> str | None:
    framework = answers["framework"]
    if framework not in SERIALIZERS:
        return f"framework {framework!r} is not one of: {', '.join(SERIALIZERS)}."
    return None


def check_serializer(answers: dict) -> str | None:
    framework, serializer = answers["framework"], answers["serializer"]
    valid = SERIALIZERS.get(framework, ())
    if serializer != "auto" and serializer not in valid:
        return (
            f"serializer {serializer!r} does not fit framework {framework!r}; "
            f"valid for {framework}: auto, {', '.join(valid)}."
        )
    return None


def check_container_needed(answers: dict) -> str | None:
    if answers["container"] == "docker":
        return None
    needs = [
        f"{option}={answers[option]}" for option in NEEDS_THE_IMAGE if answers[option] != "none"
    ]
    if not needs:
        return None
    verb = "need" if len(needs) > 1 else "needs"
    instead = " and ".join(f"{answer.split('=')[0]}=none" for answer in needs)
    return (
        f"{' and '.join(needs)} {verb} the service's container image, which container=none "
        f"leaves out: choose container=docker, or {instead}."
    )


def check_workflow_needed(answers: dict) -> str | None:
    if answers["template_updates"] == "none" or answers["ci"] == "github":
        return None
    return (
        f"template_updates={answers['template_updates']} adds a GitHub Actions workflow, which "
        "ci=none leaves out: choose ci=github, or template_updates=none."
    )


CHECKS = (
    check_one_line_texts,
    check_email,
    check_slug,
    check_package_name,
    check_model_name,
    check_features,
    check_framework,
    check_serializer,
    check_container_needed,
    check_workflow_needed,
)


def problems(answers: dict) -> list[str]:
    """Every problem with the answers, one line each; empty when they bake."""
    return [problem for check in CHECKS if (problem := check(answers))]


def main() -> int:
    found = problems(ANSWERS)
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
