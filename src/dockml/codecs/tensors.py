"""Open Inference Protocol (v2) tensors in JSON, and its binary tensor data extension.

    decode_infer_request(body, header_length) -> InferRequest    every input checked against its shape
    encode_infer_response(head, outputs)      -> (body, header_length or None)

With the binary extension a body is the JSON object followed by the raw tensor data, in the
order the tensors are listed, and the ``Inference-Header-Content-Length`` header gives the
length of the JSON part. Raw data is little-endian, row-major, without padding; a BYTES element
is a 4-byte little-endian length followed by that many bytes. Every problem raises
MalformedInput naming the tensor.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from dockml.codecs.json_budget import check_json_values, value_budget
from dockml.errors import MalformedInput

DTYPES: dict[str, np.dtype[Any] | None] = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BYTES": None,
}
INTEGER_TYPES = frozenset(name for name in DTYPES if "INT" in name)
FLOAT_TYPES = frozenset({"FP16", "FP32", "FP64"})
NUMERIC_TYPES = INTEGER_TYPES | FLOAT_TYPES
_LENGTH = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Tensor:
    """A named tensor. ``data`` is flat, row-major, ``prod(shape)`` long; BYTES elements are str."""

    name: str
    shape: tuple[int, ...]
    datatype: str
    data: np.ndarray


@dataclass(frozen=True, slots=True)
class RequestedOutput:
    name: str
    binary: bool | None = None
    """The output's ``binary_data`` parameter; None when the output does not say."""


@dataclass(frozen=True, slots=True)
class InferRequest:
    inputs: tuple[Tensor, ...]
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[RequestedOutput, ...] | None = None
    """The outputs asked for, in order; None means all of them."""

    def binary(self, output: RequestedOutput | None) -> bool:
        """Whether an output goes back as binary data: its own say, else ``binary_data_output``."""
        if output is not None and output.binary is not None:
            return output.binary
        return bool(self.parameters.get("binary_data_output", False))


def decode_infer_request(body: bytes, header_length: int | None = None) -> InferRequest:
    """Parse an inference request: JSON alone, or (with ``header_length``) JSON then binary data."""
    if header_length is None:
        head, raw = body, b""
    else:
        if not 0 < header_length <= len(body):
            raise MalformedInput(
                f"Inference-Header-Content-Length is {header_length} but the body has {len(body)} bytes; "
                "it must give the length of the JSON part at the start of the body"
            )
        head, raw = body[:header_length], body[header_length:]
    if not head.strip():
        raise MalformedInput('the request body is empty; send an inference request {"inputs": [...]}')
    check_json_values(head, value_budget(None), "send large tensors as binary data (the binary tensor extension)")
    try:
        request = orjson.loads(head)
    except orjson.JSONDecodeError as error:
        where = " (the first Inference-Header-Content-Length bytes)" if header_length is not None else ""
        raise MalformedInput(f"the inference request{where} is not valid JSON: {error}") from None
    if not isinstance(request, dict):
        raise MalformedInput(f"the inference request must be a JSON object, got a JSON {_json_type(request)}")
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise MalformedInput("'id' must be a string")
    parameters = _parameters(request, "the request")
    if not isinstance(parameters.get("binary_data_output", False), bool):
        raise MalformedInput("parameter 'binary_data_output' must be true or false")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise MalformedInput('\'inputs\' must be a non-empty list of tensors {"name", "shape", "datatype", "data"}')
    tensors = []
    offset = 0
    for index, item in enumerate(inputs):
        tensor, used = _decode_input(item, index, raw, offset, header_length is not None)
        tensors.append(tensor)
        offset += used
    if offset != len(raw):
        raise MalformedInput(
            f"the body has {len(raw) - offset} bytes of binary data that no input claims; "
            "each binary input gives its size in the parameter 'binary_data_size'"
        )
    return InferRequest(
        inputs=tuple(tensors), id=request_id, parameters=parameters, outputs=_requested_outputs(request.get("outputs"))
    )


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _parameters(item: dict[str, Any], where: str) -> dict[str, Any]:
    parameters = item.get("parameters", {})
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise MalformedInput(f"'parameters' of {where} must be a JSON object")
    return parameters


