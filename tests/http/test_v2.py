"""The Open Inference Protocol v2 routes: JSON and binary requests built from the specification,
in process and against a real server, and every error in the protocol's {"error": ...} form."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient

import trained
from servers import make_client
from v2_spec import REQUIRED_ENDPOINTS, RESPONSE_SCHEMAS, binary_request, read_response

SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]
IRIS = ["s_length", "s_width", "p_length", "p_width"]
TRITON_CLIENT = Path(__file__).with_name("triton_client.py")


@pytest.fixture(scope="module")
def client(demo_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """iris (numeric, class names), loans (a string feature), linear (regression) and digits (integer labels)."""
    folder = tmp_path_factory.mktemp("v2-models")
    models = [
        f"iris={demo_models['iris']}",
        f"loans={trained.categorical_pipeline_skops(folder)}",
        f"linear={trained.regression_skops(folder)}",
        f"digits={demo_models['digits']}",
    ]
    with make_client(models, max_body_bytes=200_000) as test_client:
        yield test_client


def infer(client: TestClient, model: str, inputs: list[dict], **request: object) -> httpx.Response:
    return client.post(f"/v2/models/{model}/infer", json={"inputs": inputs, **request})


def combined(rows: list[list[float]], datatype: str = "FP32") -> dict:
    return {"name": "input", "shape": [len(rows), len(rows[0])], "datatype": datatype, "data": rows}


def assert_error(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}, body
    assert text in body["error"], body["error"]


# Health and metadata


def test_server_metadata_names_the_binary_extension(client):
    assert client.get("/v2").json() == {"name": "dockml", "version": "0.1.0", "extensions": ["binary_tensor_data"]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v2/health/live", {"live": True}),
        ("/v2/health/ready", {"ready": True}),
        ("/v2/models/iris/ready", {"name": "iris", "ready": True}),
        ("/v2/models/iris/versions/1/ready", {"name": "iris", "ready": True}),
    ],
)
def test_health_and_readiness_answer_the_protocols_json(client, path, body):
    # The protocol's current text; KServe's client parses these bodies.
    response = client.get(path)
    assert response.status_code == 200 and response.json() == body
    assert response.headers["content-type"] == "application/json"


def test_server_metadata_also_with_the_specifications_trailing_slash(client):
    assert client.get("/v2/").json() == client.get("/v2").json()


def test_model_metadata_of_an_all_numeric_classifier(client):
    body = client.get("/v2/models/iris").json()
    assert body == {
        "name": "iris",
        "versions": ["1"],
        "platform": "onnx_onnxv1",
        "inputs": [{"name": "input", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
        ],
    }
    assert client.get("/v2/models/iris/versions/1").json() == body


def test_model_metadata_with_a_string_feature_has_one_tensor_per_feature(client):
    body = client.get("/v2/models/loans").json()
    assert body["inputs"] == [
        {"name": "age", "datatype": "FP64", "shape": [-1, 1]},
        {"name": "income", "datatype": "FP64", "shape": [-1, 1]},
        {"name": "city", "datatype": "BYTES", "shape": [-1, 1]},
    ]
    assert [o["name"] for o in body["outputs"]] == ["label", "probabilities"]


def test_regressor_and_integer_labels_metadata(client):
    assert [(o["name"], o["shape"]) for o in client.get("/v2/models/linear").json()["outputs"]] == [("value", [-1])]
    assert client.get("/v2/models/digits").json()["outputs"][0] == {"name": "label", "datatype": "INT64", "shape": [-1]}


def test_unknown_model_and_version_are_404_in_the_protocol_form(client):
    assert_error(client.get("/v2/models/nope"), 404, "no model named 'nope'")
    assert_error(client.get("/v2/models/nope/ready"), 404, "no model named 'nope'")
    assert_error(infer(client, "nope", [combined([SETOSA])]), 404, "no model named 'nope'")
    assert_error(client.get("/v2/models/iris/versions/2"), 404, "no version '2'")


def test_unknown_route_and_wrong_method_use_the_protocol_form(client):
    assert_error(client.get("/v2/repository/index"), 404, "no such route")
    response = client.get("/v2/models/iris/infer")
    assert_error(response, 405, "use POST")
    assert response.headers["allow"] == "POST"


# Inference in JSON


def test_json_inference_with_the_combined_tensor(client):
    response = infer(client, "iris", [combined([SETOSA, VIRGINICA])], id="42")
    assert response.status_code == 200
    body = response.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("iris", "1", "42")
    label, probabilities = body["outputs"]
    assert label == {"name": "label", "datatype": "BYTES", "shape": [2], "data": ["setosa", "virginica"]}
    assert probabilities["shape"] == [2, 3] and probabilities["datatype"] == "FP32"
    assert np.allclose(np.reshape(probabilities["data"], (2, 3)).sum(axis=1), 1.0, atol=1e-5)


def test_json_answers_match_post_predict(client):
    rows = [SETOSA, VIRGINICA, [5.9, 3.0, 4.2, 1.5]]
    body = infer(client, "iris", [combined(rows, "FP64")]).json()
    reference = client.post("/models/iris/predict?proba=true", json={"instances": rows}).json()
    assert body["outputs"][0]["data"] == reference["predictions"]
    expected = [[p[c] for c in ("setosa", "versicolor", "virginica")] for p in reference["probabilities"]]
    assert np.allclose(np.reshape(body["outputs"][1]["data"], (3, 3)), expected, atol=1e-6)


def test_an_id_is_made_when_the_request_has_none(client):
    assert len(infer(client, "iris", [combined([SETOSA])]).json()["id"]) == 36


@pytest.mark.parametrize("datatype", ["FP16", "FP32", "FP64", "INT32", "INT64", "UINT8"])
def test_every_numeric_datatype_is_accepted(client, datatype):
    rows = [[5, 3, 1, 0], [7, 3, 5, 2]]
    body = infer(client, "iris", [combined(rows, datatype)]).json()
    assert body["outputs"][0]["data"] == ["setosa", "virginica"]


def test_one_tensor_per_feature_in_any_order_and_shape(client):
    inputs = [
        {"name": name, "shape": [2, 1] if index % 2 else [2], "datatype": "FP32", "data": [SETOSA[i], VIRGINICA[i]]}
        for index, (i, name) in enumerate(reversed(list(enumerate(IRIS))))
    ]
    assert infer(client, "iris", inputs).json()["outputs"][0]["data"] == ["setosa", "virginica"]


def test_string_feature_as_bytes(client):
    inputs = [
        {"name": "age", "shape": [2, 1], "datatype": "INT64", "data": [30, 50]},
        {"name": "income", "shape": [2, 1], "datatype": "FP64", "data": [40.0, 80.0]},
        {"name": "city", "shape": [2, 1], "datatype": "BYTES", "data": ["lyon", "nice"]},
    ]
    body = infer(client, "loans", inputs).json()
    reference = client.post(
        "/models/loans/predict",
        json=[{"age": 30, "income": 40.0, "city": "lyon"}, {"age": 50, "income": 80.0, "city": "nice"}],
    ).json()
    assert body["outputs"][0]["data"] == reference["predictions"]


def test_regression_value(client):
    inputs = [
        {"name": "a", "shape": [2], "datatype": "FP64", "data": [1.0, 0.0]},
        {"name": "b", "shape": [2], "datatype": "FP64", "data": [0.0, 1.0]},
    ]
    (value,) = infer(client, "linear", inputs).json()["outputs"]
    assert value["name"] == "value" and value["shape"] == [2]
    assert np.allclose(value["data"], [4.0, -1.0], atol=1e-4)


def test_integer_labels(client):
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = digits.data[:3].tolist()
    body = infer(client, "digits", [combined(rows)], outputs=[{"name": "label"}]).json()
    assert body["outputs"] == [{"name": "label", "datatype": "INT64", "shape": [3], "data": digits.target[:3].tolist()}]


def test_requested_outputs_come_alone_and_in_the_order_asked(client):
    body = infer(client, "iris", [combined([SETOSA])], outputs=[{"name": "probabilities"}, {"name": "label"}]).json()
    assert [o["name"] for o in body["outputs"]] == ["probabilities", "label"]
    body = infer(client, "iris", [combined([SETOSA])], outputs=[{"name": "label"}]).json()
    assert [o["name"] for o in body["outputs"]] == ["label"]
    body = infer(client, "iris", [combined([SETOSA])], outputs=[]).json()
    assert [o["name"] for o in body["outputs"]] == ["label", "probabilities"]


def test_parameters_are_accepted(client):
    response = infer(client, "iris", [combined([SETOSA])], parameters={"priority": 1, "custom": "x"})
    assert response.status_code == 200


# Inference in binary


def test_binary_request_and_binary_response(client):
    body, headers = binary_request(
        [("input", [2, 4], "FP32", [SETOSA, VIRGINICA])], parameters={"binary_data_output": True}, request_id="7"
    )
    response = client.post("/v2/models/iris/infer", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    head, arrays = read_response(response.content, response.headers["inference-header-content-length"])
    assert head["id"] == "7"
    assert all("data" not in output for output in head["outputs"])
    assert arrays["label"].tolist() == ["setosa", "virginica"]
    assert arrays["probabilities"].shape == (2, 3) and arrays["probabilities"].dtype == np.float32
    assert np.allclose(arrays["probabilities"].sum(axis=1), 1.0, atol=1e-5)


def test_binary_per_output_choice_overrides_the_request_default(client):
    body, headers = binary_request(
        [("input", [1, 4], "FP64", [SETOSA])],
        outputs=[{"name": "label", "parameters": {"binary_data": False}}, {"name": "probabilities"}],
        parameters={"binary_data_output": True},
    )
    response = client.post("/v2/models/iris/infer", content=body, headers=headers)
    head, arrays = read_response(response.content, response.headers["inference-header-content-length"])
    assert head["outputs"][0]["data"] == ["setosa"]
    assert head["outputs"][1]["parameters"]["binary_data_size"] == 12
    assert arrays["probabilities"].shape == (1, 3)


def test_binary_inputs_with_json_outputs_answer_plain_json(client):
    body, headers = binary_request(
        [("age", [1], "FP64", [30.0]), ("income", [1], "FP32", [80.0]), ("city", [1], "BYTES", ["paris"])]
    )
    response = client.post("/v2/models/loans/infer", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert "inference-header-content-length" not in response.headers
    assert response.json()["outputs"][0]["data"] == ["yes"]


# Errors


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([combined([[5.1, 3.5, 1.4]])], "has shape [1, 3]; expected [rows, 4]"),
        (
            [{"name": "input", "shape": [3], "datatype": "FP32", "data": SETOSA[:3]}],
            "has shape [3]; expected [rows, 4]",
        ),
        (
            [{"name": "input", "shape": [1, 4], "datatype": "BYTES", "data": ["5.1", "3.5", "1.4", "0.2"]}],
            "datatype BYTES does not fit",
        ),
        ([{"name": "input", "shape": [1, 4], "datatype": "BOOL", "data": [True] * 4}], "datatype BOOL does not fit"),
        (
            [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": SETOSA}],
            "has 4 elements but its shape needs 8",
        ),
        (
            [
                {"name": "features", "shape": [1, 4], "datatype": "FP32", "data": SETOSA},
                {"name": "more", "shape": [1, 4], "datatype": "FP32", "data": SETOSA},
            ],
            "unknown input 'features'",
        ),
        ([{"name": n, "shape": [1], "datatype": "FP32", "data": [1.0]} for n in IRIS[:3]], "missing input 'p_width'"),
        (
            [combined([SETOSA]), {"name": "s_length", "shape": [1], "datatype": "FP32", "data": [1.0]}],
            "do not send s_length beside it",
        ),
        ([combined([SETOSA]), combined([SETOSA])], "input 'input' is given twice"),
        ([{"name": "input", "shape": [0, 4], "datatype": "FP32", "data": []}], "no rows"),
        (
            [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 1e39]}],
            "expected a finite number",
        ),
    ],
)
def test_requests_the_model_cannot_take_are_400(client, inputs, message):
    assert_error(infer(client, "iris", inputs), 400, message)


def test_per_feature_errors(client):
    bad_city = [
        {"name": "age", "shape": [1], "datatype": "FP64", "data": [30.0]},
        {"name": "income", "shape": [1], "datatype": "FP64", "data": [40.0]},
        {"name": "city", "shape": [1], "datatype": "FP64", "data": [1.0]},
    ]
    assert_error(infer(client, "loans", bad_city), 400, "datatype FP64 does not fit a string feature; use BYTES")
    bad_city[2] = {"name": "city", "shape": [1], "datatype": "BYTES", "data": ["rome"]}
    assert_error(infer(client, "loans", bad_city), 400, "unknown category 'rome'")
    bad_city[2] = {"name": "city", "shape": [2], "datatype": "BYTES", "data": ["lyon", "nice"]}
    assert_error(infer(client, "loans", bad_city), 400, "has 2 rows but the inputs before it have 1")
    assert_error(infer(client, "loans", [combined([[1.0, 2.0, 3.0]])]), 400, "unknown input 'input'")


def test_unknown_and_repeated_outputs(client):
    assert_error(
        infer(client, "iris", [combined([SETOSA])], outputs=[{"name": "scores"}]),
        400,
        "unknown output 'scores'; model 'iris' gives label, probabilities",
    )
    assert_error(
        infer(
            client,
            "linear",
            [
                {"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]},
                {"name": "b", "shape": [1], "datatype": "FP64", "data": [1.0]},
            ],
            outputs=[{"name": "probabilities"}],
        ),
        400,
        "gives value",
    )
    assert_error(
        infer(client, "iris", [combined([SETOSA])], outputs=[{"name": "label"}, {"name": "label"}]),
        400,
        "asked for twice",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the request body is empty"),
        (b"{nope", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"inputs": {}}', "'inputs' must be a non-empty list"),
        (b'{"inputs": [], "id": 5}', "'id' must be a string"),
    ],
)
def test_malformed_bodies_are_400(client, content, message):
    assert_error(client.post("/v2/models/iris/infer", content=content), 400, message)


def test_binary_errors(client):
    body, headers = binary_request([("input", [1, 4], "FP32", [SETOSA])])
    assert_error(
        client.post("/v2/models/iris/infer", content=body[:-2], headers=headers), 400, "only 14 bytes follow the JSON"
    )
    assert_error(
        client.post(
            "/v2/models/iris/infer", content=body, headers={**headers, "Inference-Header-Content-Length": "abc"}
        ),
        400,
        "must be a whole number of bytes",
    )
    nan, nan_headers = binary_request([("input", [1, 2], "FP64", [[1.0, np.nan]])])
    assert_error(
        client.post("/v2/models/linear/infer", content=nan, headers=nan_headers),
        400,
        "this model cannot take a missing value for 'b'",
    )
    text, text_headers = binary_request(
        [("city", [1], "BYTES", [b"\xff\xfe"]), ("age", [1], "FP64", [1.0]), ("income", [1], "FP64", [1.0])]
    )
    assert_error(client.post("/v2/models/loans/infer", content=text, headers=text_headers), 400, "is not UTF-8 text")


def test_nan_in_a_float_tensor_is_a_missing_value_for_a_model_that_takes_one(client):
    """The iris forest answers NaN (scikit-learn's trees learn a branch for it), compiled or not."""
    nan, nan_headers = binary_request([("input", [1, 4], "FP64", [[5.1, np.nan, 1.4, 0.2]])])
    response = client.post("/v2/models/iris/infer", content=nan, headers=nan_headers)
    assert response.status_code == 200, response.text


def test_body_over_the_limit_is_413_in_the_protocol_form(client):
    rows = [SETOSA] * 20_000
    assert_error(infer(client, "iris", [combined(rows)]), 413, "larger than the limit")


# A real server


def test_real_server_json_and_binary(server_factory, demo_models):
    server = server_factory([f"iris={demo_models['iris']}", f"digits={demo_models['digits']}", "--workers", "1"])
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/v2/health/ready").status_code == 200
        assert http.get("/v2/models/digits/ready").status_code == 200
        response = http.post("/v2/models/iris/infer", json={"inputs": [combined([SETOSA, VIRGINICA])]})
        assert response.json()["outputs"][0]["data"] == ["setosa", "virginica"]
        body, headers = binary_request(
            [("input", [2, 4], "FP32", [SETOSA, VIRGINICA])], parameters={"binary_data_output": True}
        )
        response = http.post("/v2/models/iris/versions/1/infer", content=body, headers=headers)
        _, arrays = read_response(response.content, response.headers["inference-header-content-length"])
        assert arrays["label"].tolist() == ["setosa", "virginica"]
        assert http.post("/v2/models/iris/infer", content=b"\x00garbage").status_code == 400
        assert (
            http.post(
                "/v2/models/iris/infer", content=body, headers={**headers, "Inference-Header-Content-Length": "99999"}
            ).status_code
            == 400
        )
        assert http.post("/v2/models/iris/infer", json={"inputs": [combined([SETOSA])]}).status_code == 200


def test_real_server_with_tritonclient(server_factory, demo_models, triton_python):
    """Triton's own HTTP client, which sends binary tensors and asks for binary outputs by default."""
    server = server_factory([f"iris={demo_models['iris']}", "--workers", "1"])
    argv = [str(triton_python), str(TRITON_CLIENT), server.url.removeprefix("http://")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["live"] and seen["ready"] and seen["model_ready"]
    assert "binary_tensor_data" in seen["extensions"]
    assert seen["binary_labels"] == ["setosa", "virginica"]
    assert seen["binary_probabilities_shape"] == [2, 3]
    assert seen["json_outputs"][0]["data"] == ["setosa", "virginica"]
    assert seen["wrong_shape"]["status"] == "400"
    assert "expected [rows, 4]" in seen["wrong_shape"]["message"]
    for algorithm in ("gzip", "deflate"):
        assert seen["compressed"][algorithm] == {"binary": ["setosa", "virginica"], "json": ["setosa", "virginica"]}


def test_guard_errors_take_the_protocol_form(demo_models):
    with make_client([f"iris={demo_models['iris']}"], api_key="secret") as keyed:
        assert_error(keyed.post("/v2/models/iris/infer", json={"inputs": [combined([SETOSA])]}), 401, "API key")
        assert keyed.get("/v2/health/ready").status_code == 200
        ok = keyed.post("/v2/models/iris/infer", json={"inputs": [combined([SETOSA])]}, headers={"x-api-key": "secret"})
        assert ok.status_code == 200


@pytest.mark.parametrize(("method", "template", "schema"), REQUIRED_ENDPOINTS, ids=[e[1] for e in REQUIRED_ENDPOINTS])
def test_every_endpoint_the_specification_requires(client, method, template, schema):
    import jsonschema

    path = template.format(name="iris", version="1")
    body = {"inputs": [combined([SETOSA])]} if method == "POST" else None
    response = client.request(method, path, json=body)
    assert response.status_code == 200, response.text
    jsonschema.validate(response.json(), RESPONSE_SCHEMAS[schema])
    # and the error the specification gives each: an unknown model, a request it cannot take
    if "{name}" in template:
        missing = client.request(method, template.format(name="nope", version="1"), json=body)
        assert missing.status_code == 404
        jsonschema.validate(missing.json(), RESPONSE_SCHEMAS["error"])
    if method == "POST":
        bad = client.post(path, json={"inputs": [combined([SETOSA[:3]])]})
        assert bad.status_code == 400
        jsonschema.validate(bad.json(), RESPONSE_SCHEMAS["error"])


@pytest.mark.parametrize(
    "tensor",
    [
        {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [SETOSA]},  # MLServer's clients
        {"name": "input", "shape": [4], "datatype": "FP32", "data": SETOSA},  # one row, 1-D
        {"name": "input-0", "shape": [4], "datatype": "FP64", "data": SETOSA},
    ],
    ids=["any-name", "one-row-1d", "both"],
)
def test_one_tensor_under_any_name_and_one_row_in_1d(client, tensor):
    response = infer(client, "iris", [tensor])
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == ["setosa"]


def test_a_lone_tensor_under_another_name_for_a_model_of_several_tensors(client):
    # loans takes three tensors (a string feature): a lone unnamed tensor cannot say which it is.
    response = infer(client, "loans", [{"name": "input-0", "shape": [1], "datatype": "FP64", "data": [30.0]}])
    assert_error(response, 400, "missing input 'age'")
