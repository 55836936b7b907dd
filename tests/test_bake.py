"""Fast layer: every combination bakes into exactly its files, clean and lint-free."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from validate_pyproject import api as validate_pyproject_api

from bakery import TEMPLATE, package_name, run_dev_tool
from combos import IRIS, Combo
from local_extensions import feature_types

# Jinja left unrendered; GitHub's own expressions (${{ secrets.X }}) are meant to be there.
LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|\{#|cookiecutter\.")


COMPOSE_FILES = (
    "compose.yaml",
    "prometheus/prometheus.yml",
    "prometheus/alerts.yml",
    "grafana/provisioning/datasources/prometheus.yml",
    "grafana/provisioning/dashboards/dashboards.yml",
    "grafana/dashboards/dashboard.json",
)

K8S_FILES = (
    "kustomization.yaml",
    "configmap.yaml",
    "model-store.yaml",
    "deployment.yaml",
    "service.yaml",
    "hpa.yaml",
    "pdb.yaml",
)


def expected_files(combo: Combo, project: Path) -> set[str]:
    """The exact file set of a bake, derived from its answers."""
    package = f"src/{package_name(project)}"
    features = combo.context.get("features", IRIS)
    task = combo.context.get("task", "classification")
    iris = task == "classification" and features.replace(" ", "") == IRIS
    files = {
        ".gitignore",
        "Makefile",
        "README.md",
        "pyproject.toml",
        "requirements.in",
        "requirements.txt",
        "requirements-dev.in",
        "requirements-dev.txt",
        "notebooks/train.ipynb",
        *(
            f"tests/{name}"
            for name in (
                "conftest.py",
                "test_balance.py",
                "test_cli.py",
                "test_config.py",
                "test_deadline.py",
                "test_drift.py",
                "test_errors.py",
                "test_fast_path.py",
                "test_feedback.py",
                "test_gunicorn_conf.py",
                "test_health.py",
                "test_hostile_bodies.py",
                "test_live_swap.py",
                "test_log_outage.py",
                "test_locks.py",
                "test_logs.py",
                "test_metrics.py",
                "test_notebook.py",
                "test_openapi.py",
                "test_predict.py",
                "test_predict_api.py",
                "test_prediction_log.py",
                "test_protocols.py",
                "test_quality.py",
                "test_registration.py",
                "test_registry.py",
                "test_request_properties.py",
                "test_serializer.py",
                "test_turns.py",
                "test_validation.py",
                "test_worker.py",
            )
        ),
        *(
            f"{package}/{name}"
            for name in (
                "__init__.py",
                "__main__.py",
                "cli.py",
                "gunicorn_conf.py",
                "protocols.py",
                "runtime.py",
                "wsgi.py",
                "model/__init__.py",
                "model/example_data.py",
                "model/features.py",
                "model/predict.py",
                "model/schemas.py",
                "model/training.py",
                "monitoring/__init__.py",
                "monitoring/drift.py",
                "monitoring/evaluation.py",
                "monitoring/http_metrics.py",
                "monitoring/log_database.py",
                "monitoring/log_inserts.py",
                "monitoring/log_migration.py",
                "monitoring/log_tables.py",
                "monitoring/model_metrics.py",
                "monitoring/monitor.py",
                "monitoring/prediction_ids.py",
                "monitoring/prediction_log.py",
                "server/__init__.py",
                "server/balance.py",
                "server/turns.py",
                "server/worker.py",
                "service/__init__.py",
                "service/app.py",
                "service/config.py",
                "service/deadlines.py",
                "service/dialects.py",
                "service/errors.py",
                "service/fast_path.py",
                "service/inference.py",
                "service/feature_values.py",
                "service/fields.py",
                "service/json_text.py",
                "service/logs.py",
                "service/openapi.py",
                "service/operations.py",
                "service/records.py",
                "service/schemas.py",
                "service/scoring.py",
                "service/serving.py",
                "service/services.py",
                "store/__init__.py",
                "store/digests.py",
                "store/libraries.py",
                "store/metadata.py",
                "store/packing.py",
                "store/reference.py",
                "store/registration.py",
                "store/registry.py",
                "store/serializer.py",
                "service/adapters/__init__.py",
                "service/adapters/invocations.py",
                "service/adapters/kserve_v1.py",
                "service/adapters/oip.py",
                "service/adapters/tables.py",
                "service/adapters/tensors.py",
                "service/adapters/vertex.py",
                "service/api/__init__.py",
                "service/api/bodies.py",
                "service/api/docs.py",
                "service/api/docs.html",
                "service/api/feedback.py",
                "service/api/health.py",
                "service/api/model_info.py",
                "service/api/monitoring_report.py",
                "service/api/predictions.py",
            )
        ),
    }
    if iris:
        files.add(f"{package}/model/data/iris.csv")
    else:
        files.add(f"{package}/model/synthetic.py")  # records of every feature's type
    if combo.framework == "sklearn":
        files |= {f"{package}/model/inputs.py", f"{package}/store/pickled_versions.py"}
        files.add("tests/test_inputs.py")
    else:
        files.add(f"{package}/model/network.py")  # the network's architecture
        files.add(f"{package}/model/encoding.py")  # records as the network's float32 input
    if combo.monitoring_stack:
        files |= {f"deploy/compose/{name}" for name in COMPOSE_FILES}
    if combo.container:
        files |= {"Dockerfile", ".dockerignore", f"{package}/healthcheck.py"}
        files.add("tests/test_healthcheck.py")
        # How to run the image where it is hosted for you (it runs there unchanged).
        files |= {f"deploy/{name}/README.md" for name in ("sagemaker", "vertex-ai", "azure-ml")}
    if combo.kubernetes:
        files |= {f"deploy/k8s/{name}" for name in K8S_FILES}
    if combo.kserve:
        files.add("deploy/kserve/inference-service.yaml")
    if combo.ci:
        files.add(".github/workflows/ci.yml")
    if combo.cruft_check:
        files.add(".github/workflows/template-updates.yml")
    if combo.api_key:
        files |= {f"{package}/service/auth.py", "tests/test_auth.py"}
    return files


def test_exact_file_set(baked: tuple[Combo, Path]) -> None:
    combo, project = baked
    found = {path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()}
    assert found == expected_files(combo, project)


def test_no_template_leftovers(baked: tuple[Combo, Path]) -> None:
    _, project = baked
    for path in project.rglob("*"):
        if path.is_file() and path.suffix != ".csv":
            text = path.read_text(encoding="utf-8")
            assert not LEFTOVER.search(text), (
                f"{path.relative_to(project)}: {LEFTOVER.search(text)}"
            )
    assert not [p for p in project.rglob("*") if LEFTOVER.search(p.name)]


def test_ruff_check_and_format(baked: tuple[Combo, Path]) -> None:
    _, project = baked
    for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_pyproject_is_valid(baked: tuple[Combo, Path]) -> None:
    _, project = baked
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    validate_pyproject_api.Validator()(pyproject)
    slug = project.name
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    package = next(p for p in package_data if p.endswith(".model")).removesuffix(".model")
    assert package_data == {
        f"{package}.model": ["data/*.csv"],  # the example data
        f"{package}.service.api": ["docs.html"],  # the /docs page
    }
    assert pyproject["project"]["scripts"] == {slug: f"{package}.cli:main"}


def test_python_compiles(baked: tuple[Combo, Path]) -> None:
    _, project = baked
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


FIELD_CLASSES = {
    "float": "JSONNumber",
    "int": "WholeNumber",
    "bool": "JSONBoolean",
    "category": "CategoryValue",
}


def test_features_become_the_request_schema(baked: tuple[Combo, Path]) -> None:
    """One field per feature, of its type's class, in order; features.py says the same."""
    combo, project = baked
    types = feature_types(combo.context.get("features", IRIS))
    schemas = next(project.glob("src/*/model/schemas.py")).read_text(encoding="utf-8")
    fields = re.findall(r"^    (\w+) = fields\.(\w+)\(required=True\)$", schemas, re.MULTILINE)
    assert fields == [(name, FIELD_CLASSES[kind]) for name, kind in types.items()]
    features = next(project.glob("src/*/model/features.py")).read_text(encoding="utf-8")
    assert re.findall(r'^    "(\w+)": "(\w+)",$', features, re.MULTILINE) == list(types.items())


