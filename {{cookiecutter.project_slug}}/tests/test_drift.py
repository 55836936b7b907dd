"""Input drift: PSI per feature, over the threshold only for the feature that moved."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.model.example_data import load_example_data
from {{ cookiecutter.package_name }}.model.features import FEATURE_TYPES, FEATURES
from {{ cookiecutter.package_name }}.monitoring.drift import (
    Bins,
    population_stability_index,
)
from {{ cookiecutter.package_name }}.monitoring.monitor import drift_summary
from {{ cookiecutter.package_name }}.service.services import services
from {{ cookiecutter.package_name }}.store.registry import ModelStore

SHIFTED = FEATURES[0]


def example_records(shift: float = 0.0, name: str = SHIFTED) -> list[dict[str, Any]]:
    """Every example record, with feature ``name`` moved: a number by ``shift`` standard
    deviations; any other feature, when ``shift`` is not 0, to its least frequent value."""
    records, _ = load_example_data()
    if not shift:
        return records
    values = [record[name] for record in records]
    if FEATURE_TYPES[name] == "float":
        moved = [value + shift * float(np.std(values)) for value in values]
    elif FEATURE_TYPES[name] == "int":
        moved = [round(value + shift * float(np.std(values))) for value in values]
    else:
        rarest = min(set(values), key=lambda value: (values.count(value), str(value)))
        moved = [rarest] * len(values)
    return [{**record, name: value} for record, value in zip(records, moved, strict=True)]


def test_psi_by_hand() -> None:
    assert population_stability_index([50, 50], [50, 50]) == 0.0
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert population_stability_index([10, 10], [1, 3]) == pytest.approx(expected)
    # An empty bin on one side gives a large, finite score.
    assert 5 < population_stability_index([10, 0], [0, 10]) < 20


def test_bins_match_the_reference_statistics() -> None:
    numbers = Bins.of({"edges": [1.0, 2.0], "counts": [1, 1, 1]})
    assert numbers.count([0.5, 1.0, 1.5, 2.0, 9.0]) == [1, 2, 2]
    assert numbers.labels == ["00 (-inf, 1)", "01 [1, 2)", "02 [2, inf)"]
    values = Bins.of({"values": ["b", "a", True], "value_counts": [5, 3, 1]})
    assert values.labels == ["00 b", "01 a", "02 true", "03 (other values)"]
    assert values.reference_counts == [5, 3, 1, 0]
    assert values.count(["a", "a", "z", True]) == [0, 2, 1, 1]  # never seen: the last bin


def test_a_category_s_rare_values_share_a_bin() -> None:
    names = [f"v{index:03d}" for index in range(30)]
    bins = Bins.of({"values": names, "value_counts": list(range(30, 0, -1))})
    assert len(bins.labels) == 21  # 20 values of their own, and the rest
    assert bins.reference_counts[-1] == sum(range(10, 0, -1))
    assert bins.count(["v000", "v025", "unseen"]) == [1, *[0] * 19, 2]


@pytest.mark.parametrize("shifted", FEATURES)
def test_only_the_shifted_feature_drifts(store: ModelStore, shifted: str) -> None:
    reference = store.metadata(1)["reference"]
    steady = drift_summary(reference, example_records(), threshold=0.2, min_records=50)
    assert not any(item["drifting"] for item in steady["features"].values()), steady
    records = example_records(shift=2.0, name=shifted)
    moved = drift_summary(reference, records, threshold=0.2, min_records=50)
    scores = {name: item["psi"] for name, item in moved["features"].items()}
    assert scores[shifted] > 0.2, scores
    assert all(score < 0.2 for name, score in scores.items() if name != shifted), scores


def test_too_few_records_give_no_score(store: ModelStore) -> None:
    summary = drift_summary(
        store.metadata(1)["reference"], example_records()[:5], threshold=0.2, min_records=50
    )
    assert summary["features"] == {}
    assert "DRIFT_MIN_RECORDS=50" in summary["problem"]


def test_the_service_scores_drift_from_its_log_and_warns_once(
    make_app: Callable[..., Flask],
    capsys: pytest.CaptureFixture[str],
    without_since: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    app = make_app(DRIFT_MIN_RECORDS="50")
    client = app.test_client()
    records = example_records(shift=2.0)
    for start in range(0, len(records), 50):
        response = client.post("/v1/predict", json={"instances": records[start : start + 50]})
        assert response.status_code == 200
    services(app).prediction_log.flush()
    monitor = services(app).monitor
    capsys.readouterr()
    monitor.update()
    report = monitor.update()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    drift = report["drift"]
    assert drift["records"] == len(records)
    assert drift["features"][SHIFTED]["drifting"]
    psi = REGISTRY.get_sample_value("feature_drift_psi", {"feature": SHIFTED})
    assert psi == pytest.approx(drift["features"][SHIFTED]["psi"])
    for name in FEATURES[1:]:
        assert REGISTRY.get_sample_value("feature_drift_psi", {"feature": name}) < 0.2
    warnings = [line for line in lines if line["message"].startswith("input drift:")]
    assert [(line["level"], line["feature"]) for line in warnings] == [("WARNING", SHIFTED)]
    assert without_since(client.get("/v1/monitoring").get_json()["drift"]) == without_since(drift)


def test_the_monitoring_report_costs_no_query_while_it_is_fresh(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients calling /v1/monitoring get what the monitor last computed: however many calls,
    at most one report per MONITOR_INTERVAL_SECONDS reads the log."""
    app = make_app(MONITOR_INTERVAL_SECONDS="3600")
    log = services(app).prediction_log
    reads = []
    real_read = log.recent_inputs
    monkeypatch.setattr(log, "recent_inputs", lambda *a, **k: reads.append(1) or real_read(*a, **k))
    client = app.test_client()
    answers = [client.get("/v1/monitoring") for _ in range(20)]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.get_json()["computed_at"] for answer in answers}) == 1
    assert len(reads) == 1


def test_live_inputs_are_counted_in_the_reference_bins(
    make_app: Callable[..., Flask], store: ModelStore
) -> None:
    client = make_app().test_client()
    records = example_records()[:20]
    bins = Bins.of(store.metadata(1)["reference"][SHIFTED])

    def counted() -> np.ndarray:
        return np.array(
            [
                REGISTRY.get_sample_value(
                    "feature_values_total",
                    {"model_version": "1", "feature": SHIFTED, "bin": label},
                )
                or 0.0
                for label in bins.labels
            ]
        )

    before = counted()
    client.post("/v1/predict", json={"instances": records})
    assert (counted() - before).tolist() == bins.count([r[SHIFTED] for r in records])
