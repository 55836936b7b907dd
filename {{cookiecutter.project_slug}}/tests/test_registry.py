"""The model store: versions written once, verified before loading, aliases with history."""

from __future__ import annotations

import errno
import itertools
import json
import multiprocessing
import os
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import FRAMEWORK, TASK
from {{ cookiecutter.package_name }}.model.features import (
    BOOLEAN,
    CATEGORICAL,
    FEATURE_TYPES,
    FEATURES,
    NUMERIC,
)
from {{ cookiecutter.package_name }}.model.predict import predict
from {{ cookiecutter.package_name }}.store import serializer
from {{ cookiecutter.package_name }}.store.digests import hash_files, sha256_file
from {{ cookiecutter.package_name }}.store.metadata import REGISTRY_FILE
from {{ cookiecutter.package_name }}.store.reference import typical_instance
from {{ cookiecutter.package_name }}.store.registration import train_example
from {{ cookiecutter.package_name }}.store.registry import (
    IntegrityError,
    ModelStore,
    StoreError,
)


def test_metadata_records_what_serving_and_monitoring_need(store: ModelStore) -> None:
    metadata = store.metadata(1)
    assert metadata["framework"] == FRAMEWORK
    assert metadata["serializer"] == serializer.NAME
    assert metadata["task"] == TASK
    assert metadata["files"] == hash_files(store.version_dir(1))
    assert serializer.ARTIFACT in {name.split("/")[0] for name in metadata["files"]}
    assert len(metadata["sha256"]) == 64
    assert metadata["features"] == list(FEATURES)
    assert metadata["feature_types"] == FEATURE_TYPES
    assert metadata["created_at"].endswith("+00:00")
    assert {"python", *serializer.LIBRARIES} <= set(metadata["libraries"])
    assert metadata["metrics"]
    assert metadata["metrics_on"].startswith("holdout: ")
    for name in NUMERIC:
        reference = metadata["reference"][name]
        assert len(reference["counts"]) == len(reference["edges"]) + 1
        assert sum(reference["counts"]) == reference["count"] > 0
        assert reference["edges"] == sorted(reference["edges"])
    for name in (*BOOLEAN, *CATEGORICAL):
        reference = metadata["reference"][name]
        assert sum(reference["value_counts"]) == reference["count"] > 0
        assert reference["value_counts"] == sorted(reference["value_counts"], reverse=True)


def test_versions_are_numbered_and_never_rewritten(store: ModelStore) -> None:
    first = store.version_dir(1)

    def digests() -> dict[str, str]:
        return {**hash_files(first), "metadata.json": sha256_file(first / "metadata.json")}

    before = digests()
    assert train_example(store) == 2
    assert train_example(store) == 3
    assert store.versions() == [1, 2, 3]
    assert digests() == before
    assert not [path for path in store.directory.iterdir() if path.name.startswith(".staging")]


