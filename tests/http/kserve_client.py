"""The KServe SDK's REST client (InferenceRESTClient, protocol v2) against a dockml server,
printing what it saw as JSON; every answer is also read by KServe's own pydantic models.

Not a test module: test_clients.py runs it with the Python of a venv of its own
(tests/http/conftest.py), since the SDK pins a pandas that clashes with the test venv's.

    python tests/http/kserve_client.py http://127.0.0.1:PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from kserve.protocol.rest.v2_datamodels import (
    InferenceResponse,
    ModelMetadataResponse,
    ModelReadyResponse,
    ServerLiveResponse,
    ServerMetadataResponse,
    ServerReadyResponse,
)

SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]


def validated(model: type, response: httpx.Response) -> dict[str, object]:
    response.raise_for_status()
    return model.model_validate(response.json()).model_dump(exclude_none=True)


async def observe(url: str) -> dict[str, object]:
    rows = np.array([SETOSA, VIRGINICA], dtype=np.float32)
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
    try:
        seen: dict[str, object] = {
            "live": await client.is_server_live(url),
            "ready": await client.is_server_ready(url),
            "model_ready": await client.is_model_ready(url, "iris"),
        }

        as_json = InferInput("input", list(rows.shape), "FP32")
        as_json.set_data_from_numpy(rows, binary_data=False)
        answer = await client.infer(url, InferRequest("iris", [as_json], request_id="json-1"), model_name="iris")
        seen["json"] = {"id": answer.id, "outputs": {out.name: out.as_numpy().tolist() for out in answer.outputs}}

        binary = InferInput("input", list(rows.shape), "FP32")
        binary.set_data_from_numpy(rows, binary_data=True)
        wanted = [
            RequestedOutput("label", {"binary_data": True}),
            RequestedOutput("probabilities", {"binary_data": True}),
        ]
        request = InferRequest("iris", [binary], request_id="binary-1", request_outputs=wanted)
        answer = await client.infer(url, request, model_name="iris")
        seen["binary"] = {
            "labels": [v.decode() if isinstance(v, bytes) else v for v in answer.outputs[0].as_numpy().tolist()],
            "probabilities_shape": list(answer.outputs[1].as_numpy().shape),
        }

        # MLServer-style: any name for the one input, and a 1-D shape for one row.
        one = InferInput("input-0", [4], "FP64", data=SETOSA)
        answer = await client.infer(url, InferRequest("iris", [one]), model_name="iris")
        seen["input_0"] = answer.outputs[0].as_numpy().tolist()

        try:
            wrong = InferInput("input", [1, 3], "FP32", data=[SETOSA[:3]])
            await client.infer(url, InferRequest("iris", [wrong]), model_name="iris")
            seen["wrong_shape"] = None
        except httpx.HTTPStatusError as error:
            seen["wrong_shape"] = {"status": error.response.status_code, "message": str(error)}
    finally:
        await client.close()

    # The REST client has no metadata calls: read the answers with KServe's own data models.
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        seen["server_metadata"] = validated(ServerMetadataResponse, await http.get("/v2"))
        seen["server_metadata_slash"] = validated(ServerMetadataResponse, await http.get("/v2/"))
        seen["model_metadata"] = validated(ModelMetadataResponse, await http.get("/v2/models/iris"))
        seen["models"] = {
            "live": validated(ServerLiveResponse, await http.get("/v2/health/live")),
            "ready": validated(ServerReadyResponse, await http.get("/v2/health/ready")),
            "model_ready": validated(ModelReadyResponse, await http.get("/v2/models/iris/ready")),
        }
        body = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": SETOSA}]}
        seen["infer_response"] = validated(InferenceResponse, await http.post("/v2/models/iris/infer", json=body))
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(observe(sys.argv[1])), default=str))
