"""Liveness always; readiness only with a verified, warmed-up model, and the reason otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.service.schemas import ModelInfoSchema
from {{ cookiecutter.package_name }}.service.services import services
from {{ cookiecutter.package_name }}.store import serializer
from {{ cookiecutter.package_name }}.store.registration import train_example
from {{ cookiecutter.package_name }}.store.registry import ModelStore


def test_live_even_without_a_model(empty_store_app: Flask) -> None:
    response = empty_store_app.test_client().get("/livez")
    assert response.status_code == 200
    assert response.get_json() == {"status": "alive"}


def test_ready_with_a_verified_model(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["model"]["version"] == "1"
    assert response.headers["X-Model-Version"] == "1"


def test_not_ready_without_a_model_says_why(empty_store_app: Flask) -> None:
    response = empty_store_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "promoted to 'production'" in response.get_json()["error"]["message"]


def test_becomes_ready_once_a_model_is_promoted(tmp_path: Path, empty_store_app: Flask) -> None:
    client = empty_store_app.test_client()
    assert client.get("/readyz").status_code == 503
    model_holder = services(empty_store_app).model_holder
    store = ModelStore(tmp_path / "empty", model_holder.store.name)
    store.promote(train_example(store), "production")
    model_holder.refresh()  # what each worker's registry watch does every MODEL_POLL_SECONDS
    assert client.get("/readyz").status_code == 200


def test_tampered_artifact_is_not_ready_and_names_the_file(
    store: ModelStore, make_app: Callable[..., Flask], artifact_file: Callable[[int], Path]
) -> None:
    artifact = artifact_file(1)
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    name = artifact.relative_to(store.version_dir(1)).as_posix()
    response = make_app().test_client().get("/readyz")
    assert response.status_code == 503
    message = response.get_json()["error"]["message"]
    assert f"version 1 failed verification: {name}: sha256 is" in message


def test_model_info(client: FlaskClient, store: ModelStore) -> None:
    response = client.get("/v1/model")
    assert response.status_code == 200
    info = response.get_json()
    metadata = store.metadata(1)
    assert info["name"] == store.name
    assert info["version"] == "1"
    assert info["alias"] == "production"
    assert info["framework"] == "{{ cookiecutter.framework }}"
    assert info["serializer"] == serializer.NAME
    assert info["sha256"] == metadata["sha256"]
    assert info["files"] == metadata["files"]
    assert info["features"] == metadata["features"]
    assert info["created_at"] == metadata["created_at"]
    assert "reference" not in info
    assert response.headers["X-Model-Version"] == "1"
    assert ModelInfoSchema().validate(info) == {}  # the answer is what /openapi.json documents
