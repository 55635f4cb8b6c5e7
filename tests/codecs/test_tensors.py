"""Open Inference Protocol tensors, JSON and binary, checked against requests built from the spec."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dockml.codecs.tensors import Tensor, decode_infer_request, encode_infer_response
from dockml.errors import MalformedInput
from v2_spec import binary_request, read_response


def decode_json(request: dict) -> list[Tensor]:
    return list(decode_infer_request(json.dumps(request).encode()).inputs)


def test_json_tensor_nested_or_flat_gives_the_same_row_major_data():
    nested = decode_json({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [[1, 2], [3, 4]]}]})
    flat = decode_json({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]})
    assert nested[0].data.tolist() == flat[0].data.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert nested[0].shape == (2, 2)


@pytest.mark.parametrize(
    ("datatype", "values", "dtype"),
    [
        ("FP32", [1.5, -2.0], np.float32),
        ("FP16", [0.5, 2.0], np.float16),
        ("INT64", [3, -4], np.int64),
        ("UINT8", [0, 255], np.uint8),
        ("BOOL", [True, False], np.bool_),
        ("BYTES", ["paris", "été"], object),
    ],
)
def test_binary_tensors_of_every_kind_decode_to_their_values(datatype, values, dtype):
    body, headers = binary_request([("x", [2], datatype, values)])
    (tensor,) = decode_infer_request(body, int(headers["Inference-Header-Content-Length"])).inputs
    assert tensor.datatype == datatype and tensor.data.dtype == dtype
    assert tensor.data.tolist() == values


def test_several_binary_inputs_are_read_in_order():
    body, headers = binary_request([("a", [2, 2], "UINT32", [1, 2, 3, 4]), ("b", [3], "BOOL", [True, False, True])])
    a, b = decode_infer_request(body, int(headers["Inference-Header-Content-Length"])).inputs
    assert a.data.tolist() == [1, 2, 3, 4] and b.data.tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}, "has 3 elements but its shape needs 4"),
        ({"name": "x", "shape": [1], "datatype": "FP99", "data": [1]}, "unknown datatype 'FP99'"),
        (
            {"name": "x", "shape": [1], "datatype": "INT64", "data": [1.5]},
            "INT64 data must be whole JSON numbers, got 1.5",
        ),
        ({"name": "x", "shape": [1], "datatype": "FP32", "data": ["1"]}, 'FP32 data must be JSON numbers, got "1"'),
        ({"name": "x", "shape": [1], "datatype": "FP32", "data": [True]}, "FP32 data must be JSON numbers, got true"),
        ({"name": "x", "shape": [1], "datatype": "UINT8", "data": [256]}, "outside the range of UINT8"),
        ({"name": "x", "shape": [1], "datatype": "BYTES", "data": [1]}, "BYTES data must be JSON strings"),
        (
            {"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]},
            "'shape' must be a list of non-negative integers",
        ),
        ({"name": "x", "shape": [1], "datatype": "FP32"}, "has no 'data'"),
        ({"shape": [1], "datatype": "FP32", "data": [1]}, "input 0 has no 'name'"),
    ],
)
def test_bad_json_tensors_are_refused_naming_the_problem(tensor, message):
    with pytest.raises(MalformedInput) as error:
        decode_json({"inputs": [tensor]})
    assert message in error.value.detail


def test_binary_size_must_match_shape_and_datatype():
    body, headers = binary_request([("x", [3], "FP32", [1.0, 2.0])])  # 8 bytes for 3 elements
    with pytest.raises(MalformedInput) as error:
        decode_infer_request(body, int(headers["Inference-Header-Content-Length"]))
    assert "binary_data_size is 8 bytes but shape and FP32 need 3 x 4 = 12 bytes" in error.value.detail


def test_binary_bytes_count_must_match_shape():
    body, headers = binary_request([("x", [3], "BYTES", ["a", "b"])])
    with pytest.raises(MalformedInput, match="holds 2 BYTES elements but its shape needs 3"):
        decode_infer_request(body, int(headers["Inference-Header-Content-Length"]))


def test_binary_data_nobody_claims_is_refused():
    body, headers = binary_request([("x", [1], "FP32", [1.0])])
    with pytest.raises(MalformedInput, match="4 bytes of binary data that no input claims"):
        decode_infer_request(body + b"\0\0\0\0", int(headers["Inference-Header-Content-Length"]))


def test_binary_input_without_the_header_length_is_refused():
    body, headers = binary_request([("x", [1], "FP32", [1.0])])
    head = body[: int(headers["Inference-Header-Content-Length"])]
    with pytest.raises(MalformedInput, match="no Inference-Header-Content-Length header"):
        decode_infer_request(head)


@pytest.mark.parametrize("length", [0, 10_000])
def test_header_length_outside_the_body_is_refused(length):
    with pytest.raises(MalformedInput, match="Inference-Header-Content-Length is"):
        decode_infer_request(b'{"inputs": []}', length)


def test_deeply_nested_data_does_not_recurse():
    data: list = [1.0]
    for _ in range(500):
        data = [data]
    (tensor,) = decode_json({"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": data}]})
    assert tensor.data.tolist() == [1.0]


def test_requested_outputs_and_binary_flags():
    request = decode_infer_request(
        json.dumps(
            {
                "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
                "outputs": [{"name": "a", "parameters": {"binary_data": False}}, {"name": "b"}],
                "parameters": {"binary_data_output": True},
            }
        ).encode()
    )
    first, second = request.outputs
    assert request.binary(first) is False and request.binary(second) is True and request.binary(None) is True


def test_response_round_trips_through_a_spec_reader():
    labels = Tensor("label", (2,), "BYTES", np.array(["setosa", "virginica"], dtype=object))
    probabilities = Tensor("probabilities", (2, 3), "FP32", np.arange(6, dtype=np.float32))
    for binary in (False, True):
        body, length = encode_infer_response(
            {"model_name": "iris", "id": "1"}, [(labels, binary), (probabilities, binary)]
        )
        head, arrays = read_response(body, None if length is None else str(length))
        assert head["model_name"] == "iris" and (length is not None) == binary
        assert arrays["label"].tolist() == ["setosa", "virginica"]
        assert arrays["probabilities"].tolist() == np.arange(6).reshape(2, 3).tolist()
