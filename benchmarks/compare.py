"""The bake as it ships against a bare Flask app (and MLflow and BentoML), side by side.

    .venv/bin/python benchmarks/compare.py [--seconds 10] [--passes 2] [--mlflow] [--bentoml]

Bakes the defaults (the iris logistic regression, from train-example) and a bake with 20
features serving a 100-tree random forest, registered as a user registers a notebook's model.
Each server gets the same model file and 2 workers: the bake under its own gunicorn settings,
every feature on (validation, JSON access log, request metrics, the SQLite prediction log,
version headers); bare_app.py under gunicorn's sync worker; ``mlflow models serve`` and
``bentoml serve`` (each in a venv of its own under .cache/, made on first use) when asked.
wrk (closed loop, one thread per connection, on the last core) loads each scenario; the
latencies are the client's own (timed.lua). Per scenario: req/s, p50 and p99, and the server's
CPU milliseconds per request; per server: seconds from start to the first 200 (the median of
3 starts per pass) and the process tree's PSS after the load. Passes are interleaved and the
medians reported, with each figure's ratio to the bare app's and to the others'. The table
goes to benchmarks/results/. Figures vary with the machine and its load: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from loadgen import cpu_seconds, need_wrk, pss_mib, serve, stop, wait_until_answered, wrk

from bakery import TEMPLATE, bake_into, clean_env, package_name, project_venv, run
from served import free_port

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
OTHER_VENVS = TEMPLATE / ".cache" / "bench-venvs"
#: What each optional server is installed with, beside the bake's own scikit-learn pins.
OTHER_PINS = {"mlflow": ["mlflow==3.17.2"], "bentoml": ["bentoml==1.4.40"]}
WORKERS = 2
#: Starts timed per server and pass (the last one is then loaded).
STARTS = 3
IRIS_RECORD = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
FOREST_FEATURES = [f"f{index:02d}" for index in range(1, 21)]


@dataclass(frozen=True)
class Scenario:
    model: str  # "iris" or "forest"
    records: int
    connections: int

    @property
    def name(self) -> str:
        noun = "record" if self.records == 1 else "records"
        return f"{self.model}, {self.records} {noun}, {self.connections} conns"


SCENARIOS = [
    Scenario("iris", 1, 1),
    Scenario("iris", 1, 8),
    Scenario("iris", 1, 32),
    Scenario("iris", 100, 8),
    Scenario("forest", 1, 8),
    Scenario("forest", 100, 8),
]

# The forest bake's model: trained on synthetic data and registered with the bake's command,
# as a user brings a model from a notebook. Run with the bake's venv.
TRAIN_FOREST = """
import csv, sys
import joblib
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
features = sys.argv[2].split(",")
X, y = make_classification(n_samples=3000, n_features=len(features), n_informative=10,
                           n_classes=3, random_state=0)
