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
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response

from dockml import __version__
from dockml.codecs.mlflow import decode_invocation, decode_invocation_csv, decode_invocation_parquet
from dockml.config import Settings
from dockml.errors import UnsupportedMediaType
from dockml.http.error_renderer import Handler
from dockml.http.fastpath import parse_json_body
from dockml.http.offload import SLOW_FORMAT, decode_sized
from dockml.http.route_table import ModelEndpoint
from dockml.service import ModelService, Registry
from dockml.signature import Signature

PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet")


def _content_type(request: Request) -> str:
    """The media type; like MLflow, only UTF-8 text is taken."""
    media_type, *parameters = (part.strip().lower() for part in request.headers.get("content-type", "").split(";"))
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key == "charset" and value.strip('"') not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"only UTF-8 bodies are accepted, got charset {value}")
    return media_type


def invocations_endpoint(settings: Settings) -> ModelEndpoint:
    """The invocations endpoint, made for one model."""

    def invocations(service: ModelService) -> Handler:
        async def endpoint(request: Request) -> Response:
            request.scope["dockml.labels"] = (service.name, "invocations")
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
            predictions = service.encoder.labels(outputs)
            if _wants_csv(request):
                return Response(_csv_lines(predictions), media_type="text/csv; charset=utf-8")
            body = orjson.dumps({"predictions": predictions}, option=orjson.OPT_SERIALIZE_NUMPY)
            return Response(body, media_type="application/json")

        return endpoint

    return invocations


def mlflow_endpoints(registry: Registry) -> dict[str, Handler]:
    """The endpoints of the routes every model shares, by name (route_table.py gives their paths)."""

    async def ping(request: Request) -> Response:
        # MLflow answers a bare newline, labelled JSON.
        return Response("\n", status_code=200 if registry.ready else 503, media_type="application/json")

    async def model_ping(request: Request) -> Response:
        service = registry.get(request.path_params["name"])
        ready = registry.ready or service.warmed
        return Response("\n", status_code=200 if ready else 503, media_type="application/json")

    async def version(request: Request) -> Response:
        return Response(__version__, media_type="text/plain; charset=utf-8")

    return {"ping": ping, "version": version, "model_ping": model_ping}


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
