"""Slow: the default bake's image built with podman and run the way production runs it.

Read-only root filesystem with a tmpfs /tmp, every capability dropped, no new privileges, a
memory and pids limit, a mounted model store that starts empty. The tests run in file order
on one container, as an operator would meet it: alive but not ready, given a model from inside,
serving, hardened, healthy, a new version from another container and a rollback, then SIGTERM.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bakery import TEMPLATE, run
from combos import DEFAULT, Combo
from http_client import request, wait_for
from podman import BASE_PYTHON, Podman, missing_tools
from report import say
from served import Installed, free_port, logged_ids

pytestmark = pytest.mark.slow

SERVICE_UID = 10001
# Short, so the SIGTERM test proves a clean stop well inside it.
GRACEFUL_TIMEOUT = 10
INSTANCE = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
# Production flags; podman mounts a tmpfs on /tmp with --read-only, Docker needs --tmpfs.
HARDENED = (
    "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m",
    "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    "--memory", "1g", "--pids-limit", "256",
)  # fmt: skip


@pytest.fixture(scope="module")
def podman() -> Podman:
    """podman with its own configuration and image store, kept between runs in .cache/."""
    missing = missing_tools()
    assert not missing, f"install {', '.join(missing)} (.ci/run does: see its apt-get line)"
    assert DEFAULT.python_version == BASE_PYTHON
    return Podman(TEMPLATE / ".cache" / "podman")


@pytest.fixture(scope="module")
def image(
    podman: Podman, bake: Callable[[Combo], Path], pytestconfig: pytest.Config
) -> Iterator[str]:
    """The default bake's image, built once; its build time and size are printed."""
    tag = "localhost/iris-classifier:test"
    seconds = podman.build(bake(DEFAULT), tag)
    say(
        pytestconfig,
        "container",
        f"built {tag} in {seconds:.0f} s; size {podman.image_size(tag) / 1e6:.0f} MB",
    )
    yield tag
    podman.attempt("image", "prune", "--force")  # layers of earlier builds of the same tag


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty model store on the host, owned by the image's service user."""
    store = tmp_path_factory.mktemp("container") / "models"
    store.mkdir()
    shutil.chown(store, SERVICE_UID, SERVICE_UID)
    return store


@pytest.fixture(scope="module")
def service(podman: Podman, image: str, store: Path) -> Iterator[tuple[str, int]]:
    """The image running on the empty store: (container name, host port)."""
    port = free_port()
    name = f"iris-classifier-test-{port}"
    podman.start(
        image, name, *HARDENED,
        "--publish", f"127.0.0.1:{port}:8080",
        "--volume", f"{store}:/models",
        "--env", f"GRACEFUL_TIMEOUT={GRACEFUL_TIMEOUT}",
    )  # fmt: skip
    yield name, port
    podman.remove(name)


def cli(podman: Podman, name: str, *args: str) -> str:
    """The project's command, run inside the container."""
    return podman("exec", name, "iris-classifier", *args, timeout=300)


def test_empty_store_is_live_not_ready_then_ready_once_a_model_is_registered(
    podman: Podman, service: tuple[str, int]
) -> None:
    name, port = service
    wait_for(port, "/livez", 200, timeout=120)
    answer = request(port, "GET", "/readyz")
    assert answer.status == 503
    assert "promoted to 'production'" in answer.json()["error"]["message"]
    cli(podman, name, "train-example")  # writes the mounted store, as the service's user
    ready = wait_for(port, "/readyz", 200, timeout=60)
    assert ready.json()["model"]["version"] == "1"
    # /readyz came from one worker; each finds the model on its own next registry poll.
    _wait_until_every_worker_is_ready(port, workers=2)


def _wait_until_every_worker_is_ready(port: int, workers: int, timeout: float = 30) -> None:
    """Until /metrics shows ``model_ready`` at 1 for each of ``workers`` worker processes."""
    deadline = time.monotonic() + timeout
    values: list[str] = []
    while time.monotonic() < deadline:
        metrics = request(port, "GET", "/metrics").body.decode()
        values = [
            line.split()[-1] for line in metrics.splitlines() if line.startswith("model_ready{")
        ]
        if len(values) == workers and all(float(value) == 1 for value in values):
            return
        time.sleep(0.2)
    raise AssertionError(f"model_ready per worker after {timeout}s: {values}")


