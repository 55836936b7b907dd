"""Monitoring inside the service: every answer counted and logged, drift and accuracy computed.

On the request path (``Monitor.observe``): the batch size, the predictions by class or value,
each input value in its reference bin (Prometheus counters), and the rows of the prediction log
(queued). Off it, a thread per worker recomputes every MONITOR_INTERVAL_SECONDS, from the
prediction log that all workers share:

- drift: the PSI of each feature over DRIFT_WINDOW, for the served version against its
  training data, set as ``feature_drift_psi`` and logged as a warning when a feature crosses
  DRIFT_THRESHOLD;
- accuracy (or MAE and RMSE) per version, over the feedback received in ACCURACY_WINDOW;
- the memory and CPU time of the worker and of gunicorn's master.

``GET /v1/monitoring`` answers the report the thread last computed (each costs queries over
the log: callers must not be able to make the service compute one per request); ``monitor
report`` computes its own.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..model.features import FEATURES
from ..service.config import Settings, format_duration
from ..service.serving import ModelHolder
from ..store.registry import LoadedVersion, ModelStore, StoreError
from .drift import LiveBins, Reference, drift_scores
from .evaluation import metrics as quality_metrics
from .http_metrics import BATCH_SIZE, DRIFT, DRIFT_RECORDS, refresh_resources, watch_master
from .log_database import public_url, safe_url
from .model_metrics import HOLDOUT, QUALITY, observe_predictions
from .prediction_log import PredictionLog, PredictionLogUnavailableError, ScoredBatch

logger = logging.getLogger(__name__)

#: At most this many of a window's most recent records are read to compute drift.
MAX_WINDOW_RECORDS = 10_000


def drift_summary(
    reference: Reference | None,
    records: Sequence[Mapping[str, float]],
    *,
    threshold: float,
    min_records: int,
) -> dict[str, Any]:
    """PSI per feature of ``records`` against ``reference``, or why there is none."""
    summary: dict[str, Any] = {"records": len(records), "threshold": threshold, "features": {}}
    if not reference:
        summary["problem"] = "this version has no reference statistics (see models register)"
    elif len(records) < min_records:
        summary["problem"] = f"fewer than DRIFT_MIN_RECORDS={min_records} records in the window"
    else:
        summary["features"] = {
            name: {"psi": round(score, 6), "drifting": score > threshold}
            for name, score in drift_scores(reference, records).items()
        }
    return summary


def version_drift(
    log: PredictionLog,
    version: int,
    reference: Reference | None,
    since: datetime,
    until: datetime | None = None,
    *,
    threshold: float,
    min_records: int,
) -> dict[str, Any]:
    """The drift summary of the inputs ``version`` scored from ``since`` (to ``until``)."""
    records = log.recent_inputs(version, since, until, limit=MAX_WINDOW_RECORDS)
    return drift_summary(reference, records, threshold=threshold, min_records=min_records)


def quality_by_version(rows: Sequence[tuple[int, Mapping[str, Any], Any]]) -> dict[str, Any]:
    """Accuracy (or MAE and RMSE) per version of ``(version, prediction, actual)`` rows."""
    grouped: dict[int, tuple[list[Mapping[str, Any]], list[Any]]] = defaultdict(lambda: ([], []))
    for version, prediction, actual in rows:
        grouped[version][0].append(prediction)
        grouped[version][1].append(actual)
    return {
        str(version): {"feedback": len(actuals), **quality_metrics(predictions, actuals)}
        for version, (predictions, actuals) in sorted(grouped.items())
    }


class Monitor:
    """Observes every scored batch and keeps the drift, accuracy and resource gauges current."""

    def __init__(self, settings: Settings, holder: ModelHolder, log: PredictionLog | None) -> None:
        self.settings = settings
        self.holder = holder
        self.log = log
        self._bins: dict[int, LiveBins] = {}
        self._drifting: set[str] = set()
        self._quality_versions: set[str] = set()
        self._lock = threading.Lock()
        self._thread_pid: int | None = None
        #: The last report computed, and when (time.monotonic()).
        self._latest: tuple[float, dict[str, Any]] | None = None
        self._computing = threading.Lock()

    def observe(
        self,
        loaded: LoadedVersion,
        instances: Sequence[dict[str, Any]],
        answers: Sequence[dict[str, Any]],
        *,
        id_prefix: str,
        request_id: str,
        latency_ms: float,
    ) -> None:
        """Count a scored batch in the metrics and queue it for the prediction log.

        ``answers`` are the records' predictions without their ids (``<id_prefix>-<index>``)."""
        self.start()  # a server without gunicorn's hook: start on the first prediction
        if self.settings.request_metrics:
            BATCH_SIZE.observe(len(instances))
            observe_predictions(str(loaded.version), answers)
            self._live_bins(loaded).observe(instances)
        if self.log is not None:
            batch = ScoredBatch.encode(
                id_prefix=id_prefix,
                created_at=datetime.now(UTC),
                model_name=self.holder.store.name,
                model_version=loaded.version,
                request_id=request_id,
                latency_ms=latency_ms,
                instances=instances,
                outputs=answers,
            )
            self.log.record(batch)

    def _live_bins(self, loaded: LoadedVersion) -> LiveBins:
        bins = self._bins.get(loaded.version)
        if bins is None:
            reference = loaded.metadata.get("reference") or {}
            bins = self._bins[loaded.version] = LiveBins(str(loaded.version), reference)
        return bins

    def start(self, master_pid: int | None = None) -> None:
        """Recompute in a thread of this process every MONITOR_INTERVAL_SECONDS.

        Threads do not survive a fork: each worker starts its own (gunicorn's
        post_worker_init does, and names the master whose resources it reports).
        """
        if self._thread_pid == os.getpid():
            return
        with self._lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
        if master_pid is not None:
            watch_master(master_pid)
        if self.settings.monitor_interval_seconds > 0:
            threading.Thread(target=self._run, name="monitor", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.settings.monitor_interval_seconds)
            try:
                self.update()
            except PredictionLogUnavailableError:
                refresh_resources()  # the log said so once; the gauges keep their last values
            except Exception:  # the monitor must outlive any surprise
                logger.exception("monitoring update failed; the gauges keep their last values")

    def latest_report(self) -> dict[str, Any]:
        """What /v1/monitoring answers: the last report, while younger than
        MONITOR_INTERVAL_SECONDS; else one computed now, by one caller at a time (the others
        wait and share it). With MONITOR_INTERVAL_SECONDS=0 every call computes one.

        Raises PredictionLogUnavailableError while the log's database is out of reach.
        """
        max_age = self.settings.monitor_interval_seconds
        latest = self._latest
        if latest is not None and time.monotonic() - latest[0] < max_age:
            return latest[1]
        with self._computing:
            latest = self._latest
            if latest is not None and max_age and time.monotonic() - latest[0] < max_age:
                return latest[1]  # computed by the caller we waited for
            return self._compute()

    def _compute(self) -> dict[str, Any]:
        if self.log is not None:
            self.log.resolve_pending_feedback()  # feedback that came before its prediction
        report = self.report()
        self._latest = (time.monotonic(), report)
        return report

    def update(self) -> dict[str, Any]:
        """Recompute everything, set the gauges, warn of drift; return the report."""
        refresh_resources()
        report = self._compute()
        drift = report.get("drift") or {}
        scores = {name: item["psi"] for name, item in drift.get("features", {}).items()}
        DRIFT_RECORDS.set(drift.get("records", 0))
        for name in FEATURES:
            DRIFT.labels(name).set(scores.get(name, math.nan))
        self._warn_of_drift(scores, drift)
        quality = (report.get("quality") or {}).get("versions", {})
        for version in self._quality_versions | quality.keys():
            for name, gauge in QUALITY.items():
                gauge.labels(version).set(quality.get(version, {}).get(name, math.nan))
        self._quality_versions |= quality.keys()
        current = self.holder.current
        if current is not None:
            holdout = current.metadata.get("metrics") or {}
            for name, gauge in HOLDOUT.items():
                if name in holdout:
                    gauge.labels(str(current.version)).set(holdout[name])
        return report

    def _warn_of_drift(self, scores: Mapping[str, float], drift: Mapping[str, Any]) -> None:
        threshold = self.settings.drift_threshold
        for name, score in scores.items():
            if score > threshold and name not in self._drifting:
                self._drifting.add(name)
                logger.warning(
                    "input drift: a feature's distribution moved away from the training data",
                    extra={
                        "feature": name,
                        "psi": round(score, 4),
                        "threshold": threshold,
                        "records": drift.get("records"),
                        "window": format_duration(self.settings.drift_window),
                    },
                )
            elif score <= threshold and name in self._drifting:
                self._drifting.discard(name)
                logger.info(
                    "input drift over: the feature is back under the threshold",
                    extra={"feature": name, "psi": round(score, 4), "threshold": threshold},
                )

    def report(self, now: datetime | None = None) -> dict[str, Any]:
        """Drift of the served version and accuracy per version, from the prediction log.

        Raises PredictionLogUnavailableError while the log's database is out of reach.
        """
        now = now or datetime.now(UTC)
        settings = self.settings
        if self.log is None:
            return {
                "prediction_log": None,
                "computed_at": now.isoformat(timespec="seconds"),
                "drift": None,
                "quality": None,
            }
        current = self.holder.current
        drift: dict[str, Any] | None = None
        if current is not None:
            since = now - settings.drift_window
            drift = {
                "model_version": str(current.version),
                "window": format_duration(settings.drift_window),
                "since": since.isoformat(timespec="seconds"),
                **version_drift(
                    self.log,
                    current.version,
                    current.metadata.get("reference"),
                    since,
                    threshold=settings.drift_threshold,
                    min_records=settings.drift_min_records,
                ),
            }
        since = now - settings.accuracy_window
        return {
            "prediction_log": public_url(self.log.url, settings.model_store),
            "computed_at": now.isoformat(timespec="seconds"),
            "drift": drift,
            "quality": {
                "window": format_duration(settings.accuracy_window),
                "since": since.isoformat(timespec="seconds"),
                "versions": quality_by_version(self.log.labelled(since)),
            },
        }


