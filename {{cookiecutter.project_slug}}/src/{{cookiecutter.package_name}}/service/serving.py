"""The model this process serves, how it follows the registry, and why it may serve none.

Ready means: the alias resolved to a version, every file of that version matched its sha256,
the model deserialized, and a warm-up prediction gave one answer. Until then every prediction
is refused with 503 and the reason.

Each worker watches registry.json (one stat per MODEL_POLL_SECONDS). When the alias moves,
the new version is loaded, verified and warmed up beside the served one, then swapped in with
one assignment: a request keeps the version it started with, and X-Model-Version names it. A
version that fails any check is never swapped in; the verified one keeps serving, and the
refusal is logged and shown at /v1/model. A damaged or missing registry.json changes nothing
either. There is no fallback to another version: a service whose version fails at start is
not ready, with the reason.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from flask import Flask, Response

from ..monitoring.http_metrics import MODEL_LOADS, MODEL_READY, MODEL_SWAPS
from ..server.turns import turns
from ..store.reference import typical_instance
from ..store.registry import LoadedVersion, ModelStore, StoreError, utc_now
from . import logs
from .config import Settings
from .errors import ApiError
from .inference import score

logger = logging.getLogger(__name__)

MODEL_VERSION_HEADER = "X-Model-Version"
#: A process serving no model tries again this often even if registry.json has not changed
#: (a damaged file may have been restored in place).
NOT_READY_RETRY_SECONDS = 10.0


class ModelHolder:
    """The version this process serves; thread-safe, one per process."""

    def __init__(
        self,
        store: ModelStore,
        alias: str,
        *,
        pinned_version: int | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.alias = alias
        self.pinned_version = pinned_version
        self.poll_seconds = poll_seconds
        self.current: LoadedVersion | None = None
        self.problem: str | None = "the model has not been loaded yet"
        #: The last version this process refused to swap in, when and why.
        self.last_refused: dict[str, Any] | None = None
        #: What is wrong with registry.json, while something is.
        self.registry_problem: str | None = None
        self._refresh_lock = threading.Lock()
        self._watch_lock = threading.Lock()
        self._seen: object = object()  # registry.json's signature at the last look
        self._last_attempt = float("-inf")
        self._watcher_pid: int | None = None

    @property
    def selected_by(self) -> str:
        """What chooses the served version: a MODEL_VERSION pin, or the alias."""
        if self.pinned_version is not None:
            return f"MODEL_VERSION={self.pinned_version}"
        return f"alias {self.alias}"

    def refresh(self) -> None:
        """Serve the version the alias points to now, if it changed and passes every check."""
        with self._refresh_lock:
            signature = self.store.registry_signature()
            retry_due = time.monotonic() - self._last_attempt >= NOT_READY_RETRY_SECONDS
            if signature == self._seen and not (self.current is None and retry_due):
                return
            self._seen = signature
            self._last_attempt = time.monotonic()
            try:
                target = self.pinned_version or self.store.resolve(self.alias)
            except StoreError as error:
                self._registry_trouble(str(error))
                return
            self.registry_problem = None
            if self.current is None or self.current.version != target:
                self._swap_to(target)

    def watch(self) -> None:
        """Follow the registry from this process: refresh now, then every poll_seconds.

        Threads do not survive a fork, so each worker starts its own (gunicorn's
        post_worker_init does, before the worker takes a request).
        """
        with self._watch_lock:  # two first requests at once must not start two watches
            if self._watcher_pid == os.getpid():
                return
            self._watcher_pid = os.getpid()
        self._publish_readiness()
        if self.poll_seconds <= 0:
            return
        self.refresh()
        threading.Thread(target=self._poll, name="registry-watch", daemon=True).start()

    def get(self) -> LoadedVersion:
        """The served version, or a 503 ApiError saying why there is none."""
        if self._watcher_pid != os.getpid():
            self.watch()  # a server without gunicorn's hook: start on the first request
        current = self.current
        if current is None:
            raise ApiError(503, "model_not_ready", f"The model is not ready: {self.problem}.")
        logs.model_version_var.set(str(current.version))  # for the log lines and the header
        return current

    def model_ref(self, loaded: LoadedVersion) -> dict[str, Any]:
        """How responses name the model that answered."""
        return {"name": self.store.name, "version": str(loaded.version)}

    def _publish_readiness(self) -> None:
        # Only from a process that serves: a master that preloaded the app never answers, and
        # its value, frozen at start, would hide the workers' own.
        if self._watcher_pid == os.getpid():
            MODEL_READY.set(0 if self.current is None else 1)

    def _poll(self) -> None:
        while True:
            time.sleep(self.poll_seconds)
            try:
                with turns.turn():
                    self.refresh()
            except Exception:  # the watcher must outlive any surprise
                logger.exception("registry watch failed; still serving what it served")

    def _swap_to(self, version: int) -> None:
        started = time.monotonic()
        try:
            loaded = self.store.load(version)
            warm_up(loaded)
        except Exception as error:  # any failure of the candidate: keep what is served
            self._refuse(version, error)
            return
        previous, self.current, self.problem = self.current, loaded, None
        logs.set_process_model_version(str(version))
        self._publish_readiness()
        MODEL_LOADS.labels(self.store.name, str(version), "loaded").inc()
        if previous is not None:
            MODEL_SWAPS.labels(self.store.name).inc()
        logger.info(
            "model ready" if previous is None else "model swapped",
            extra={
                "model": self.store.name,
                "from_version": None if previous is None else previous.version,
                "to_version": version,
                "load_ms": round((time.monotonic() - started) * 1000, 1),
                "selected_by": self.selected_by,
            },
        )

    def _refuse(self, version: int, error: Exception) -> None:
        problem = str(error) if isinstance(error, StoreError | OSError) else repr(error)
        self.last_refused = {"version": version, "time": utc_now(), "problem": problem}
        MODEL_LOADS.labels(self.store.name, str(version), "refused").inc()
        if self.current is None:
            self.problem = f"version {version} failed to load or to predict: {problem}"
            logger.error("model not ready", extra={"model": self.store.name, "problem": problem})
        else:
            logger.error(
                "new version refused; the served one stays",
                extra={"model": self.store.name, "refused_version": version, "problem": problem},
            )

    def _registry_trouble(self, problem: str) -> None:
        if self.current is None:
            if problem != self.problem:
                logger.error(
                    "model not ready", extra={"model": self.store.name, "problem": problem}
                )
            self.problem = problem
            return
        if problem != self.registry_problem:
            logger.error(
                "registry unreadable; the served version stays",
                extra={"model": self.store.name, "problem": problem},
            )
        self.registry_problem = problem


def warm_up(loaded: LoadedVersion) -> None:
    """One prediction on a typical record: catches a model that loads but cannot predict."""
    score(loaded.model, [typical_instance(loaded.metadata.get("reference"))])


def _add_model_version_header(response: Response) -> Response:
    # Only where the model answered: an error may have come before the model was involved.
    version = logs.model_version_var.get()
    if version is not None and response.status_code < 400:
        response.headers[MODEL_VERSION_HEADER] = version
    return response


def init_app(app: Flask, settings: Settings) -> ModelHolder:
    """Load the model now: with gunicorn's preload_app the workers inherit it; without, each
    worker loads it as it starts."""
    model_holder = ModelHolder(
        ModelStore.from_settings(settings),
        settings.model_alias,
        pinned_version=settings.model_version,
        poll_seconds=settings.model_poll_seconds,
    )
    MODEL_SWAPS.labels(model_holder.store.name)  # exported at 0 until the first swap
    model_holder.refresh()
    app.after_request(_add_model_version_header)
    return model_holder