def test_serves_predictions_and_refuses_oversize_bodies(service: tuple[str, int]) -> None:
    _, port = service
    answer = request(port, "POST", "/v1/predict", {"instances": [INSTANCE]})
    assert answer.status == 200, answer.body
    assert answer.headers["x-model-version"] == "1"
    assert answer.json()["predictions"][0]["label"] == "setosa"
    oversize = b'{"instances": [' + b" " * (1024 * 1024) + b"]}"
    answer = request(port, "POST", "/v1/predict", oversize, {"Content-Type": "application/json"})
    assert answer.status == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_runs_hardened_as_pid_1_and_reports_healthy(
    podman: Podman, service: tuple[str, int]
) -> None:
    name, _ = service
    status = podman("exec", name, "cat", "/proc/1/status")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Uid"].split() == [str(SERVICE_UID)] * 4
    assert fields["CapEff"].strip() == "0" * 16
    assert fields["NoNewPrivs"].strip() == "1"
    command = podman("exec", name, "cat", "/proc/1/cmdline").split("\0")
    # PID 1 is gunicorn (`serve` replaced itself with it), not a shell.
    assert command[1:3] == ["-m", "gunicorn"], command
    refused = podman.attempt("exec", name, "touch", "/opt/venv/written")
    assert refused.returncode != 0
    assert "Read-only file system" in refused.stderr
    podman("exec", name, "touch", "/tmp/written")
    podman("healthcheck", "run", name)  # exit 0: healthy
    assert podman.state(name)["Health"]["Status"] == "healthy"


def test_a_version_registered_from_another_container_is_served_then_rolled_back(
    podman: Podman, image: str, store: Path, service: tuple[str, int]
) -> None:
    """What an operator does from the host: a throwaway container on the same store."""
    name, port = service
    podman(
        "run", "--rm", *podman.ulimits, "--volume", f"{store}:/models", image,
        "train-example", "--notes", "from another container",
        timeout=300,
    )  # fmt: skip
    assert _served_version(port, "2")
    cli(podman, name, "models", "rollback", "--reason", "container test")
    assert _served_version(port, "1")


def _served_version(port: int, version: str, timeout: float = 30) -> bool:
    """Wait until every answer in a row of ten comes from ``version`` (both workers follow)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = [
            request(port, "POST", "/v1/predict", {"instances": [INSTANCE]}) for _ in range(10)
        ]
        if all(a.status == 200 and a.headers["x-model-version"] == version for a in answers):
            return True
        time.sleep(0.2)
    return False


def test_sigterm_stops_cleanly_within_the_graceful_timeout_and_keeps_the_log(
    podman: Podman, store: Path, service: tuple[str, int], pytestconfig: pytest.Config
) -> None:
    name, port = service
    ids = set()
    for _ in range(20):
        answer = request(port, "POST", "/v1/predict", {"instances": [INSTANCE, INSTANCE]})
        ids |= {prediction["id"] for prediction in answer.json()["predictions"]}
    started = time.monotonic()
    podman("stop", "--time", str(GRACEFUL_TIMEOUT + 20), name)
    stopped_in = time.monotonic() - started
    say(
        pytestconfig,
        "container",
        f"SIGTERM to exit: {stopped_in:.1f} s (GRACEFUL_TIMEOUT={GRACEFUL_TIMEOUT})",
    )
    assert stopped_in < GRACEFUL_TIMEOUT
    assert podman.state(name)["ExitCode"] == 0
    logs = podman("logs", name)
    assert "Traceback" not in logs
    with sqlite3.connect(store / "prediction-log.sqlite3") as database:
        logged = logged_ids(database)
    assert ids <= logged  # every answer of the run was written before the exit


def test_cold_start_to_ready_with_port_and_store_moved(
    podman: Podman, image: str, store: Path, pytestconfig: pytest.Config
) -> None:
    """A new container on the populated store, from `podman run` to /readyz 200; PORT and
    MODEL_STORE move the service and the store as everywhere else, the healthcheck follows."""
    moved = ("--env", "PORT=9000", "--env", "MODEL_STORE=/srv/store")
    with podman.serving(
        image, *HARDENED, *moved, "--volume", f"{store}:/srv/store", container_port=9000
    ) as (name, _, seconds):
        say(pytestconfig, "container", f"cold start to /readyz 200: {seconds:.1f} s")
        podman("healthcheck", "run", name)


def test_a_store_registered_on_the_host_by_another_user_is_served(
    podman: Podman, image: str, install: Callable[[Combo], Installed], tmp_path: Path
) -> None:
    """The README's way: register on the host (here as root, with a umask that keeps files
    private), mount the store read-only, serve it as the image's own user."""
    installed = install(DEFAULT)
    store = tmp_path / "host-store"
    run([str(installed.command), "train-example"], env=installed.env(store), umask=0o077)
    log = ("--env", "DATABASE_URL=sqlite:////tmp/prediction-log.sqlite3")
    with podman.serving(image, *HARDENED, *log, "--volume", f"{store}:/models:ro") as (
        name,
        port,
        _,
    ):
        assert podman("exec", name, "id", "-u").strip() == str(SERVICE_UID)
        answer = request(port, "POST", "/v1/predict", {"instances": [INSTANCE]})
        assert answer.status == 200
        assert answer.headers["x-model-version"] == "1"


