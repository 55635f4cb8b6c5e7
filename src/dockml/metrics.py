"""Prometheus metrics: requests and latency by model, route and status; predictions; batch
sizes; model load time.

With several workers each process writes to PROMETHEUS_MULTIPROC_DIR (set by the server
before this module is imported) and /metrics adds them up.
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from typing import ClassVar

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


FLUSH_S = 0.1
"""Under load, the predict route's counts reach /metrics at most this late."""


class PredictTally:
    """The predict route's answers of one model (200s and their latency), added up in the worker
    and written to the metrics in one go: when the worker has no request left in progress, every
    FLUSH_S under load, and before /metrics is rendered. With several workers, prometheus_client
    takes a lock and writes a memory-mapped file for each update, twice for a histogram: about 5 µs
    of a request's 40 in the app's own work (bench/hotpath.py). Other answers are counted at once."""

    tallies: ClassVar[list[PredictTally]] = []  # the worker's: one per model
    timer: ClassVar[tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None] = None

    def __init__(self, model: str) -> None:
        self.ok = REQUESTS.labels(model, "predict", "200")
        self.latency = LATENCY.labels(model, "predict")
        self.bounds = list(self.latency._upper_bounds)  # ends with +Inf
        self.counts = [0] * len(self.bounds)
        self.seconds = 0.0
        self.pending = 0
        PredictTally.tallies.append(self)

    def add(self, seconds: float) -> None:
        # The bucket observe() would pick: the first upper bound at or above the value.
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.seconds += seconds
        self.pending += 1
        loop = asyncio.get_running_loop()
        if PredictTally.timer is None or PredictTally.timer[0] is not loop:  # (a test's earlier loop)
            PredictTally.timer = (loop, loop.call_later(FLUSH_S, PredictTally._timed_flush))

    def flush(self) -> None:
        if not self.pending:
            return
        self.ok.inc(self.pending)
        for index, count in enumerate(self.counts):
            if count:
                self.latency._buckets[index].inc(count)
                self.counts[index] = 0
        self.latency._sum.inc(self.seconds)
        self.seconds = 0.0
        self.pending = 0

    @classmethod
    def flush_all(cls) -> None:
        for tally in cls.tallies:
            tally.flush()

    @classmethod
    def _timed_flush(cls) -> None:
        # The timer is left to run out rather than cancelled by an earlier flush: when requests
        # come one at a time, each flushes at its end, and a timer armed and cancelled per request
        # cost more than the flush.
        cls.timer = None
        cls.flush_all()


def render() -> tuple[bytes, str]:
    PredictTally.flush_all()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
