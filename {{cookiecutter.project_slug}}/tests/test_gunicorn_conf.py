"""gunicorn's settings follow the environment, and a bad one stops start-up in one line."""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from {{ cookiecutter.package_name }} import runtime

MODULE = "{{ cookiecutter.package_name }}.gunicorn_conf"
#: What gunicorn_conf.py sets for the framework, unset around each test.
THREAD_LIMITS = tuple(runtime.SERVER_ENVIRONMENT)


@pytest.fixture
def load_config(
    monkeypatch: pytest.MonkeyPatch, unset_env: Callable[..., None]
) -> Callable[..., ModuleType]:
    """Import gunicorn_conf afresh with the given environment; undo what it sets after."""

    def load(**environ: str) -> ModuleType:
        unset_env("PROMETHEUS_MULTIPROC_DIR", *THREAD_LIMITS)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delitem(sys.modules, MODULE, raising=False)
        return importlib.import_module(MODULE)

    return load


def test_settings_from_the_environment(
    load_config: Callable[..., ModuleType], tmp_path: Path
) -> None:
    config = load_config(PORT="9123", WEB_CONCURRENCY="3", THREADS="4", RUNTIME_DIR=str(tmp_path))
    assert config.bind == "127.0.0.1:9123"
    assert (config.workers, config.threads) == (3, 4)
    assert config.preload_app is runtime.LOAD_BEFORE_FORK
    assert config.control_socket == str(tmp_path / "gunicorn.ctl")
    assert config.logconfig_dict["formatters"]["json"]
    assert config.logconfig_dict["loggers"]["gunicorn.access"]["level"] == "WARNING"


def test_gunicorn_access_log_can_be_turned_on(load_config: Callable[..., ModuleType]) -> None:
    config = load_config(GUNICORN_ACCESS_LOG="true")
    assert config.logconfig_dict["loggers"]["gunicorn.access"]["level"] == "INFO"
    assert "request_id=%({x-request-id}o)s" in config.access_log_format


def test_native_threads_are_limited_unless_set(load_config: Callable[..., ModuleType]) -> None:
    load_config(MKL_NUM_THREADS="4")
    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "4"


def refusal(capsys: pytest.CaptureFixture[str]) -> dict:
    """The one JSON log line gunicorn_conf wrote as it refused to start."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 1, lines
    assert lines[0]["level"] == "CRITICAL"
    return lines[0]


def test_bad_setting_exits_with_one_json_line_naming_it(
    load_config: Callable[..., ModuleType], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        load_config(WEB_CONCURRENCY="lots")
    assert exit_.value.code == 1
    assert refusal(capsys)["message"].startswith("configuration error: WEB_CONCURRENCY='lots'")


def test_a_runtime_dir_others_can_write_is_refused(
    load_config: Callable[..., ModuleType], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(SystemExit):
        load_config(RUNTIME_DIR=str(shared))
    assert "must belong to this user and not be writable by others" in refusal(capsys)["message"]


def test_metrics_directory_is_the_instance_s_own_and_emptied(
    load_config: Callable[..., ModuleType], tmp_path: Path
) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir(parents=True)
    (metrics / "counter_12345.db").write_bytes(b"from a past run")
    load_config(RUNTIME_DIR=str(tmp_path))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(metrics)
    assert list(metrics.iterdir()) == []


def test_the_master_freezes_its_objects_before_each_fork(
    load_config: Callable[..., ModuleType],
) -> None:
    config = load_config()
    gc.unfreeze()
    try:
        config.pre_fork(None, None)  # type: ignore[arg-type]
        assert gc.get_freeze_count() > 0  # the workers' collections will skip these
    finally:
        gc.unfreeze()
