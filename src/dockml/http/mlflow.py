"""MLflow's scoring routes, so clients written for ``mlflow models serve`` (and SageMaker, which
calls the same two routes) work unchanged.

    POST /invocations, /models/NAME/invocations   JSON, CSV or Parquet (codecs/mlflow.py) -> {"predictions": [...]}
                                                  (Accept: text/csv: one prediction per line, as SageMaker's
                                                  own containers answer)
    GET  /ping, /health, /models/NAME/ping        200 once the model is ready, else 503
    GET  /version                                 dockml's version, as text

/invocations serves the model /predict serves. Errors take MLflow's form,
{"error_code": "BAD_REQUEST", "message": "..."}; a request the model cannot take is 400, as there.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from typing import Any

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dockml import __version__
from dockml.codecs.mlflow import decode_invocation, decode_invocation_csv, decode_invocation_parquet
from dockml.config import Settings
from dockml.errors import DockmlError, ModelNotFound, UnsupportedMediaType
from dockml.http.fastpath import parse_json_body
from dockml.http.offload import SLOW_FORMAT, decode_sized
from dockml.service import ModelService, Registry
from dockml.signature import Signature

PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet")

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
                signature, rows = service.signature, settings.max_csv_rows
                if media_type == "text/csv":
                    body = await request.body()
                    table = await decode_sized(
                        len(body) * SLOW_FORMAT, decode_invocation_csv, body, signature, max_rows=rows
                    )
                elif media_type == "application/json":
                    body = await request.body()
                    table = await decode_sized(len(body), _decode_json, body, signature)
                elif media_type in PARQUET_TYPES:
                    body = await request.body()
                    table = await decode_sized(len(body), decode_invocation_parquet, body, signature, max_rows=rows)
                else:
                    raise UnsupportedMediaType(
                        f"send application/json, text/csv or {PARQUET_TYPES[0]} (got {media_type or 'no Content-Type'})"
                    )
                outputs = await service.predict(table)
            except DockmlError as error:
                if error.status >= 500:
                    log.error("POST %s: %s", request.url.path, error.detail)
                return error_response(protocol_status(int(error.status)), error.detail)
            except Exception:
                log.exception("unhandled error on POST %s", request.url.path)
                return error_response(500, "internal server error; the server log has the cause")
            predictions = service.encoder.labels(outputs)
            if _wants_csv(request):
                return Response(_csv_lines(predictions), media_type="text/csv; charset=utf-8")
            body = orjson.dumps({"predictions": predictions}, option=orjson.OPT_SERIALIZE_NUMPY)
            return Response(body, media_type="application/json")

        return endpoint

    async def ping(request: Request) -> Response:
        # MLflow answers a bare newline, labelled JSON.
        return Response("\n", status_code=200 if registry.ready else 503, media_type="application/json")

    async def model_ping(request: Request) -> Response:
        try:
            service = registry.get(request.path_params["name"])
        except ModelNotFound as error:
            return error_response(404, error.detail)
        ready = registry.ready or service.warmed
        return Response("\n", status_code=200 if ready else 503, media_type="application/json")

    async def version(request: Request) -> Response:
        return Response(__version__, media_type="text/plain; charset=utf-8")

    routes: list[BaseRoute] = [
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/models/{name}/ping", model_ping, methods=["GET"]),
    ]
    default = registry.default_for("predict")
    if default is not None:
        routes.append(Route("/invocations", invocations(default), methods=["POST"]))
    for service in registry:
        routes.append(Route(f"/models/{service.name}/invocations", invocations(service), methods=["POST"]))
    return routes


def _decode_json(body: bytes, signature: Signature) -> np.ndarray:
    return decode_invocation(parse_json_body(body, signature), signature)


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "text/csv" in accept and "application/json" not in accept.split("text/csv")[0]


def _csv_lines(predictions: Iterable[Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for prediction in predictions:
        writer.writerow(prediction if isinstance(prediction, list) else [prediction])
    return out.getvalue()
