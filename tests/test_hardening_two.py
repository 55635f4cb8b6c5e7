"""Hardening, round two, against real server processes: the work and the answer a request can
cost are bounded, logs cannot be forged. Each bound's test prints its figure."""

from __future__ import annotations

import time

import httpx
import orjson

IRIS = "s_length,s_width,p_length,p_width"


def test_a_million_bad_records_get_a_short_answer(server_factory, demo_models):
    """3 MB of empty records once made a 484 MB answer and +2 GB in the worker."""
    server = server_factory([str(demo_models["iris"]), "--workers", "1"])
    body = b"[" + b",".join([b"{}"] * 1_000_000) + b"]"
    started = time.perf_counter()
    response = httpx.post(
        f"{server.url}/predict", content=body, headers={"content-type": "application/json"}, timeout=60
    )
    elapsed = time.perf_counter() - started
    print(f"\n{len(body) / 1e6:.1f} MB of empty records: {len(response.content)} bytes answered in {elapsed:.2f} s")
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == 20
    assert problem["detail"].startswith("4000000 invalid fields (the first 20 listed): record 0: missing feature")
    assert len(response.content) < 10_000
    assert httpx.get(f"{server.url}/health/live").status_code == 200


def test_a_csv_header_of_a_million_columns_gets_a_short_answer(server_factory, demo_models):
    """A header of 10 M unknown columns once made a 910 MB answer."""
    server = server_factory([str(demo_models["iris"]), "--workers", "1"])
    header = IRIS + "," + ",".join(f"c{i}" for i in range(1_000_000))
    response = httpx.post(
        f"{server.url}/predict_file", files={"file": ("wide.csv", (header + "\n").encode())}, timeout=60
    )
    print(f"\n{len(header) / 1e6:.1f} MB header: {len(response.content)} bytes answered")
    assert response.status_code == 422
    assert len(orjson.loads(response.content)["errors"]) == 20
    assert len(response.content) < 10_000


def test_a_newline_in_the_path_cannot_forge_an_access_log_line(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"]), "--workers", "1", "--access-log", "text"])
    httpx.get(f"{server.url}/predict%0AINFO:%20forged%20line?s_length=1")
    output = server.output()
    logged = [line for line in output.splitlines() if "forged" in line]
    assert len(logged) == 1, output
    assert "/predict\\x0aINFO: forged line" in logged[0]


OPEN_UNDER_A_KEY = ["/health/live", "/health/ready", "/ping", "/v2/health/live", "/v2/health/ready", "/"]
PROTECTED = ["/models", "/models/iris", "/openapi.json", "/apidocs", "/metrics", "/v2", "/v2/models/iris"]


def test_exactly_the_documented_routes_are_open_under_an_api_key(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"]), "--workers", "1"], env={"DOCKML_API_KEY": "k3y"})
    for path in OPEN_UNDER_A_KEY:
        assert httpx.get(server.url + path).status_code == 200, path
    playground_file = httpx.get(server.url + "/playground/app.js")
    assert playground_file.status_code == 200
    for path in [*PROTECTED, "/predict?s_length=1&s_width=1&p_length=1&p_width=1"]:
        assert httpx.get(server.url + path).status_code == 401, path
        assert httpx.get(server.url + path, headers={"x-api-key": "k3y"}).status_code == 200, path
    assert httpx.post(server.url + "/invocations", json={"instances": [[1, 1, 1, 1]]}).status_code == 401
