"""The Starlette application: routes, the error handler and middleware around a Registry."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from dockml import metrics
from dockml.config import Settings
from dockml.errors import DockmlError, NotReady
from dockml.http.decompress import Decompress
from dockml.http.docs import docs_routes
from dockml.http.error_renderer import on_error
from dockml.http.fastpath import FastPredict
from dockml.http.guards import Edge
from dockml.http.limits import BodyLimit
from dockml.http.mlflow import mlflow_routes
from dockml.http.openapi import build_openapi
from dockml.http.platform_routes import PlatformRoutes
from dockml.http.playground import playground_routes
from dockml.http.routes import json_response, model_routes
from dockml.http.v2 import v2_routes
from dockml.service import ROUTES, Registry

log = logging.getLogger("dockml.http")


def _service_routes(registry: Registry, openapi: bytes) -> list[BaseRoute]:
    async def live(request: Request) -> Response:
        return json_response({"status": "alive"})

    async def ready(request: Request) -> Response:
        if registry.draining:
            raise NotReady("shutting down: finishing the requests in progress")
        if not registry.ready:
            raise NotReady("models are still loading")
        return json_response({"status": "ready", "models": [s.name for s in registry]})

    async def list_models(request: Request) -> Response:
        return json_response({"models": [s.describe(f"/models/{s.name}") for s in registry]})

    async def one_model(request: Request) -> Response:
        service = registry.get(request.path_params["name"])
        return json_response(service.describe(f"/models/{service.name}"))

    async def openapi_document(request: Request) -> Response:
        return Response(openapi, media_type="application/json")

    async def metrics_page(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return [
        Route("/health/live", live, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
        Route("/models", list_models, methods=["GET"]),
        Route("/models/{name}", one_model, methods=["GET"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
    ]


def create_app(registry: Registry, settings: Settings) -> ASGIApp:
    """The ASGI app serving every model in ``registry``."""
    routes: list[BaseRoute] = []
    for route in ROUTES:
        first = registry.default_for(route)
        if first is not None:
            routes += [r for r in model_routes(first, settings, "") if r.path == f"/{route}"]
    for service in registry:
        routes += model_routes(service, settings, f"/models/{service.name}")
    openapi = orjson.dumps(build_openapi(registry, settings))
    routes += _service_routes(registry, openapi) + docs_routes() + playground_routes()
    routes += v2_routes(registry) + mlflow_routes(registry, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for service in registry:
            metrics.LOAD_SECONDS.labels(service.name).set(service.load_seconds)
        registry.warm_up()
        # Everything loaded so far lives as long as the server: keep it out of the garbage
        # collector's full passes, which otherwise stall requests for milliseconds.
        gc.collect()
        gc.freeze()
        yield

    predict_paths = {f"/models/{service.name}/predict": service for service in registry}
    default = registry.default_for("predict")
    if default is not None:
        predict_paths["/predict"] = default
    app = Starlette(
        routes=routes,
        middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes)],
        exception_handlers={
            DockmlError: on_error,
            HTTPException: on_error,
            Exception: on_error,
        },
        lifespan=lifespan,
    )
    edge = Edge(
        app,
        api_key=settings.api_key,
        max_in_flight=settings.max_in_flight,
        request_timeout_s=settings.request_timeout_s,
        access_log_format=settings.access_log,
    )
    # The edge (guards.py) wraps every route; the predict fast path, outermost, runs its steps inline.
    outer: ASGIApp = FastPredict(edge, predict_paths, settings.max_body_bytes, edge)
    # Compressed bodies are inflated as they are read, by every route including the fast path.
    outer = Decompress(outer, settings.max_body_bytes)
    if settings.predict_route or settings.health_route:
        outer = PlatformRoutes(outer, predict_route=settings.predict_route, health_route=settings.health_route)
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        outer = CORSMiddleware(
            outer,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    return outer
