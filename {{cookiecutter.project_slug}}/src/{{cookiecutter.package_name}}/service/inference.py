"""The one path from records to answers, whatever way they came in.

    validate: the request schema, then the served version's category values
    score:    predict, under PREDICT_TIMEOUT, checked (one finite answer per record)
    observe:  ids for the answers, metrics and the prediction log

The HTTP API (``api/predictions.py``) and the command line's ``predict`` take this path, and so
does any other protocol: an adapter turns its request into records, calls ``Inference`` and
words the answers and the problems its own way. Problems are this module's exceptions (and
marshmallow's ``ValidationError``, as the schemas raise it), never HTTP errors.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError

from ..model.predict import predict
from ..monitoring.prediction_ids import new_id_prefix
from ..store.registry import LoadedVersion
from . import json_text
from .deadlines import Deadline
from .fast_path import BatchLoader
from .schemas import PredictRequestSchema

if TYPE_CHECKING:  # the monitor follows the served model, which warms up through score()
    from ..monitoring.monitor import Monitor


#: At most this many allowed values are listed when a category value is refused.
MAX_LISTED_VALUES = 20


class UnknownCategoryError(Exception):
    """Records hold category values the served version's training data never had."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__(f"unknown category values at {', '.join(problems)}")
        #: Problems by path, as in a request's ``fields``: ``instances.3.neighborhood``.
        self.problems = problems


def check_categories(loaded: LoadedVersion, instances: Sequence[dict[str, Any]]) -> None:
    """Refuse values of category features that the version's training data did not hold.

    A model meets such a value for the first time here: at best it ignores it, at worst it
    fails or answers with confidence it has not earned. The message lists the allowed values.
    """
    problems: dict[str, list[str]] = {}
    for name, allowed in loaded.allowed_values.items():
        refused = [
            index for index, instance in enumerate(instances) if instance[name] not in allowed
        ]
        if refused:
            message = allowed_message(allowed)  # once per feature, however many records
            problems.update({f"instances.{index}.{name}": [message] for index in refused})
    if problems:
        raise UnknownCategoryError(problems)


def allowed_message(allowed: Iterable[Any]) -> str:
    """What a refused category value is told: the allowed values, quoted, the first few."""
    listed = sorted(allowed)
    shown = ", ".join(json.dumps(value, ensure_ascii=False) for value in listed[:MAX_LISTED_VALUES])
    if len(listed) > MAX_LISTED_VALUES:
        shown += f" and {len(listed) - MAX_LISTED_VALUES} more"
    return f"Must be one of the values in the training data: {shown}."


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
    if not json_text.surely_finite(predictions):  # then look at each, to name the records
        unscorable = [index for index, answer in enumerate(predictions) if not _finite(answer)]
        if unscorable:
            raise UnscorableRecordsError(unscorable)
    return predictions


@dataclass(frozen=True)
class Prediction:
    """A scored batch: the version that answered, and one answer per record, with its id."""

    loaded: LoadedVersion
    predictions: list[dict[str, Any]]
    #: The ids' common prefix: record ``i``'s id is ``<id_prefix>-<i>``.
    id_prefix: str


class Inference:
    """Validate, score and observe batches of records: one instance per app (or command)."""

    def __init__(self, *, max_batch_size: int, predict_timeout: float) -> None:
        # One schema instance: building it costs more than validating a small batch.
        self.loader = BatchLoader(PredictRequestSchema(max_batch_size=max_batch_size))
        self.deadline = Deadline(predict_timeout)  # 0: no deadline

    def validate(self, loaded: LoadedVersion, body: Any) -> list[dict[str, Any]]:
        """The records of a request-shaped ``body`` (``{"instances": [...]}``), valid for the
        version ``loaded``; marshmallow's ValidationError, by path, for every problem."""
        instances: list[dict[str, Any]] = self.loader.load(body)["instances"]
        try:
            check_categories(loaded, instances)
        except UnknownCategoryError as error:
            raise ValidationError(error.problems) from None  # reported like any invalid field
        return instances

    def score(self, loaded: LoadedVersion, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The model's answers, one per record: DeadlineExceededError past PREDICT_TIMEOUT,
        UnscorableRecordsError for records it gave no finite answer for."""
        return self.deadline.run(score, loaded.model, instances)

    def predict(
        self,
        loaded: LoadedVersion,
        body: Any,
        *,
        monitor: Monitor,
        request_id: str,
        started: float,
    ) -> Prediction:
        """Validate and score a request's records, give each answer its id, and count and log
        the batch (``started``: the request's ``time.perf_counter()`` at arrival)."""
        instances = self.validate(loaded, body)
        answers = self.score(loaded, instances)
        # One id prefix per request, one suffix per record: ids stay unique and cheap to make.
        prefix = new_id_prefix()
        predictions = [
            {"id": f"{prefix}-{index}", **answer} for index, answer in enumerate(answers)
        ]
        monitor.observe(
            loaded,
            instances,
            answers,
            id_prefix=prefix,
            request_id=request_id,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        return Prediction(loaded, predictions, prefix)
