"""Prometheus metrics: requests and latency by model, route and status; predictions; batch
sizes; model load time. What every request updates is tallied (Tally) and written in one go.

With several workers each process writes to PROMETHEUS_MULTIPROC_DIR (set by the server
before this module is imported) and /metrics adds them up.
"""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
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
"""A tally's updates reach /metrics at most this late (the predict route's 200s sooner, see PredictTally)."""


class Tally(ABC):
    """Updates to one labelled metric, added up in the worker and written to prometheus_client in
    one go (flush): FLUSH_S after the first pending update, and before /metrics is rendered. With
    several workers, prometheus_client takes a lock and writes a memory-mapped file for each
    update, twice for a histogram: about 2 µs each, on a request's way out. Tallies are used from
    the event loop's thread only."""

    every: ClassVar[list[Tally]] = []  # the worker's
    timer: ClassVar[tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None] = None

    def __init__(self) -> None:
        self.pending = 0
        Tally.every.append(self)

    def _added(self) -> None:
        self.pending += 1
        loop = asyncio.get_running_loop()
        if Tally.timer is None or Tally.timer[0] is not loop:  # (a test's earlier loop)
            Tally.timer = (loop, loop.call_later(FLUSH_S, Tally._timed_flush))

    @abstractmethod
    def flush(self) -> None: ...

    @classmethod
    def flush_all(cls) -> None:
        for tally in Tally.every:
            tally.flush()

    @classmethod
    def _timed_flush(cls) -> None:
        # The timer is left to run out rather than cancelled by an earlier flush: when requests
        # come one at a time, each flushes at its end, and a timer armed and cancelled per request
        # cost more than the flush.
        Tally.timer = None
        Tally.flush_all()


class CounterTally(Tally):
    def __init__(self, counter: Counter) -> None:
        super().__init__()
        self.counter = counter
        self.amount = 0.0

    def inc(self, amount: float = 1) -> None:
        self.amount += amount
        self._added()

    def flush(self) -> None:
        if self.pending:
            self.counter.inc(self.amount)
            self.amount = 0.0
            self.pending = 0


class HistogramTally(Tally):
    def __init__(self, histogram: Histogram) -> None:
        super().__init__()
        self.histogram = histogram
        self.bounds = list(histogram._upper_bounds)  # ends with +Inf
        self.counts = [0] * len(self.bounds)
        self.total = 0.0

    def observe(self, value: float) -> None:
        # The bucket observe() would pick: the first upper bound at or above the value.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self._added()

    def flush(self) -> None:
        if not self.pending:
            return
        for index, count in enumerate(self.counts):
            if count:
                self.histogram._buckets[index].inc(count)
                self.counts[index] = 0
        self.histogram._sum.inc(self.total)
        self.total = 0.0
        self.pending = 0


class PredictTally:
    """The predict route's answers of one model (200s and their latency). Also flushed whenever
    the worker has no request left in progress, so a client that reads /metrics next, from any
    worker, sees its answer counted. Other answers are counted at once."""

    tallies: ClassVar[list[PredictTally]] = []  # the worker's: one per model

    def __init__(self, model: str) -> None:
        self.ok = CounterTally(REQUESTS.labels(model, "predict", "200"))
        self.latency = HistogramTally(LATENCY.labels(model, "predict"))
        PredictTally.tallies.append(self)

    def add(self, seconds: float) -> None:
        self.ok.inc()
        self.latency.observe(seconds)

    @property
    def pending(self) -> int:
        return self.ok.pending

    @classmethod
    def flush_all(cls) -> None:
        for tally in cls.tallies:
            tally.ok.flush()
            tally.latency.flush()


class BatchTally:
    """One model's calls: rows predicted, rows and requests per call."""

    def __init__(self, model: str) -> None:
        self.predictions = CounterTally(PREDICTIONS.labels(model))
        self.rows = HistogramTally(BATCH_ROWS.labels(model))
        self.requests = HistogramTally(BATCH_REQUESTS.labels(model))

    def add(self, rows: int, requests: int) -> None:
        self.predictions.inc(rows)
        self.rows.observe(rows)
        self.requests.observe(requests)


def render() -> tuple[bytes, str]:
    Tally.flush_all()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