def test_immutable_image_serves_the_store_copied_in(
    podman: Podman, store: Path, bake: Callable[[Combo], Path], tmp_path: Path
) -> None:
    """`--target with-models`: the store inside the image, none mounted, the log in /tmp;
    the .dockerignore keeps the store's prediction log and lock files out."""
    context = tmp_path / "context"
    shutil.copytree(bake(DEFAULT), context)
    shutil.copytree(store, context / "models")
    assert (context / "models" / "prediction-log.sqlite3").exists()
    tag = "localhost/iris-classifier:with-models"
    podman.build(context, tag, "--target", "with-models")
    try:
        with podman.serving(tag, *HARDENED) as (name, port, _):
            answer = request(port, "POST", "/v1/predict", {"instances": [INSTANCE]})
            assert answer.status == 200
            assert answer.headers["x-model-version"] == "1"  # the alias as it was copied in
            listing = podman(
                "exec", name, "python", "-c",
                "import os; print(sorted(os.listdir('/models')), sorted(os.listdir('/models/iris-classifier')))",
            )  # fmt: skip
            assert listing.split() == ["['iris-classifier']", "['1',", "'2',", "'registry.json']"]
            assert "prediction-log.sqlite3" in podman("exec", name, "ls", "/tmp")
    finally:
        podman.attempt("rmi", "--force", tag)


def test_runs_as_sagemaker_runs_it(
    podman: Podman, image: str, install: Callable[[Combo], Installed], tmp_path: Path
) -> None:
    """`docker run IMAGE serve` with nothing set, model.tar.gz (from `models pack`) unpacked
    read-only into /opt/ml/model: /ping, /invocations in MLflow's JSON and in CSV, answers equal
    to /v1/predict's, the prediction log in /tmp, feedback on the ids, and a stop well inside
    the 30 s SageMaker waits before its SIGKILL."""
    installed = install(DEFAULT)
    store = tmp_path / "store"
    installed.cli(store, "train-example")
    tarball = tmp_path / "model.tar.gz"
    installed.cli(store, "models", "pack", str(tarball))
    model_dir = tmp_path / "opt-ml-model"
    model_dir.mkdir()
    run(["tar", "-xzf", str(tarball), "-C", str(model_dir)])  # as SageMaker unpacks it
    mount = ("--volume", f"{model_dir}:/opt/ml/model:ro")
    with podman.serving(image, *HARDENED, *mount, command=("serve",), ready_path="/ping") as (
        name,
        port,
        _,
    ):
        ping = request(port, "GET", "/ping")
        assert (ping.status, ping.body) == (200, b"")
        native = request(port, "POST", "/v1/predict", {"instances": [INSTANCE]}).json()
        label = native["predictions"][0]["label"]
        columns = list(INSTANCE)
        split = {"dataframe_split": {"columns": columns, "data": [list(INSTANCE.values())]}}
        answer = request(port, "POST", "/invocations", split)
        assert answer.status == 200, answer.body
        assert answer.json() == {"predictions": [label]}
        csv = ",".join(str(value) for value in INSTANCE.values()) + "\n"
        answer = request(port, "POST", "/invocations", csv, {"Content-Type": "text/csv"})
        assert answer.json() == {"predictions": [label]}
        prefix = answer.headers["x-prediction-id-prefix"]
        assert answer.headers["x-amzn-sagemaker-custom-attributes"] == (
            f"prediction_id_prefix={prefix}"
        )
        feedback = {"feedback": [{"id": f"{prefix}-0", "actual": label}]}
        stored = request(port, "POST", "/v1/feedback", feedback)
        assert stored.json()["stored"] == 1, stored.body
        assert "prediction-log.sqlite3" in podman("exec", name, "ls", "/tmp")
        assert podman("exec", name, "ls", "/opt/ml/model").split() == ["iris-classifier"]
        started = time.monotonic()
        podman("stop", "--time", "30", name)
        assert time.monotonic() - started < 30
        assert podman.state(name)["ExitCode"] == 0
