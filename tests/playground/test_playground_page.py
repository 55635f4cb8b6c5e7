"""GET / serves the playground: a static page whose every file comes from dockml (in process)."""

from __future__ import annotations

import asyncio
import re

import pytest

from dockml.http.guards import Edge
from servers import make_client


def test_root_serves_the_playground(demo_client):
    response = demo_client.get("/", follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>dockml playground</title>" in response.text


def test_every_file_the_page_loads_is_served_by_dockml(demo_client):
    page = demo_client.get("/").text
    assets = re.findall(r'(?:src|href)="([^"#]+)"', page)
    files = [a for a in assets if a.startswith("/playground/")]
    assert sorted(files) == ["/playground/app.css", "/playground/app.js", "/playground/favicon.svg"]
    kinds = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}
    for asset in files:
        served = demo_client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["content-type"].startswith(kinds[asset.rsplit(".", 1)[1]]), asset
    # The links lead to dockml's own routes; nothing points to another host.
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets


def test_the_page_allows_only_its_own_scripts(demo_client):
    response = demo_client.get("/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "<script>" not in response.text and " style=" not in response.text


def test_the_page_calls_the_per_model_routes(demo_client):
    script = demo_client.get("/playground/app.js").text
    for call in (
        'call("/models")',
        "model.endpoints.predict",
        "model.endpoints.predict_file",
        "model.endpoints.predict_image",
    ):
        assert call in script
    assert "?input=true" in script


@pytest.fixture(scope="module")
def keyed(demo_models):
    with make_client([f"iris={demo_models['iris']}"], api_key="s3cret-key") as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/playground/app.js", "/playground/app.css"])
def test_the_page_loads_without_the_key_so_it_can_ask_for_it(keyed, path):
    assert keyed.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/models", "/models/iris", "/predict", "/apidocs"])
def test_the_data_still_needs_the_key(keyed, path):
    assert keyed.get(path).status_code == 401


@pytest.mark.parametrize("path", ["/playground/../models", "/playground/..", "//", "/playgroundx", "/playground"])
def test_only_the_playground_files_are_keyless(path):
    # Raw ASGI paths, as a server may pass them on: no client normalises the dot segments here.
    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    statuses = []

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    asyncio.run(Edge(inner, api_key="s3cret-key")(scope, receive, send))
    assert statuses == [401]