def range_report(
    log: PredictionLog,
    store: ModelStore,
    *,
    since: datetime,
    until: datetime,
    threshold: float,
    min_records: int,
) -> dict[str, Any]:
    """Per version: predictions and their drift from ``since`` to ``until``, and accuracy on
    the feedback received then. For ``monitor report``, when no Prometheus is around."""
    versions: dict[str, dict[str, Any]] = {}
    for version, count in sorted(log.counts(since, until).items()):
        try:
            reference = store.metadata(version).get("reference")
        except StoreError:  # a version no longer in this store
            reference = None
        versions[str(version)] = {
            "predictions": count,
            "drift": version_drift(
                log, version, reference, since, until, threshold=threshold, min_records=min_records
            ),
        }
    for key, quality in quality_by_version(log.labelled(since, until)).items():
        versions.setdefault(key, {"predictions": 0})["quality"] = quality
    return {
        "prediction_log": safe_url(log.url),
        "since": since.isoformat(timespec="seconds"),
        "until": until.isoformat(timespec="seconds"),
        "versions": versions,
    }


def open_monitor(settings: Settings, holder: ModelHolder) -> Monitor:
    """The monitor of the model ``holder`` serves, with the prediction log opened (its schema
    created) unless PREDICTION_LOG is off."""
    log = None
    if settings.prediction_log:
        log = PredictionLog(settings.database_url, queue_size=settings.prediction_log_queue_size)
        log.create_schema()  # False if its database is out of reach: the service starts anyway
    return Monitor(settings, holder, log)
