"""Swagger UI at /apidocs, every asset it loads served by dockml itself (no CDN)."""

from __future__ import annotations

import re


def test_apidocs_page_loads_only_local_assets(demo_client):
    response = demo_client.get("/apidocs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert len(assets) >= 5
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by dockml"
        served = demo_client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 0


def test_swagger_ui_is_a_version_that_reads_openapi_3_1(demo_client):
    bundle = demo_client.get("/apidocs/static/swagger-ui-bundle.js").text
    assert re.search(r'"5\.\d+\.\d+"', bundle)


def test_init_script_points_at_the_document(demo_client):
    assert 'url: "/openapi.json"' in demo_client.get("/apidocs/init.js").text


def test_docs_leads_to_apidocs(demo_client):
    response = demo_client.get("/docs", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/apidocs"
