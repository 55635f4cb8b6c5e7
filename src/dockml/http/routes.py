"""The prediction routes of one model: GET/POST /predict, POST /predict_file, POST /predict_image."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np
import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockml.codecs.csv import decode_csv, encode_csv
from dockml.codecs.image import decode_image
from dockml.codecs.records import decode_json, decode_query
from dockml.config import Settings
from dockml.errors import FieldError, InvalidInput, MalformedInput, UnsupportedMediaType
from dockml.metrics import PREDICTIONS
from dockml.service import ModelService

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_FORM_PARTS = 16
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


def json_response(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status, media_type="application/json")


def wants_proba(request: Request, service: ModelService) -> bool:
    raw = request.query_params.get("proba")
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE or value in _FALSE:
        proba = value in _TRUE
    else:
        raise InvalidInput(f"query parameter 'proba': expected true or false, got {raw!r}", [FieldError("proba", "expected true or false")])
    if proba and service.loaded.info.get("probabilities") is False:
        raise InvalidInput(f"model '{service.name}' does not give class probabilities", [FieldError("proba", "not available")])
    return proba


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _json_body(request: Request) -> object:
    media_type = _media_type(request)
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the rows as JSON with Content-Type: application/json (got {media_type or 'none'}); "
            "upload CSV files to predict_file"
        )
    body = await request.body()
    if not body.strip():
        raise MalformedInput("the request body is empty; send JSON rows")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedInput(f"the body is not valid JSON: {error}") from None


async def _upload(request: Request, what: str) -> bytes:
    if _media_type(request) != "multipart/form-data":
        raise UnsupportedMediaType(
            f"upload the {what} as multipart/form-data with a part named 'file' (got {_media_type(request) or 'none'})"
        )
    async with request.form(max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS) as form:
        uploads = [value for value in form.values() if isinstance(value, UploadFile)]
        chosen = form.get("file") if isinstance(form.get("file"), UploadFile) else (uploads[0] if len(uploads) == 1 else None)
        if chosen is None:
            raise InvalidInput(f"no {what} in the upload; send it in a multipart part named 'file'", [FieldError("file", "missing")])
        return await chosen.read()


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept.split("text/csv")[0]


def model_routes(service: ModelService, settings: Settings, prefix: str) -> list[Route]:
    """The routes of one model under ``prefix`` ("" for the root, or "/models/NAME")."""
    signature = service.signature
    encoder = service.encoder
    name = service.name

    def label(request: Request, route: str) -> None:
        request.scope["dockml.labels"] = (name, route)

    async def answer(table: np.ndarray, proba: bool) -> Response:
        outputs = await service.predict(table)
        PREDICTIONS.labels(name).inc(len(table))
        return json_response(encoder.to_json(outputs, proba=proba))

    async def predict(request: Request) -> Response:
        label(request, "predict")
        proba = wants_proba(request, service)
        if request.method == "GET":
            params = [(k, v) for k, v in request.query_params.multi_items() if not (k == "proba" and k not in signature.names)]
            return await answer(decode_query(params, signature), proba)
        return await answer(decode_json(await _json_body(request), signature), proba)

    async def predict_file(request: Request) -> Response:
        label(request, "predict_file")
        proba = wants_proba(request, service)
        table = decode_csv(await _upload(request, "CSV file"), signature, max_rows=settings.max_csv_rows)
        outputs = await service.predict(table)
        PREDICTIONS.labels(name).inc(len(table))
        if _wants_csv(request):
            text = encode_csv(table, signature, encoder.to_columns(outputs, proba=proba))
            return Response(text, media_type="text/csv; charset=utf-8")
        return json_response(encoder.to_json(outputs, proba=proba))

    async def predict_image(request: Request) -> Response:
        label(request, "predict_image")
        proba = wants_proba(request, service)
        assert signature.image is not None
        table = decode_image(await _upload(request, "image"), signature.image, max_pixels=settings.max_image_pixels)
        return await answer(table, proba)

    routes = [
        Route(f"{prefix}/predict", predict, methods=["GET", "POST"]),
        Route(f"{prefix}/predict_file", predict_file, methods=["POST"]),
    ]
    if signature.image is not None:
        routes.append(Route(f"{prefix}/predict_image", predict_image, methods=["POST"]))
    return routes
