"""Adaptive micro-batching: concurrent requests for one model share one predict call.

A request's rows join a pending list and a flush is scheduled for the event loop's next turn,
so every request that arrived in the same turn lands in the same batch, and a lone request is
dispatched at once. A model that runs in a thread (scikit-learn) has one batch in flight at a
time; requests that arrive meanwhile form the next batch. With ``max_delay_ms`` > 0 the batcher
also waits that long to fill a batch, but only while it is under load (the last batch held more
than one request), so a lone request still never waits.

Each request gets exactly its own rows back. When a batch fails, its requests are retried one
by one, so only the request that makes the model fail gets the error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from anyio import to_thread

from dockml.models.base import Outputs


class Waiter(Protocol):
    """Who waits for a table's outputs: an asyncio future, or a request of the predict lane
    (lane.py), which answers as soon as it is told, saving the event loop's turn a future's
    callback waits for. Cancelled or done, it is left out of its batch or its outputs ignored."""

    def cancelled(self) -> bool: ...

    def done(self) -> bool: ...

    def set_result(self, result: Outputs, /) -> None: ...

    def set_exception(self, exception: Exception, /) -> None: ...


@dataclass(frozen=True, slots=True)
class BatchingPolicy:
    """``max_rows`` <= 1 turns batching off."""

    max_rows: int = 64
    max_delay_ms: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.max_rows > 1


class Batcher:
    def __init__(
        self,
        run: Callable[[np.ndarray], Outputs],
        policy: BatchingPolicy,
        *,
        in_thread: bool,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self._run = run
        self._policy = policy
        self._in_thread = in_thread
        self._on_batch = on_batch or (lambda rows, requests: None)
        self._pending: list[tuple[np.ndarray, Waiter]] = []
        self._pending_rows = 0
        self._scheduled = False
        self._busy = False
        self._under_load = False

    async def submit(self, table: np.ndarray) -> Outputs:
        if not self._policy.enabled:
            self._on_batch(len(table), 1)
            return await to_thread.run_sync(self._run, table) if self._in_thread else self._run(table)
        future: asyncio.Future[Outputs] = asyncio.get_running_loop().create_future()
        self.join(table, future)
        return await future

    def join(self, table: np.ndarray, waiter: Waiter) -> None:
        """``table`` joins the next batch (batching on); ``waiter`` gets its outputs."""
        loop = asyncio.get_running_loop()
        self._pending.append((table, waiter))
        self._pending_rows += len(table)
        if not self._busy and not self._scheduled:
            self._scheduled = True
            delay = self._policy.max_delay_ms / 1000.0
            if delay > 0 and self._under_load and self._pending_rows < self._policy.max_rows:
                loop.call_later(delay, self._flush)
            else:
                loop.call_soon(self._flush)

    def _take(self) -> list[tuple[np.ndarray, Waiter]]:
        taken: list[tuple[np.ndarray, Waiter]] = []
        rows = 0
        while self._pending and (not taken or rows + len(self._pending[0][0]) <= self._policy.max_rows):
            item = self._pending.pop(0)
            rows += len(item[0])
            taken.append(item)
        self._pending_rows -= rows
        return taken

    def _flush(self) -> None:
        self._scheduled = False
        while self._pending and not self._busy:
            batch = [(table, future) for table, future in self._take() if not future.cancelled()]
            if not batch:
                continue
            self._under_load = len(batch) > 1
            self._count(batch)
            if self._in_thread:
                self._busy = True
                asyncio.get_running_loop().create_task(self._run_in_thread(batch))
            else:
                self._settle(batch, self._predict(batch))

    async def _run_in_thread(self, batch: list[tuple[np.ndarray, Waiter]]) -> None:
        try:
            outcome = await to_thread.run_sync(self._predict, batch)
            if isinstance(outcome, Exception) and len(batch) > 1:
                self._deliver_one_by_one(batch, await to_thread.run_sync(self._one_by_one, batch))
            else:
                self._deliver(batch, outcome)
        finally:
            self._busy = False
            if self._pending:
                self._flush()

    def _count(self, batch: list[tuple[np.ndarray, Waiter]]) -> None:
        # On the loop's thread, whichever thread the model runs in: the metrics tally there.
        self._on_batch(sum(len(table) for table, _ in batch), len(batch))

    def _deliver_one_by_one(self, batch: list[tuple[np.ndarray, Waiter]], outcomes: list[Outputs | Exception]) -> None:
        """After a failed batch, each request's own outcome, and each counted as a model call."""
        self._deliver(batch, outcomes)
        for item in batch:
            self._count([item])

    def _predict(self, batch: list[tuple[np.ndarray, Waiter]]) -> Outputs | Exception:
        tables = [table for table, _ in batch]
        try:
            return self._run(tables[0] if len(tables) == 1 else np.concatenate(tables))
        except Exception as error:  # noqa: BLE001 - handed to the waiting requests, not raised in the loop
            return error

    def _one_by_one(self, batch: list[tuple[np.ndarray, Waiter]]) -> list[Outputs | Exception]:
        return [self._predict([item]) for item in batch]

    def _settle(self, batch: list[tuple[np.ndarray, Waiter]], outcome: Outputs | Exception) -> None:
        if isinstance(outcome, Exception) and len(batch) > 1:
            self._deliver_one_by_one(batch, self._one_by_one(batch))
        else:
            self._deliver(batch, outcome)

    @staticmethod
    def _deliver(
        batch: list[tuple[np.ndarray, Waiter]],
        outcome: Outputs | Exception | list[Outputs | Exception],
    ) -> None:
        if isinstance(outcome, list):
            for (_, future), single in zip(batch, outcome, strict=True):
                _resolve(future, single)
            return
        if isinstance(outcome, Exception):
            for _, future in batch:
                _resolve(future, outcome)
            return
        start = 0
        for table, future in batch:
            stop = start + len(table)
            probabilities = outcome.probabilities[start:stop] if outcome.probabilities is not None else None
            _resolve(future, Outputs(labels=outcome.labels[start:stop], probabilities=probabilities))
            start = stop


def _resolve(future: Waiter, outcome: Outputs | Exception) -> None:
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
