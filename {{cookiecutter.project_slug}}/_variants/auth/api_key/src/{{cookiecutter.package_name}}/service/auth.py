"""API keys: every route but the probes needs one.

A client sends its key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. It is
compared with every accepted key in constant time (``hmac.compare_digest`` over sha256 digests,
so neither a key's content nor its length shows in the timing). The accepted keys are those of
API_KEYS (comma-separated) and of the file API_KEYS_FILE (one per line: a mounted Kubernetes
Secret), read again when the file changes. Several keys at once make rotation safe: add the new
one, move the clients over, remove the old one.

Open without a key: ``/livez`` and ``/readyz``, and the standard protocols' health routes
(``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/{name}/ready``, ``/``,
``/v1/models/{name}``, ``/ping``, Vertex AI's health route), for the probes; ``/docs`` and
Swagger UI's files under ``/docs/``, which hold no data (the page asks for the key, then reads
``/openapi.json`` with it); ``/metrics`` too when METRICS_NEED_KEY=false. The protocols' clients send the key the same way (tritonclient's
and KServe's ``headers=``); SageMaker passes neither header on, so a SageMaker endpoint is
guarded by IAM and its bake should not need a key (auth=none). A missing or wrong key is a 401 in the error shape; no key is
ever logged (the access log holds no header).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, request

from . import dialects
from .config import ConfigError, Settings
from .errors import ApiError

#: Routes a probe or a browser reaches without a key.
OPEN_PATHS = frozenset({"/livez", "/readyz", "/docs"})
#: And the docs page's own files (Swagger UI's script, style and icons; others are a 404).
OPEN_PREFIXES = ("/docs/",)
#: The shortest key accepted: shorter ones can be guessed.
MIN_KEY_LENGTH = 16
#: How often the key file is looked at for changes, at most.
RELOAD_SECONDS = 1.0
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="{{ cookiecutter.project_slug }}"'}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def read_keys(inline: str, file: Path | None) -> list[str]:
    """The keys of API_KEYS and of API_KEYS_FILE; ConfigError if there is none, or a short one."""
    keys = [key.strip() for key in inline.split(",") if key.strip()]
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"API_KEYS_FILE={str(file)!r}: {error.strerror}") from None
        keys += [line.strip() for line in text.splitlines() if line.strip()]
    if not keys:
        raise ConfigError(
            "auth is api_key but no key is set: put one in API_KEYS or in the file API_KEYS_FILE"
        )
    short = [index for index, key in enumerate(keys) if len(key) < MIN_KEY_LENGTH]
    if short:
        raise ConfigError(
            f"an API key must be at least {MIN_KEY_LENGTH} characters; key number {short[0] + 1} "
            "is shorter (make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return keys


class ApiKeys:
    """The accepted keys, as digests; the file's are read again when it changes."""

    def __init__(self, inline: str, file: Path | None) -> None:
        self.inline = inline
        self.file = file
        self._digests = [_digest(key) for key in read_keys(inline, file)]
        self._file_stamp = self._stamp()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _stamp(self) -> tuple[int, int] | None:
        if self.file is None:
            return None
        try:
            status = os.stat(self.file)
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def _reload_if_changed(self) -> None:
        if self.file is None or time.monotonic() - self._checked < RELOAD_SECONDS:
            return
        with self._lock:
            self._checked = time.monotonic()
            stamp = self._stamp()
            if stamp is None or stamp == self._file_stamp:
                return
            try:
                self._digests = [_digest(key) for key in read_keys(self.inline, self.file)]
            except ConfigError:
                return  # a half-written or emptied file: keep the keys that worked
            self._file_stamp = stamp

    def accepts(self, presented: str) -> bool:
        """Whether ``presented`` is one of the keys, in time that does not depend on which."""
        self._reload_if_changed()
        digest = _digest(presented)
        matches = [hmac.compare_digest(digest, accepted) for accepted in self._digests]
        return any(matches)


def presented_key() -> str | None:
    """The key the request carries, if any."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("X-API-Key") or None


def init_app(app: Flask, settings: Settings) -> None:
    """Ask every request for a key, but those to the open routes."""
    keys = ApiKeys(settings.api_keys, settings.api_keys_file)
    open_paths = OPEN_PATHS | (set() if settings.metrics_need_key else {"/metrics"})

    probes = dialects.of_app(app).probes  # filled in as the protocols' routes are added

    def require_key() -> None:
        if request.path in open_paths or request.endpoint in probes:
            return
        if request.path.startswith(OPEN_PREFIXES):
            return
        key = presented_key()
        if key is None:
            message = "Send an API key: Authorization: Bearer <key>, or X-API-Key: <key>."
            raise ApiError(401, "unauthorized", message, headers=CHALLENGE)
        if not keys.accepts(key):
            raise ApiError(401, "unauthorized", "The API key is not valid.", headers=CHALLENGE)

    app.before_request(require_key)


def documented(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The OpenAPI document with the two ways of sending the key, required where it is."""
    document.setdefault("components", {})["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "Authorization: Bearer <key>",
        },
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    document["security"] = [{"bearer": []}, {"apiKey": []}]
    open_paths = OPEN_PATHS | (set() if settings.metrics_need_key else {"/metrics"})
    unauthorized = {
        "description": "No API key, or not a valid one.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if path in open_paths:
                operation["security"] = []
            else:
                operation["responses"]["401"] = unauthorized
    return document
