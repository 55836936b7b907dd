"""Following the registry in a running service: swaps, refusals, pins and damaged files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from {{ cookiecutter.package_name }}.service import inference, serving
from {{ cookiecutter.package_name }}.service.services import services
from {{ cookiecutter.package_name }}.store.metadata import REGISTRY_FILE
from {{ cookiecutter.package_name }}.store.registration import train_example
from {{ cookiecutter.package_name }}.store.registry import ModelStore


def served_version(app: Flask, records: list[dict[str, Any]]) -> str:
    response = app.test_client().post("/v1/predict", json={"instances": records[:1]})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["X-Model-Version"]


def test_promote_and_rollback_are_served_after_a_refresh(
    app: Flask, store: ModelStore, records: list[dict[str, Any]]
) -> None:
    holder = services(app).model_holder
    store.promote(train_example(store))
    holder.refresh()
    assert served_version(app, records) == "2"
    store.rollback()
    holder.refresh()
    assert served_version(app, records) == "1"
    assert app.test_client().get("/v1/model").get_json()["version"] == "1"


def test_a_request_keeps_the_version_it_started_with(
    app: Flask,
    store: ModelStore,
    records: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train_example(store)
    holder = services(app).model_holder
    real_score = inference.score

    def score_during_a_swap(model: Any, instances: list) -> list[dict[str, Any]]:
        store.promote(2)
        holder.refresh()  # the swap lands while this request is being scored
        return real_score(model, instances)

    monkeypatch.setattr(inference, "score", score_during_a_swap)
    response = app.test_client().post("/v1/predict", json={"instances": records[:1]})
    assert response.headers["X-Model-Version"] == "1"
    assert response.get_json()["model"]["version"] == "1"
    monkeypatch.undo()
    assert served_version(app, records) == "2"


def test_a_tampered_new_version_is_never_deserialized_nor_served(
    app: Flask,
    store: ModelStore,
    records: list[dict[str, Any]],
    code_running_pickle: tuple[bytes, Path],
    move_alias_unchecked: Callable[[int], None],
    artifact_file: Callable[[int], Path],
) -> None:
    train_example(store)
    payload, marker = code_running_pickle
    artifact_file(2).write_bytes(payload)
    move_alias_unchecked(2)
    holder = services(app).model_holder
    holder.refresh()
    assert served_version(app, records) == "1"
    assert not marker.exists()
    refused = app.test_client().get("/v1/model").get_json()["last_refused"]
    assert refused["version"] == 2
    assert f"{artifact_file(2).name}: sha256 is" in refused["problem"]


def test_a_version_that_fails_its_warm_up_is_not_swapped_in(
    app: Flask,
    store: ModelStore,
    records: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.promote(train_example(store))

    def failing_warm_up(loaded: Any) -> None:
        raise RuntimeError("cannot predict")

    monkeypatch.setattr(serving, "warm_up", failing_warm_up)
    services(app).model_holder.refresh()
    assert served_version(app, records) == "1"
    assert "cannot predict" in services(app).model_holder.last_refused["problem"]


@pytest.mark.parametrize("damage", ["garbage", "missing", "bad-alias"])
def test_a_damaged_registry_keeps_the_served_version(
    app: Flask, store: ModelStore, records: list[dict[str, Any]], damage: str
) -> None:
    path = store.directory / REGISTRY_FILE
    backup = path.read_text()
    if damage == "missing":
        path.unlink()
    else:
        path.write_text("{not json" if damage == "garbage" else '{"aliases": {"production": true}}')
    holder = services(app).model_holder
    holder.refresh()
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert served_version(app, records) == "1"
    assert client.get("/v1/model").get_json()["registry_problem"]
    path.write_text(backup)  # restored from a backup: followed again
    store.promote(train_example(store))
    holder.refresh()
    assert served_version(app, records) == "2"
    assert client.get("/v1/model").get_json()["registry_problem"] is None


def test_model_version_pins_against_the_alias(
    make_app: Callable[..., Flask], store: ModelStore, records: list[dict[str, Any]]
) -> None:
    store.promote(train_example(store))
    app = make_app(MODEL_VERSION="1")
    assert served_version(app, records) == "1"
    services(app).model_holder.refresh()
    assert served_version(app, records) == "1"
    assert app.test_client().get("/v1/model").get_json()["selected_by"] == "MODEL_VERSION=1"


def test_a_pinned_version_that_does_not_load_is_not_ready(
    make_app: Callable[..., Flask],
) -> None:
    response = make_app(MODEL_VERSION="7").test_client().get("/readyz")
    assert response.status_code == 503
    assert "no version 7" in response.get_json()["error"]["message"]


def test_the_watch_thread_follows_the_alias(
    make_app: Callable[..., Flask], store: ModelStore, records: list[dict[str, Any]]
) -> None:
    app = make_app(MODEL_POLL_SECONDS="0.05")
    assert served_version(app, records) == "1"  # the first request starts the watch
    store.promote(train_example(store))
    deadline = time.monotonic() + 10
    while served_version(app, records) != "2":
        assert time.monotonic() < deadline, "the watch did not swap within 10 s"
        time.sleep(0.05)
