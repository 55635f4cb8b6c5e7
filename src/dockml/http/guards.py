"""The edge of the server, in plain ASGI so it also covers the predict fast path. For every
request, in this order:

    request id     X-Request-ID accepted (if sane) or made, returned in the response
    API key        optional (Bearer or X-API-Key), compared in constant time; 401 otherwise
    admission      a bounded number of requests in progress; beyond, a fast 503 + Retry-After
    deadline       a request still running after request_timeout_s is cancelled: 504
    access log     one line per request (off, text or JSON), with its id, and its metrics

One layer rather than one middleware each: every ASGI layer costs a coroutine and a send
wrapper per request, and on the predict path five of them cost as much as the model.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockml import metrics
from dockml.errors import DeadlineExceeded, DockmlError, Overloaded, Unauthorized
from dockml.http.context import RequestContext, printable
from dockml.http.error_renderer import render
from dockml.http.route_table import KEYLESS_PATHS, KEYLESS_PREFIXES, OPEN_PATHS, form_for

access_log = logging.getLogger("dockml.access")
KEY_ADVICE = "missing or wrong API key; send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"


async def reject(send: Send, scope: Scope, error: DockmlError) -> None:
    """Answer ``error`` before the request reaches its route, in the route's error form."""
    await render(error, RequestContext.of(scope), form_for(scope["path"])).send(send)


def keyless(path: str) -> bool:
    """Paths open without the API key (route_table.py): the health checks and the playground's files."""
    return path in KEYLESS_PATHS or (path.startswith(KEYLESS_PREFIXES) and ".." not in path)


WAITED = "dockml.waited_s"
"""Scope key set by the connection (connections.py): how long the request waited for its
connection's turn, when that was longer than allowed; such a request is refused with 503."""


class Cancellable(Protocol):
    """A request in progress as the deadline sees it: its task, or a request of the predict lane (lane.py)."""

    def cancel(self) -> Any: ...


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str = "",
        max_in_flight: int = 256,
        request_timeout_s: float = 30.0,
        access_log_format: str = "off",
    ) -> None:
        self.app = app
        self.key = api_key.encode()
        self.limit = max_in_flight
        self.seconds = request_timeout_s
        self.log_format = access_log_format  # "off", "text" or "json"
        self.in_progress = 0
        # Ids unique across workers and restarts without a random draw per request.
        self.prefix = os.urandom(12).hex()
        self.issued = 0
        # The deadline: one watchdog checks the requests in progress a few times per deadline,
        # instead of a timer per request.
        self.due: dict[Cancellable, float] = {}
        self.expired: set[Cancellable] = set()
        self.watchdog: asyncio.Task[None] | None = None

    # The steps, used here for every route and by the predict fast path, which runs them inline
    # (fastpath.py): there, even one more send wrapper per request shows in the benchmark.

    def identify(self, scope: Scope) -> tuple[tuple[bytes, bytes], bytes, bytes, bytes]:
        """The X-Request-ID header to answer with (the client's, if sane), the key the client
        sent, and its Content-Type and Content-Length: one pass over the headers for all."""
        request_id = given_key = content_type = content_length = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                content_length = value
            elif name == b"x-request-id":
                if 0 < len(value) <= 128 and value.decode("latin-1").isprintable():
                    request_id = value
            elif name == b"x-api-key":
                given_key = value
            elif name == b"authorization" and value[:7].lower() == b"bearer ":
                given_key = value[7:].strip()
        if not request_id:
            self.issued += 1
            request_id = f"{self.prefix}{self.issued:08x}".encode()
        scope["dockml.request_id"] = request_id.decode("latin-1")
        return (b"x-request-id", request_id), given_key, content_type, content_length

    def refusal(self, scope: Scope, given_key: bytes) -> DockmlError | None:
        """Why this request is not let in, or None."""
        path = scope["path"]
        # Constant time, so the answer's timing tells nothing about how much of a guess was right.
        if self.key and not keyless(path) and not hmac.compare_digest(given_key, self.key):
            return Unauthorized(KEY_ADVICE)
        if WAITED in scope and path not in OPEN_PATHS:
            return Overloaded(
                f"the server is busy: this request waited {scope[WAITED] * 1000:.0f} ms for its turn; retry shortly"
            )
        if self.in_progress >= self.limit and path not in OPEN_PATHS:
            return Overloaded(f"the server is at capacity ({self.limit} requests in progress); retry shortly")
        return None

    def enter(self, task: Cancellable) -> None:
        if self.watchdog is None or self.watchdog.done():
            self.watchdog = asyncio.get_running_loop().create_task(self._watch())
        self.in_progress += 1
        self.due[task] = time.monotonic() + self.seconds

    def leave(self, task: Cancellable) -> None:
        self.in_progress -= 1
        self.due.pop(task, None)
        self.expired.discard(task)

    def timed_out(self, task: asyncio.Task[Any]) -> bool:
        """After a CancelledError: was it the deadline? (Then the cancel is taken back.)"""
        if task not in self.expired:
            return False
        task.uncancel()
        return True

    def deadline(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"the request took longer than {self.seconds:g} s (request_timeout_s)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        id_header, given_key, _, _ = self.identify(scope)
        started = time.perf_counter()
        status = 0

        async def marked_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), id_header]
            await send(message)

        try:
            refused = self.refusal(scope, given_key)
            if refused is not None:
                await reject(marked_send, scope, refused)
            elif scope["path"] in OPEN_PATHS:  # health checks: always admitted, never timed out (route_table.py)
                await self.app(scope, receive, marked_send)
            else:
                task = asyncio.current_task()
                assert task is not None
                self.enter(task)
                try:
                    await self.app(scope, receive, marked_send)
                except asyncio.CancelledError:
                    if not self.timed_out(task):
                        raise
                    if not status:
                        await reject(marked_send, scope, self.deadline())
                finally:
                    self.leave(task)
        finally:
            elapsed = time.perf_counter() - started
            # Model routes label themselves (model, route) in the scope, the others by their path
            # template (a bounded set: "/models/{name}", never a raw path); the fast path counts its own.
            model, route = scope.get("dockml.labels") or ("", getattr(scope.get("route"), "path", "unmatched"))
            metrics.REQUESTS.labels(model, route, str(status or 500)).inc()
            metrics.LATENCY.labels(model, route).observe(elapsed)
            if self.log_format != "off":
                self.log(scope, status or 500, elapsed)

    async def _watch(self) -> None:
        period = min(1.0, max(self.seconds / 4, 0.001))
        while self.due:
            await asyncio.sleep(period)
            now = time.monotonic()
            for task, due in list(self.due.items()):
                if now >= due and task not in self.expired:
                    self.expired.add(task)
                    task.cancel()

    def log(self, scope: Scope, status: int, seconds: float) -> None:
        request_id = scope.get("dockml.request_id", "")
        client = scope.get("client") or ("-", 0)
        if self.log_format == "json":
            line = {
                "request_id": request_id,
                "client": client[0],
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            }
            access_log.info(json.dumps(line))
        else:
            access_log.info(
                '%s "%s %s" %d %.1fms id=%s',
                client[0],
                scope["method"],
                printable(scope["path"]),  # a decoded %0A would otherwise start a forged line
                status,
                seconds * 1000,
                printable(request_id),
            )
