"""Triton's own HTTP client against a dockml server, printing what it saw as JSON.

Not a test module: test_v2.py runs it with the Python of a venv of its own (tests/http/conftest.py),
since tritonclient pins an ml-dtypes that clashes with onnx in the test venv.

    python tests/http/triton_client.py 127.0.0.1:PORT
"""

from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]


def observe(client: httpclient.InferenceServerClient) -> dict[str, object]:
    rows = np.array([SETOSA, VIRGINICA], dtype=np.float32)
    tensor = httpclient.InferInput("input", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows)  # binary tensors in, and binary outputs asked for: the client's defaults
    binary = client.infer("iris", [tensor])

    tensor.set_data_from_numpy(rows, binary_data=False)
    label = httpclient.InferRequestedOutput("label", binary_data=False)
    as_json = client.infer("iris", [tensor], outputs=[label], model_version="1")

    wrong = httpclient.InferInput("input", [2, 3], "FP32")
    wrong.set_data_from_numpy(rows[:, :3].copy())
    try:
        client.infer("iris", [wrong])
        wrong_shape = None
    except InferenceServerException as error:
        wrong_shape = {"status": error.status(), "message": error.message()}

    # Compressed requests, binary and JSON; Triton's client compresses the whole body.
    compressed = {}
    for algorithm in ("gzip", "deflate"):
        tensor.set_data_from_numpy(rows)
        binary_labels = client.infer("iris", [tensor], request_compression_algorithm=algorithm).as_numpy("label")
        tensor.set_data_from_numpy(rows, binary_data=False)
        json_labels = client.infer(
            "iris", [tensor], outputs=[label], request_compression_algorithm=algorithm
        ).get_response()["outputs"][0]["data"]
        compressed[algorithm] = {"binary": [v.decode() for v in binary_labels.tolist()], "json": json_labels}

    return {
        "compressed": compressed,
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready("iris"),
        "extensions": client.get_server_metadata()["extensions"],
        # BYTES come back as bytes objects; .decode() fails on anything else.
        "binary_labels": [value.decode() for value in binary.as_numpy("label").tolist()],
        "binary_probabilities_shape": list(binary.as_numpy("probabilities").shape),
        "json_outputs": as_json.get_response()["outputs"],
        "wrong_shape": wrong_shape,
    }


def main(address: str) -> None:
    client = httpclient.InferenceServerClient(address)
    try:
        print(json.dumps(observe(client)))
    finally:
        client.close()


if __name__ == "__main__":
    main(sys.argv[1])
