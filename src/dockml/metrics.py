"""Prometheus metrics: requests and latency by model, route and status; predictions; batch
sizes; model load time.

With several workers each process writes to PROMETHEUS_MULTIPROC_DIR (set by the server
before this module is imported) and /metrics adds them up.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter("dockml_requests_total", "HTTP requests answered", ["model", "route", "status"])
LATENCY = Histogram(
    "dockml_request_duration_seconds",
    "Time from request to response",
    ["model", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PREDICTIONS = Counter("dockml_predictions_total", "Rows predicted", ["model"])
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
BATCH_ROWS = Histogram(
    "dockml_batch_rows", "Rows per model call (micro-batching merges requests)", ["model"], buckets=_SIZES
)
BATCH_REQUESTS = Histogram("dockml_batch_requests", "Requests merged into one model call", ["model"], buckets=_SIZES)
LOAD_SECONDS = Gauge("dockml_model_load_seconds", "Time to load the model file", ["model"], multiprocess_mode="max")


def render() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
