"""Which protocol a request speaks, and so how its errors are worded and how it is counted.

The native API answers errors in the contract's envelope (``errors.py``). The standard
protocols beside it (``adapters/``) each have an error body of their own, which their clients
parse: the Open Inference Protocol's ``{"error": "<text>"}``, MLflow's ``{"error_code",
"message"}``. A request's dialect is its route's (each adapter registers its blueprint); a
request no route matched (a 404, a 405) takes the dialect of its path's prefix, so that a
tritonclient asking for a model path that does not exist still reads an error it can print.
Routes added from settings (Vertex AI's) are registered by their path.

Imports nothing heavy: gunicorn's master imports it (through ``monitoring/http_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request

#: An error as a dialect words it: (status, machine code, message, problems by path) -> body.
ErrorBody = Callable[[int, str, str, Mapping[str, list[str]] | None], dict[str, Any]]


@dataclass(frozen=True)
class Dialect:
    """A protocol the service speaks: its name (the ``protocol`` label of the request
    metrics) and, for all but the native API, its error body."""

    name: str
    #: None: the native envelope (``errors.error_body``).
    error_body: ErrorBody | None = None
    #: The status of a body that failed validation (the native API's 422; the protocols say 400).
    invalid_input_status: int = 422


NATIVE = Dialect("native")
#: The key of an app's ``Dialects`` in ``app.extensions``.
EXTENSION = "dialects"


class Dialects:
    """The dialects of one app's routes, and the routes open to probes without a key."""

    def __init__(self) -> None:
        self._by_blueprint: dict[str, Dialect] = {}
        #: Path -> (whether every path under it counts too, its dialect).
        self._by_path: dict[str, tuple[bool, Dialect]] = {}
        #: Endpoints of health probes: open without an API key, as /livez and /readyz are.
        self.probes: set[str] = set()

    def register(
        self,
        dialect: Dialect,
        *,
        blueprint: str | None = None,
        paths: tuple[str, ...] = (),
        probes: tuple[str, ...] = (),
    ) -> None:
        """Make ``dialect`` the one of ``blueprint``'s routes and of requests to ``paths`` (a
        path ending in ``/`` covers every path under it, and itself without the slash)."""
        if blueprint is not None:
            self._by_blueprint[blueprint] = dialect
        for path in paths:
            if path.endswith("/") and path != "/":
                self._by_path[path] = (True, dialect)
                self._by_path[path.rstrip("/")] = (False, dialect)
            else:
                self._by_path[path] = (False, dialect)
        self.probes.update(probes)

    def of_request(self, blueprint: str | None, path: str) -> Dialect:
        """The dialect of a request: its route's blueprint's, else its path's."""
        if blueprint is not None and blueprint in self._by_blueprint:
            return self._by_blueprint[blueprint]
        found = self._by_path.get(path)
        if found is not None:
            return found[1]
        for registered, (prefix, dialect) in self._by_path.items():
            if prefix and path.startswith(registered):
                return dialect
        return NATIVE


def of_app(app: Flask) -> Dialects:
    """The dialects of ``app``'s routes (made on first use)."""
    found: Dialects = app.extensions.setdefault(EXTENSION, Dialects())
    return found


def current() -> Dialect:
    """The dialect of the request being handled."""
    registered = current_app.extensions.get(EXTENSION)
    if registered is None:
        return NATIVE
    return registered.of_request(request.blueprint, request.path)


def error_as_text(
    status: int, code: str, message: str, fields: Mapping[str, list[str]] | None
) -> dict[str, Any]:
    """``{"error": "<text>"}``: the Open Inference Protocol's error, KServe's and Vertex AI's."""
    return {"error": in_words(message, fields)}


def in_words(message: str, fields: Mapping[str, list[str]] | None) -> str:
    """An error as one line of text: the problems by path when input was wrong, else the
    message."""
    return f"Invalid input: {problems_in_words(fields)}" if fields else message


def problems_in_words(fields: Mapping[str, list[str]], limit: int = 5) -> str:
    """Problems by path (``instances.3.sepal_length``) as one line of text, for dialects whose
    error has no place for them: ``row 3, sepal_length: Not a valid number.``"""
    said = [
        f"{_where(path)}: {problems[0].rstrip('.')}"
        for path, problems in list(fields.items())[:limit]
    ]
    more = len(fields) - limit
    return "; ".join(said) + (f"; and {more} more." if more > 0 else ".")


def _where(path: str) -> str:
    parts = path.split(".")
    if parts[0] == "instances" and len(parts) >= 2 and parts[1].isdigit():
        return ", ".join([f"row {parts[1]}", *parts[2:]])
    return "the rows" if path == "instances" else path
