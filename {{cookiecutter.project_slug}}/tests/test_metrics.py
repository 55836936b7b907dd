"""/metrics: Prometheus text, with model loads, refusals and swaps counted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.registration import train_example
from {{ cookiecutter.package_name }}.registry import ModelStore


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_are_prometheus_text(client: Flask) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "# TYPE model_loads_total counter" in response.get_data(as_text=True)


def test_loads_swaps_and_refusals_are_counted(
    make_app: Callable[..., Flask],
    store: ModelStore,
    move_alias_unchecked: Callable[[int], None],
    artifact_file: Callable[[int], Path],
) -> None:
    loaded = {"model": store.name, "version": "1", "outcome": "loaded"}
    before = count("model_loads_total", **loaded)
    app = make_app()
    assert count("model_loads_total", **loaded) == before + 1

    swaps = count("model_swaps_total", model=store.name)
    store.promote(train_example(store))
    app.extensions["model_holder"].refresh()
    assert count("model_swaps_total", model=store.name) == swaps + 1

    refused = {"model": store.name, "version": "3", "outcome": "refused"}
    refusals = count("model_loads_total", **refused)
    train_example(store)
    artifact_file(3).write_bytes(b"tampered")
    move_alias_unchecked(3)
    app.extensions["model_holder"].refresh()
    assert count("model_loads_total", **refused) == refusals + 1