def _decode_input(item: Any, index: int, raw: bytes, offset: int, has_binary: bool) -> tuple[Tensor, int]:
    """One request input and how many bytes of ``raw`` (from ``offset``) it took."""
    if not isinstance(item, dict):
        raise MalformedInput(f'input {index} must be a JSON object {{"name", "shape", "datatype", "data"}}')
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise MalformedInput(f"input {index} has no 'name'")
    datatype = item.get("datatype")
    if datatype not in DTYPES:
        raise MalformedInput(f"input '{name}': unknown datatype {datatype!r}; use one of {', '.join(DTYPES)}")
    shape = item.get("shape")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise MalformedInput(f"input '{name}': 'shape' must be a list of non-negative integers, e.g. [2, 4]")
    count = math.prod(shape)
    parameters = _parameters(item, f"input '{name}'")
    size = parameters.get("binary_data_size")
    if size is None:
        if "data" not in item:
            raise MalformedInput(f"input '{name}' has no 'data' (nor a 'binary_data_size' parameter)")
        return Tensor(name, tuple(shape), datatype, _from_json(item["data"], name, datatype, count)), 0
    if "data" in item:
        raise MalformedInput(f"input '{name}' has both 'data' and a 'binary_data_size' parameter; send one of them")
    if type(size) is not int or size < 0:
        raise MalformedInput(f"input '{name}': 'binary_data_size' must be a non-negative integer")
    if not has_binary:
        raise MalformedInput(
            f"input '{name}' is binary but the request has no Inference-Header-Content-Length header "
            "giving the length of the JSON part"
        )
    if offset + size > len(raw):
        raise MalformedInput(
            f"input '{name}': binary_data_size is {size} bytes but only {len(raw) - offset} bytes follow the JSON"
        )
    data = _from_binary(raw[offset : offset + size], name, datatype, count)
    return Tensor(name, tuple(shape), datatype, data), size


def _flatten(data: list[Any]) -> list[Any]:
    """Row-major elements of nested lists, without recursion (the nesting comes from the client)."""
    if not any(type(value) is list for value in data):
        return data
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if type(value) is list:
                stack.append(iter(value))
                break
            flat.append(value)
        else:
            stack.pop()
    return flat


def _from_json(data: Any, name: str, datatype: str, count: int) -> np.ndarray:
    if not isinstance(data, list):
        raise MalformedInput(f"input '{name}': 'data' must be a JSON array of the elements, flat or nested")
    values = _flatten(data)
    if len(values) != count:
        raise MalformedInput(
            f"input '{name}': 'data' has {len(values)} elements but its shape needs {count}; "
            "the product of 'shape' must equal the number of elements"
        )
    kinds = {type(value) for value in values}
    if datatype == "BYTES":
        if not kinds <= {str}:
            raise MalformedInput(f"input '{name}': BYTES data must be JSON strings, got {_first_other(values, {str})}")
        return np.array(values, dtype=object)
    if datatype == "BOOL":
        if not kinds <= {bool}:
            raise MalformedInput(f"input '{name}': BOOL data must be true or false, got {_first_other(values, {bool})}")
        return np.array(values, dtype=bool)
    allowed: set[type] = {int} if datatype in INTEGER_TYPES else {int, float}
    if not kinds <= allowed:
        wanted = "whole JSON numbers" if datatype in INTEGER_TYPES else "JSON numbers"
        raise MalformedInput(f"input '{name}': {datatype} data must be {wanted}, got {_first_other(values, allowed)}")
    dtype = DTYPES[datatype]
    assert dtype is not None
    if datatype in INTEGER_TYPES:
        limits = np.iinfo(dtype)
        if values and (min(values) < limits.min or max(values) > limits.max):
            raise MalformedInput(
                f"input '{name}': a value is outside the range of {datatype} ({limits.min}..{limits.max})"
            )
        return np.array(values, dtype=dtype)
    try:
        wide = np.array(values, dtype=np.float64)
    except OverflowError:
        raise MalformedInput(f"input '{name}': a value is too large for {datatype}") from None
    with np.errstate(over="ignore"):  # beyond FP16/FP32 becomes inf, refused later as not finite
        return wide.astype(dtype)


