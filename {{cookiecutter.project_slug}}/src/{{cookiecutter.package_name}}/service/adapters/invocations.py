"""SageMaker's container contract and MLflow's scoring server: ``/ping`` and ``/invocations``.

    GET  /ping                   200 with an empty body once a model is ready; 503 until then
    GET  /execution-parameters   what SageMaker batch transform should send at once
    POST /invocations            MLflow's JSON bodies, or CSV -> {"predictions": [...]}

The JSON body holds exactly one of MLflow's keys (``params`` may stand beside it, and is
ignored: the model takes none):

    dataframe_split    {"columns": [...], "data": [[...], ...]}   (pandas orient="split")
    dataframe_records  [{"<feature>": value, ...}, ...]           (pandas orient="records")
    instances          rows: records, or arrays in feature order   (TF Serving's row format)
    inputs             the same, or columns by name               (TF Serving's columnar one)

A ``text/csv`` body holds one row per line, with a first line of feature names, or without
one, each line's cells in feature order (as SageMaker batch transform sends it). The answer is
``{"predictions": [...]}``, a label (or a value) per row, as ``mlflow models serve`` answers for
the same model; with ``Accept: text/csv``, one line per row instead, so batch transform can
join the output to its input. Each row's prediction id (for ``POST /v1/feedback``) is
``<prefix>-<row>``, the prefix in the headers ``X-Prediction-Id-Prefix`` and, since SageMaker
passes only that one back to its caller, ``X-Amzn-SageMaker-Custom-Attributes``.
Errors are MLflow's: ``{"error_code": "BAD_REQUEST", "message": "<text>"}``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from .. import dialects, json_text
from ..api.bodies import body_bytes
from ..config import ServerSettings
from ..errors import ApiError, echoed
from ..records import parse_json
from ..scoring import predict_records
from ..services import services
from .tables import (
    invalid,
    records_from_columns,
    records_from_csv,
    records_from_rows,
    records_from_split,
)

bp = Blueprint("invocations", __name__)

#: MLflow's error codes (its ``ErrorCode`` names) by status; other 4xx are BAD_REQUEST.
MLFLOW_ERROR_CODES = {
    401: "UNAUTHENTICATED",
    404: "RESOURCE_DOES_NOT_EXIST",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
PREFIX_HEADER = "X-Prediction-Id-Prefix"
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


def mlflow_error(
    status: int, code: str, message: str, fields: Mapping[str, list[str]] | None
) -> dict[str, Any]:
    """An error as MLflow's scoring server words it."""
    error_code = MLFLOW_ERROR_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR")
    return {"error_code": error_code, "message": dialects.in_words(message, fields)}


DIALECT = dialects.Dialect("sagemaker", error_body=mlflow_error, invalid_input_status=400)
#: MLflow's JSON keys, each a shape of table, and the function reading it.
READERS = {
    "dataframe_split": records_from_split,
    "dataframe_records": records_from_rows,
    "instances": records_from_rows,
    "inputs": lambda data, where: (
        records_from_columns(data, where)
        if isinstance(data, Mapping)
        else records_from_rows(data, where)
    ),
}


@bp.get("/ping")
def ping() -> Response:
    services().model_holder.get()  # 503 with the reason while no model is ready
    return Response(status=200, mimetype="text/plain")  # empty, as SageMaker's example


@bp.get("/execution-parameters")
def execution_parameters() -> dict[str, Any]:
    """SageMaker batch transform asks this before it starts: requests at once (one per
    worker thread), and the largest body (MAX_CONTENT_LENGTH, in whole MB)."""
    server = ServerSettings.from_env()
    return {
        "MaxConcurrentTransforms": server.web_concurrency * server.threads,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": max(1, services().settings.max_content_length // 2**20),
    }


@bp.post("/invocations")
def invocations() -> Response:
    """Score the rows of an MLflow JSON body or a CSV body with the served version."""
    records = _records()
    prediction = predict_records({"instances": records})
    values = [_plain(answer) for answer in prediction.predictions]
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        lines = io.StringIO()
        csv.writer(lines, lineterminator="\n").writerows([value] for value in values)
        response = current_app.response_class(lines.getvalue(), mimetype="text/csv")
    else:
        body = json_text.dumps({"predictions": values})
        response = current_app.response_class(body, mimetype="application/json")
    response.headers[PREFIX_HEADER] = prediction.id_prefix
    response.headers[CUSTOM_ATTRIBUTES] = f"prediction_id_prefix={prediction.id_prefix}"
    return response


def _plain(answer: dict[str, Any]) -> Any:
    """What MLflow answers for a row: the model's predict(), a label or a value."""
    for key in ("label", "value"):
        if key in answer:
            return answer[key]
    return {key: value for key, value in answer.items() if key != "id"}


def _records() -> list[Any]:
    mimetype = request.mimetype
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if mimetype not in ("application/json", "text/csv"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Send application/json (MLflow's bodies) or text/csv, not "
            f"{echoed(mimetype) or 'a body without Content-Type'}.",
        )
    if charset not in ("utf-8", "utf8"):
        raise ApiError(415, "unsupported_media_type", "The body must be UTF-8.")
    body = body_bytes()
    if mimetype == "text/csv":
        try:
            # utf-8-sig: a spreadsheet's CSV often starts with a byte-order mark.
            return records_from_csv(body.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise invalid("The body is not UTF-8 text.") from None
    try:
        data = parse_json(body)
    except (ValueError, RecursionError) as error:
        raise invalid(f"The body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise invalid(f"The body must be a JSON object with one of {', '.join(READERS)}.")
    keys = [key for key in data if key in READERS]
    unknown = [key for key in data if key not in READERS and key != "params"]
    if len(keys) != 1 or unknown:
        raise invalid(
            f"The body must hold exactly one of {', '.join(READERS)} (and may hold 'params'); "
            f"it holds {', '.join(repr(echoed(str(key))) for key in data) or 'nothing'}."
        )
    if "params" in data and not isinstance(data["params"], dict):
        raise invalid("'params' must be an object.")
    return READERS[keys[0]](data[keys[0]], keys[0])


def init_app(app: Flask) -> None:
    """Serve the routes; answer their errors MLflow's way."""
    paths = ("/ping", "/invocations", "/execution-parameters")
    dialects.of_app(app).register(
        DIALECT, blueprint=bp.name, paths=paths, probes=(f"{bp.name}.ping",)
    )
    app.register_blueprint(bp)
