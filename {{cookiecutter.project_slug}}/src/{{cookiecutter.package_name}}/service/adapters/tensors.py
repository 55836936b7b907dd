"""Open Inference Protocol tensors, in JSON and in the binary tensor data extension.

Read from a request and written into an answer; the binary extension is tritonclient's
default, both ways.

A request body is JSON, or, with the header ``Inference-Header-Content-Length: <n>``, n bytes
of JSON followed by the binary inputs: each input with ``parameters.binary_data_size`` takes
that many bytes, in the order the inputs are listed, little-endian and row-major; a BYTES
element is a 4-byte little-endian length and its bytes. Answers take the same form when the
request asks for binary outputs.

Every size is checked against the body before anything is allocated: a tensor's shape must
account for exactly its data, so a client cannot make the service build more values than it
sent bytes.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from .. import json_text
from ..errors import echoed
from ..records import parse_json

HEADER_LENGTH = "Inference-Header-Content-Length"

#: The datatypes accepted in a request, and the NumPy type of their binary form (BYTES: none).
DATATYPES: dict[str, str | None] = {
    "BOOL": "|b1",
    "UINT8": "|u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "|i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
    "BYTES": None,
}
_INTEGERS = {name for name in DATATYPES if "INT" in name}
_FLOATS = {"FP16", "FP32", "FP64"}


class TensorError(ValueError):
    """A request's tensors are not as the protocol (or this model) needs them: 400."""


@dataclass(frozen=True)
class Tensor:
    """One input of a request: its values flat, in row-major order, as Python values (bool,
    int, float, or str for BYTES)."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    values: list[Any]


@dataclass(frozen=True)
class InferenceRequest:
    """A request's JSON header (its ``id``, ``parameters`` and ``outputs``) and its inputs."""

    header: dict[str, Any]
    inputs: list[Tensor]


def read_request(body: bytes, header_length: str | None) -> InferenceRequest:
    """The request in ``body``; ``header_length`` is the Inference-Header-Content-Length
    header, when the request has one."""
    if header_length is None:
        json_part, binary = body, b""
    else:
        if not header_length.isdigit() or not 0 < int(header_length) <= len(body):
            raise TensorError(
                f"{HEADER_LENGTH} must be the length of the JSON part of the body, between 1 "
                f"and {len(body)}."
            )
        json_part, binary = body[: int(header_length)], body[int(header_length) :]
    try:
        header = parse_json(json_part)
    except (ValueError, RecursionError) as error:
        raise TensorError(f"The request is not valid JSON: {error}.") from None
    if not isinstance(header, dict):
        raise TensorError("The request must be a JSON object with 'inputs'.")
    if "id" in header and not isinstance(header["id"], str):
        raise TensorError("The request's 'id' must be a string.")
    for key in ("parameters",):
        if key in header and not isinstance(header[key], dict):
            raise TensorError(f"The request's '{key}' must be an object.")
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise TensorError("The request must have 'inputs', an array of at least one tensor.")
    reader = _BinaryReader(binary)
    tensors = [_read_input(item, index, reader) for index, item in enumerate(inputs)]
    if reader.remaining:
        raise TensorError(
            f"The body holds {reader.remaining} bytes after the last binary input: each "
            "binary input must give its size in parameters.binary_data_size."
        )
    names = [tensor.name for tensor in tensors]
    if len(set(names)) != len(names):
        raise TensorError("Two inputs have the same name.")
    return InferenceRequest(header, tensors)


class _BinaryReader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.position = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.position

    def take(self, size: int, name: str) -> memoryview:
        if size > self.remaining:
            raise TensorError(
                f"Input {name!r} says it has {size} bytes of binary data, but only "
                f"{self.remaining} remain in the body."
            )
        chunk = self.data[self.position : self.position + size]
        self.position += size
        return chunk


def _read_input(item: Any, index: int, reader: _BinaryReader) -> Tensor:
    if not isinstance(item, dict):
        raise TensorError(f"inputs[{index}] must be an object with name, datatype, shape, data.")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise TensorError(f"inputs[{index}] must have a 'name', a string.")
    name = echoed(name)
    datatype = item.get("datatype")
    if datatype not in DATATYPES:
        raise TensorError(
            f"Input {name!r} has datatype {echoed(str(datatype))!r}; this service takes "
            f"{', '.join(DATATYPES)}."
        )
    shape = item.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(type(size) is int and size >= 0 for size in shape)
    ):
        raise TensorError(f"Input {name!r} must have a 'shape', an array of sizes (>= 0).")
    count = math.prod(shape)
    parameters = item.get("parameters", {})
    if not isinstance(parameters, dict):
        raise TensorError(f"Input {name!r}: 'parameters' must be an object.")
    size = parameters.get("binary_data_size")
    if size is not None:
        if type(size) is not int or size < 0:
            raise TensorError(f"Input {name!r}: binary_data_size must be a whole number >= 0.")
        if "data" in item:
            raise TensorError(f"Input {name!r} has both 'data' and binary_data_size.")
        values = _binary_values(reader.take(size, name), datatype, count, name)
    elif "data" in item:
        values = _json_values(item["data"], datatype, count, name)
    else:
        raise TensorError(f"Input {name!r} has no 'data' (nor parameters.binary_data_size).")
    return Tensor(name, datatype, tuple(shape), values)


