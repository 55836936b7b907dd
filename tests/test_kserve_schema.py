"""Slow: a kubernetes=kserve bake's InferenceService against KServe's own schema.

KServe's CRDs are out of reach here, but its Python SDK is not: tests/kserve_schema.py reads the
file through the SDK's models (generated from KServe's OpenAPI spec, with the Kubernetes
client's for the pod's parts) in the protocol clients' venv, which pins the SDK. The checker
must also refuse what KServe would: each broken copy of the file below has to fail, naming
where.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bakery import TEMPLATE
from combos import COMBOS, Combo

pytestmark = pytest.mark.slow

CHECKER = TEMPLATE / "tests" / "kserve_schema.py"
KSERVE = next(combo for combo in COMBOS if combo.kserve)


def _container(document: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = document["spec"]["predictor"]["containers"][0]
    return container


def _misspell(document: dict[str, Any]) -> None:
    container = _container(document)
    container["readinessprobe"] = container.pop("readinessProbe")


def _protocol_version_on_the_predictor(document: dict[str, Any]) -> None:
    # Where a model or framework predictor declares its protocol; a custom one has no such field.
    document["spec"]["predictor"]["protocolVersion"] = "v2"


def _grace_period_as_text(document: dict[str, Any]) -> None:
    predictor = document["spec"]["predictor"]
    predictor["terminationGracePeriodSeconds"] = str(predictor["terminationGracePeriodSeconds"])


def _port_as_text(document: dict[str, Any]) -> None:
    port = _container(document)["ports"][0]
    port["containerPort"] = str(port["containerPort"])


def _env_value_as_number(document: dict[str, Any]) -> None:
    _container(document)["env"].append({"name": "THREADS", "value": 1})


def _container_without_name(document: dict[str, Any]) -> None:
    del _container(document)["name"]


def _no_predictor(document: dict[str, Any]) -> None:
    del document["spec"]["predictor"]


# Each broken copy, and the problem line it must get (a regular expression).
BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "misspelt key": (_misspell, r"containers\[0\]\.readinessprobe: not a field of V1Container"),
    "protocolVersion on a custom predictor": (
        _protocol_version_on_the_predictor,
        r"^spec\.predictor\.protocolVersion: not a field of V1beta1PredictorSpec$",
    ),
    "int as a string": (
        _grace_period_as_text,
        r"^spec\.predictor\.terminationGracePeriodSeconds: str '\d+' where int is expected$",
    ),
    "nested int as a string": (_port_as_text, r"ports\[0\]\.containerPort: str '8080' where int"),
    "string as a number": (_env_value_as_number, r"env\[\d+\]\.value: int 1 where str is"),
    "required field missing (Kubernetes)": (
        _container_without_name,
        r"^spec\.predictor\.containers\[0\]: V1Container: name: Field required$",
    ),
    "required field missing (KServe)": (
        _no_predictor,
        r"^spec: V1beta1InferenceServiceSpec: Invalid value for `predictor`, must not be `None`$",
    ),
}


@pytest.fixture(scope="module")
def problems(
    bake: Callable[[Combo], Path], clients_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """The checker's problems with the baked file and with each broken copy, by case."""
    baked = bake(KSERVE) / "deploy" / "kserve" / "inference-service.yaml"
    folder = tmp_path_factory.mktemp("kserve")
    files = {"baked": baked}
    for index, (case, (breaks, _)) in enumerate(BROKEN.items()):
        document = yaml.safe_load(baked.read_text(encoding="utf-8"))
        breaks(document)
        files[case] = folder / f"broken-{index}.yaml"
        files[case].write_text(yaml.safe_dump(document), encoding="utf-8")
    completed = subprocess.run(
        [str(clients_python), str(CHECKER), *map(str, files.values())],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode in (0, 1), completed.stderr[-5000:]
    lines = completed.stdout.splitlines()
    return {
        case: [line.removeprefix(f"{path}: ") for line in lines if line.startswith(f"{path}: ")]
        for case, path in files.items()
    }


def test_the_inference_service_passes_kserve_s_schema(problems: dict[str, list[str]]) -> None:
    assert problems["baked"] == []


@pytest.mark.parametrize("case", list(BROKEN))
def test_the_checker_refuses_a_broken_copy(problems: dict[str, list[str]], case: str) -> None:
    _, expected = BROKEN[case]
    assert len(problems[case]) == 1, problems[case]
    assert re.search(expected, problems[case][0]), problems[case][0]
