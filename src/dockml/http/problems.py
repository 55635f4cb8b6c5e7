"""Every error as one RFC 9457 ``application/problem+json`` document."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from dockml.errors import DockmlError, FieldError

log = logging.getLogger("dockml.http")

PROBLEM_TYPE_BASE = "https://dockml.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem_body(status: int, detail: str, errors: list[FieldError] | None = None) -> bytes:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + phrase.lower().replace(" ", "-"),
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [error.to_dict() for error in errors]
    return orjson.dumps(body)


def problem(
    status: int, detail: str, errors: list[FieldError] | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(problem_body(status, detail, errors), status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def on_dockml_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DockmlError)
    if error.status >= 500:
        log.error(
            "%s %s (request %s): %s",
            request.method,
            request.url.path,
            request.scope.get("dockml.request_id"),
            error.detail,
        )
    return problem(int(error.status), error.detail, error.errors)


_HTTP_DETAILS = {
    404: "no such route; see /openapi.json or /apidocs for the routes this server offers",
    405: "method not allowed on this route",
}


async def on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    detail = error.detail if error.detail != HTTPStatus(error.status_code).phrase else ""
    detail = detail or _HTTP_DETAILS.get(error.status_code, HTTPStatus(error.status_code).phrase)
    if error.status_code == 405 and error.headers and "Allow" in error.headers:
        detail = f"{request.method} is not allowed on {request.url.path}; use {error.headers['Allow']}"
    return problem(error.status_code, detail, headers=error.headers)


async def on_unexpected_error(request: Request, error: Exception) -> Response:
    # Never a traceback to the client: the cause is logged here, the client gets a plain 500.
    log.error(
        "unhandled error on %s %s (request %s)",
        request.method,
        request.url.path,
        request.scope.get("dockml.request_id"),
        exc_info=error,
    )
    return problem(500, "internal server error; the server log has the cause")
