"""One renderer answers every error in its route's form and logs it with the request's context."""

from __future__ import annotations

import logging

import pytest

from dockml.service import ModelService
from servers import make_client

SETOSA = [5.1, 3.5, 1.4, 0.2]
RECORD = dict(zip(["s_length", "s_width", "p_length", "p_width"], SETOSA, strict=True))
FAILING_CALLS = {
    "dockml": ("/predict", {"json": RECORD}),
    "dockml upload": (
        "/predict_file",
        {"files": {"file": ("f.csv", b"s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2\n")}},
    ),
    "v2": (
        "/v2/models/iris/infer",
        {"json": {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [SETOSA]}]}},
    ),
    "mlflow": ("/invocations", {"json": {"instances": [SETOSA]}}),
}


@pytest.fixture(scope="module")
def client(demo_models):
    with make_client([f"iris={demo_models['iris']}"]) as client:
        yield client


@pytest.mark.parametrize("family", FAILING_CALLS)
def test_an_unexpected_error_is_logged_once_with_the_request_id_and_model(client, family, monkeypatch, caplog):
    async def fail(self, table):
        raise RuntimeError("the model's library broke")

    monkeypatch.setattr(ModelService, "predict", fail)
    path, body = FAILING_CALLS[family]
    with caplog.at_level(logging.ERROR, logger="dockml.http"):
        response = client.post(path, headers={"X-Request-ID": f"trace-{family}"}, **body)
    assert response.status_code == 500
    assert "Traceback" not in response.text and "broke" not in response.text
    (line,) = [record for record in caplog.records if record.name == "dockml.http"]
    assert f"POST {path} (request trace-{family}, model iris," in line.getMessage()
    assert line.exc_info is not None and "broke" in str(line.exc_info[1])


@pytest.mark.parametrize(
    ("path", "content_type", "expected"),
    [
        ("/predict", "application/problem+json", {"type", "title", "status", "detail"}),
        ("/v2/models/iris/infer", "application/json", {"error"}),
        ("/invocations", "application/json", {"error_code", "message"}),
    ],
)
def test_a_failed_prediction_is_logged_with_the_request_id_in_every_form(
    client, path, content_type, expected, monkeypatch, caplog
):
    from dockml.errors import PredictionFailed

    async def fail(self, table):
        raise PredictionFailed("model 'iris' failed to predict; the server log has the cause")

    monkeypatch.setattr(ModelService, "predict", fail)
    body = {"/predict": RECORD, "/invocations": {"instances": [SETOSA]}}.get(path) or FAILING_CALLS["v2"][1]["json"]
    with caplog.at_level(logging.ERROR, logger="dockml.http"):
        response = client.post(path, json=body, headers={"X-Request-ID": "failed-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == content_type
    assert set(response.json()) == expected
    (line,) = [record.getMessage() for record in caplog.records if record.name == "dockml.http"]
    assert "(request failed-1, model iris," in line and line.endswith("failed to predict; the server log has the cause")


def test_refusals_under_load_are_not_logged(demo_models, caplog):
    with (
        make_client([f"iris={demo_models['iris']}"], max_in_flight=0) as busy,
        caplog.at_level(logging.ERROR, logger="dockml.http"),
    ):
        for path in ("/predict", "/v2/models/iris/infer", "/invocations", "/models"):
            response = busy.post(path, json=RECORD) if path != "/models" else busy.get(path)
            assert response.status_code == 503 and response.headers["retry-after"] == "1", path
    assert not [record for record in caplog.records if record.name == "dockml.http"]
