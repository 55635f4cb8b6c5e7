"""Every error case: its status, its problem document, and the server still serving after it."""

from __future__ import annotations

import gzip

import pytest

IRIS_QUERY = "s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2"
EXPECTED = "expected s_length, s_width, p_length, p_width"


def assert_problem(response, status: int, detail_part: str = "") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert set(body) >= {"type", "title", "status", "detail"}
    assert detail_part in body["detail"]
    assert "Traceback" not in response.text
    return body


@pytest.fixture(autouse=True)
def still_serving(iris_client):
    yield
    assert iris_client.get(f"/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}


def test_missing_feature_names_it_and_the_expected_ones(iris_client):
    # In a JSON record (a query parameter left out is a missing value, which the forest takes).
    response = iris_client.post("/predict", json={"s_length": 5.1, "s_width": 3.5, "p_length": 1.4})
    body = assert_problem(response, 422, f"missing feature 'p_width'; {EXPECTED}")
    assert body["errors"] == [{"field": "p_width", "message": f"missing feature 'p_width'; {EXPECTED}"}]


def test_unknown_feature(iris_client):
    response = iris_client.post(
        "/predict", json={"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2, "colour": 1}
    )
    assert_problem(response, 422, f"unknown feature 'colour'; {EXPECTED}")


def test_non_numeric_query_value(iris_client):
    response = iris_client.get("/predict?s_length=abc&s_width=3.5&p_length=1.4&p_width=0.2")
    assert_problem(response, 422, "feature 's_length': expected a number, got 'abc'")


@pytest.mark.parametrize("value", ["nan", "NaN", ""])
def test_empty_or_nan_query_value_is_a_missing_value_for_a_model_that_takes_one(iris_client, value):
    response = iris_client.get(f"/predict?s_length={value}&s_width=3.5&p_length=1.4&p_width=0.2")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e400"])
def test_non_finite_query_value(iris_client, value):
    response = iris_client.get(f"/predict?s_length={value}&s_width=3.5&p_length=1.4&p_width=0.2")
    assert_problem(response, 422, "expected a finite number")


def test_string_in_json_number_field(iris_client):
    response = iris_client.post("/predict", json={"s_length": "5.1", "s_width": 3.5, "p_length": 1.4, "p_width": 0.2})
    assert_problem(response, 422, "feature 's_length': expected a number, got '5.1'")


def test_wrong_count_in_instances(iris_client):
    response = iris_client.post("/predict", json={"instances": [[5.1, 3.5, 1.4]]})
    assert_problem(response, 422, "expected 4 values")


@pytest.mark.parametrize("body", [b"{", b"NaN", b'{"s_length": Infinity}', b"\xff\xfe"])
def test_malformed_json(iris_client, body):
    response = iris_client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert_problem(response, 400, "not valid JSON")


def test_number_too_large_for_float64(iris_client):
    response = iris_client.post(
        "/predict", content=b'{"s_length": 1e400}', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


def test_empty_body(iris_client):
    response = iris_client.post("/predict", content=b"", headers={"content-type": "application/json"})
    assert_problem(response, 400, "empty")


def test_json_of_the_wrong_shape(iris_client):
    assert_problem(iris_client.post("/predict", json=[]), 422, "empty")
    assert_problem(iris_client.post("/predict", json=42), 422, "expected a record")


def test_wrong_content_type(iris_client):
    response = iris_client.post("/predict", content=b"5.1,3.5,1.4,0.2", headers={"content-type": "text/csv"})
    assert_problem(response, 415, "application/json")


def test_json_to_predict_file(iris_client):
    assert_problem(iris_client.post("/predict_file", json={"a": 1}), 415, "multipart/form-data")


def test_body_over_the_limit(demo_models):
    from servers import make_client

    with make_client([f"iris={demo_models['iris']}"], max_body_bytes=1000) as client:
        response = client.post("/predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]] * 200})
        assert_problem(response, 413, "limit of 1000 bytes")
        assert client.post("/predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]}).status_code == 200


def test_chunked_body_over_the_limit(demo_models):
    from servers import make_client

    def chunks():
        for _ in range(100):
            yield b" " * 100

    with make_client([f"iris={demo_models['iris']}"], max_body_bytes=1000) as client:
        response = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
        assert_problem(response, 413)


def test_csv_with_a_missing_column(iris_client):
    files = {"file": ("f.csv", b"s_length,s_width,p_length\n5.1,3.5,1.4\n", "text/csv")}
    assert_problem(iris_client.post("/predict_file", files=files), 422, f"missing feature 'p_width'; {EXPECTED}")


def test_csv_with_an_extra_column(iris_client):
    files = {"file": ("f.csv", b"s_length,s_width,p_length,p_width,colour\n5.1,3.5,1.4,0.2,red\n", "text/csv")}
    assert_problem(iris_client.post("/predict_file", files=files), 422, "unknown feature 'colour'")


def test_csv_with_a_bad_cell_names_the_line(iris_client):
    files = {"file": ("f.csv", b"s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2\n5.1,oops,1.4,0.2\n", "text/csv")}
    assert_problem(
        iris_client.post("/predict_file", files=files), 422, "line 3: feature 's_width': expected a number, got 'oops'"
    )


def test_csv_without_header_and_wrong_width(iris_client):
    files = {"file": ("f.csv", b"5.1,3.5,1.4\n", "text/csv")}
    assert_problem(iris_client.post("/predict_file", files=files), 422, "no header and 3 columns")


def test_empty_csv(iris_client):
    assert_problem(iris_client.post("/predict_file", files={"file": ("f.csv", b"", "text/csv")}), 400, "empty")


def test_upload_without_a_file_part(iris_client):
    assert_problem(iris_client.post("/predict_file", files={"note": (None, "hello")}), 422, "part named 'file'")


def test_multipart_without_boundary(iris_client):
    response = iris_client.post("/predict_file", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    assert_problem(response, 400)


def test_not_an_image(demo_client):
    files = {"file": ("d.png", b"this is not a picture", "image/png")}
    assert_problem(demo_client.post("/models/digits/predict_image", files=files), 400, "not an image")


def test_gif_is_not_accepted(demo_client):
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (8, 8)).save(out, format="GIF")
    files = {"file": ("d.gif", out.getvalue(), "image/gif")}
    assert_problem(demo_client.post("/models/digits/predict_image", files=files), 400, "PNG, JPEG")


def test_unknown_model(demo_client):
    assert_problem(demo_client.get("/models/nope"), 404, "no model named 'nope'; served models: iris, digits")
    assert_problem(demo_client.post("/models/nope/predict", json={}), 404)


def test_unknown_route(iris_client):
    assert_problem(iris_client.get("/nowhere"), 404, "no such route")


def test_method_not_allowed(iris_client):
    body = assert_problem(iris_client.delete("/predict"), 405, "DELETE is not allowed on /predict")
    assert "GET" in body["detail"] and "POST" in body["detail"]


def test_bad_proba_value(iris_client):
    assert_problem(iris_client.get(f"/predict?{IRIS_QUERY}&proba=maybe"), 422, "'proba': expected true or false")


def test_gzip_body_is_read_inflated(iris_client):
    # tests/http/test_compression.py has the rest; here: the inflated body is checked as any other.
    body = gzip.compress(b'{"s_length": 5.1}')
    response = iris_client.post(
        "/predict", content=body, headers={"content-type": "application/json", "content-encoding": "gzip"}
    )
    assert_problem(response, 422, "missing feature 's_width'")


def test_an_unexpected_error_is_answered_500_and_logged_once(demo_models, monkeypatch, caplog):
    """A bug in a route: the client gets a plain 500, the log one line with the traceback, and the
    error goes no further (Starlette's outermost handler raised it again for the server to log)."""
    from starlette.testclient import TestClient

    from dockml.config import load_settings
    from dockml.http import create_app
    from dockml.service import load_registry

    settings = load_settings(
        config_file=None, model_arguments=[str(demo_models["iris"])], flags={"workers": 1}, environ={}
    )
    registry = load_registry(settings)

    def broken(name: str) -> None:
        raise RuntimeError("a bug in the route")

    monkeypatch.setattr(registry, "get", broken)
    with TestClient(create_app(registry, settings), raise_server_exceptions=True) as client:
        response = client.get("/models/iris")
        assert_problem(response, 500, "internal server error")
        assert "a bug" not in response.text
        assert client.get(f"/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(errors) == 1, [record.getMessage() for record in errors]
    assert errors[0].getMessage().startswith("unhandled error on GET /models/iris (request ")
    assert errors[0].exc_info is not None
