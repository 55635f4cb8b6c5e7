"""Every error answer the server gives, made here: in the form of the route's protocol, and
logged once with the request's context.

    problem   RFC 9457 application/problem+json     dockml's own routes (problems.py)
    v2        {"error": "..."}                      the Open Inference Protocol v2
    mlflow    {"error_code": ..., "message": ...}   MLflow's scoring server (and SageMaker)

The protocol forms answer 400 where dockml answers 422 (input the model cannot take), as their
own servers do. Logged: the server's own failures (5xx) but not the refusals under load
(Overloaded, DeadlineExceeded), which the access log and the metrics count: a line each would
flood the log exactly when the server is busiest.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from dockml.errors import DeadlineExceeded, DockmlError, FieldError, MethodNotAllowed, Overloaded, Unauthorized
from dockml.http.context import RequestContext
from dockml.http.problems import MEDIA_TYPE, problem_body

log = logging.getLogger("dockml.http")

Headers = list[tuple[bytes, bytes]]
Handler = Callable[[Request], Awaitable[Response]]


class ErrorForm(enum.Enum):
    PROBLEM = "problem"
    V2 = "v2"
    MLFLOW = "mlflow"


_PROBLEM_TYPE = MEDIA_TYPE.encode()
_MLFLOW_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "RESOURCE_DOES_NOT_EXIST",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}
_HEADERS: dict[type[DockmlError], Headers] = {
    Unauthorized: [(b"www-authenticate", b'Bearer realm="dockml"')],
    Overloaded: [(b"retry-after", b"1")],
}
_HTTP_DETAILS = {
    404: "no such route; see /openapi.json or /apidocs for the routes this server offers",
    405: "method not allowed on this route",
}
INTERNAL = "internal server error; the server log has the cause"


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    status: int
    content_type: bytes
    body: bytes
    headers: Headers = field(default_factory=list)
    """Beside Content-Type and Content-Length: Allow, Retry-After, WWW-Authenticate."""

    def response(self) -> Response:
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in self.headers}
        return Response(self.body, status_code=self.status, headers=headers, media_type=self.content_type.decode())

    async def send(self, send: Send) -> None:
        length = (b"content-length", str(len(self.body)).encode())
        head = [(b"content-type", self.content_type), length, *self.headers]
        await send({"type": "http.response.start", "status": self.status, "headers": head})
        await send({"type": "http.response.body", "body": self.body})


def render(error: BaseException, context: RequestContext, form: ErrorForm) -> ErrorAnswer:
    """The answer to ``error`` (a DockmlError, Starlette's HTTPException or anything unexpected)
    in ``form``; a server-side failure is logged here, with ``context``."""
    status, detail, errors, headers = _facts(error, context)
    if form is ErrorForm.PROBLEM:
        return ErrorAnswer(status, _PROBLEM_TYPE, problem_body(status, detail, errors), headers)
    if status == HTTPStatus.UNPROCESSABLE_ENTITY:
        status = int(HTTPStatus.BAD_REQUEST)
    if form is ErrorForm.V2:
        body = orjson.dumps({"error": detail})
    else:
        body = orjson.dumps({"error_code": _MLFLOW_CODES.get(status, "BAD_REQUEST"), "message": detail})
    return ErrorAnswer(status, b"application/json", body, headers)


def _facts(error: BaseException, context: RequestContext) -> tuple[int, str, list[FieldError] | None, Headers]:
    """Status, detail, field errors and extra headers; the log line, where one is due."""
    if isinstance(error, DockmlError):
        status = int(error.status)
        if status >= 500 and not isinstance(error, Overloaded | DeadlineExceeded):
            log.error("%s: %s", context, error.detail)
        headers = next((h for kind, h in _HEADERS.items() if isinstance(error, kind)), [])
        if isinstance(error, MethodNotAllowed) and error.allowed:
            headers = [(b"allow", ", ".join(error.allowed).encode())]
        return status, error.detail, error.errors, list(headers)
    if isinstance(error, HTTPException):  # Starlette's own: no route (404), a method it does not take (405)
        status = error.status_code
        phrase = HTTPStatus(status).phrase
        detail = (error.detail if error.detail != phrase else "") or _HTTP_DETAILS.get(status, phrase)
        allowed = (error.headers or {}).get("Allow")
        if status == 405 and allowed:
            detail = f"{context.method} is not allowed on {context.path}; use {allowed}"
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (error.headers or {}).items()
        ]
        return status, detail, None, headers
    # Never a traceback to the client: the cause is logged here, the client gets a plain 500.
    log.error("unhandled error on %s", context, exc_info=error)
    return 500, INTERNAL, None, []


def answering_errors(form: ErrorForm, handler: Handler, allowed: tuple[str, ...] | None = None) -> Handler:
    """``handler``, its errors answered in ``form``; with ``allowed`` (() for any), it is reached by
    every method and answers any other with 405 (GET includes HEAD). Caught in the endpoint rather
    than by Starlette's outermost handler, which would re-raise an unexpected error to be logged again."""

    async def endpoint(request: Request) -> Response:
        try:
            method = request.method
            if allowed and method not in allowed and not (method == "HEAD" and "GET" in allowed):
                raise MethodNotAllowed(
                    f"{method} is not allowed on {request.url.path}; use {', '.join(allowed)}", allowed
                )
            return await handler(request)
        except Exception as error:  # noqa: BLE001 - the renderer answers and logs it
            return render(error, RequestContext.of(request.scope), form).response()

    return endpoint