def test_concurrent_registrations_get_distinct_versions(store: ModelStore) -> None:
    versions: list[int] = []
    threads = [
        threading.Thread(target=lambda: versions.append(train_example(store))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == [2, 3, 4, 5]
    for version in versions:
        store.verify(version)


def test_a_version_is_readable_by_every_user_whatever_the_umask(tmp_path: Path) -> None:
    # The image's service user reads stores registered from the host by someone else.
    previous = os.umask(0o077)
    try:
        store = ModelStore(tmp_path / "models", "model")
        version = train_example(store)
        store.promote(version)
    finally:
        os.umask(previous)
    folder = store.version_dir(version)
    for path in [store.root, store.directory, folder, *folder.rglob("*")]:
        expected = 0o755 if path.is_dir() else 0o644
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    assert stat.S_IMODE((store.directory / REGISTRY_FILE).stat().st_mode) == 0o644


NO_SPACE = os.strerror(errno.ENOSPC)


@pytest.mark.parametrize(
    "fail",
    [
        lambda folder: OSError(errno.ENOSPC, NO_SPACE, str(folder / "sub" / "model.bin")),
        lambda folder: shutil.Error(
            [("/src/model.bin", str(folder / "sub" / "model.bin"), f"[Errno 28] {NO_SPACE}: 'x'")]
        ),
    ],
    ids=["OSError", "shutil.Error from copytree"],
)
def test_a_full_disk_names_the_file_as_the_store_would_hold_it(
    store: ModelStore, fail: Callable[[Path], OSError]
) -> None:
    def write_artifact(folder: Path) -> None:
        raise fail(folder)

    with pytest.raises(StoreError) as error:
        store.register(write_artifact, {})
    assert str(error.value) == (
        f"cannot write {store.name}/<new version>/sub/model.bin in the model store "
        f"{store.root}: {NO_SPACE}"
    )
    assert not [path for path in store.directory.iterdir() if path.name.startswith(".staging")]


def test_load_gives_a_working_model(store: ModelStore) -> None:
    loaded = store.load(1)
    assert loaded.version == 1
    assert loaded.metadata == store.metadata(1)
    assert len(predict(loaded.model, [typical_instance(loaded.metadata["reference"])])) == 1


def test_tampered_artifact_is_refused_before_it_is_deserialized(
    store: ModelStore,
    artifact_file: Callable[[int], Path],
    code_running_pickle: tuple[bytes, Path],
) -> None:
    payload, marker = code_running_pickle
    tampered = artifact_file(1)
    tampered.write_bytes(payload)
    name = tampered.relative_to(store.version_dir(1)).as_posix()

    with pytest.raises(IntegrityError, match=f"{name}: sha256 is") as refused:
        store.load(1)
    assert refused.value.file == name
    assert not marker.exists()  # test_serializer.py shows what loading such a file does


def test_missing_and_unexpected_files_fail_verification(
    store: ModelStore, artifact_file: Callable[[int], Path]
) -> None:
    extra = store.version_dir(1) / "extra.bin"
    extra.write_bytes(b"x")
    with pytest.raises(IntegrityError, match=r"extra\.bin: not part of the registered version"):
        store.verify(1)
    extra.unlink()
    missing = artifact_file(1)
    missing.unlink()
    with pytest.raises(IntegrityError, match=f"{missing.name}: missing"):
        store.verify(1)


def test_a_version_saved_another_way_is_refused(store: ModelStore) -> None:
    path = store.version_dir(1) / "metadata.json"
    metadata = json.loads(path.read_text())
    path.write_text(json.dumps({**metadata, "serializer": "something-else"}))
    with pytest.raises(StoreError, match="saved with 'something-else'"):
        store.load(1)


def test_promote_and_rollback_follow_the_history(store: ModelStore) -> None:
    train_example(store)
    train_example(store)
    assert store.resolve("production") == 1
    store.promote(2, reason="better")
    store.promote(3)
    assert store.resolve("production") == 3
    entry = store.rollback(reason="bad metrics")
    assert (entry["from"], entry["to"], entry["action"]) == (3, 2, "rollback")
    assert store.resolve("production") == 2
    assert store.promote(2) is None  # already there: nothing recorded
    history = store.history()
    assert [(e["action"], e["from"], e["to"]) for e in history] == [
        ("promote", None, 1),
        ("promote", 1, 2),
        ("promote", 2, 3),
        ("rollback", 3, 2),
    ]
    assert history[1]["reason"] == "better"
    assert all("@" in e["user"] and e["time"] for e in history)


def test_rollback_needs_an_earlier_version(store: ModelStore) -> None:
    with pytest.raises(StoreError, match="nothing to roll back"):
        store.rollback()
    assert store.resolve("production") == 1


def test_aliases_are_independent(store: ModelStore) -> None:
    train_example(store)
    store.promote(2, alias="staging")
    assert store.aliases() == {"production": 1, "staging": 2}
    with pytest.raises(StoreError, match="nothing to roll back"):
        store.rollback(alias="staging")


def test_promote_refuses_a_tampered_version(
    store: ModelStore, artifact_file: Callable[[int], Path]
) -> None:
    train_example(store)
    artifact = artifact_file(2)
    artifact.write_bytes(artifact.read_bytes()[:-1])
    with pytest.raises(IntegrityError):
        store.promote(2)
    assert store.resolve("production") == 1
    assert len(store.history()) == 1


def test_unknown_version_names_the_known_ones(store: ModelStore) -> None:
    with pytest.raises(StoreError, match=r"no version 7 .*\(versions: 1\)"):
        store.load(7)


GOOD_ENTRY = {"time": "t", "action": "promote", "alias": "production", "from": None, "to": 1}


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "",
        "[]",
        "null",
        '{"aliases": []}',
        json.dumps({"aliases": {"production": "abc"}, "history": []}),
        json.dumps({"aliases": {"production": True}, "history": []}),
        json.dumps({"aliases": {"production": 2.7}, "history": []}),
        json.dumps({"aliases": {"production": 0}, "history": []}),
        json.dumps({"aliases": {"production": 1}, "history": [[1]]}),
        json.dumps({"aliases": {"production": 1}, "history": [{"alias": "production"}]}),
        json.dumps({"aliases": {"production": 1}, "history": [{**GOOD_ENTRY, "to": "1"}]}),
    ],
)
def test_a_damaged_registry_is_reported_not_trusted(store: ModelStore, content: str) -> None:
    (store.directory / REGISTRY_FILE).write_text(content)
    for command in (lambda: store.resolve("production"), store.history, store.rollback):
        with pytest.raises(StoreError, match=REGISTRY_FILE):
            command()


