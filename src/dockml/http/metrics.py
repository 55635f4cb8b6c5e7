"""Prometheus metrics: requests and latency by model, route and status; predictions; load time.

With several workers each process writes to PROMETHEUS_MULTIPROC_DIR (set by the server
before the workers start) and /metrics adds them up.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("dockml_requests_total", "HTTP requests answered", ["model", "route", "status"])
LATENCY = Histogram(
    "dockml_request_duration_seconds",
    "Time from request to response",
    ["model", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PREDICTIONS = Counter("dockml_predictions_total", "Rows predicted", ["model"])
LOAD_SECONDS = Gauge("dockml_model_load_seconds", "Time to load the model file", ["model"], multiprocess_mode="max")


def render() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class RequestMetrics:
    """Counts and times every HTTP request. Routes label themselves in ``scope["dockml.labels"]``."""

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
