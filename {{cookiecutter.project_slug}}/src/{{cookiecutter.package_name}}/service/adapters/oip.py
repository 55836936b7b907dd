"""The Open Inference Protocol (KServe V2, Triton, MLServer, Seldon Core 2) over REST.

    GET  /v2/health/live                            {"live": true}
    GET  /v2/health/ready                           {"ready": true}, or 503 until a model is
    GET  /v2                                        the server: name, version, extensions
    GET  /v2/models/{name}[/versions/{v}]           the model: its inputs and outputs
    GET  /v2/models/{name}[/versions/{v}]/ready     {"name", "ready": true}
    POST /v2/models/{name}[/versions/{v}]/infer     scores the rows of its input tensors

An inference request gives its rows in either form tabular clients send: one input per
feature, named by it, of shape ``[N]`` or ``[N, 1]`` (MLServer's pandas codec, KServe's
``as_dataframe``), or one input of shape ``[N, F]`` holding the features in order. The answer's
outputs are ``label`` (BYTES ``[N]``) and ``probabilities`` (FP64 ``[N, C]``, the class order
in its ``parameters.classes``), or ``value`` (FP64 ``[N]``); only those the request names, if it
names any. Prediction ids (for ``POST /v1/feedback``) are in the answer's
``parameters.prediction_ids``, comma-separated, one per row.

The served version is the one ``/v1/predict`` serves (the alias, or MODEL_VERSION): a version
path naming another is a 404, not a load. Errors are ``{"error": "<text>"}``: 400 for a bad
request, 404 for an unknown model or version, 503 while no model is ready.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, Response, g, request

from ...model.features import FEATURE_TYPES, FEATURES
from ...store.registry import LoadedVersion
from .. import dialects
from ..api.bodies import body_bytes
from ..errors import ApiError, echoed
from ..openapi import service_version
from ..scoring import predict_records
from ..services import services
from .tables import invalid, typed_cell
from .tensors import HEADER_LENGTH, Output, Tensor, TensorError, read_request, write_answer

bp = Blueprint("oip", __name__)

DIALECT = dialects.Dialect(
    "oip",
    error_body=dialects.error_as_text,
    invalid_input_status=400,
)
#: Each feature type's tensor datatype, as the model metadata states it.
DATATYPE_OF = {"float": "FP64", "int": "INT64", "bool": "BOOL", "category": "BYTES"}
#: The protocol's extensions this server implements, as Triton names them.
EXTENSIONS = ["binary_tensor_data"]


def _served(name: str, version: str | None) -> LoadedVersion:
    """The served version, if ``name`` (and ``version``, if given) name it: else 404, or 503
    while no model is ready."""
    holder = services().model_holder
    if name != holder.store.name:
        raise ApiError(
            404,
            "model_not_found",
            f"Unknown model {echoed(name)!r}: this server serves {holder.store.name!r}.",
        )
    loaded = holder.get()
    if version is not None and version != str(loaded.version):
        raise ApiError(
            404,
            "version_not_served",
            f"Version {echoed(version)!r} of {name!r} is not served here: it serves version "
            f"{loaded.version} ({holder.selected_by}).",
        )
    return loaded


@bp.get("/v2/health/live")
def live() -> dict[str, Any]:
    return {"live": True}


@bp.get("/v2/health/ready")
def ready() -> dict[str, Any]:
    services().model_holder.get()  # 503 with the reason while no model is ready
    return {"ready": True}


@bp.get("/v2")
@bp.get("/v2/")
def server_metadata() -> dict[str, Any]:
    return {"name": services().model_holder.store.name, "version": service_version(),
            "extensions": EXTENSIONS}  # fmt: skip


@bp.get("/v2/models/<name>")
@bp.get("/v2/models/<name>/versions/<version>")
def model_metadata(name: str, version: str | None = None) -> dict[str, Any]:
    loaded = _served(name, version)
    metadata = loaded.metadata
    return {
        "name": name,
        "versions": [str(loaded.version)],
        "platform": f"{metadata.get('framework')}_{metadata.get('serializer')}",
        "inputs": [
            {"name": feature, "datatype": DATATYPE_OF[kind], "shape": [-1]}
            for feature, kind in FEATURE_TYPES.items()
        ],
        "outputs": _described_outputs(metadata),
    }


def _described_outputs(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    if metadata.get("task") == "regression":
        return [{"name": "value", "datatype": "FP64", "shape": [-1]}]
    outputs: list[dict[str, Any]] = [{"name": "label", "datatype": "BYTES", "shape": [-1]}]
    classes = metadata.get("classes")
    if classes:
        names = [str(name) for name in classes]
        outputs.append(
            {
                "name": "probabilities",
                "datatype": "FP64",
                "shape": [-1, len(names)],
                "parameters": {"classes": json.dumps(names)},
            }
        )
    return outputs


@bp.get("/v2/models/<name>/ready")
@bp.get("/v2/models/<name>/versions/<version>/ready")
def model_ready(name: str, version: str | None = None) -> dict[str, Any]:
    _served(name, version)
    return {"name": name, "ready": True}


@bp.post("/v2/models/<name>/infer")
@bp.post("/v2/models/<name>/versions/<version>/infer")
def infer(name: str, version: str | None = None) -> Response:
    """Score the rows of the request's tensors with the served version."""
    _served(name, version)  # an unknown model is a 404 before its body is looked at
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        raise invalid(
            f"Content-Encoding {echoed(encoding)!r} is not supported: send the body as it is."
        )
    try:
        inference = read_request(body_bytes(), request.headers.get(HEADER_LENGTH))
        records = _records(inference.inputs)
    except TensorError as error:
        raise invalid(str(error)) from None
    requested = _requested_outputs(inference.header)
    prediction = predict_records({"instances": records})
    outputs = _outputs(prediction.predictions)
    names = list(requested) if requested else list(outputs)
    missing = [output for output in names if output not in outputs]
    if missing:
        raise invalid(f"This model gives no output {', '.join(map(repr, missing))}; it gives "
                      f"{', '.join(outputs)}.")  # fmt: skip
    # tritonclient asks for binary outputs by default: all of them (binary_data_output), or
    # each (its binary_data), which wins.
    all_binary = (inference.header.get("parameters") or {}).get("binary_data_output") is True
    binary = {
        output
        for output in names
        if requested.get(output, {}).get("binary_data", all_binary) is True
    }
    header: dict[str, Any] = {
        "model_name": name,
        "model_version": str(prediction.loaded.version),
    }
    if "id" in inference.header:
        header["id"] = inference.header["id"]
    header["parameters"] = {
        "request_id": g.request_id,
        "prediction_ids": ",".join(answer["id"] for answer in prediction.predictions),
    }
    body, json_length = write_answer(header, [outputs[output] for output in names], binary)
    response = Response(body, mimetype="application/json")
    if json_length is not None:
        response.mimetype = "application/octet-stream"
        response.headers[HEADER_LENGTH] = str(json_length)
    return response


