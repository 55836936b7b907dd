"""What each route declares for /openapi.json, beside the route itself.

Imports nothing heavy (the schemas are only named here): modules that gunicorn's master
imports before any framework declare routes too (``monitoring/http_metrics.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from marshmallow import Schema


@dataclass(frozen=True)
class Operation:
    """What /openapi.json says of one route, declared on its view with ``operation``."""

    summary: str
    #: The 200 answer: its schema (or an OpenAPI schema object) and what it holds.
    answer: Any
    answer_description: str
    #: The error statuses it may answer (keys of ``openapi._ERRORS``), each in the error envelope.
    errors: tuple[str, ...] = ()
    #: The JSON body's schema class; a batch schema is built with MAX_BATCH_SIZE.
    body: type[Schema] | None = None
    #: The 200 answer's media type.
    media_type: str = "application/json"


View = TypeVar("View", bound=Callable[..., Any])
#: Each documented view and its operation, filled in as the view modules are imported.
OPERATIONS: dict[Callable[..., Any], Operation] = {}


def operation(
    summary: str,
    *,
    answer: Any,
    answer_description: str,
    errors: tuple[str, ...] = (),
    body: type[Schema] | None = None,
    media_type: str = "application/json",
) -> Callable[[View], View]:
    """Declare a view's entry in /openapi.json beside its route, where it cannot drift away.

    The view is returned as it is: a request costs nothing more.
    """

    def declare(view: View) -> View:
        OPERATIONS[view] = Operation(summary, answer, answer_description, errors, body, media_type)
        return view

    return declare
