"""POST .../predict_image?input=true: the answer also carries the picture as the model saw it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from dockml.codecs.image import decode_image
from dockml.config import ImageSpec
from dockml.demos import render_digit

DIGITS = load_digits()


def upload(png: bytes) -> dict:
    return {"file": ("digit.png", png, "image/png")}


@pytest.mark.parametrize("path", ["/predict_image", "/models/digits/predict_image"])
def test_input_is_the_decoded_picture_in_rows(demo_client, path):
    png = render_digit(DIGITS.data[5], size=96, dark_on_light=True)
    body = demo_client.post(f"{path}?input=true&proba=true", files=upload(png)).json()
    grid = np.asarray(body["input"])
    assert grid.shape == (8, 8)
    assert np.array_equal(grid.reshape(1, -1), decode_image(png, ImageSpec(), max_pixels=10**6))
    assert grid.min() >= 0 and grid.max() <= 16
    assert body["predictions"] == [int(DIGITS.target[5])]
    assert set(body["probabilities"][0]) == {str(d) for d in range(10)}


@pytest.mark.parametrize("query", ["", "?input=false", "?input=0"])
def test_without_the_flag_the_answer_is_unchanged(demo_client, query):
    png = render_digit(DIGITS.data[5])
    assert demo_client.post(f"/models/digits/predict_image{query}", files=upload(png)).json() == {
        "predictions": [int(DIGITS.target[5])]
    }


def test_a_bad_flag_names_the_parameter(demo_client):
    response = demo_client.post("/models/digits/predict_image?input=maybe", files=upload(render_digit(DIGITS.data[0])))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "input", "message": "expected true or false"}]


def test_the_flag_is_documented(demo_client):
    document = demo_client.get("/openapi.json").json()
    for path in ("/predict_image", "/models/digits/predict_image"):
        operation = document["paths"][path]["post"]
        assert [p["name"] for p in operation["parameters"]] == ["proba", "input"]
        grid = operation["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1]["properties"]["input"]
        assert grid["minItems"] == grid["maxItems"] == 8
    assert "input" not in [p["name"] for p in document["paths"]["/models/iris/predict_file"]["post"]["parameters"]]
