"""Compressed request bodies (Content-Encoding: gzip, deflate) on every body route, the limit
applied to the inflated size, and every other encoding refused in the route's own error form."""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest

from servers import make_client

SETOSA = [5.1, 3.5, 1.4, 0.2]
RECORD = dict(zip(["s_length", "s_width", "p_length", "p_width"], SETOSA, strict=True))
V2_BODY = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": SETOSA}]}
LIMIT = 100_000


def raw_deflate(data: bytes) -> bytes:
    engine = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return engine.compress(data) + engine.flush()


COMPRESSORS = {"gzip": gzip.compress, "deflate": zlib.compress, "raw deflate": raw_deflate}


@pytest.fixture(scope="module")
def client(demo_models):
    with make_client([f"iris={demo_models['iris']}"], max_body_bytes=LIMIT) as test_client:
        yield test_client


def post(client, path, body: bytes, encoding: str, content_type: str = "application/json"):
    return client.post(path, content=body, headers={"content-type": content_type, "content-encoding": encoding})


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_predict_takes_a_compressed_body(client, kind):
    encoding = "gzip" if kind == "gzip" else "deflate"
    response = post(client, "/predict", COMPRESSORS[kind](orjson.dumps(RECORD)), encoding)
    assert response.status_code == 200 and response.json() == {"predictions": ["setosa"]}


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_v2_infer_takes_a_compressed_body(client, encoding):
    response = post(client, "/v2/models/iris/infer", COMPRESSORS[encoding](orjson.dumps(V2_BODY)), encoding)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == ["setosa"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_mlflow_invocations_take_a_compressed_csv(client, encoding):
    body = COMPRESSORS[encoding](b"s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2\n")
    response = post(client, "/invocations", body, encoding, "text/csv")
    assert response.status_code == 200 and response.json() == {"predictions": ["setosa"]}


def test_a_compression_bomb_is_413_in_each_routes_form(client):
    bomb = gzip.compress(b" " * 50_000_000)  # about 50 KB, under the limit; 50 MB inflated
    assert len(bomb) < LIMIT
    assert post(client, "/predict", bomb, "gzip").json()["status"] == 413
    v2 = post(client, "/v2/models/iris/infer", bomb, "gzip")
    assert v2.status_code == 413 and "larger than the limit" in v2.json()["error"]
    mlflow = post(client, "/invocations", bomb, "gzip")
    assert mlflow.status_code == 413 and "larger than the limit" in mlflow.json()["message"]


def test_a_body_inflating_to_just_under_the_limit_is_read(client):
    body = orjson.dumps(RECORD) + b" " * (LIMIT - 200)
    assert post(client, "/predict", gzip.compress(body), "gzip").status_code == 200


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
def test_other_encodings_are_415(client, encoding):
    problem = post(client, "/predict", orjson.dumps(RECORD), encoding)
    assert problem.status_code == 415 and "gzip or deflate" in problem.json()["detail"]
    v2 = post(client, "/v2/models/iris/infer", orjson.dumps(V2_BODY), encoding)
    assert v2.status_code == 415 and "gzip or deflate" in v2.json()["error"]


def test_data_that_does_not_inflate_is_400(client):
    response = post(client, "/v2/models/iris/infer", b'{"inputs": []}', "gzip")
    assert response.status_code == 400 and "not valid gzip data" in response.json()["error"]
    truncated = gzip.compress(orjson.dumps(RECORD))[:-12]
    assert post(client, "/predict", truncated, "gzip").status_code == 400


def test_identity_is_no_encoding(client):
    assert post(client, "/predict", orjson.dumps(RECORD), "identity").status_code == 200
