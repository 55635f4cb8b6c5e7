"""The edge: API key, request ids, access logs, CORS, deadlines (in process)."""

from __future__ import annotations

import json
import logging
import re

import pytest

from servers import make_client

IRIS_QUERY = "s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2"
PROTECTED = ["/predict?" + IRIS_QUERY, "/models", "/models/iris", "/openapi.json", "/apidocs", "/metrics"]


@pytest.fixture(scope="module")
def keyed(demo_models):
    with make_client([f"iris={demo_models['iris']}"], api_key="s3cret-key") as client:
        yield client


@pytest.mark.parametrize("path", PROTECTED)
def test_every_route_but_health_needs_the_key(keyed, path):
    response = keyed.get(path, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "API key" in response.json()["detail"]
    assert keyed.get(path, headers={"X-API-Key": "wrong"}, follow_redirects=False).status_code == 401


def test_post_needs_the_key_too(keyed):
    assert (
        keyed.post("/predict", json={"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}).status_code
        == 401
    )


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer s3cret-key"}, {"X-API-Key": "s3cret-key"}, {"authorization": "bearer s3cret-key"}],
)
def test_the_key_opens_every_route(keyed, headers):
    for path in PROTECTED:
        assert keyed.get(path, headers=headers, follow_redirects=False).status_code in (200, 307), path


def test_health_is_open(keyed):
    assert keyed.get("/health/live").status_code == 200
    assert keyed.get("/health/ready").status_code == 200


def test_request_id_is_returned_or_made(iris_client):
    given = iris_client.get("/predict?" + IRIS_QUERY, headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = iris_client.get("/predict?" + IRIS_QUERY)
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert iris_client.get("/nope").headers["x-request-id"]  # errors carry it too


def test_unprintable_request_id_is_replaced(iris_client):
    response = iris_client.get("/health/live", headers={"X-Request-ID": "x" * 500})
    assert response.headers["x-request-id"] != "x" * 500


def test_json_access_log_has_the_request_id(demo_models, caplog):
    with (
        make_client([f"iris={demo_models['iris']}"], access_log="json") as client,
        caplog.at_level(logging.INFO, logger="dockml.access"),
    ):
        client.get("/predict?" + IRIS_QUERY, headers={"X-Request-ID": "log-me"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "dockml.access"]
    assert {"request_id": "log-me", "method": "GET", "path": "/predict", "status": 200}.items() <= lines[-1].items()


def test_cors_is_off_by_default(iris_client):
    response = iris_client.get("/health/live", headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_configured_origins(demo_models):
    with make_client([f"iris={demo_models['iris']}"], cors_origins="https://app.example.org") as client:
        preflight = client.options(
            "/predict",
            headers={"Origin": "https://app.example.org", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.org"
        other = client.get("/health/live", headers={"Origin": "https://evil.example.org"})
        assert "access-control-allow-origin" not in other.headers


def test_request_over_the_deadline_gets_504(demo_models):
    with make_client([f"iris={demo_models['iris']}"], request_timeout_s=0.000001, runtime="sklearn") as client:
        response = client.post("/predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]] * 500})
        assert response.status_code == 504
        assert "request_timeout_s" in response.json()["detail"]