def _first_other(values: list[Any], allowed: set[type]) -> str:
    bad = next(value for value in values if type(value) not in allowed)
    text = orjson.dumps(bad).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def _from_binary(chunk: bytes, name: str, datatype: str, count: int) -> np.ndarray:
    dtype = DTYPES[datatype]
    if dtype is None:
        return _bytes_elements(chunk, name, count)
    if len(chunk) != count * dtype.itemsize:
        raise MalformedInput(
            f"input '{name}': binary_data_size is {len(chunk)} bytes but shape and {datatype} need "
            f"{count} x {dtype.itemsize} = {count * dtype.itemsize} bytes"
        )
    if datatype == "BOOL":
        octets = np.frombuffer(chunk, dtype=np.uint8)
        if octets.size and octets.max() > 1:
            raise MalformedInput(f"input '{name}': a BOOL element is neither 0 nor 1")
        return octets.astype(bool)
    return np.frombuffer(chunk, dtype=dtype)


def _bytes_elements(chunk: bytes, name: str, count: int) -> np.ndarray:
    elements: list[str] = []
    position = 0
    while position < len(chunk):
        if position + 4 > len(chunk):
            raise MalformedInput(f"input '{name}': BYTES element {len(elements)} is cut inside its 4-byte length")
        (length,) = _LENGTH.unpack_from(chunk, position)
        position += 4
        if position + length > len(chunk):
            raise MalformedInput(f"input '{name}': BYTES element {len(elements)} claims {length} bytes; fewer follow")
        try:
            elements.append(chunk[position : position + length].decode("utf-8"))
        except UnicodeDecodeError:
            raise MalformedInput(f"input '{name}': BYTES element {len(elements)} is not UTF-8 text") from None
        position += length
        if len(elements) > count:
            break
    if len(elements) != count:
        raise MalformedInput(
            f"input '{name}': the binary data holds {len(elements)} BYTES elements but its shape needs {count}"
        )
    return np.array(elements, dtype=object)


def _requested_outputs(outputs: Any) -> tuple[RequestedOutput, ...] | None:
    if outputs is None or outputs == []:  # no list, or an empty one: every output
        return None
    if not isinstance(outputs, list):
        raise MalformedInput("'outputs' must be a list of {\"name\": ...} objects")
    requested = []
    for index, item in enumerate(outputs):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise MalformedInput(f"output {index} must be a JSON object with a 'name'")
        binary = _parameters(item, f"output '{item['name']}'").get("binary_data")
        if binary is not None and not isinstance(binary, bool):
            raise MalformedInput(f"output '{item['name']}': parameter 'binary_data' must be true or false")
        requested.append(RequestedOutput(item["name"], binary))
    return tuple(requested)


def encode_bytes(elements: np.ndarray) -> bytes:
    """BYTES elements (str or bytes) as 4-byte lengths, each followed by its bytes."""
    parts: list[bytes] = []
    for element in elements.tolist():
        data = element.encode("utf-8") if isinstance(element, str) else bytes(element)
        parts += (_LENGTH.pack(len(data)), data)
    return b"".join(parts)


def _little_endian(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))


def encode_infer_response(head: dict[str, Any], outputs: list[tuple[Tensor, bool]]) -> tuple[bytes, int | None]:
    """The response body, and the length of its JSON part when some output is binary (else None).

    ``outputs`` pairs each tensor with whether it goes as binary data."""
    entries = []
    raw_parts = []
    for tensor, binary in outputs:
        entry: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}
        flat = tensor.data.reshape(-1)
        if binary:
            raw = encode_bytes(flat) if tensor.datatype == "BYTES" else _little_endian(flat).tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            raw_parts.append(raw)
        else:
            entry["data"] = flat.tolist() if flat.dtype == object else np.ascontiguousarray(flat)
        entries.append(entry)
    body = orjson.dumps({**head, "outputs": entries}, option=orjson.OPT_SERIALIZE_NUMPY)
    if not raw_parts:
        return body, None
    return body + b"".join(raw_parts), len(body)
