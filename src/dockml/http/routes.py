"""The upload routes' endpoints: POST /predict_file (CSV) and POST /predict_image."""

from __future__ import annotations

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from dockml.codecs.csv import decode_csv, encode_csv
from dockml.config import Settings
from dockml.errors import FieldError, InvalidInput, MalformedInput, UnsupportedMediaType
from dockml.http.error_renderer import Handler
from dockml.http.fastpath import parse_proba
from dockml.http.offload import SLOW_FORMAT, decode_sized
from dockml.http.route_table import ModelEndpoint
from dockml.service import ModelService

MAX_FORM_PARTS = 16


def json_response(body: object, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status, media_type="application/json"
    )


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _upload(request: Request, what: str) -> bytes:
    if _media_type(request) != "multipart/form-data":
        raise UnsupportedMediaType(
            f"upload the {what} as multipart/form-data with a part named 'file' (got {_media_type(request) or 'none'})"
        )
    async with request.form(max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS) as form:
        uploads = [value for value in form.values() if isinstance(value, UploadFile)]
        named = form.get("file")
        chosen = named if isinstance(named, UploadFile) else (uploads[0] if len(uploads) == 1 else None)
        if chosen is None and not form:
            # The parser keeps only finished parts: none at all means a body cut short (or empty).
            raise MalformedInput(
                "the multipart body holds no complete part; it must end with its closing boundary (--BOUNDARY--)"
            )
        if chosen is None:
            raise InvalidInput(
                f"no {what} in the upload; send it in a multipart part named 'file'", [FieldError("file", "missing")]
            )
        return await chosen.read()


def _parse_flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value not in ("true", "1", "yes", "false", "0", "no"):
        raise InvalidInput(
            f"query parameter '{name}': expected true or false, got {raw!r}",
            [FieldError(name, "expected true or false")],
        )
    return value in ("true", "1", "yes")


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept.split("text/csv")[0]


def upload_endpoints(settings: Settings) -> dict[str, ModelEndpoint]:
    """The upload routes' endpoints, each made for one model. ``predict`` itself is answered by
    the fast path (fastpath.py)."""
    return {
        "predict_file": lambda service: _predict_file(service, settings),
        "predict_image": lambda service: _predict_image(service, settings),
    }


def _predict_file(service: ModelService, settings: Settings) -> Handler:
    signature, encoder = service.signature, service.encoder

    async def predict_file(request: Request) -> Response:
        request.scope["dockml.labels"] = (service.name, "predict_file")
        proba = parse_proba(request.query_params.get("proba"), service)
        data = await _upload(request, "CSV file")
        table = await decode_sized(len(data) * SLOW_FORMAT, decode_csv, data, signature, max_rows=settings.max_csv_rows)
        outputs = await service.predict(table)
        if _wants_csv(request):
            text = encode_csv(table, signature, encoder.to_columns(outputs, proba=proba))
            return Response(text, media_type="text/csv; charset=utf-8")
        return json_response(encoder.to_json(outputs, proba=proba))

    return predict_file


def _predict_image(service: ModelService, settings: Settings) -> Handler:
    # Imported here: Pillow is installed in an image only when one of its models takes pictures.
    from dockml.codecs.image import decode_image

    signature, encoder = service.signature, service.encoder

    async def predict_image(request: Request) -> Response:
        request.scope["dockml.labels"] = (service.name, "predict_image")
        proba = parse_proba(request.query_params.get("proba"), service)
        show_input = _parse_flag(request, "input")
        image = signature.image
        assert image is not None
        data = await _upload(request, "image")
        table = await decode_sized(
            len(data) * SLOW_FORMAT, decode_image, data, image, max_pixels=settings.max_image_pixels
        )
        body = encoder.to_json(await service.predict(table), proba=proba)
        if show_input:  # the picture as the model saw it, in rows of grey levels (the playground draws it)
            body["input"] = table.reshape(image.height, image.width).tolist()
        return json_response(body)

    return predict_image
