"""The route table: every route the app serves is declared there once, and what is derived from
it (Starlette's routes, the fast path, the guards' sets, the error forms, the OpenAPI paths)
agrees with what the server does."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from dockml.config import load_settings
from dockml.http import create_app, route_table
from dockml.http.error_renderer import ErrorForm
from dockml.http.fastpath import FastPredict
from dockml.http.route_table import ROUTES, Family
from dockml.service import load_registry

SETOSA = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture(scope="module")
def served(demo_models):
    settings = load_settings(
        config_file=None,
        model_arguments=[f"iris={demo_models['iris']}", f"digits={demo_models['digits']}"],
        flags={"workers": 1},
        environ={},
    )
    registry = load_registry(settings)
    app = create_app(registry, settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield registry, settings, app, client


def _layers(app):
    while app is not None:
        yield app
        app = getattr(app, "app", None)


def test_every_route_the_app_serves_is_in_the_table(served):
    registry, _, app, _ = served
    starlette = next(layer for layer in _layers(app) if isinstance(layer, Starlette))
    fast = next(layer for layer in _layers(app) if isinstance(layer, FastPredict))
    expected = {s.path for s in route_table.served_routes(registry)}
    answered = {route.path for route in starlette.routes} | set(fast.routes)
    assert answered == expected
    assert set(fast.routes) == {"/predict", "/models/iris/predict", "/models/digits/predict"}
    mounts = {route.path for route in starlette.routes if isinstance(route, Mount)}
    assert mounts == {route.path for route in ROUTES if route.mount}


def test_each_path_is_declared_once():
    paths = [route.path for route in ROUTES]
    assert len(paths) == len(set(paths))


def test_the_guards_sets_come_from_the_table():
    assert {
        "/health/live",
        "/health/ready",
        "/v2/health/live",
        "/v2/health/ready",
        "/ping",
        "/health",
        "/version",
    } == route_table.OPEN_PATHS
    assert route_table.OPEN_PATHS | {"/"} == route_table.KEYLESS_PATHS
    assert route_table.KEYLESS_PREFIXES == ("/playground/",)


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.mount], ids=lambda route: route.path)
def test_each_family_has_its_error_form(route):
    path = route.path.replace("{name}", "nope").replace("{version}", "1").replace("{rest:path}", "x/y")
    expected = {
        Family.V2: ErrorForm.V2,
        Family.MLFLOW: ErrorForm.MLFLOW,
        Family.PLATFORM: ErrorForm.MLFLOW,
    }.get(route.family, ErrorForm.PROBLEM)
    assert route_table.form_for(path) is expected


@pytest.mark.parametrize(
    ("method", "path", "content_type", "keys"),
    [
        ("POST", "/models/nope/predict", "application/problem+json", {"type", "title", "status", "detail"}),
        ("GET", "/models/nope", "application/problem+json", {"type", "title", "status", "detail"}),
        ("POST", "/v2/models/nope/infer", "application/json", {"error"}),
        ("GET", "/v2/models/nope", "application/json", {"error"}),
        ("POST", "/models/nope/invocations", "application/json", {"error_code", "message"}),
        ("GET", "/models/nope/ping", "application/json", {"error_code", "message"}),
    ],
)
def test_an_unknown_model_gets_the_error_body_of_the_route_family(served, method, path, content_type, keys):
    _, _, _, client = served
    body = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [SETOSA]}]}
    response = client.request(method, path, json=body if method == "POST" else None)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == content_type
    assert set(response.json()) == keys
    assert response.headers["x-request-id"]


def test_the_openapi_document_lists_exactly_the_documented_paths(served):
    registry, settings, _, client = served
    document = client.get("/openapi.json").json()
    assert list(document["paths"]) == [s.path for s in route_table.documented_paths(registry, settings)]


def test_a_models_endpoints_are_its_dockml_routes(served):
    _, _, _, client = served
    assert client.get("/models/digits").json()["endpoints"] == {
        "predict": "/models/digits/predict",
        "predict_file": "/models/digits/predict_file",
        "predict_image": "/models/digits/predict_image",
    }
    assert set(client.get("/models/iris").json()["endpoints"]) == {"predict", "predict_file"}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.every_method and r.methods], ids=lambda r: r.path)
def test_a_wrong_method_on_a_protocol_route_is_answered_in_its_form_with_allow(served, route):
    _, _, _, client = served
    path = route.path.replace("{name}", "iris").replace("{version}", "1")
    response = client.request("DELETE", path)
    assert response.status_code == 405
    assert response.headers["allow"] == ", ".join(route.methods)
    assert set(response.json()) == {"error"}
