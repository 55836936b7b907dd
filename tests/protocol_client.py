"""Drives a served bake with the standard protocols' own clients, unchanged; prints a JSON report.

Run by tests/test_protocol_clients.py in a venv of its own (tests/protocol-clients.txt: the
clients pull in gevent, httpx, pandas and more, which the template's tools do not need):

    python protocol_client.py PORT MODEL_NAME FEATURE_TYPES_JSON ROWS_JSON

It speaks to 127.0.0.1:PORT only. Each section of the report holds what a client returned, as
JSON, for the test to compare with /v1/predict's answers for the same rows:

- tritonclient.http (the Open Inference Protocol): health, server and model metadata, infer
  with its defaults (binary both ways) one input per feature and one [N, F] input, infer in
  JSON both ways, a version path, and the error a bad shape gets;
- the kserve SDK's InferenceRESTClient: V1 liveness, readiness and predict; V2 infer;
- MLflow's ScoringServerClient (what mlflow's own tools use to call ``mlflow models serve``):
  ping, and invoke with a DataFrame (``dataframe_split``) and with records (``inputs``); the
  bodies it cannot build (its dump_input_data iterates a dict without ``.items()``): columns
  (``inputs``) and ``instances``; and the DataFrame as CSV, with and without its header, as
  SageMaker batch transform sends it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from typing import Any

import numpy as np
import pandas as pd
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
from tritonclient.utils import InferenceServerException

NUMPY_TYPES = {"float": np.float64, "int": np.int64, "bool": np.bool_, "category": np.object_}
DATATYPES = {"float": "FP64", "int": "INT64", "bool": "BOOL", "category": "BYTES"}


def cell(value: Any) -> str:
    """A value as text (a CSV cell, a BYTES element)."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def outputs_of(result: Any, names: list[str]) -> dict[str, Any]:
    """An infer result's outputs as JSON: BYTES as text, numbers as lists."""
    found = {}
    for name in names:
        array = result.as_numpy(name)
        if array is None:
            continue
        if array.dtype == np.object_:
            array = np.vectorize(lambda b: b.decode() if isinstance(b, bytes) else b)(array)
        found[name] = array.tolist()
    return found


def triton_section(port: int, model: str, types: dict[str, str], rows: list[dict]) -> dict:
    client = triton.InferenceServerClient(f"127.0.0.1:{port}")
    report: dict[str, Any] = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model),
        "server": client.get_server_metadata(),
        "metadata": client.get_model_metadata(model),
    }
    version = report["metadata"]["versions"][0]
    report["version_ready"] = client.is_model_ready(model, version)
    output_names = [output["name"] for output in report["metadata"]["outputs"]]

    def by_feature(binary: bool) -> list[Any]:
        inputs = []
        for name, kind in types.items():
            values = np.array([[row[name]] for row in rows], dtype=NUMPY_TYPES[kind])
            tensor = triton.InferInput(name, list(values.shape), DATATYPES[kind])
            tensor.set_data_from_numpy(values, binary_data=binary)
            inputs.append(tensor)
        return inputs

    # tritonclient's defaults: binary inputs, binary outputs (binary_data_output).
    result = client.infer(model, by_feature(True), request_id="triton-1")
    report["binary"] = {
        "outputs": outputs_of(result, output_names),
        "response": result.get_response(),
    }
    # JSON both ways, and the served version named in the path.
    requested = [triton.InferRequestedOutput(name, binary_data=False) for name in output_names]
    result = client.infer(model, by_feature(False), outputs=requested, model_version=version)
    report["json"] = {
        "outputs": outputs_of(result, output_names),
        "response": result.get_response(),
    }
    # One [N, F] input: FP64 when every feature is a number, else text (BYTES).
    numeric = all(kind == "float" for kind in types.values())
    matrix = np.array(
        [[row[name] if numeric else cell(row[name]) for name in types] for row in rows],
        dtype=np.float64 if numeric else np.object_,
    )
    tensor = triton.InferInput("input-0", list(matrix.shape), "FP64" if numeric else "BYTES")
    tensor.set_data_from_numpy(matrix)
    result = client.infer(model, [tensor])
    report["matrix"] = {"outputs": outputs_of(result, output_names)}
    # A bad shape: one column short.
    short = np.zeros((len(rows), len(types) - 1 or 2), dtype=np.float64)
    tensor = triton.InferInput("input-0", list(short.shape), "FP64")
    tensor.set_data_from_numpy(short)
    try:
        client.infer(model, [tensor])
        report["bad_shape"] = {"error": None}
    except InferenceServerException as error:
        report["bad_shape"] = {"status": error.status(), "error": error.message()}
    try:
        client.get_model_metadata("no-such-model")
        report["unknown_model"] = {"error": None}
    except InferenceServerException as error:
        report["unknown_model"] = {"status": error.status(), "error": error.message()}
    client.close()
    return report


