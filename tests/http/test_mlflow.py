"""MLflow's scoring routes (/invocations, /ping) in every input format, as `mlflow models serve` takes them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

import trained
from servers import make_client

IRIS = ["s_length", "s_width", "p_length", "p_width"]
SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]
BOTH = {"predictions": ["setosa", "virginica"]}


@pytest.fixture(scope="module")
def client(demo_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("mlflow-models")
    models = [
        f"iris={demo_models['iris']}",
        f"loans={trained.categorical_pipeline_skops(folder)}",
        f"linear={trained.regression_skops(folder)}",
    ]
    with make_client(models) as test_client:
        yield test_client


def records(*rows: list[float]) -> list[dict[str, float]]:
    return [dict(zip(IRIS, row, strict=True)) for row in rows]


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": IRIS, "data": [SETOSA, VIRGINICA]}},
        {"dataframe_split": {"columns": IRIS[::-1], "data": [SETOSA[::-1], VIRGINICA[::-1]], "index": [0, 1]}},
        {"dataframe_split": {"data": [SETOSA, VIRGINICA]}},
        {"dataframe_records": records(SETOSA, VIRGINICA)},
        {"instances": [SETOSA, VIRGINICA]},
        {"instances": records(SETOSA, VIRGINICA)},
        {"inputs": [SETOSA, VIRGINICA]},
        {"inputs": records(SETOSA, VIRGINICA)},
        {"inputs": {name: [SETOSA[i], VIRGINICA[i]] for i, name in enumerate(IRIS)}},
        {"inputs": [SETOSA, VIRGINICA], "params": {"anything": 1}},
    ],
    ids=[
        "split",
        "split-reordered",
        "split-no-columns",
        "records",
        "instances-rows",
        "instances-records",
        "inputs-rows",
        "inputs-records",
        "inputs-columns",
        "with-params",
    ],
)
def test_every_json_format(client, body):
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == BOTH


def test_one_record_as_columns_of_single_values(client):
    assert client.post("/invocations", json={"inputs": dict(zip(IRIS, SETOSA, strict=True))}).json() == {
        "predictions": ["setosa"]
    }


@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=utf-8"])
def test_csv_with_a_header(client, content_type):
    text = ",".join(IRIS) + "\n" + "\n".join(",".join(map(str, row)) for row in (SETOSA, VIRGINICA)) + "\n"
    response = client.post("/invocations", content=text, headers={"content-type": content_type})
    assert response.json() == BOTH


def test_string_features_and_regression_by_model(client):
    rows = [{"age": 30, "income": 40.0, "city": "lyon"}, {"age": 50, "income": 80.0, "city": "paris"}]
    expected = client.post("/models/loans/predict", json=rows).json()
    assert client.post("/models/loans/invocations", json={"dataframe_records": rows}).json() == expected
    values = client.post("/models/linear/invocations", json={"inputs": {"a": [1.0], "b": [0.0]}}).json()["predictions"]
    assert values == pytest.approx([4.0], abs=1e-4)


def test_ping_and_health(client):
    for path in ("/ping", "/health"):
        response = client.get(path)
        assert response.status_code == 200 and response.text == "\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([SETOSA], "send a JSON object with exactly one of the keys"),
        ({"columns": IRIS, "data": [SETOSA]}, "exactly one of the keys"),
        ({"instances": [SETOSA], "inputs": [SETOSA]}, "got instances, inputs"),
        ({"instances": [[5.1, 3.5]]}, "expected 4 values"),
        ({"dataframe_records": [{"s_length": 5.1}]}, "missing feature 's_width'"),
        ({"dataframe_split": {"columns": IRIS, "data": [[5.1, 3.5, 1.4, "x"]]}}, "expected a number"),
        ({"inputs": {"s_length": [1.0, 2.0], "s_width": [1.0]}}, "same, non-zero number of values"),
        ({"instances": []}, "non-empty list"),
    ],
)
def test_errors_are_400_in_mlflow_form(client, body, message):
    response = client.post("/invocations", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error_code"] == "BAD_REQUEST" and message in error["message"], error


def test_unsupported_content_type_and_charset(client):
    response = client.post("/invocations", content=b"x", headers={"content-type": "text/plain"})
    assert (
        response.status_code == 415
        and "application/json, text/csv or application/vnd.apache.parquet" in response.json()["message"]
    )
    response = client.post("/invocations", content=b"{}", headers={"content-type": "application/json; charset=latin-1"})
    assert response.status_code == 415 and "UTF-8" in response.json()["message"]


def test_malformed_json_and_wrong_method(client):
    response = client.post("/invocations", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error_code"] == "BAD_REQUEST"
    response = client.get("/invocations")
    assert response.status_code == 405 and set(response.json()) == {"error_code", "message"}


def test_unknown_model_is_404(client):
    response = client.post("/models/nope/invocations", json={"inputs": [SETOSA]})
    assert response.status_code == 404 and response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_real_server_in_every_format(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"]), "--workers", "1"])
    csv_text = ",".join(IRIS) + "\n" + ",".join(map(str, SETOSA)) + "\n" + ",".join(map(str, VIRGINICA)) + "\n"
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/ping").status_code == 200
        for body in (
            {"dataframe_split": {"columns": IRIS, "data": [SETOSA, VIRGINICA]}},
            {"dataframe_records": records(SETOSA, VIRGINICA)},
            {"instances": [SETOSA, VIRGINICA]},
            {"inputs": {name: [SETOSA[i], VIRGINICA[i]] for i, name in enumerate(IRIS)}},
        ):
            assert http.post("/invocations", json=body).json() == BOTH
        assert http.post("/invocations", content=csv_text, headers={"content-type": "text/csv"}).json() == BOTH
        assert http.post("/invocations", content=b"\xff\x00", headers={"content-type": "text/csv"}).status_code == 400
        assert http.post("/invocations", json={"instances": [SETOSA]}).json() == {"predictions": ["setosa"]}


# MLflow's input rules on its routes, its client's routes, and what SageMaker asks of them


def test_version_is_dockmls_as_text(client):
    response = client.get("/version")
    assert response.status_code == 200 and response.text == "0.1.0"


def test_a_named_models_ping(client):
    response = client.get("/models/loans/ping")
    assert response.status_code == 200 and response.text == "\n"
    missing = client.get("/models/nope/ping")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": [*IRIS, "comment"], "data": [[*SETOSA, "a"], [*VIRGINICA, "b"]]}},
        {"dataframe_records": [{**record, "id": 7} for record in records(SETOSA, VIRGINICA)]},
        {
            "dataframe_records": [
                {key: str(value) for key, value in record.items()} for record in records(SETOSA, VIRGINICA)
            ]
        },
        {"inputs": [[str(value) for value in SETOSA], VIRGINICA]},
        {"dataframe_split": {"columns": ["", *IRIS], "data": [[0, *SETOSA], [1, *VIRGINICA]]}},
    ],
    ids=["extra-column", "extra-key", "numbers-as-text", "row-with-text", "index-column"],
)
def test_mlflows_lenient_rules_on_its_routes_only(client, body):
    assert client.post("/invocations", json=body).json() == BOTH
    # dockml's own route stays strict: the same columns are refused there.
    if "dataframe_split" in body:
        strict = client.post("/predict", json=body["dataframe_split"])
        assert strict.status_code == 422


@pytest.mark.parametrize(
    "csv_text",
    [
        ",s_length,s_width,p_length,p_width\n0,5.1,3.5,1.4,0.2\n1,6.7,3.0,5.2,2.3\n",  # df.to_csv()
        "s_length,s_width,p_length,p_width,comment\n5.1,3.5,1.4,0.2,x\n6.7,3.0,5.2,2.3,y\n",
    ],
    ids=["index-column", "extra-column"],
)
def test_csv_as_pandas_writes_it(client, csv_text):
    response = client.post("/invocations", content=csv_text, headers={"content-type": "text/csv"})
    assert response.json() == BOTH


def test_a_model_without_feature_names_takes_integer_column_labels(tmp_path):
    # Trained on a bare array: its features are x0..x3, and MLflow's clients send pd.DataFrame(X).
    with make_client([f"tree={trained.iris_pickle(tmp_path)}"], trust_pickle=True) as tree:
        body = {"dataframe_split": {"columns": [0, 1, 2, 3], "data": [SETOSA, VIRGINICA]}}
        assert tree.post("/invocations", json=body).json() == {"predictions": [0, 2]}
        by_key = {"dataframe_records": [{str(i): value for i, value in enumerate(SETOSA)}]}
        assert tree.post("/invocations", json=by_key).json() == {"predictions": [0]}
        csv_text = ",0,1,2,3\n0," + ",".join(map(str, SETOSA)) + "\n"
        csv = tree.post("/invocations", content=csv_text, headers={"content-type": "text/csv"})
        assert csv.json() == {"predictions": [0]}
        assert tree.post("/predict", json={"columns": [0, 1, 2, 3], "data": [SETOSA]}).status_code == 422


def test_parquet_bodies(client):
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    import io

    frame = pandas.DataFrame([SETOSA, VIRGINICA], columns=IRIS)
    frame["comment"] = ["a", "b"]
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    response = client.post(
        "/invocations", content=buffer.getvalue(), headers={"content-type": "application/vnd.apache.parquet"}
    )
    assert response.json() == BOTH
    broken = client.post(
        "/invocations", content=b"PAR1 not parquet", headers={"content-type": "application/vnd.apache.parquet"}
    )
    assert broken.status_code == 400 and "Parquet" in broken.json()["message"]


@pytest.mark.parametrize(("accept", "expected"), [("text/csv", "setosa\nvirginica\n"), ("application/json", None)])
def test_accept_chooses_csv_or_json_answers(client, accept, expected):
    response = client.post("/invocations", json={"instances": [SETOSA, VIRGINICA]}, headers={"accept": accept})
    if expected is None:
        assert response.json() == BOTH
    else:
        assert response.headers["content-type"].startswith("text/csv") and response.text == expected


def test_health_routes_stay_open_under_an_api_key(demo_models):
    with make_client([f"iris={demo_models['iris']}"], api_key="secret") as keyed:
        for path in (
            "/ping",
            "/health",
            "/version",
            "/health/live",
            "/health/ready",
            "/v2/health/live",
            "/v2/health/ready",
        ):
            assert keyed.get(path).status_code == 200, path
        denied = keyed.post("/invocations", json={"instances": [SETOSA]})
        assert denied.status_code == 401 and denied.json()["error_code"] == "UNAUTHENTICATED"
        assert keyed.get("/models/iris/ping").status_code == 401  # names a model: behind the key, as /models is
        granted = keyed.post("/invocations", json={"instances": [SETOSA]}, headers={"authorization": "Bearer secret"})
        assert granted.json() == {"predictions": ["setosa"]}