# What each framework imports and pins; a bake has its own and none of the others'.
FRAMEWORK_MODULES = {
    "sklearn": ("sklearn", "joblib"),
    "pytorch": ("torch",),
    "tensorflow": ("tensorflow", "keras"),
}
FRAMEWORK_PINS = {
    "sklearn": "scikit-learn==",
    "pytorch": "torch==2.13.0",  # the CPU build on these machines; see README
    "tensorflow": "tensorflow-cpu==",
}


def test_only_the_chosen_framework_is_imported_and_pinned(baked: tuple[Combo, Path]) -> None:
    combo, project = baked
    imported = set()
    for path in project.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    pins = (project / "requirements.in").read_text(encoding="utf-8").splitlines()
    for framework, modules in FRAMEWORK_MODULES.items():
        chosen = framework == combo.framework
        assert chosen == bool(imported & set(modules)), (framework, imported & set(modules))
        assert chosen == any(pin.startswith(FRAMEWORK_PINS[framework]) for pin in pins), framework
    source = "".join(path.read_text(encoding="utf-8") for path in project.glob("src/*/**/*.py"))
    assert "FRAMEWORK ==" not in source  # no branch on the framework at run time


def test_the_locks_hold_their_inputs(baked: tuple[Combo, Path]) -> None:
    """The bake's own tests/test_locks.py (no conftest: it needs none of the bake's libraries),
    for every combination: a lock in the template left stale by an edited .in file fails here."""
    _, project = baked
    command = [sys.executable, "-m", "pytest", "--noconftest", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "tests/test_locks.py"], cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dev_tool_pins_match_the_template() -> None:
    """The bakes are linted here with the ruff, pytest and mypy they pin."""
    template = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))
    dev = set(template["dependency-groups"]["dev"])
    bake_dev = (TEMPLATE / "{{cookiecutter.project_slug}}" / "requirements-dev.in").read_text()
    for line in bake_dev.splitlines():
        if line.startswith(("ruff==", "pytest==", "mypy==")):
            assert line in dev


