"""Checks KServe manifests against KServe's own schema, as its Python SDK carries it.

Run by tests/test_kserve_schema.py in the protocol clients' venv (tests/protocol-clients.txt
pins the ``kserve`` SDK, which brings the Kubernetes client):

    python kserve_schema.py FILE...

KServe's CRDs are not reachable from where the tests run; its SDK is. Its ``V1beta1*`` models
are generated from KServe's OpenAPI spec, and name the Kubernetes client's models for the parts
that are Kubernetes' own (``V1Container``, ``V1Probe``, ...). Each model lists its attributes'
types (``openapi_types``) and their keys in YAML (``attribute_map``). From the document's
``apiVersion`` and ``kind`` down, every mapping is read as the model its parent's type names:
every key must be one of its attributes, every value of the declared type (``str``, ``int``,
``bool``, ``list[...]``, ``dict(str, ...)``, a nested model, or ``object``, which takes
anything), recursively; a null is no value at all. Then the model is built from its checked
values with client-side validation on, which refuses a required attribute that is missing. A
type the SDK names but does not define cannot be checked, so it fails too.

Prints one line per problem (``FILE: path.to[0].key: problem``) and exits 1 if there is any.
"""

from __future__ import annotations

import datetime
import difflib
import re
import sys
from typing import Any

import kserve.models
import kubernetes.client.models
import yaml
from kserve.configuration import Configuration

#: The document's class, by its apiVersion and kind.
KINDS = {("serving.kserve.io/v1beta1", "InferenceService"): "V1beta1InferenceService"}
#: The SDKs' scalar types and the YAML values that have them (bool is not an int here).
SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "bytes": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str, datetime.datetime),
    "date": (str, datetime.date),
}
# kserve's models write list[X] and dict(str, X); the Kubernetes client's List[X], Dict[str, X].
LIST = re.compile(r"(?:list|List)\[(?P<item>.+)\]")
DICT = re.compile(r"(?:dict\(str, (?P<legacy>.+)\)|Dict\[str, (?P<value>.+)\])")

CONFIGURATION = Configuration()
CONFIGURATION.client_side_validation = True


class Checker:
    """Walks one document, collecting its problems; ``build`` returns the checked value."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{path or '(document)'}: {text}")

    def build(self, value: Any, kind: str, path: str) -> Any:
        if value is None:
            self.problem(path, f"null where {kind} is expected")
            return None
        if kind == "object":
            return value
        if kind in SCALARS:
            allowed = SCALARS[kind]
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                self.problem(path, f"{type(value).__name__} {value!r} where {kind} is expected")
            return value
        if match := LIST.fullmatch(kind):
            if not isinstance(value, list):
                self.problem(path, f"{type(value).__name__} where a list is expected")
                return None
            return [self.build(item, match["item"], f"{path}[{i}]") for i, item in enumerate(value)]
        if match := DICT.fullmatch(kind):
            if not isinstance(value, dict):
                self.problem(path, f"{type(value).__name__} where a mapping is expected")
                return None
            items = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    self.problem(path, f"the key {key!r} is not a string")
                items[key] = self.build(item, match["legacy"] or match["value"], f"{path}.{key}")
            return items
        return self.build_model(value, kind, path)

    def build_model(self, value: Any, name: str, path: str) -> Any:
        model = model_class(name)
        if model is None:
            self.problem(path, f"the SDK names the type {name} but defines no model for it")
            return None
        if not isinstance(value, dict):
            self.problem(path, f"{type(value).__name__} where a {name} mapping is expected")
            return None
        attributes = {key: attribute for attribute, key in model.attribute_map.items()}
        before = len(self.problems)
        fields = {}  # YAML key -> (attribute, checked value)
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in attributes:
                close = difflib.get_close_matches(str(key), attributes, n=1, cutoff=0.8)
                hint = f" (did you mean {close[0]}?)" if close else ""
                self.problem(where, f"not a field of {name}{hint}")
                continue
            attribute = attributes[key]
            fields[key] = attribute, self.build(item, model.openapi_types[attribute], where)
        if len(self.problems) > before:
            return None  # built from values already found wrong, it would only repeat them
        try:
            if hasattr(model, "model_validate"):  # the Kubernetes client's (pydantic) models
                return model.model_validate({key: built for key, (_, built) in fields.items()})
            # kserve's own models take their attributes' names
            arguments = {attribute: built for attribute, built in fields.values()}
            return model(**arguments, local_vars_configuration=CONFIGURATION)
        except (ValueError, TypeError) as error:  # pydantic's ValidationError is a ValueError
            if callable(getattr(error, "errors", None)):  # pydantic's: each with where it is
                found = error.errors()
                text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in found)
            else:
                text = str(error)
            self.problem(path, f"{name}: {text}")
            return None


def model_class(name: str) -> type | None:
    """The SDK's model of that name: kserve's, or the Kubernetes client's."""
    for module in (kserve.models, kubernetes.client.models):
        found = getattr(module, name, None)
        if isinstance(found, type) and hasattr(found, "attribute_map"):
            return found
    return None


def check_document(document: Any) -> list[str]:
    """The problems of one YAML document; none if KServe's schema takes it."""
    checker = Checker()
    if not isinstance(document, dict):
        checker.problem("", "not a mapping")
        return checker.problems
    kind = (document.get("apiVersion"), document.get("kind"))
    if kind not in KINDS:
        known = ", ".join(f"{version} {name}" for version, name in KINDS)
        checker.problem("", f"apiVersion and kind {kind} are not one of: {known}")
        return checker.problems
    checker.build_model(document, KINDS[kind], "")
    return checker.problems


def main(paths: list[str]) -> int:
    found = 0
    for path in paths:
        with open(path, encoding="utf-8") as file:
            documents = list(yaml.safe_load_all(file))
        for index, document in enumerate(documents):
            where = path if len(documents) == 1 else f"{path}#{index}"
            for problem in check_document(document):
                print(f"{where}: {problem}")
                found += 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
