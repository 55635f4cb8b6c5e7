"""Every prediction route and format, in process, for the demo models."""

from __future__ import annotations

import csv
import io

import numpy as np
from sklearn.datasets import load_digits

from dockml.demos import render_digit

IRIS_QUERY = "s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2"
SETOSA = {"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}
VIRGINICA = {"s_length": 6.7, "s_width": 3.0, "p_length": 5.2, "p_width": 2.3}


def test_tutorial_get_predict_at_the_root(iris_client):
    response = iris_client.get(f"/predict?{IRIS_QUERY}")
    assert response.status_code == 200
    assert response.json() == {"predictions": ["setosa"]}


def test_get_predict_with_probabilities(iris_client):
    body = iris_client.get(f"/predict?{IRIS_QUERY}&proba=true").json()
    assert body["predictions"] == ["setosa"]
    assert set(body["probabilities"][0]) == {"setosa", "versicolor", "virginica"}
    assert abs(sum(body["probabilities"][0].values()) - 1.0) < 1e-5
    assert body["probabilities"][0]["setosa"] > 0.9


def test_post_one_record(iris_client):
    assert iris_client.post("/predict", json=VIRGINICA).json() == {"predictions": ["virginica"]}


def test_post_list_of_records(iris_client):
    assert iris_client.post("/predict", json=[SETOSA, VIRGINICA]).json() == {"predictions": ["setosa", "virginica"]}


def test_post_instances(iris_client):
    rows = [list(SETOSA.values()), list(VIRGINICA.values())]
    assert iris_client.post("/predict", json={"instances": rows}).json() == {"predictions": ["setosa", "virginica"]}


def test_post_columns_and_data_in_any_order(iris_client):
    columns = ["p_width", "p_length", "s_width", "s_length"]
    data = [[r[c] for c in columns] for r in (SETOSA, VIRGINICA)]
    body = iris_client.post("/predict", json={"columns": columns, "data": data}).json()
    assert body == {"predictions": ["setosa", "virginica"]}


def test_post_with_proba_gives_one_distribution_per_row(iris_client):
    body = iris_client.post("/predict?proba=true", json=[SETOSA, VIRGINICA]).json()
    assert [max(p, key=p.get) for p in body["probabilities"]] == ["setosa", "virginica"]


def test_model_routes_exist_beside_the_root_routes(iris_client):
    assert iris_client.get(f"/models/iris/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}


def _csv_upload(text: str) -> dict:
    return {"file": ("flowers.csv", text.encode(), "text/csv")}


def test_predict_file_with_header(iris_client):
    text = "s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    response = iris_client.post("/predict_file", files=_csv_upload(text))
    assert response.status_code == 200
    assert response.json() == {"predictions": ["setosa", "virginica"]}


def test_predict_file_without_header_uses_signature_order(iris_client):
    response = iris_client.post("/predict_file", files=_csv_upload("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"))
    assert response.json() == {"predictions": ["setosa", "virginica"]}


def test_predict_file_header_in_another_order(iris_client):
    text = "p_width,p_length,s_width,s_length\n0.2,1.4,3.5,5.1\n"
    assert iris_client.post("/predict_file", files=_csv_upload(text)).json() == {"predictions": ["setosa"]}


def test_predict_file_as_csv_keeps_the_input_columns(iris_client):
    text = "s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    response = iris_client.post("/predict_file", files=_csv_upload(text), headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["prediction"] for r in rows] == ["setosa", "virginica"]
    assert rows[0]["s_length"] == "5.1" and rows[1]["p_width"] == "2.3"


def test_predict_file_as_csv_with_probabilities(iris_client):
    response = iris_client.post(
        "/predict_file?proba=true", files=_csv_upload("5.1,3.5,1.4,0.2\n"), headers={"Accept": "text/csv"}
    )
    header = response.text.splitlines()[0].split(",")
    assert header == [
        "s_length",
        "s_width",
        "p_length",
        "p_width",
        "prediction",
        "proba_setosa",
        "proba_versicolor",
        "proba_virginica",
    ]


def test_demo_root_routes_serve_the_first_model_offering_them(demo_client):
    assert demo_client.get(f"/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}
    digits = load_digits()
    upload = {"file": ("three.png", render_digit(digits.data[3]), "image/png")}
    assert demo_client.post("/predict_image", files=upload).json() == {"predictions": [int(digits.target[3])]}


def test_models_lists_every_model_with_its_signature(demo_client):
    body = demo_client.get("/models").json()
    assert [m["name"] for m in body["models"]] == ["iris", "digits"]
    iris = body["models"][0]
    assert [i["name"] for i in iris["signature"]["inputs"]] == ["s_length", "s_width", "p_length", "p_width"]
    assert iris["signature"]["output"] == {
        "task": "classification",
        "classes": ["setosa", "versicolor", "virginica"],
        "probabilities": True,
    }
    assert iris["endpoints"]["predict"] == "/models/iris/predict"


def test_one_model(demo_client):
    body = demo_client.get("/models/digits").json()
    assert body["name"] == "digits"
    assert len(body["signature"]["inputs"]) == 64
    assert body["signature"]["image"]["width"] == 8
    assert body["endpoints"]["predict_image"] == "/models/digits/predict_image"


def _digit_png(index: int, *, size: int, dark_on_light: bool) -> tuple[bytes, int]:
    digits = load_digits()
    return render_digit(digits.data[index], size=size, dark_on_light=dark_on_light), int(digits.target[index])


def test_digit_images_in_both_polarities(demo_client):
    for index in range(10):
        for dark_on_light in (False, True):
            png, digit = _digit_png(index, size=64, dark_on_light=dark_on_light)
            response = demo_client.post("/models/digits/predict_image", files={"file": ("d.png", png, "image/png")})
            assert response.status_code == 200
            assert response.json()["predictions"] == [digit], (index, dark_on_light)


def test_digit_image_of_another_size_as_jpeg(demo_client):
    from PIL import Image

    png, digit = _digit_png(7, size=300, dark_on_light=True)
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, format="JPEG", quality=90)
    response = demo_client.post(
        "/models/digits/predict_image?proba=true", files={"file": ("d.jpg", out.getvalue(), "image/jpeg")}
    )
    body = response.json()
    assert body["predictions"] == [digit]
    assert len(body["probabilities"][0]) == 10


def test_digits_accepts_the_64_pixels_as_json(demo_client):
    digits = load_digits()
    record = dict(zip(digits.feature_names, digits.data[5].tolist(), strict=True))
    assert demo_client.post("/models/digits/predict", json=record).json() == {"predictions": [int(digits.target[5])]}


def test_iris_has_no_image_route(demo_client):
    response = demo_client.post("/models/iris/predict_image", files={"file": ("d.png", b"x", "image/png")})
    assert response.status_code == 404


def test_predictions_are_counted_in_metrics(iris_client):
    iris_client.post("/predict", json=[SETOSA, SETOSA, SETOSA])
    iris_client.post("/predict_file", files=_csv_upload("5.1,3.5,1.4,0.2\n"))
    iris_client.get("/nowhere")
    iris_client.get("/health/live")
    iris_client.get("/models/iris")
    text = iris_client.get("/metrics").text
    assert 'dockml_requests_total{model="",route="/health/live",status="200"}' in text
    assert 'dockml_requests_total{model="",route="/models/{name}",status="200"}' in text
    assert 'dockml_requests_total{model="iris",route="predict_file",status="200"}' in text
    assert 'dockml_requests_total{model="",route="unmatched",status="404"}' in text
    assert 'dockml_predictions_total{model="iris"}' in text
    assert 'dockml_requests_total{model="iris",route="predict",status="200"}' in text
    assert "dockml_request_duration_seconds_bucket" in text
    assert 'dockml_model_load_seconds{model="iris"}' in text


def test_health(iris_client):
    assert iris_client.get("/health/live").json() == {"status": "alive"}
    assert iris_client.get("/health/ready").json() == {"status": "ready", "models": ["iris"]}


def test_batch_of_many_rows(iris_client):
    rows = np.tile(list(SETOSA.values()), (1000, 1)).tolist()
    body = iris_client.post("/predict", json={"instances": rows}).json()
    assert body["predictions"] == ["setosa"] * 1000
