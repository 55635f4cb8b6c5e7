"""MLflow's scoring routes, so clients written for ``mlflow models serve`` work unchanged.

    POST /invocations, /models/NAME/invocations   JSON (codecs/mlflow.py) or text/csv -> {"predictions": [...]}
    GET  /ping, /health                           200 once the models are ready, else 503

/invocations serves the model /predict serves. Errors take MLflow's form,
{"error_code": "BAD_REQUEST", "message": "..."}; a request the model cannot take is 400, as there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dockml.codecs.csv import decode_csv
from dockml.codecs.mlflow import decode_invocation
from dockml.config import Settings
from dockml.errors import DockmlError, UnsupportedMediaType
from dockml.http.fastpath import parse_json_body
from dockml.service import ModelService, Registry

log = logging.getLogger("dockml.http")

_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "RESOURCE_DOES_NOT_EXIST",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}


def error_body(status: int, message: str) -> bytes:
    return orjson.dumps({"error_code": _ERROR_CODES.get(status, "BAD_REQUEST"), "message": message})


def protocol_status(status: int) -> int:
    # MLflow answers 400 for input the model cannot take; dockml's 422 is that case.
    return HTTPStatus.BAD_REQUEST if status == HTTPStatus.UNPROCESSABLE_ENTITY else status


def error_response(status: int, message: str) -> Response:
    return Response(error_body(status, message), status_code=status, media_type="application/json")


def _content_type(request: Request) -> str:
    """The media type; like MLflow, only UTF-8 text is taken."""
    media_type, *parameters = (part.strip().lower() for part in request.headers.get("content-type", "").split(";"))
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key == "charset" and value.strip('"') not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"only UTF-8 bodies are accepted, got charset {value}")
    return media_type


def mlflow_routes(registry: Registry, settings: Settings) -> list[BaseRoute]:
    def invocations(service: ModelService) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            request.scope["dockml.labels"] = (service.name, "invocations")
            try:
                media_type = _content_type(request)
                if media_type == "text/csv":
                    table = decode_csv(await request.body(), service.signature, max_rows=settings.max_csv_rows)
                elif media_type == "application/json":
                    table = decode_invocation(parse_json_body(await request.body()), service.signature)
                else:
                    raise UnsupportedMediaType(
                        f"send application/json or text/csv (got {media_type or 'no Content-Type'})"
                    )
                outputs = await service.predict(table)
            except DockmlError as error:
                if error.status >= 500:
                    log.error("POST %s: %s", request.url.path, error.detail)
                return error_response(protocol_status(int(error.status)), error.detail)
            except Exception:
                log.exception("unhandled error on POST %s", request.url.path)
                return error_response(500, "internal server error; the server log has the cause")
            body = orjson.dumps({"predictions": service.encoder.labels(outputs)}, option=orjson.OPT_SERIALIZE_NUMPY)
            return Response(body, media_type="application/json")

        return endpoint

    async def ping(request: Request) -> Response:
        # MLflow answers a bare newline, labelled JSON.
        return Response("\n", status_code=200 if registry.ready else 503, media_type="application/json")

    routes: list[BaseRoute] = [Route("/ping", ping, methods=["GET"]), Route("/health", ping, methods=["GET"])]
    default = registry.default_for("predict")
    if default is not None:
        routes.append(Route("/invocations", invocations(default), methods=["POST"]))
    for service in registry:
        routes.append(Route(f"/models/{service.name}/invocations", invocations(service), methods=["POST"]))
    return routes