@pytest.mark.parametrize(
    "change",
    [
        {"files": ["model"]},
        {"files": {}},
        {"files": {"../outside": "0" * 64}},
        {"files": {"/etc/passwd": "0" * 64}},
        {"sha256": None},
        {"metrics": {"accuracy": "high"}},
        {"features": "sepal_length"},
    ],
    ids=["files-list", "no-files", "dot-dot", "absolute", "no-digest", "bad-metric", "features"],
)
def test_damaged_metadata_is_reported_not_trusted(store: ModelStore, change: dict) -> None:
    path = store.version_dir(1) / "metadata.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(StoreError, match=r"metadata\.json is damaged"):
        store.load(1)


def test_metadata_that_is_not_an_object_is_reported(store: ModelStore) -> None:
    (store.version_dir(1) / "metadata.json").write_text("[]")
    with pytest.raises(StoreError, match="Not a JSON object"):
        store.verify(1)


def test_a_version_for_other_features_is_refused(store: ModelStore) -> None:
    path = store.version_dir(1) / "metadata.json"
    metadata = json.loads(path.read_text())
    path.write_text(json.dumps({**metadata, "features": [*FEATURES[1:], "other"]}))
    with pytest.raises(StoreError, match="made for other inputs or outputs"):
        store.load(1)


def test_load_deserializes_a_private_copy_of_the_checked_bytes(
    store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Path, dict[str, str]]] = []
    real_load = serializer.load

    def spying_load(directory: Path, metadata: dict[str, Any]) -> object:
        seen.append((directory, hash_files(directory)))
        return real_load(directory, metadata)

    monkeypatch.setattr(serializer, "load", spying_load)
    store.load(1)
    [(directory, digests)] = seen
    assert directory != store.version_dir(1)
    assert digests == store.metadata(1)["files"]
    assert not directory.exists()  # removed once loaded


def _promote_back_and_forth(root: Path, name: str, times: int, queue: Any) -> None:
    store = ModelStore(root, name)
    changes = 0
    for index in range(times):
        changes += store.promote(1 + index % 2, reason="race") is not None
    queue.put(changes)


def test_concurrent_promotions_from_two_processes_lose_nothing(store: ModelStore) -> None:
    train_example(store)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    racers = [
        context.Process(target=_promote_back_and_forth, args=(store.root, store.name, 30, queue))
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=120)
        assert racer.exitcode == 0
    changes = queue.get() + queue.get()
    history = store.history()
    assert len(history) == 1 + changes  # every change recorded, the first promotion included
    for before, after in itertools.pairwise(history):
        assert after["from"] == before["to"]  # an unbroken chain: no update was lost
    assert store.resolve("production") == history[-1]["to"]


@pytest.mark.parametrize("allowed", [False, True])
def test_a_version_saved_with_other_library_versions(
    store: ModelStore, allowed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    path = store.version_dir(1) / "metadata.json"
    metadata = json.loads(path.read_text())
    library = serializer.LIBRARIES[0]
    metadata["libraries"][library] = "0.1.0"
    path.write_text(json.dumps(metadata))
    guarded = ModelStore(store.root, store.name, allow_library_mismatch=allowed)
    if allowed:
        assert guarded.load(1).version == 1
        assert "library mismatch allowed" in caplog.text
    else:
        with pytest.raises(StoreError, match=f"saved with {library} 0.1.0 \\(the service's: "):
            guarded.load(1)
        with pytest.raises(StoreError, match="ALLOW_LIBRARY_MISMATCH=true"):
            guarded.promote(1, alias="staging")
