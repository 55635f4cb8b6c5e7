"""Open Inference Protocol v2 requests and responses built straight from the specification
(KServe's predict-api v2 and Triton's binary tensor data extension), independently of dockml's
own codec, so the tests check dockml against the protocol rather than against itself."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

# The specification's datatypes and their little-endian layouts.
LAYOUTS = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}


def raw_bytes(datatype: str, values: Any) -> bytes:
    """A tensor's binary data: native little-endian elements, or for BYTES a 4-byte little-endian
    length before each element."""
    if datatype == "BYTES":
        out = b""
        for value in values:
            data = value.encode() if isinstance(value, str) else value
            out += struct.pack("<I", len(data)) + data
        return out
    return np.asarray(values, dtype=LAYOUTS[datatype]).tobytes()


def binary_request(
    inputs: list[tuple[str, list[int], str, Any]],
    *,
    outputs: list[dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body, headers): the JSON inference request with every input as binary data after it."""
    tensors, raw = [], b""
    for name, shape, datatype, values in inputs:
        data = raw_bytes(datatype, values)
        tensors.append(
            {"name": name, "shape": shape, "datatype": datatype, "parameters": {"binary_data_size": len(data)}}
        )
        raw += data
    request: dict[str, Any] = {"inputs": tensors}
    if request_id is not None:
        request["id"] = request_id
    if outputs is not None:
        request["outputs"] = outputs
    if parameters is not None:
        request["parameters"] = parameters
    head = json.dumps(request).encode()
    headers = {"Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream"}
    return head + raw, headers


def read_response(body: bytes, header_length: str | None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the JSON part, each output as an array shaped as the response says), binary or JSON."""
    length = int(header_length) if header_length is not None else len(body)
    head = json.loads(body[:length])
    raw = body[length:]
    arrays = {}
    offset = 0
    for output in head["outputs"]:
        size = (output.get("parameters") or {}).get("binary_data_size")
        if size is None:
            values = np.array(
                output["data"], dtype=object if output["datatype"] == "BYTES" else LAYOUTS[output["datatype"]]
            )
        else:
            chunk = raw[offset : offset + size]
            offset += size
            if output["datatype"] == "BYTES":
                items, position = [], 0
                while position < len(chunk):
                    (n,) = struct.unpack_from("<I", chunk, position)
                    items.append(chunk[position + 4 : position + 4 + n].decode())
                    position += 4 + n
                values = np.array(items, dtype=object)
            else:
                values = np.frombuffer(chunk, dtype=LAYOUTS[output["datatype"]])
        arrays[output["name"]] = values.reshape(output["shape"])
    assert offset == len(raw), "binary data left over after the outputs"
    return head, arrays


# The REST endpoints the protocol requires (open_inference_rest.yaml in kserve/open-inference-protocol),
# with the version-less forms its text allows ("if a version is not provided the server may choose"),
# and the response schemas it gives them, restated here in JSON Schema.
_TENSOR = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
        "datatype": {"type": "string"},
        "parameters": {"type": "object"},
        "data": {"type": "array"},
    },
    "required": ["name", "shape", "datatype", "data"],
}
_METADATA_TENSOR = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["name", "datatype", "shape"],
}
RESPONSE_SCHEMAS: dict[str, dict[str, Any]] = {
    "server_live": {"type": "object", "properties": {"live": {"type": "boolean"}}, "required": ["live"]},
    "server_ready": {"type": "object", "properties": {"ready": {"type": "boolean"}}, "required": ["ready"]},
    "model_ready": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
        "required": ["name", "ready"],
    },
    "server_metadata": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "extensions": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "version", "extensions"],
    },
    "model_metadata": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "versions": {"type": "array", "items": {"type": "string"}},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": _METADATA_TENSOR},
            "outputs": {"type": "array", "items": _METADATA_TENSOR},
        },
        "required": ["name", "platform"],
    },
    "inference": {
        "type": "object",
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "outputs": {"type": "array", "items": _TENSOR},
        },
        "required": ["model_name", "outputs"],
    },
    "error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
}
REQUIRED_ENDPOINTS = [
    ("GET", "/v2/health/live", "server_live"),
    ("GET", "/v2/health/ready", "server_ready"),
    ("GET", "/v2/", "server_metadata"),
    ("GET", "/v2", "server_metadata"),
    ("GET", "/v2/models/{name}/versions/{version}/ready", "model_ready"),
    ("GET", "/v2/models/{name}/ready", "model_ready"),
    ("GET", "/v2/models/{name}/versions/{version}", "model_metadata"),
    ("GET", "/v2/models/{name}", "model_metadata"),
    ("POST", "/v2/models/{name}/versions/{version}/infer", "inference"),
    ("POST", "/v2/models/{name}/infer", "inference"),
]