labels = [["low", "mid", "high"][k] for k in y]
model = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X[:2400], labels[:2400])
joblib.dump(model, sys.argv[1] + "/forest.joblib")
for name, rows in (("train", range(2400)), ("eval", range(2400, 3000))):
    with open(f"{sys.argv[1]}/{name}.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*features, "label"])
        writer.writerows([*X[i].round(6).tolist(), labels[i]] for i in rows)
"""


@dataclass
class Model:
    """A bake serving one model, and where the model's files are."""

    name: str
    project: Path
    package: str
    python: Path
    store: Path
    version_dir: Path
    record: dict[str, float]


@dataclass
class Server:
    """How to start one server for one model, and what to send it."""

    name: str
    command: list[str]
    env: dict[str, str]
    path: str
    body_key: str  # the records go under this key of the JSON body


@dataclass
class Figures:
    requests_per_s: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def median(self) -> dict[str, float]:
        return {key: statistics.median(values) for key, values in asdict(self).items()}


def bake_models(work: Path, wanted: set[str]) -> dict[str, Model]:
    models = {}
    if "iris" in wanted:
        project = bake_into(work / "iris")
        models["iris"] = _trained(project, "iris", IRIS_RECORD, ["train-example"])
    if "forest" in wanted:
        project = bake_into(
            work / "forest",
            project_name="Forest Classifier",
            features=",".join(FOREST_FEATURES),
        )
        record = {name: round(0.1 * index - 1, 2) for index, name in enumerate(FOREST_FEATURES)}
        data = work / "forest-data"
        data.mkdir()
        python = project_venv(project) / "bin" / "python"
        run([str(python), "-c", TRAIN_FOREST, str(data), ",".join(FOREST_FEATURES)], timeout=600)
        register = [
            "models", "register", str(data / "forest.joblib"), "--reference-data",
            str(data / "train.csv"), "--eval-data", str(data / "eval.csv"), "--target", "label",
            "--promote",
        ]  # fmt: skip
        models["forest"] = _trained(project, "forest", record, register)
    return models


def _trained(project: Path, name: str, record: dict[str, float], command: list[str]) -> Model:
    package = package_name(project)
    python = project_venv(project) / "bin" / "python"
    # Served from src/, the bake's modules would be compiled at every start where
    # PYTHONDONTWRITEBYTECODE is set (as in CI images); installed, as in its container, they
    # are compiled once. The bare app is one small file: compiling it costs nothing.
    run([str(python), "-m", "compileall", "-q", str(project / "src")])
    store = project.parent / "models"
    env = clean_env(PYTHONPATH=str(project / "src"), MODEL_STORE=str(store))
    run([str(python), "-m", package, *command], env=env, timeout=900)
    version_dir = next(path for path in store.glob("*/1") if path.is_dir())
    return Model(name, project, package, python, store, version_dir, record)


def other_venv(name: str, model: Model) -> Path:
    """MLflow's or BentoML's venv, with the bake's scikit-learn, numpy and joblib pins."""
    pins = [
        line.strip()
        for line in (model.project / "requirements.txt").read_text().splitlines()
        if re.match(r"(scikit-learn|numpy|joblib|scipy)==", line.strip())
    ]
    venv = OTHER_VENVS / name
    marker = venv / ".complete"
    wanted = "\n".join([*OTHER_PINS[name], *pins])
    if not marker.exists() or marker.read_text() != wanted:
        print(f"making {name}'s venv (once) ...", flush=True)
        run([sys.executable, "-m", "venv", "--clear", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        run([*pip, "--disable-pip-version-check", *OTHER_PINS[name], *pins], timeout=1800)
        marker.write_text(wanted)
    return venv


def _path(venv: Path) -> str:
    # MLflow starts uvicorn by name: the venv's own commands come first.
    return f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def servers_for(
    model: Model, work: Path, others: list[str], variants: Sequence[str] = ()
) -> list[Server]:
    base = clean_env(
        PYTHONPATH=f"{model.project / 'src'}:{HERE}",
        MODEL_STORE=str(model.store),
        BARE_MODEL_DIR=str(model.version_dir),
        OMP_NUM_THREADS="1",
        WEB_CONCURRENCY=str(WORKERS),
    )
    gunicorn = [str(model.python), "-m", "gunicorn"]
    bake_command = [
        *gunicorn,
        "--config",
        f"python:{model.package}.gunicorn_conf",
        f"{model.package}.wsgi:app",
    ]
    servers = [
        Server(
            "bare Flask",
            [
                *gunicorn,
                "--workers",
                str(WORKERS),
                "--preload",
                "--no-control-socket",
                "--chdir",
                str(HERE),
                "--bind",
                "127.0.0.1:{port}",
                "bare_app:app",
            ],
            base,
            "/v1/predict",
            "instances",
        ),
        Server("the bake", bake_command, base, "/v1/predict", "instances"),
    ]
    for variant in variants:  # the bake with other settings, e.g. THREADS=2
        settings = dict(item.split("=", 1) for item in variant.split(","))
        servers.append(
            Server(
                f"the bake, {variant}",
                bake_command,
                {**base, **settings},
                "/v1/predict",
                "instances",
            )
        )
    if "mlflow" in others:
        venv = other_venv("mlflow", model)
        saved = work / f"mlflow-{model.name}"
        if not saved.exists():
            script = HERE / "others" / "mlflow_model.py"
            run([str(venv / "bin" / "python"), str(script), str(model.version_dir), str(saved)])
        servers.append(
            Server(
                "MLflow",
                [
                    str(venv / "bin" / "mlflow"),
                    "models",
                    "serve",
                    "-m",
                    str(saved),
                    "--env-manager",
                    "local",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "{port}",
                    "--workers",
                    str(WORKERS),
                ],
                {**base, "MLFLOW_TRACKING_URI": f"file:{work / 'mlruns'}", "PATH": _path(venv)},
                "/invocations",
                "dataframe_records",
            )
        )
    if "bentoml" in others:
        venv = other_venv("bentoml", model)
        servers.append(
            Server(
                "BentoML",
                [
                    str(venv / "bin" / "bentoml"),
                    "serve",
                    "bentoml_service:Classifier",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "{port}",
                ],
                {
                    **base,
                    "PYTHONPATH": str(HERE / "others"),
                    "PATH": _path(venv),
                    "BENTOML_DO_NOT_TRACK": "true",
                    "BENTOML_HOME": str(work / "bentoml-home"),
                    "BENCH_WORKERS": str(WORKERS),
                },
                "/predict",
                "instances",
            )
        )
    return servers


def start(server: Server, body: bytes, log: Path) -> tuple[subprocess.Popen, str, float]:
    """Start the server on a free port; the process, its URL and the seconds to a first 200."""
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in server.command]
    url = f"http://127.0.0.1:{port}{server.path}"
    started = time.monotonic()
    process = serve(command, {**server.env, "PORT": str(port)}, log)
    try:
        wait_until_answered(url, body, process)
    except BaseException:
        stop(process)
        raise
    return process, url, time.monotonic() - started


def measure(
    server: Server, model: Model, scenarios: list[Scenario], work: Path, seconds: int
) -> tuple[dict[str, dict[str, float]], float, float]:
    """Start the server, load it with each scenario; per scenario figures, the seconds to the
    first 200, and the tree's PSS (MiB) after the load."""
    bodies = {}
    for records in {scenario.records for scenario in scenarios}:
        bodies[records] = work / f"{model.name}-{server.body_key}-{records}.json"
        bodies[records].write_text(json.dumps({server.body_key: [model.record] * records}))
    log = work / f"{server.name.replace(' ', '-')}-{model.name}.log"
    first = bodies[min(bodies)].read_bytes()
    # A start takes about 2 s and varies by a quarter from one to the next on a shared
    # machine: the median of a few, each to its first 200. Each on a port of its own: a
    # stopped server's children may hold the last one for a moment.
    ready = []
    for _ in range(STARTS - 1):
        process, _url, ready_s = start(server, first, log)
        stop(process)
        ready.append(ready_s)
    process, url, ready_s = start(server, first, log)
    try:
        ready_s = statistics.median([*ready, ready_s])
        time.sleep(1)  # every worker up (a first 200 shows only one is)
        figures = {}
        for scenario in scenarios:
            before = cpu_seconds(process.pid)
            load = wrk(
                url, bodies[scenario.records], connections=scenario.connections, seconds=seconds
            )
            used = cpu_seconds(process.pid) - before
            if load.failed or not load.requests:
                raise SystemExit(f"{server.name}: {load.failed} failed requests; see {log}")
            figures[scenario.name] = {
                "requests_per_s": load.requests_per_s,
                "p50_ms": load.p50_ms,
                "p99_ms": load.p99_ms,
                "cpu_ms": used * 1000 / load.requests,
            }
        pss = pss_mib(process.pid)
    finally:
        stop(process)
    return figures, ready_s, pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per scenario")
    parser.add_argument("--passes", type=int, default=2, help="interleaved passes (medians)")
    parser.add_argument("--mlflow", action="store_true", help="also mlflow models serve")
    parser.add_argument("--bentoml", action="store_true", help="also bentoml serve")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[scenario.name for scenario in SCENARIOS],
        help="only these scenarios (repeatable; default: all)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="also the bake with these settings (repeatable), e.g. THREADS=2 or PREDICT_TIMEOUT=0",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the table goes")
    args = parser.parse_args()
    need_wrk()
    scenarios = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    others = [name for name in ("mlflow", "bentoml") if getattr(args, name)]

    work = Path(tempfile.mkdtemp(prefix="compare-"))
    models = bake_models(work, {scenario.model for scenario in scenarios})
    plans = {name: servers_for(model, work, others, args.variant) for name, model in models.items()}
    print(f"baked and trained {', '.join(models)} in {work}", flush=True)

    figures: dict[tuple[str, str], Figures] = {}
    starts: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for number in range(args.passes):
        for name, model in models.items():
            mine = [scenario for scenario in scenarios if scenario.model == name]
            for server in plans[name]:
                measured, ready_s, pss = measure(server, model, mine, work, args.seconds)
                starts.setdefault((server.name, name), []).append((ready_s, pss))
                for scenario, values in measured.items():
                    row = figures.setdefault((server.name, scenario), Figures())
                    for key, value in values.items():
                        getattr(row, key).append(value)
                print(
                    f"pass {number + 1}, {name}, {server.name}: ready in {ready_s:.2f} s, "
                    f"{pss:.0f} MiB; {json.dumps(measured)}",
                    flush=True,
                )

    servers = [server.name for server in next(iter(plans.values()))]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "seconds_per_scenario": args.seconds,
        "passes": args.passes,
        "starts_per_pass": STARTS,
        "workers": WORKERS,
        "scenarios": {
            scenario.name: {
                server: figures[(server, scenario.name)].median()
                for server in servers
                if (server, scenario.name) in figures
            }
            for scenario in scenarios
        },
        "start": {
            f"{server}, {model}": {
                "ready_s": statistics.median(ready for ready, _ in values),
                "pss_mib": statistics.median(pss for _, pss in values),
            }
            for (server, model), values in starts.items()
        },
    }
    table = render(result, servers)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "comparison.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "comparison.md").write_text(table)
    print(f"written to {args.out / 'comparison.md'} and comparison.json")
    subprocess.run(["rm", "-rf", str(work)], check=False)


