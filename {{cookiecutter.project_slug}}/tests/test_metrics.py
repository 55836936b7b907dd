"""/metrics: Prometheus text, with model loads, refusals and swaps counted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.service.services import services
from {{ cookiecutter.package_name }}.store.registration import train_example
from {{ cookiecutter.package_name }}.store.registry import ModelStore


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
    services(app).model_holder.refresh()
    assert count("model_swaps_total", model=store.name) == swaps + 1

    refused = {"model": store.name, "version": "3", "outcome": "refused"}
    refusals = count("model_loads_total", **refused)
    train_example(store)
    artifact_file(3).write_bytes(b"tampered")
    move_alias_unchecked(3)
    services(app).model_holder.refresh()
    assert count("model_loads_total", **refused) == refusals + 1


def test_requests_are_counted_by_route_status_and_version(
    make_app: Callable[..., Flask], records: list[dict[str, Any]]
) -> None:
    client = make_app().test_client()
    ok = {
        "endpoint": "/v1/predict",
        "method": "POST",
        "status": "200",
        "model_version": "1",
        "protocol": "native",
    }
    missing = {
        "endpoint": "unmatched",
        "method": "GET",
        "status": "404",
        "model_version": "",
        "protocol": "native",
    }
    requests = count("http_requests_total", **ok)
    latency = count("http_request_duration_seconds_count", endpoint="/v1/predict")
    batches = count("prediction_batch_size_sum")
    assert client.post("/v1/predict", json={"instances": records}).status_code == 200
    client.get("/no/such/path/42")
    assert count("http_requests_total", **ok) == requests + 1
    assert count("http_requests_total", **missing) >= 1
    assert count("http_request_duration_seconds_count", endpoint="/v1/predict") == latency + 1
    assert count("prediction_batch_size_sum") == batches + len(records)
    assert count("http_requests_in_flight") == 0


def test_a_made_up_method_is_counted_as_other(client: Flask) -> None:
    other = {
        "endpoint": "unmatched",
        "method": "other",
        "status": "405",
        "model_version": "",
        "protocol": "native",
    }
    before = count("http_requests_total", **other)
    for index in range(300):
        assert client.open("/v1/predict", method=f"M{index}").status_code == 405
    assert count("http_requests_total", **other) == before + 300
    methods = {
        sample.labels["method"]
        for metric in REGISTRY.collect()
        if metric.name == "http_requests"
        for sample in metric.samples
    }
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}


def test_resources_of_the_process_are_reported_at_each_scrape(client: Flask) -> None:
    client.get("/metrics")
    assert count("worker_resident_memory_bytes") > 10_000_000
    assert count("worker_cpu_seconds") > 0


def test_request_metrics_off_counts_nothing_per_request(
    make_app: Callable[..., Flask], records: list[dict[str, Any]]
) -> None:
    client = make_app(REQUEST_METRICS="false", PREDICTION_LOG="false").test_client()
    labels = {
        "endpoint": "/v1/predict",
        "method": "POST",
        "status": "200",
        "model_version": "1",
        "protocol": "native",
    }
    before = count("http_requests_total", **labels)
    assert client.post("/v1/predict", json={"instances": records}).status_code == 200
    assert count("http_requests_total", **labels) == before
    assert client.get("/metrics").status_code == 200