def test_monitoring_stack_files_are_valid(baked: tuple[Combo, Path]) -> None:
    """Compose against the compose specification; Prometheus' config and rules by promtool
    (when the Prometheus package is installed, as CI installs it); the dashboard as JSON."""
    combo, project = baked
    if not combo.monitoring_stack:
        assert not (project / "deploy" / "compose").exists()
        return
    stack = project / "deploy" / "compose"
    checks = [
        ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
    ]
    if shutil.which("promtool"):
        # The API key's file exists only in the running stack (a compose secret).
        syntax_only = ["--syntax-only"] if combo.api_key else []
        checks.append(["promtool", "check", "config", *syntax_only, "prometheus/prometheus.yml"])
        checks.append(["promtool", "check", "rules", "prometheus/alerts.yml"])
    for command in checks:
        run_dev_tool(command, cwd=stack)
    if combo.api_key:
        prometheus = (stack / "prometheus" / "prometheus.yml").read_text()
        assert "credentials_file: /run/secrets/api_key" in prometheus
        compose = (stack / "compose.yaml").read_text()
        assert "API_KEYS_FILE: /run/secrets/api_key" in compose
    dashboard = json.loads((stack / "grafana/dashboards/dashboard.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(
        target["expr"] and target["datasource"]["uid"] == "prometheus"
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    )
