"""The Starlette application: the routes of the route table, the error handler and middleware
around a Registry."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from dockml import metrics
from dockml.config import Settings
from dockml.errors import DockmlError, NotReady
from dockml.http import route_table
from dockml.http.context import RequestContext
from dockml.http.decompress import Decompress
from dockml.http.docs import docs_endpoints, docs_files
from dockml.http.error_renderer import Handler, answering_errors, render
from dockml.http.fastpath import FastPredict
from dockml.http.guards import Edge
from dockml.http.lane import PredictLane
from dockml.http.limits import BodyLimit
from dockml.http.mlflow import invocations_endpoint, mlflow_endpoints
from dockml.http.openapi import build_openapi
from dockml.http.platform_routes import PlatformRoutes
from dockml.http.playground import playground_endpoints, playground_files
from dockml.http.route_table import ModelEndpoint, Served
from dockml.http.routes import json_response, upload_endpoints
from dockml.http.v2 import v2_endpoints
from dockml.service import Registry


def _service_endpoints(registry: Registry, openapi: bytes) -> dict[str, Handler]:
    async def live(request: Request) -> Response:
        return json_response({"status": "alive"})

    async def ready(request: Request) -> Response:
        if registry.draining:
            raise NotReady("shutting down: finishing the requests in progress")
        if not registry.ready:
            raise NotReady("models are still loading")
        return json_response({"status": "ready", "models": [s.name for s in registry]})

    async def list_models(request: Request) -> Response:
        return json_response({"models": [s.describe(route_table.endpoints(s)) for s in registry]})

    async def one_model(request: Request) -> Response:
        service = registry.get(request.path_params["name"])
        return json_response(service.describe(route_table.endpoints(service)))

    async def openapi_document(request: Request) -> Response:
        return Response(openapi, media_type="application/json")

    async def metrics_page(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return {
        "live": live,
        "ready": ready,
        "metrics": metrics_page,
        "models": list_models,
        "model": one_model,
        "openapi": openapi_document,
    }


async def on_error(request: Request, error: Exception) -> Response:
    """Starlette's handler for every error a route does not answer itself, and for its own 404
    and 405 (no such route, a method the route does not take): in the form of the path's family."""
    return render(error, RequestContext.of(request.scope), route_table.form_for(request.scope["path"])).response()


def _starlette_route(
    served: Served, endpoints: dict[str, Handler], model_endpoints: dict[str, ModelEndpoint], files: dict[str, ASGIApp]
) -> BaseRoute:
    route = served.route
    if route.mount:
        return Mount(served.path, files[route.name], name=route.name)
    handler = endpoints[route.name] if served.service is None else model_endpoints[route.name](served.service)
    # Each route answers its own errors, in its family's form (and a wrong method, where every
    # method reaches it): an unexpected error left to Starlette would be logged, then raised again
    # for the server to log a second time.
    handler = answering_errors(route.error_form, handler, route.methods if route.every_method else None)
    methods = route_table.ALL_METHODS if route.every_method else route.methods
    return Route(served.path, handler, methods=list(methods))


def create_app(registry: Registry, settings: Settings) -> ASGIApp:
    """The ASGI app serving every model in ``registry``."""
    return create_app_and_lane(registry, settings)[0]


def create_app_and_lane(registry: Registry, settings: Settings) -> tuple[ASGIApp, PredictLane]:
    """The ASGI app, and the predict lane (lane.py) that answers its plain predict requests without it."""
    openapi = orjson.dumps(build_openapi(registry, settings))
    endpoints = {
        **_service_endpoints(registry, openapi),
        **docs_endpoints(),
        **playground_endpoints(),
        **v2_endpoints(registry),
        **mlflow_endpoints(registry),
    }
    model_endpoints = {**upload_endpoints(settings), "invocations": invocations_endpoint(settings)}
    files = {**docs_files(), **playground_files()}
    # The predict routes are the fast path's, not Starlette's.
    served = [served for served in route_table.served_routes(registry) if not served.route.fast]
    routes = [_starlette_route(s, endpoints, model_endpoints, files) for s in served]

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
        metrics.Tally.flush_all()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes)],
        exception_handlers={DockmlError: on_error, HTTPException: on_error, Exception: on_error},
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
    fast = FastPredict(edge, route_table.fast_paths(registry), settings.max_body_bytes, edge)
    # Compressed bodies are inflated as they are read, by every route including the fast path.
    outer: ASGIApp = Decompress(fast, settings.max_body_bytes)
    platform = PlatformRoutes(outer, predict_route=settings.predict_route, health_route=settings.health_route)
    if platform.aliases:
        outer = platform
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        outer = CORSMiddleware(
            outer,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    return outer, PredictLane(fast, frozenset(path for _, path in platform.aliases))
