"""A corpus of bad input sent to a real server: each gets its expected status and a problem
document, and the server is still live and answering afterwards."""

from __future__ import annotations

import gzip
import io
import zlib

import httpx
import pytest
from PIL import Image

from payloads import white_png

IRIS = "/models/iris/predict"
JSON = {"content-type": "application/json"}


def _png_truncated() -> bytes:
    out = io.BytesIO()
    Image.new("L", (64, 64), 255).save(out, format="PNG")
    return out.getvalue()[:60]


def _many_parts(count: int) -> tuple[bytes, dict[str, str]]:
    boundary = "b0undary"
    parts = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n' for i in range(count))
    return (parts + f"--{boundary}--\r\n").encode(), {"content-type": f"multipart/form-data; boundary={boundary}"}


def _upload(data: bytes, name: str = "file.bin") -> dict:
    return {"files": {"file": (name, data, "application/octet-stream")}}


CORPUS = [
    ("malformed JSON", "POST", IRIS, {"content": b'{"s_length": 5.1,', "headers": JSON}, 400),
    (
        "NaN literal",
        "POST",
        IRIS,
        {"content": b'{"s_length": NaN, "s_width": 1, "p_length": 1, "p_width": 1}', "headers": JSON},
        400,
    ),
    (
        "Infinity literal",
        "POST",
        IRIS,
        {"content": b'{"s_length": Infinity, "s_width": 1, "p_length": 1, "p_width": 1}', "headers": JSON},
        400,
    ),
    (
        "number beyond float64",
        "POST",
        IRIS,
        {"content": b'{"s_length": 1e999, "s_width": 1, "p_length": 1, "p_width": 1}', "headers": JSON},
        400,
    ),
    ("wrong types", "POST", IRIS, {"json": {"s_length": [1], "s_width": {}, "p_length": True, "p_width": None}}, 422),
    ("wrong shape", "POST", IRIS, {"json": {"instances": [[1, 2], [1, 2, 3, 4, 5]]}}, 422),
    ("empty body", "POST", IRIS, {"content": b"", "headers": JSON}, 400),
    ("inf in a query", "GET", IRIS + "?s_length=inf&s_width=1&p_length=1&p_width=1", {}, 422),
    ("zero-byte CSV", "POST", "/models/iris/predict_file", _upload(b""), 400),
    ("binary as CSV", "POST", "/models/iris/predict_file", _upload(b"\x89PNG\x00\xff\xfe"), 400),
    ("zero-byte image", "POST", "/models/digits/predict_image", _upload(b""), 400),
    ("truncated PNG", "POST", "/models/digits/predict_image", _upload(_png_truncated()), 400),
    ("text as image", "POST", "/models/digits/predict_image", _upload(b"hello, I am not a picture"), 400),
    ("20000x20000 PNG bomb", "POST", "/models/digits/predict_image", _upload(white_png(20_000, 20_000)), 413),
    (
        "multipart without boundary",
        "POST",
        "/models/iris/predict_file",
        {"content": b"--x\r\n\r\n", "headers": {"content-type": "multipart/form-data"}},
        400,
    ),
    (
        "ten thousand parts",
        "POST",
        "/models/iris/predict_file",
        dict(zip(("content", "headers"), _many_parts(10_000), strict=True)),
        400,
    ),
    (  # a compression bomb: 50 KB that inflates to 50 MB, past the 16 MiB limit
        "gzip body past the limit",
        "POST",
        IRIS,
        {"content": gzip.compress(b" " * 50_000_000), "headers": {**JSON, "content-encoding": "gzip"}},
        413,
    ),
    (
        "deflate body past the limit",
        "POST",
        IRIS,
        {"content": zlib.compress(b" " * 50_000_000), "headers": {**JSON, "content-encoding": "deflate"}},
        413,
    ),
    ("unknown content encoding", "POST", IRIS, {"content": b"{}", "headers": {**JSON, "content-encoding": "br"}}, 415),
    ("not gzip data", "POST", IRIS, {"content": b"{}", "headers": {**JSON, "content-encoding": "gzip"}}, 400),
    ("body past the limit", "POST", IRIS, {"content": b"[" + b"0," * 9_000_000 + b"0]", "headers": JSON}, 413),
    (
        "wrong content type",
        "POST",
        IRIS,
        {"content": b"a=1", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        415,
    ),
    ("unknown model", "GET", "/models/nope/predict?x=1", {}, 404),
    ("unknown route", "GET", "/etc/passwd", {}, 404),
    ("wrong method", "DELETE", IRIS, {}, 405),
]


@pytest.fixture(scope="module")
def server(demo_models):
    from servers import start_server

    running = start_server(["--workers", "1"])
    yield running
    running.process.terminate()
    running.process.wait(timeout=15)
    running.process.stdout.close()


@pytest.mark.parametrize(("case", "method", "path", "request_args", "status"), CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_gets_its_status_and_the_server_lives(server, case, method, path, request_args, status):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.request(method, path, **request_args)
        assert response.status_code == status, (case, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status
        assert "Traceback" not in response.text
        assert client.get("/health/live").status_code == 200
        good = client.get("/predict?s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2")
        assert good.json() == {"predictions": ["setosa"]}
    print(f"\n{case}: {status}, server still live")