def _json_values(data: Any, datatype: str, count: int, name: str) -> list[Any]:
    """The elements of JSON tensor data, nested or flat, in row-major order."""
    flat = _flatten(data, limit=count)
    if len(flat) != count:
        raise TensorError(
            f"Input {name!r}: its shape holds {count} elements, its data "
            f"{'more' if len(flat) > count else len(flat)}."
        )
    allowed = _ELEMENT_TYPES[_kind(datatype)]
    if not set(map(type, flat)) <= allowed:  # one pass at C speed; find the culprit after
        position = next(i for i, element in enumerate(flat) if type(element) not in allowed)
        raise TensorError(
            f"Input {name!r}, element {position}: {echoed(json.dumps(flat[position]))} is not "
            f"a {datatype} value."
        )
    return flat


def _flatten(data: Any, limit: int) -> list[Any]:
    """Nested arrays' elements in row-major order, a level at a time (the nesting is the
    client's, and bounded by the JSON parser's depth); stops once it has more than ``limit``.
    A level must be all arrays or all values."""
    flat = data if type(data) is list else [data]
    while flat and type(flat[0]) is list and len(flat) <= limit:
        if not all(type(item) is list for item in flat):
            raise TensorError("Tensor data must nest evenly: arrays of arrays, or of values.")
        flat = list(chain.from_iterable(flat))
    return flat


def _kind(datatype: str) -> str:
    if datatype in _FLOATS:
        return "float"
    if datatype in _INTEGERS:
        return "int"
    return datatype  # BOOL, BYTES


#: The JSON values each kind of datatype takes (a bool is no number here).
_ELEMENT_TYPES: dict[str, set[type]] = {
    "float": {int, float},
    "int": {int},
    "BOOL": {bool},
    "BYTES": {str},
}


def _binary_values(chunk: memoryview, datatype: str, count: int, name: str) -> list[Any]:
    numpy_type = DATATYPES[datatype]
    if numpy_type is None:
        return _bytes_elements(chunk, count, name)
    itemsize = np.dtype(numpy_type).itemsize
    if len(chunk) != count * itemsize:
        raise TensorError(
            f"Input {name!r}: its shape holds {count} {datatype} elements, "
            f"{count * itemsize} bytes, but binary_data_size is {len(chunk)}."
        )
    values: list[Any] = np.frombuffer(chunk, dtype=numpy_type).tolist()
    return values


def _bytes_elements(chunk: memoryview, count: int, name: str) -> list[Any]:
    values: list[Any] = []
    position = 0
    while position < len(chunk) and len(values) < count:
        if position + 4 > len(chunk):
            break
        (length,) = struct.unpack_from("<I", chunk, position)
        position += 4
        if position + length > len(chunk):
            break
        try:
            values.append(bytes(chunk[position : position + length]).decode("utf-8"))
        except UnicodeDecodeError:
            raise TensorError(f"Input {name!r}, element {len(values)}: not UTF-8 text.") from None
        position += length
    if len(values) != count or position != len(chunk):
        raise TensorError(
            f"Input {name!r}: its binary data does not hold exactly {count} BYTES elements "
            "(each a 4-byte little-endian length, then its bytes)."
        )
    return values


@dataclass(frozen=True)
class Output:
    """One output of an answer: flat values and their shape, and parameters of its own."""

    name: str
    datatype: str  # BYTES or FP64
    shape: list[int]
    values: Sequence[Any]
    parameters: Mapping[str, Any] | None = None


def write_answer(
    header: dict[str, Any], outputs: Sequence[Output], binary: set[str]
) -> tuple[bytes, int | None]:
    """The answer's body, and the length of its JSON part when outputs in ``binary`` follow it
    as raw data (None: the body is all JSON)."""
    described = []
    raw = []
    for output in outputs:
        entry: dict[str, Any] = {
            "name": output.name,
            "datatype": output.datatype,
            "shape": output.shape,
        }
        parameters = dict(output.parameters or {})
        if output.name in binary:
            data = _raw(output)
            parameters["binary_data_size"] = len(data)
            raw.append(data)
        else:
            entry["data"] = list(output.values)
        if parameters:
            entry["parameters"] = parameters
        described.append(entry)
    encoded = json_text.dumps({**header, "outputs": described}).encode()
    if not raw:
        return encoded, None
    return encoded + b"".join(raw), len(encoded)


def _raw(output: Output) -> bytes:
    if output.datatype == "BYTES":
        parts = []
        for value in output.values:
            data = str(value).encode()
            parts.append(struct.pack("<I", len(data)) + data)
        return b"".join(parts)
    numpy_type = DATATYPES[output.datatype]
    return np.asarray(output.values, dtype=numpy_type).tobytes()