async def kserve_section(port: int, model: str, types: dict[str, str], rows: list[dict]) -> dict:
    base = f"http://127.0.0.1:{port}"
    report: dict[str, Any] = {}
    v1 = InferenceRESTClient(RESTConfig(protocol="v1"))
    report["v1_live"] = await v1.is_server_live(base)
    report["v1_model_ready"] = await v1.is_model_ready(base, model)
    report["v1_predict"] = await v1.infer(base, {"instances": rows}, model_name=model)
    await v1.close()
    v2 = InferenceRESTClient(RESTConfig(protocol="v2"))
    report["v2_live"] = await v2.is_server_live(base)
    report["v2_ready"] = await v2.is_server_ready(base)
    report["v2_model_ready"] = await v2.is_model_ready(base, model)
    inputs = [
        InferInput(
            name, [len(rows)], DATATYPES[kind],
            [cell(row[name]) if kind == "category" else row[name] for row in rows],
        )
        for name, kind in types.items()
    ]  # fmt: skip
    response = await v2.infer(base, InferRequest(model, inputs, request_id="kserve-1"), model)
    report["v2_infer"] = {
        "id": response.id,
        "outputs": {output.name: output.as_numpy().tolist() for output in response.outputs},
        "parameters": {
            name: getattr(value, "string_param", value)
            for name, value in (response.parameters or {}).items()
        },
    }
    await v2.close()
    return report


JSON = "application/json"


def post(port: int, path: str, body: bytes, content_type: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", body, {"Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return {
            "body": json.loads(response.read()),
            "prefix": response.headers["X-Prediction-Id-Prefix"],
        }


def mlflow_section(port: int, types: dict[str, str], rows: list[dict]) -> dict:
    client = ScoringServerClient("127.0.0.1", port)
    client.wait_server_ready(timeout=30)
    frame = pd.DataFrame(rows, columns=list(types))
    columns = {name: [row[name] for row in rows] for name in types}
    return {
        # PredictionsResponse is a dict: {"predictions": [...]}.
        "dataframe": dict(client.invoke(frame)),
        "records": dict(client.invoke(rows)),
        "columns": post(port, "/invocations", json.dumps({"inputs": columns}).encode(), JSON),
        "instances": post(port, "/invocations", json.dumps({"instances": rows}).encode(), JSON),
        "csv": post(port, "/invocations", frame.to_csv(index=False).encode(), "text/csv"),
        "csv_no_header": post(
            port, "/invocations", frame.to_csv(index=False, header=False).encode(), "text/csv"
        ),
    }


def main() -> None:
    port, model = int(sys.argv[1]), sys.argv[2]
    types, rows = json.loads(sys.argv[3]), json.loads(sys.argv[4])
    report = {
        "triton": triton_section(port, model, types, rows),
        "kserve": asyncio.run(kserve_section(port, model, types, rows)),
        "mlflow": mlflow_section(port, types, rows),
    }
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
