"""Fast layer: each bake's container, Kubernetes and CI files, checked offline by the tools
their platforms trust: hadolint, the Kubernetes API schemas (kubernetes-validate) after a real
kustomize render, the GitHub workflow schema and actionlint."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from bakery import package_name, run_dev_tool
from combos import Combo

# The oldest and the newest Kubernetes the manifests are validated against (schemas of
# kubernetes-validate 1.37.0). The preStop sleep action needs 1.30 or later.
KUBERNETES_VERSIONS = ("1.31", "1.37")
# The service's user in the image; the pod's securityContext must name the same one.
SERVICE_UID = 10001


def _exec_form(line: str, instruction: str) -> list[str]:
    """The JSON array of an exec-form instruction (``CMD ["a", "b"]``)."""
    assert line.startswith(f"{instruction} ["), line
    return json.loads(line.removeprefix(instruction))


def test_dockerfile(baked: tuple[Combo, Path]) -> None:
    """hadolint-clean, multi-stage on the chosen Python, non-root, gunicorn as PID 1, and the
    framework's CPU build."""
    combo, project = baked
    dockerfile = project / "Dockerfile"
    if not combo.container:
        assert not dockerfile.exists()
        assert not (project / ".dockerignore").exists()
        return
    run_dev_tool(
        ["hadolint", "--no-color", "--failure-threshold", "warning", "Dockerfile"], cwd=project
    )
    text = dockerfile.read_text(encoding="utf-8")
    # Continuation lines joined, so each instruction is one line.
    lines = [line for line in text.replace("\\\n", " ").splitlines() if line.strip()]
    lines = [line for line in lines if not line.lstrip().startswith("#")]
    assert f"ARG BASE_IMAGE=python:{combo.python_version}-slim-trixie" in lines
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", "\n".join(lines), re.MULTILINE)
    assert stages == [
        ("${BASE_IMAGE}", "build"),
        ("${BASE_IMAGE}", "runtime"),
        ("runtime", "with-models"),
        ("runtime", "service"),  # the default target: the model store is mounted
    ]
    package = package_name(project)
    assert f"USER {SERVICE_UID}:{SERVICE_UID}" in lines
    # The project's command is the entrypoint and `serve` its default argument: SageMaker runs
    # `docker run IMAGE serve`, and `serve` replaces itself with gunicorn (PID 1).
    (entrypoint,) = [line for line in lines if line.startswith("ENTRYPOINT ")]
    assert _exec_form(entrypoint, "ENTRYPOINT") == [project.name]
    (cmd,) = [line for line in lines if line.startswith("CMD ")]
    assert _exec_form(cmd, "CMD") == ["serve"]
    assert "EXPOSE 8080" in lines
    (healthcheck,) = [line for line in lines if line.startswith("HEALTHCHECK ")]
    command = healthcheck[healthcheck.index("CMD ") :]
    assert _exec_form(command, "CMD") == ["python", "-m", f"{package}.healthcheck"]
    assert (project / "src" / package / "healthcheck.py").is_file()
    cpu_index = "ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu"
    assert (cpu_index in lines) == (combo.framework == "pytorch")
    assert ("KERAS_HOME=/tmp/keras" in text) == (combo.framework == "tensorflow")
    # An allow-list: the context holds the sources, the pins and the store, never a venv.
    ignore = (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line for line in ignore if line and not line.startswith("#")]
    assert patterns[0] == "*"
    assert {"!src/", "!requirements.txt", "!models/"} <= set(patterns)
    assert "models/prediction-log.sqlite3*" in patterns


def _validate(document: dict[str, Any], where: str) -> None:
    """Strict schema validation; an unknown kind or apiVersion fails too."""
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
            kind = document.get("kind")
            raise AssertionError(f"{where}: {kind} on Kubernetes {version}: {e}") from None


def test_kubernetes_manifests(baked: tuple[Combo, Path]) -> None:
    """Every manifest and the kustomize render pass the Kubernetes schemas, and fit together:
    probes on the contract's endpoints, a grace period longer than preStop plus gunicorn's,
    non-root and read-only, the store and /tmp mounted, selectors that match the pods."""
    combo, project = baked
    k8s = project / "deploy" / "k8s"
    if not combo.kubernetes:
        assert not k8s.exists()
        return
    for path in sorted(k8s.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                _validate(document, path.name)
    rendered = list(yaml.safe_load_all(run_dev_tool(["kubectl", "kustomize", "."], cwd=k8s)))
    for document in rendered:
        _validate(document, "kubectl kustomize")
    kinds = {document["kind"]: document for document in rendered}
    assert len(kinds) == len(rendered) == 6
    slug = project.name

    deployment = kinds["Deployment"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    assert kinds["Service"]["spec"]["selector"] == labels
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert "replicas" not in deployment["spec"]  # the autoscaler owns it

    (container,) = pod["spec"]["containers"]
    assert container["image"] == f"{slug}:0.1.0"  # kustomization's images: entry applied
    probes = {
        kind: container[f"{kind}Probe"]["httpGet"]["path"]
        for kind in ("startup", "liveness", "readiness")
    }
    assert probes == {"startup": "/livez", "liveness": "/livez", "readiness": "/readyz"}
    config = kinds["ConfigMap"]
    assert container["envFrom"] == [{"configMapRef": {"name": config["metadata"]["name"]}}]
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    graceful = int(config["data"]["GRACEFUL_TIMEOUT"])
    assert pod["spec"]["terminationGracePeriodSeconds"] > pre_stop + graceful
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]

    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == security["fsGroup"] == SERVICE_UID
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}
    keys = f"/etc/{project.name}/api-keys"
    assert set(mounts) == {"/models", "/tmp"} | ({keys} if combo.api_key else set())
    if combo.api_key:  # the keys come from a Secret, as a file the service reads
        assert mounts[keys]["secret"]["secretName"] == f"{project.name}-api-keys"
        env = {variable["name"]: variable for variable in container["env"]}
        assert env["API_KEYS_FILE"]["value"] == f"{keys}/keys"
    claim = mounts["/models"]["persistentVolumeClaim"]["claimName"]
    assert claim == kinds["PersistentVolumeClaim"]["metadata"]["name"]
    assert "emptyDir" in mounts["/tmp"]


