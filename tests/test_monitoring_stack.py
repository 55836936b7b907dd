"""Slow layer: the monitoring stack for real. A real Prometheus, with the bake's own scrape
configuration and alert rules, scrapes the default bake under gunicorn (2 workers) while
clients send predictions, feedback and drifted inputs; every dashboard panel's and every alert
rule's PromQL then returns data. Traffic goes to 127.0.0.1 only; every process started here is
stopped by its pid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from http_client import request, wait_for
from prometheus import Prometheus, promtool
from served import Installed, Server

pytestmark = pytest.mark.slow

IRIS = Path(__file__).resolve().parent.parent / (
    "{{cookiecutter.project_slug}}/_variants/example_inputs/iris/src/"
    "{{cookiecutter.package_name}}/model/data/iris.csv"
)
SHIFTED = "sepal_length"
# A comparison at the top of an alert expression: "A > 0.2", "A < on (x) B - 0.1".
COMPARISON = re.compile(r"\s(==|!=|>=|<=|>|<)\s")


def iris_records() -> list[tuple[dict[str, float], str]]:
    lines = IRIS.read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:] if line]
    return [({name: float(row[name]) for name in header[:4]}, row[header[4]]) for row in rows]


@pytest.fixture(scope="module")
def stack(installed: Installed) -> Path:
    return installed.project / "deploy" / "compose"


@pytest.fixture(scope="module")
def traffic(
    installed: Installed,
    start_server: Callable[..., Server],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """The service, served by 2 workers, after a known amount of traffic."""
    store = tmp_path_factory.mktemp("stack") / "models"
    installed.cli(store, "train-example")
    server = start_server(store, MONITOR_INTERVAL_SECONDS="1", DRIFT_MIN_RECORDS="50")
    wait_for(server.port, "/readyz", 200)
    records = iris_records()
    shifted = [({**x, SHIFTED: x[SHIFTED] + 3.0}, label) for x, label in records]
    bodies = [[record] for record, _ in records + shifted]

    def predict(instances: list[dict[str, float]]) -> dict[str, Any]:
        answer = request(server.port, "POST", "/v1/predict", {"instances": instances})
        assert answer.status == 200, answer.body
        return answer.json()

    with ThreadPoolExecutor(4) as pool:  # concurrent clients: both workers serve
        answers = list(pool.map(predict, bodies))
    predictions = [answer["predictions"][0] for answer in answers]
    truths = [label for _, label in records + shifted]
    feedback = [
        {"id": prediction["id"], "actual": truth}
        for prediction, truth in zip(predictions, truths, strict=True)
    ]
    stored = request(server.port, "POST", "/v1/feedback", {"feedback": feedback}).json()
    assert stored["stored"] == len(feedback), stored
    request(server.port, "GET", "/no/such/endpoint")
    request(server.port, "POST", "/v1/predict", {"instances": [{"sepal_length": "x"}]})
    correct = sum(p["label"] == truth for p, truth in zip(predictions, truths, strict=True))
    return {
        "server": server,
        "predictions": len(bodies),
        "accuracy": correct / len(truths),
    }


@pytest.fixture(scope="module")
def prometheus(
    stack: Path, traffic: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """Prometheus scraping the service, once two scrapes saw the traffic and the monitors ran."""
    server: Server = traffic["server"]
    workdir = tmp_path_factory.mktemp("prometheus")
    prometheus = Prometheus.start(stack / "prometheus" / "prometheus.yml", server.port, workdir)
    try:
        # rate() needs two scrapes; the drift and accuracy gauges need a monitor pass.
        prometheus.wait_until(
            lambda: (
                prometheus.query("rate(http_requests_total[5m])")
                and prometheus.query("model_accuracy")
                and prometheus.query("feature_drift_psi > 0")
            ),
            90,
        )
        yield prometheus
    finally:
        prometheus.stop()


def test_promtool_accepts_the_scrape_config_and_the_alert_rules(stack: Path) -> None:
    config = promtool("check", "config", str(stack / "prometheus" / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    rules = promtool("check", "rules", str(stack / "prometheus" / "alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_every_dashboard_panel_returns_data(stack: Path, prometheus: Prometheus) -> None:
    dashboard = json.loads((stack / "grafana" / "dashboards" / "dashboard.json").read_text())
    targets = [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]
    assert len(targets) >= 20
    empty = [(title, expr) for title, expr in targets if not prometheus.query(expr)]
    assert not empty, empty


def test_every_alert_rule_expression_returns_data(stack: Path, prometheus: Prometheus) -> None:
    """Each rule's comparison, made a ``bool`` one, gives a series: its metrics exist and its
    expression matches them (whether it fires or not)."""
    rules = yaml.safe_load((stack / "prometheus" / "alerts.yml").read_text())
    expressions = {
        rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]
    }
    assert {"HighErrorRate", "HighPredictionLatency", "ModelNotReady", "InputDrift"} <= set(
        expressions
    )
    empty = []
    for name, expression in expressions.items():
        assert len(COMPARISON.findall(expression)) == 1, (name, expression)
        as_bool = COMPARISON.sub(lambda match: f" {match[1]} bool ", expression)
        if not prometheus.query(as_bool):
            empty.append((name, as_bool))
    assert not empty, empty
    # A healthy service: every worker ready (the master's gauges must not count), no 5xx.
    for name in ("ModelNotReady", "HighErrorRate", "ServiceDown"):
        assert prometheus.query(expressions[name]) == [], name


def test_drift_is_over_the_threshold_for_the_shifted_feature_only(prometheus: Prometheus) -> None:
    scores = {
        sample["metric"]["feature"]: float(sample["value"][1])
        for sample in prometheus.query("feature_drift_psi")
    }
    assert scores[SHIFTED] > 0.2, scores
    assert all(score < 0.2 for name, score in scores.items() if name != SHIFTED), scores
    firing = prometheus.query("max by (feature) (feature_drift_psi) > 0.2")
    assert [sample["metric"]["feature"] for sample in firing] == [SHIFTED]


def test_accuracy_is_the_share_of_correct_feedback(
    traffic: dict[str, Any], prometheus: Prometheus
) -> None:
    [sample] = prometheus.query('model_accuracy{model_version="1"}')
    assert float(sample["value"][1]) == pytest.approx(traffic["accuracy"], abs=1e-12)


def test_metrics_sum_across_both_workers(traffic: dict[str, Any], prometheus: Prometheus) -> None:
    server: Server = traffic["server"]
    served_by = {line["pid"] for line in server.lines() if line.get("path") == "/v1/predict"}
    assert len(served_by) == 2  # both workers answered predictions
    [requests] = prometheus.query('sum(http_requests_total{endpoint="/v1/predict", status="200"})')
    assert float(requests["value"][1]) == traffic["predictions"]
    [batches] = prometheus.query("sum(prediction_batch_size_count)")
    assert float(batches["value"][1]) == traffic["predictions"]
    workers = prometheus.query("worker_resident_memory_bytes")
    assert {sample["metric"]["pid"] for sample in workers} == {str(pid) for pid in served_by}
