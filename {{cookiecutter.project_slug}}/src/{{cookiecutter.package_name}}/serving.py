"""The model this process serves, and why it is not ready when it serves none.

Ready means: the alias resolved to a version, every file of that version matched its sha256,
the model deserialized, and a warm-up prediction gave one answer. Until then every prediction
is refused with 503 and the reason, and loading is retried now and then, so a service started
before its first model was registered becomes ready without a restart. A version that fails
verification is never swapped for another one silently.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

from flask import Flask, Response, current_app

from . import logs
from .config import Settings
from .errors import ApiError
from .features import FEATURES
from .predict import predict
from .reference import typical_instance
from .registry import LoadedVersion, ModelStore, StoreError

logger = logging.getLogger(__name__)

MODEL_VERSION_HEADER = "X-Model-Version"
#: How long a process that has no model waits before it looks in the store again.
RETRY_INTERVAL_SECONDS = 2.0
#: How long a request waits for a load another thread has started, before answering 503.
LOAD_WAIT_SECONDS = 10.0


class UnscorableRecordsError(Exception):
    """The model gave no usable answer for some records (by index): non-finite, or missing."""

    def __init__(self, indices: Sequence[int]) -> None:
        super().__init__(f"no finite prediction for record(s) {', '.join(map(str, indices))}")
        self.indices = list(indices)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(item) for item in value)
    return True


def score(model: Any, instances: list[dict[str, float]]) -> list[dict[str, Any]]:
    """``predict``, checked: exactly one answer per record, and no NaN or infinity in any.

    JSON has no NaN or infinity, and a client must never get a number the model did not
    really compute; such records are reported, by index, instead.
    """
    predictions = predict(model, instances)
    if len(predictions) != len(instances):
        raise ValueError(f"predict gave {len(predictions)} answers for {len(instances)} records")
    unscorable = [index for index, answer in enumerate(predictions) if not _finite(answer)]
    if unscorable:
        raise UnscorableRecordsError(unscorable)
    return predictions


class ModelHolder:
    """Holds the served version; thread-safe, one per process."""

    def __init__(self, store: ModelStore, alias: str) -> None:
        self.store = store
        self.alias = alias
        self.current: LoadedVersion | None = None
        self.problem: str | None = "the model has not been loaded yet"
        self._lock = threading.Lock()
        self._last_attempt = float("-inf")

    def load(self) -> bool:
        """Load, verify and warm up the version the alias points to; True when ready."""
        self._last_attempt = time.monotonic()
        version: int | None = None
        try:
            version = self.store.resolve(self.alias)
            loaded = self.store.load(version)
            warm_up(loaded)
        except (StoreError, OSError) as error:
            return self._fail(str(error))
        except Exception as error:  # the model itself failed: report it, don't crash
            where = f"version {version}" if version is not None else f"model {self.store.name!r}"
            return self._fail(f"{where} failed to load or to predict: {error!r}")
        self.current, self.problem = loaded, None
        logs.set_process_model_version(str(loaded.version))
        logger.info("model ready", extra={"model": self.store.name})
        return True

    def get(self) -> LoadedVersion:
        """The served version, or a 503 ApiError saying why there is none."""
        current = self.current
        if current is None:
            self._retry()
            current = self.current
        if current is None:
            raise ApiError(503, "model_not_ready", f"The model is not ready: {self.problem}.")
        logs.model_version_var.set(str(current.version))  # for the log lines and the header
        return current

    def model_ref(self, loaded: LoadedVersion) -> dict[str, Any]:
        """How responses name the model that answered."""
        return {"name": self.store.name, "version": str(loaded.version)}

    def _retry(self) -> None:
        # One thread loads at a time, at most every RETRY_INTERVAL_SECONDS; the others wait
        # for its result rather than answer 503 with a reason it is about to replace.
        if time.monotonic() - self._last_attempt < RETRY_INTERVAL_SECONDS:
            return
        if self._lock.acquire(timeout=LOAD_WAIT_SECONDS):
            try:
                waited_for_another = time.monotonic() - self._last_attempt < RETRY_INTERVAL_SECONDS
                if self.current is None and not waited_for_another:
                    self.load()
            finally:
                self._lock.release()

    def _fail(self, problem: str) -> bool:
        self.problem = problem
        logger.error("model not ready", extra={"model": self.store.name, "problem": problem})
        return False


def warm_up(loaded: LoadedVersion) -> None:
    """One prediction on a typical record: catches a model that loads but cannot predict."""
    score(loaded.model, [typical_instance(loaded.metadata.get("reference"), FEATURES)])


def holder() -> ModelHolder:
    """The current app's model holder."""
    return current_app.extensions["model_holder"]


def _add_model_version_header(response: Response) -> Response:
    # Only where the model answered: an error may have come before the model was involved.
    version = logs.model_version_var.get()
    if version is not None and response.status_code < 400:
        response.headers[MODEL_VERSION_HEADER] = version
    return response


def init_app(app: Flask, settings: Settings) -> None:
    """Load the model now: under gunicorn's preload_app the workers inherit it."""
    model_holder = ModelHolder(
        ModelStore(settings.model_store, settings.model_name), settings.model_alias
    )
    model_holder.load()
    app.extensions["model_holder"] = model_holder
    app.after_request(_add_model_version_header)
