"""The edge of the server, in plain ASGI so it also covers the predict fast path:

    RequestContext   request id (X-Request-ID accepted or made), access log line
     └ ApiKey        optional key (Bearer or X-API-Key), compared in constant time
        └ Admission  a bounded number of requests in progress, else a fast 503 + Retry-After
           └ Deadline  a per-request time limit, else 504
              └ the app (FastPredict, then Starlette)
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockml.http.problems import MEDIA_TYPE, problem_body

access_log = logging.getLogger("dockml.access")
OPEN_PATHS = ("/health/live", "/health/ready", "/v2/health/live", "/v2/health/ready", "/ping")
# The playground's page and files hold no data, and a browser cannot send a key to open a page:
# they load without it so the page can ask for the key, which every call it makes then sends.
KEYLESS_PAGES = ("/",)
KEYLESS_PREFIX = "/playground/"


async def send_problem(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    body = problem_body(status, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContext:
    """Gives every request an id (the client's X-Request-ID if it is sane), returns it in the
    response, and writes one access log line per request: text, or JSON when ``json_logs``."""

    def __init__(self, app: ASGIApp, *, access_log_format: str) -> None:
        self.app = app
        self.format = access_log_format  # "off", "text" or "json"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if 0 < len(candidate) <= 128 and candidate.isprintable():
                    request_id = candidate
        request_id = request_id or uuid.uuid4().hex
        scope["dockml.request_id"] = request_id
        header = (b"x-request-id", request_id.encode("latin-1"))
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.format != "off":
                self._log(scope, request_id, status or 500, time.perf_counter() - started)

    def _log(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        client = scope.get("client") or ("-", 0)
        if self.format == "json":
            access_log.info(
                json.dumps(
                    {
                        "request_id": request_id,
                        "client": client[0],
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                    }
                )
            )
        else:
            access_log.info(
                '%s "%s %s" %d %.1fms id=%s', client[0], scope["method"], scope["path"], status, seconds * 1000, request_id
            )


class ApiKey:
    """401 on every route but the health checks and the playground's files unless the request carries the key."""

    def __init__(self, app: ASGIApp, *, key: str) -> None:
        self.app = app
        self.key = key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or _keyless(scope["path"]):
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                given = value
            elif name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        # Constant time, so the answer's timing tells nothing about how much of a guess was right.
        if not hmac.compare_digest(given, self.key):
            await send_problem(
                send,
                401,
                "missing or wrong API key; send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                [(b"www-authenticate", b'Bearer realm="dockml"')],
            )
            return
        await self.app(scope, receive, send)


def _keyless(path: str) -> bool:
    return path in KEYLESS_PAGES or (path.startswith(KEYLESS_PREFIX) and ".." not in path)


class Admission:
    """At most ``limit`` requests in progress in this worker; beyond, 503 at once (the client
    should retry after a second), so the queue never grows and admitted requests keep their
    latency. Health checks are always admitted."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            await send_problem(
                send, 503, f"the server is at capacity ({self.limit} requests in progress); retry shortly",
                [(b"retry-after", b"1")],
            )
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1


class Deadline:
    """A request that takes longer than ``seconds`` is cancelled and answered 504."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not started:
                await send_problem(send, 504, f"the request took longer than {self.seconds:g} s (request_timeout_s)")
