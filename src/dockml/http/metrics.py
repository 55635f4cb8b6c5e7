"""Counting and timing every HTTP request. Routes label themselves in ``scope["dockml.labels"]``."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockml.metrics import LATENCY, REQUESTS


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            model, route = scope.get("dockml.labels", ("", "unmatched"))
            REQUESTS.labels(model, route, str(status)).inc()
            LATENCY.labels(model, route).observe(time.perf_counter() - started)