def _requested_outputs(header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The outputs the request names, with their parameters (empty: every output)."""
    outputs = header.get("outputs")
    if outputs is None:
        return {}
    if not isinstance(outputs, list) or not all(
        isinstance(item, dict)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("parameters", {}), dict)
        for item in outputs
    ):
        raise invalid("'outputs' must be an array of objects, each with a 'name'.")
    return {item["name"]: item.get("parameters", {}) for item in outputs}


def _records(inputs: list[Tensor]) -> list[dict[str, Any]]:
    """The rows the inputs hold: one input per feature, or one [N, F] input."""
    if all(tensor.name in FEATURE_TYPES for tensor in inputs):
        return _records_by_feature(inputs)
    if len(inputs) == 1:
        return _records_by_row(inputs[0])
    raise TensorError(
        f"Send one input per feature, named by it ({', '.join(FEATURES)}), or one input of "
        f"shape [N, {len(FEATURES)}] holding the features in that order; got inputs "
        f"{', '.join(repr(tensor.name) for tensor in inputs[:5])}."
    )


def _records_by_feature(inputs: list[Tensor]) -> list[dict[str, Any]]:
    given = {tensor.name: tensor for tensor in inputs}
    missing = [feature for feature in FEATURES if feature not in given]
    if missing:
        raise TensorError(
            f"No input for feature {', '.join(missing)}: send one input per feature (shape "
            f"[N] or [N, 1]), or one input of shape [N, {len(FEATURES)}] with every feature."
        )
    rows = {tensor.shape[0] for tensor in inputs}
    for tensor in inputs:
        if tensor.shape not in ((tensor.shape[0],), (tensor.shape[0], 1)):
            raise TensorError(
                f"Input {tensor.name!r} has shape {list(tensor.shape)}; a feature's input has "
                "shape [N] or [N, 1]."
            )
    if len(rows) != 1:
        raise TensorError("The features' inputs must all have the same number of rows.")
    count = rows.pop()
    if count == 0:
        raise TensorError("The inputs hold no rows.")
    columns = {feature: _column(given[feature], feature) for feature in FEATURES}
    return [{feature: columns[feature][row] for feature in FEATURES} for row in range(count)]


def _records_by_row(tensor: Tensor) -> list[dict[str, Any]]:
    width = len(FEATURES)
    if len(tensor.shape) != 2 or tensor.shape[1] != width:
        raise TensorError(
            f"Input {tensor.name!r} has shape {list(tensor.shape)}; one input holding every "
            f"feature has shape [N, {width}], the features in this order: {', '.join(FEATURES)}."
        )
    if tensor.shape[0] == 0:
        raise TensorError(f"Input {tensor.name!r} holds no rows.")
    values = tensor.values
    if tensor.datatype == "BYTES":
        values = [
            _typed(tensor, index // width, FEATURES[index % width], value)
            for index, value in enumerate(values)
        ]
    return [
        dict(zip(FEATURES, values[start : start + width], strict=True))
        for start in range(0, len(values), width)
    ]


def _column(tensor: Tensor, feature: str) -> list[Any]:
    if tensor.datatype != "BYTES":
        return tensor.values
    return [_typed(tensor, row, feature, value) for row, value in enumerate(tensor.values)]


def _typed(tensor: Tensor, row: int, feature: str, text: str) -> Any:
    """A BYTES element as its feature's value: text, read as a CSV cell is."""
    if FEATURE_TYPES[feature] == "category":
        return text
    return typed_cell(row, feature, text)


def _outputs(predictions: list[dict[str, Any]]) -> dict[str, Output]:
    """The answers as output tensors, each present only if every answer has it."""
    count = len(predictions)
    outputs: dict[str, Output] = {}
    if all("label" in answer for answer in predictions):
        labels = [str(answer["label"]) for answer in predictions]
        outputs["label"] = Output("label", "BYTES", [count], labels)
    if all("probabilities" in answer for answer in predictions):
        classes = list(predictions[0]["probabilities"])
        values = [answer["probabilities"][name] for answer in predictions for name in classes]
        parameters = {"classes": json.dumps(classes)}
        shape = [count, len(classes)]
        outputs["probabilities"] = Output("probabilities", "FP64", shape, values, parameters)
    if all("value" in answer for answer in predictions):
        values = [float(answer["value"]) for answer in predictions]
        outputs["value"] = Output("value", "FP64", [count], values)
    return outputs


#: Where the protocol's clients look (tritonclient's other calls among them: the repository
#: index, statistics, logging, shared memory): what no route here matches is its 404.
PATHS = (
    "/v2/models/",
    "/v2/health/",
    "/v2/repository/",
    "/v2/logging",
    "/v2/trace/",
    "/v2/systemsharedmemory/",
    "/v2/cudasharedmemory/",
)


def init_app(app: Flask) -> None:
    """Serve the protocol's routes; answer their errors, and 404s where its clients look,
    its way."""
    probes = tuple(f"{bp.name}.{view.__name__}" for view in (live, ready, model_ready))
    dialects.of_app(app).register(DIALECT, blueprint=bp.name, paths=PATHS, probes=probes)
    app.register_blueprint(bp)