# The predictor's fields that are KServe's own, not a pod's: the rest of a custom predictor is
# the pod spec KServe gives the Deployment it makes (its CRD is checked in test_kserve_schema).
KSERVE_PREDICTOR_FIELDS = ("minReplicas", "maxReplicas", "scaleMetric", "scaleTarget")


def test_kserve_inference_service(baked: tuple[Combo, Path]) -> None:
    """A custom predictor on the image that speaks the Open Inference Protocol, probed on its
    routes, with the store KServe fetches; its pod passes the Kubernetes schemas, with a grace
    period longer than preStop plus gunicorn's, non-root and read-only."""
    combo, project = baked
    folder = project / "deploy" / "kserve"
    if not combo.kserve:
        assert not folder.exists()
        return
    path = folder / "inference-service.yaml"
    (service,) = yaml.safe_load_all(path.read_text(encoding="utf-8"))
    assert (service["apiVersion"], service["kind"]) == (
        "serving.kserve.io/v1beta1",
        "InferenceService",
    )
    assert service["metadata"]["name"] == project.name
    # A Deployment, which takes the grace period and the preStop delay (Knative would not).
    assert service["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    predictor = service["spec"]["predictor"]
    pod = {key: value for key, value in predictor.items() if key not in KSERVE_PREDICTOR_FIELDS}
    _validate(
        {"apiVersion": "v1", "kind": "Pod", "metadata": service["metadata"], "spec": pod},
        f"{path.name}, its pod",
    )

    (container,) = pod["containers"]
    assert container["name"] == "kserve-container"  # where KServe mounts the store
    assert container["image"] == f"registry.example.com/{project.name}:0.1.0"
    (port,) = container["ports"]
    assert port["containerPort"] == 8080
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    assert env["PROTOCOL"] == "v2"  # how KServe reads a custom predictor's protocol
    assert env["STORAGE_URI"].startswith("s3://")
    assert env["MODEL_STORE"] == "/mnt/models"  # where its storage initializer puts the URI's
    assert env["MODEL_NAME"] == combo.model_name
    probes = {
        kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "liveness", "readiness")
    }
    assert {kind: probe["path"] for kind, probe in probes.items()} == {
        "startup": "/v2/health/live",
        "liveness": "/v2/health/live",
        "readiness": "/v2/health/ready",
    }
    assert {probe["port"] for probe in probes.values()} <= {port["name"], port["containerPort"]}
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > pre_stop + int(env["GRACEFUL_TIMEOUT"])
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["fsGroup"] == SERVICE_UID
    assert container["securityContext"] == {
        "runAsUser": SERVICE_UID,
        "runAsGroup": SERVICE_UID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}
    keys = f"/etc/{project.name}/api-keys"
    assert set(mounts) == {"/tmp"} | ({keys} if combo.api_key else set())
    assert "emptyDir" in mounts["/tmp"]
    if combo.api_key:  # the keys come from a Secret, as a file the service reads
        assert mounts[keys]["secret"]["secretName"] == f"{project.name}-api-keys"
        assert env["API_KEYS_FILE"] == f"{keys}/keys"


def test_ci_workflow(baked: tuple[Combo, Path]) -> None:
    """The GitHub workflow passes its JSON schema and actionlint; it lints, tests, and builds
    the image exactly when the bake has one."""
    combo, project = baked
    workflow = project / ".github" / "workflows" / "ci.yml"
    if not combo.ci:
        assert not (project / ".github").exists()
        return
    name = workflow.relative_to(project).as_posix()
    run_dev_tool(
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", name], cwd=project
    )
    run_dev_tool(["actionlint", "-no-color", name], cwd=project)
    jobs = yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"]
    assert set(jobs) == ({"lint", "test", "image"} if combo.container else {"lint", "test"})
    commands = {job: [step.get("run", "") for step in jobs[job]["steps"]] for job in jobs}
    assert "ruff check ." in commands["lint"]
    assert "python -m pytest" in commands["test"]
    versions = {
        step["with"]["python-version"]
        for job in jobs.values()
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/setup-python@")
    }
    assert versions == {combo.python_version}
    if combo.container:
        assert any(f"docker build --tag {project.name}:ci ." in run for run in commands["image"])


def test_template_updates_workflow(baked: tuple[Combo, Path]) -> None:
    """With template_updates=cruft, a workflow of its own runs `cruft check` (pinned) on pull
    requests and weekly, after saying plainly when the project has no .cruft.json."""
    combo, project = baked
    workflow = project / ".github" / "workflows" / "template-updates.yml"
    if not combo.cruft_check:
        assert not workflow.exists()
        return
    name = workflow.relative_to(project).as_posix()
    run_dev_tool(
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", name], cwd=project
    )
    run_dev_tool(["actionlint", "-no-color", name], cwd=project)
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    # PyYAML reads the key "on" as True.
    assert set(document[True]) == {"pull_request", "schedule", "workflow_dispatch"}
    (job,) = document["jobs"].values()
    commands = [step.get("run", "") for step in job["steps"]]
    assert "python -m pip install cruft==2.16.0 cookiecutter==2.7.1" in commands
    assert commands[-1] == "cruft check"
    assert any(".cruft.json" in command for command in commands)
