"""The OpenAPI document: valid, kept as a snapshot, and its examples work as shipped."""

from __future__ import annotations

import json
import os
from pathlib import Path

from openapi_spec_validator import validate

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi_demo.json"


def test_document_is_valid_openapi_3_1(demo_client):
    document = demo_client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_document_matches_the_snapshot(demo_client):
    document = demo_client.get("/openapi.json").json()
    if os.environ.get("DOCKML_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    assert document == json.loads(SNAPSHOT.read_text()), "run with DOCKML_UPDATE_SNAPSHOTS=1 after a deliberate change"


def test_query_parameters_are_named_after_the_features(demo_client):
    document = demo_client.get("/openapi.json").json()
    parameters = document["paths"]["/predict"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["s_length", "s_width", "p_length", "p_width", "proba"]
    assert parameters[0]["schema"]["type"] == "number"
    assert parameters[0]["allowEmptyValue"] is True  # the forest takes missing values: `s_length=`
    assert parameters[0]["example"] == 5.1


def test_every_example_works_in_try_it_out(demo_client):
    document = demo_client.get("/openapi.json").json()
    calls = 0
    for path, operations in document["paths"].items():
        if "{" in path:
            continue
        for method, operation in operations.items():
            features = [p for p in operation.get("parameters", []) if "example" in p]
            if method == "get" and features:
                query = {p["name"]: p["example"] for p in features}
                response = demo_client.get(path, params=query)
                assert response.status_code == 200, (path, response.text)
                calls += 1
            elif method == "post" and "application/json" in operation["requestBody"]["content"]:
                content = operation["requestBody"]["content"]
                for name, example in content["application/json"]["examples"].items():
                    response = demo_client.post(path, json=example["value"])
                    assert response.status_code == 200, (path, name, response.text)
                    calls += 1
                for name, example in content.get("text/csv", {}).get("examples", {}).items():
                    response = demo_client.post(path, content=example["value"], headers={"content-type": "text/csv"})
                    assert response.status_code == 200, (path, name, response.text)
                    calls += 1
    # 3 predict paths (root, iris, digits) x (1 GET + 4 POST examples), 2 V2 infer paths x 1,
    # 3 MLflow invocation paths (root, iris, digits) x (3 JSON + 1 CSV examples)
    assert calls == 3 * 5 + 2 + 3 * 4


def test_error_body_is_documented(demo_client):
    document = demo_client.get("/openapi.json").json()
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    responses = document["paths"]["/models/iris/predict"]["post"]["responses"]
    assert responses["422"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
