"""The predict route's deferred counts (metrics.PredictTally) end up exactly as prometheus_client's
own Histogram.observe and Counter.inc would have left them."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Histogram

from dockml import metrics

DURATIONS = [0.0001, 0.0005, 0.00050001, 0.001, 0.003, 0.0099, 0.01, 0.2, 2.5, 9.99, 10.0, 10.01, 120.0, 0.0]


def _samples(histogram_family_samples, model: str) -> dict[tuple[str, str], float]:
    return {
        (sample.name.rsplit("_", 1)[-1], sample.labels.get("le", "")): sample.value
        for sample in histogram_family_samples
        if sample.labels.get("model", model) == model and not sample.name.endswith("_created")
    }


def test_a_flushed_tally_equals_observing_each_value():
    buckets = metrics.LATENCY._upper_bounds
    reference = Histogram("reference_seconds", "reference", ["model"], buckets=buckets, registry=CollectorRegistry())

    async def add_all() -> metrics.PredictTally:
        tally = metrics.PredictTally("tally-test")
        for seconds in DURATIONS:
            tally.add(seconds)
            reference.labels("tally-test").observe(seconds)
        assert tally.pending == len(DURATIONS)
        return tally

    tally = asyncio.run(add_all())
    before = tally.ok.counter._value.get()
    metrics.PredictTally.flush_all()
    assert tally.pending == 0
    assert tally.ok.counter._value.get() - before == len(DURATIONS)
    ours = _samples(metrics.LATENCY.collect()[0].samples, "tally-test")
    theirs = _samples(reference.collect()[0].samples, "tally-test")
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert abs(ours[key] - value) < 1e-12, key
    metrics.PredictTally.flush_all()  # nothing pending: nothing changes
    assert _samples(metrics.LATENCY.collect()[0].samples, "tally-test") == ours


def test_the_timer_flushes_under_load():
    async def add_and_wait() -> metrics.PredictTally:
        tally = metrics.PredictTally("tally-timer")
        tally.add(0.002)
        await asyncio.sleep(metrics.FLUSH_S * 3)
        return tally

    tally = asyncio.run(add_and_wait())
    assert tally.pending == 0
    assert tally.ok.counter._value.get() == 1


def test_batch_tallies_equal_observing_each_call_and_flush_on_the_timer():
    sizes = [1, 1, 2, 3, 64, 65, 4096, 5000, 7]
    reference = Histogram(
        "reference_rows", "reference", ["model"], buckets=metrics._SIZES, registry=CollectorRegistry()
    )

    async def add_and_wait() -> metrics.BatchTally:
        tally = metrics.BatchTally("tally-batches")
        for rows in sizes:
            tally.add(rows, 1)
            reference.labels("tally-batches").observe(rows)
        assert tally.rows.pending == len(sizes)
        await asyncio.sleep(metrics.FLUSH_S * 3)
        return tally

    tally = asyncio.run(add_and_wait())
    assert tally.rows.pending == tally.requests.pending == tally.predictions.pending == 0
    assert tally.predictions.counter._value.get() == sum(sizes)
    ours = _samples(metrics.BATCH_ROWS.collect()[0].samples, "tally-batches")
    assert ours == _samples(reference.collect()[0].samples, "tally-batches")
    assert _samples(metrics.BATCH_REQUESTS.collect()[0].samples, "tally-batches")[("count", "")] == len(sizes)
