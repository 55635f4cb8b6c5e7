"""Hardening, round two: the work and the answer a request can cost are bounded, against a real
server process. Each test prints its figure."""

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
