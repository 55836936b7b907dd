"""What each standard protocol's adapter costs per request, against the bake's own /v1/predict.

    .venv/bin/python benchmarks/protocols.py [--seconds 5] [--passes 3] [--out DIR]

Bakes the defaults (the iris logistic regression, from train-example) and serves that one bake
under its own gunicorn settings (2 workers, AIP_PREDICT_ROUTE set so the Vertex AI route
exists). The same records then go to it in each protocol's body, at 1 and at 100 records per
request:

    native               POST /v1/predict {"instances": [records]}
    OIP JSON, features   POST /v2/models/<model>/infer, one FP64 input [N] per feature
    OIP JSON, tensor     the same, one FP64 input [N, 4]
    OIP binary           the same [N, 4] input in the binary tensor data extension, as
                         tritonclient sends it by default (no Content-Type, raw little-endian
                         data after the JSON, binary_data_output: binary outputs back)
    KServe V1            POST /v1/models/<model>:predict {"instances": [records]}
    invocations, split   POST /invocations {"dataframe_split": {"columns", "data"}}
    invocations, CSV     POST /invocations, text/csv rows without a header (as SageMaker
                         batch transform sends them)
    Vertex AI            POST AIP_PREDICT_ROUTE {"instances": [records], "parameters": {}}

Each body is first sent once and must answer 200 with one prediction per record. Then wrk
(closed loop, one thread per connection, on the last core) loads each in turn; latencies are
the client's own (timed.lua) and the server's CPU comes from /proc. The scenarios run one
after another in every pass (in reverse order every other pass), so machine noise hits all
alike; the medians of the passes are reported with each one's ratio to /v1/predict at the same
size (req/s: below 1 is slower; CPU: above 1 costs more). The table goes to
benchmarks/results/protocols.md and .json. Figures vary with the machine and its load:
compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from compare import WORKERS, Figures, bake_models, servers_for, start
from loadgen import cpu_seconds, need_wrk, stop, wrk

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
VERTEX_ROUTE = "/v1/endpoints/1/deployedModels/2:predict"
CONNECTIONS = 8
SIZES = (1, 100)
HEADER_LENGTH = "Inference-Header-Content-Length"
JSON = {"Content-Type": "application/json"}

Records = list[dict[str, float]]
Body = tuple[bytes, dict[str, str]]  # the bytes and the headers to send them with


@dataclass(frozen=True)
class Protocol:
    """One way to ask for the same predictions: where, and how the records are sent."""

    name: str
    path: str  # {model} is the served model's name
    body: Callable[[Records], Body]


def _json(value: object) -> Body:
    return json.dumps(value).encode(), JSON


def instances(records: Records) -> Body:
    return _json({"instances": records})


def oip_by_feature(records: Records) -> Body:
    columns = {name: [record[name] for record in records] for name in records[0]}
    inputs = [
        {"name": name, "datatype": "FP64", "shape": [len(values)], "data": values}
        for name, values in columns.items()
    ]
    return _json({"inputs": inputs})


def oip_tensor(records: Records) -> Body:
    data = [value for record in records for value in record.values()]
    shape = [len(records), len(records[0])]
    return _json({"inputs": [{"name": "input", "datatype": "FP64", "shape": shape, "data": data}]})


def oip_binary(records: Records) -> Body:
    """What tritonclient sends for an [N, F] FP64 array by default: its JSON (json.dumps, no
    outputs named, so binary_data_output), then the raw tensor; no Content-Type."""
    data = [value for record in records for value in record.values()]
    raw = struct.pack(f"<{len(data)}d", *data)
    shape = [len(records), len(records[0])]
    tensor = {"name": "input", "shape": shape, "datatype": "FP64",
              "parameters": {"binary_data_size": len(raw)}}  # fmt: skip
    header = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}})
    return header.encode() + raw, {HEADER_LENGTH: str(len(header))}


def dataframe_split(records: Records) -> Body:
    rows = [list(record.values()) for record in records]
    return _json({"dataframe_split": {"columns": list(records[0]), "data": rows}})


def csv_rows(records: Records) -> Body:
    lines = "".join(",".join(map(repr, record.values())) + "\n" for record in records)
    return lines.encode(), {"Content-Type": "text/csv"}


def vertex(records: Records) -> Body:
    return _json({"instances": records, "parameters": {}})


OIP = "/v2/models/{model}/infer"
PROTOCOLS = [
    Protocol("native /v1/predict", "/v1/predict", instances),
    Protocol("OIP JSON, features", OIP, oip_by_feature),
    Protocol("OIP JSON, [N,4] tensor", OIP, oip_tensor),
    Protocol("OIP binary (tritonclient)", OIP, oip_binary),
    Protocol("KServe V1", "/v1/models/{model}:predict", instances),
    Protocol("invocations, split JSON", "/invocations", dataframe_split),
    Protocol("invocations, CSV", "/invocations", csv_rows),
    Protocol("Vertex AI", VERTEX_ROUTE, vertex),
]
NATIVE = PROTOCOLS[0].name


@dataclass(frozen=True)
class Scenario:
    protocol: Protocol
    records: int
    url: str
    body_file: Path
    headers: dict[str, str]

    @property
    def key(self) -> tuple[str, int]:
        return self.protocol.name, self.records


def predictions_in(answer: http.client.HTTPResponse) -> int:
    """How many predictions an answer of any of the protocols holds."""
    body = answer.read()
    length = answer.getheader(HEADER_LENGTH)
    document = json.loads(body[: int(length)] if length else body)
    if "predictions" in document:
        return len(document["predictions"])
    outputs = {output["name"]: output for output in document["outputs"]}
    if length:  # binary outputs: exactly the sizes they give follow the JSON
        sizes = sum(o.get("parameters", {}).get("binary_data_size", 0) for o in outputs.values())
        if len(body) != int(length) + sizes:
            raise SystemExit(f"the binary outputs' sizes do not add up: {document}")
    return outputs["label"]["shape"][0]


def check(scenario: Scenario) -> None:
    """The body answers 200 with one prediction per record, or the benchmark stops."""
    host, _, path = scenario.url.removeprefix("http://").partition("/")
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        body = scenario.body_file.read_bytes()
        connection.request("POST", "/" + path, body=body, headers=scenario.headers)
        answer = connection.getresponse()
        if answer.status != 200:
            raise SystemExit(
                f"{scenario.key}: {answer.status} from {scenario.url}: {answer.read()[:500]!r}"
            )
        count = predictions_in(answer)
    finally:
        connection.close()
    if count != scenario.records:
        raise SystemExit(f"{scenario.key}: {count} predictions for {scenario.records} records")


def measure(scenario: Scenario, pid: int, seconds: int) -> dict[str, float]:
    before = cpu_seconds(pid)
    load = wrk(
        scenario.url,
        scenario.body_file,
        connections=CONNECTIONS,
        seconds=seconds,
        headers=scenario.headers,
    )
    used = cpu_seconds(pid) - before
    if load.failed or not load.requests:
        raise SystemExit(f"{scenario.key}: {load.failed} of {load.requests} requests failed")
    return {
        "requests_per_s": load.requests_per_s,
        "p50_ms": load.p50_ms,
        "p99_ms": load.p99_ms,
        "cpu_ms": used * 1000 / load.requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per measurement")
    parser.add_argument("--passes", type=int, default=3, help="interleaved passes (medians)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the table goes")
    args = parser.parse_args()
    need_wrk()

    work = Path(tempfile.mkdtemp(prefix="protocols-"))
    model = bake_models(work, {"iris"})["iris"]
    model_name = model.version_dir.parent.name
    bake = next(server for server in servers_for(model, work, []) if server.name == "the bake")
    bake = replace(bake, env={**bake.env, "HOST": "127.0.0.1", "AIP_PREDICT_ROUTE": VERTEX_ROUTE})
    process, url, _ = start(bake, instances([model.record])[0], work / "server.log")
    try:
        time.sleep(1)  # every worker up (a first 200 shows only one is)
        base = url.removesuffix(bake.path)
        scenarios = []
        for records in SIZES:
            for number, protocol in enumerate(PROTOCOLS):
                body, headers = protocol.body([model.record] * records)
                body_file = work / f"body-{number}-{records}"
                body_file.write_bytes(body)
                path = protocol.path.format(model=model_name)
                scenarios.append(Scenario(protocol, records, base + path, body_file, headers))
        for scenario in scenarios:
            check(scenario)
        print(f"every body answered with its predictions; serving {model_name} at {base}")
        measure(scenarios[0], process.pid, 1)  # warm-up, not counted

        figures = {scenario.key: Figures() for scenario in scenarios}
        for number in range(args.passes):
            order = scenarios if number % 2 == 0 else scenarios[::-1]
            for scenario in order:
                values = measure(scenario, process.pid, args.seconds)
                for key, value in values.items():
                    getattr(figures[scenario.key], key).append(value)
                print(
                    f"pass {number + 1}, {scenario.protocol.name}, {scenario.records}: "
                    f"{values['requests_per_s']:.0f} req/s, p50 {values['p50_ms']:.2f} ms, "
                    f"p99 {values['p99_ms']:.2f} ms, {values['cpu_ms']:.2f} CPU ms",
                    flush=True,
                )
    finally:
        stop(process)

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "model": model_name,
        "seconds_per_measurement": args.seconds,
        "passes": args.passes,
        "workers": WORKERS,
        "connections": CONNECTIONS,
        "protocols": {},
    }
    for protocol in PROTOCOLS:
        for records in SIZES:
            row = figures[(protocol.name, records)].median()
            native = figures[(NATIVE, records)].median()
            row["requests_per_s_ratio"] = row["requests_per_s"] / native["requests_per_s"]
            row["cpu_ratio"] = row["cpu_ms"] / native["cpu_ms"]
            result["protocols"].setdefault(protocol.name, {})[str(records)] = row
    table = render(result)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "protocols.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "protocols.md").write_text(table)
    print(f"written to {args.out / 'protocols.md'} and protocols.json")
    shutil.rmtree(work, ignore_errors=True)


def render(result: dict) -> str:
    """The result as a Markdown table, a row per protocol and size."""
    lines = [
        f"Measured {result['when']} on {result['machine']}: one bake of {result['model']}, "
        f"{result['workers']} workers, wrk closed loop with {result['connections']} "
        f"connections, {result['seconds_per_measurement']:g} s per measurement, medians of "
        f"{result['passes']} interleaved pass(es). Latencies are the client's; CPU is the "
        f"server's per request. Ratios are to native /v1/predict at the same size (req/s: "
        f"below 1 is slower; CPU: above 1 costs more). KServe V1 sends /v1/predict's very "
        f"body: how far its ratios are from 1.00x shows this run's noise.",
        "",
        "| protocol | records | req/s | p50 ms | p99 ms | CPU ms/req | req/s vs native "
        "| CPU vs native |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for records in SIZES:
        for name, sizes in result["protocols"].items():
            f = sizes[str(records)]
            lines.append(
                f"| {name} | {records} | {f['requests_per_s']:,.0f} | {f['p50_ms']:.2f} "
                f"| {f['p99_ms']:.2f} | {f['cpu_ms']:.2f} | {f['requests_per_s_ratio']:.2f}x "
                f"| {f['cpu_ratio']:.2f}x |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