def render(result: dict, servers: list[str]) -> str:
    """The result as a Markdown table: each server's figures, then the bake's ratios."""
    others = [name for name in servers if name != "the bake"]
    header = ["scenario", *servers, *(f"bake / {name}" for name in others)]
    lines = [
        f"Measured {result['when']} on {result['machine']}: {result['workers']} workers per "
        f"server, wrk closed loop, {result['seconds_per_scenario']:g} s per scenario, medians "
        f"of {result['passes']} pass(es). Each cell: req/s, p50 / p99 ms, server CPU ms per "
        f"request. Ratios: throughput (p99, CPU). Start: the median of "
        f"{result.get('starts_per_pass', 1)} per pass.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for scenario, row in result["scenarios"].items():
        cells = [scenario]
        for name in servers:
            f = row.get(name)
            cells.append(
                f"{f['requests_per_s']:,.0f}, {f['p50_ms']:.1f} / {f['p99_ms']:.1f}, "
                f"{f['cpu_ms']:.2f}"
                if f
                else ""
            )
        bake = row["the bake"]
        for name in others:
            f = row.get(name)
            cells.append(
                f"**{bake['requests_per_s'] / f['requests_per_s']:.2f}x** "
                f"({bake['p99_ms'] / f['p99_ms']:.2f}x, {bake['cpu_ms'] / f['cpu_ms']:.2f}x)"
                if f
                else ""
            )
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| start (model) | " + " | ".join(servers) + " | bake / bare Flask |", "|---|"
              + "---|" * (len(servers) + 1)]  # fmt: skip
    for model in ("iris", "forest"):
        starts = {name: result["start"].get(f"{name}, {model}") for name in servers}
        if not all(starts.values()):
            continue
        ready = [f"{s['ready_s']:.2f} s, {s['pss_mib']:.0f} MiB" for s in starts.values()]
        bake, bare = starts["the bake"], starts["bare Flask"]
        ratio = f"{bake['ready_s'] / bare['ready_s']:.2f}x start, {bake['pss_mib'] / bare['pss_mib']:.2f}x PSS"
        lines.append(
            f"| to first 200, PSS after load ({model}) | " + " | ".join(ready) + f" | {ratio} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
