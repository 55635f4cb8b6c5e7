"""Micro-batching: concurrent requests share model calls, each gets exactly its own answer,
and one bad request or failing row never fails the others."""

from __future__ import annotations

import asyncio
import re
import threading

import httpx
import numpy as np
from sklearn.datasets import load_iris

import trained
from dockml.batching import Batcher, BatchingPolicy
from dockml.config import model_spec
from dockml.models import load_model
from dockml.models.base import Outputs

IRIS_NAMES = ["s_length", "s_width", "p_length", "p_width"]
CLASSES = ["setosa", "versicolor", "virginica"]


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, name
    return float(match.group(1))


def test_concurrent_submits_share_one_call_and_get_their_own_rows(demo_models):
    loaded = load_model(model_spec(f"iris={demo_models['iris']}"), runtime="onnx")
    data = load_iris().data
    calls: list[tuple[int, int]] = []
    batcher = Batcher(
        loaded.runtime.predict, BatchingPolicy(max_rows=64), in_thread=False, on_batch=lambda r, n: calls.append((r, n))
    )

    async def main() -> list[np.ndarray]:
        outputs = await asyncio.gather(*(batcher.submit(data[i : i + 1 + i % 3]) for i in range(40)))
        return [o.labels for o in outputs]

    labels = asyncio.run(main())
    expected = loaded.runtime.predict(data).labels
    for i, got in enumerate(labels):
        assert got.tolist() == expected[i : i + 1 + i % 3].tolist()
    assert sum(n for _, n in calls) == 40
    assert len(calls) < 40
    assert max(rows for rows, _ in calls) <= 64


def test_a_model_in_a_thread_is_counted_on_the_loop_thread_retries_included():
    # The metrics tally on the event loop's thread (metrics.Tally): a model that runs in a worker
    # thread must not count from there, nor must its one-by-one retries after a failed batch.
    def run(table: np.ndarray) -> Outputs:
        if (table < 0).any():
            raise ValueError("negative")
        return Outputs(labels=table[:, 0] * 2, probabilities=None)

    calls: list[tuple[int, int, str]] = []
    batcher = Batcher(
        run,
        BatchingPolicy(max_rows=64),
        in_thread=True,
        on_batch=lambda rows, requests: calls.append((rows, requests, threading.current_thread().name)),
    )
    tables = [np.array([[float(i)]]) for i in range(12)]
    tables[5] = np.array([[-1.0]])

    async def main() -> list[Outputs | BaseException]:
        return await asyncio.gather(*(batcher.submit(table) for table in tables), return_exceptions=True)

    outcomes = asyncio.run(main())
    assert isinstance(outcomes[5], ValueError)
    assert [o.labels.tolist() for o in outcomes if isinstance(o, Outputs)] == [[2.0 * i] for i in range(12) if i != 5]
    assert {thread for _, _, thread in calls} == {threading.main_thread().name}
    # Every request in a call that succeeded, and the failed call's requests once more each.
    failed = next(requests for rows, requests, _ in calls if requests > 1)
    assert sum(requests for _, requests, _ in calls) == 12 + failed


def test_a_lone_request_is_dispatched_at_once(demo_models):
    loaded = load_model(model_spec(f"iris={demo_models['iris']}"), runtime="onnx")
    batcher = Batcher(loaded.runtime.predict, BatchingPolicy(max_rows=64, max_delay_ms=1000), in_thread=False)

    async def main() -> None:
        # Not under load: even with a long max delay, one request must not wait for company.
        await asyncio.wait_for(batcher.submit(load_iris().data[:1]), timeout=0.5)

    asyncio.run(main())


async def _load(url: str, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(*(client.post(url, json=body) for body in bodies))


def test_many_clients_at_once_each_get_their_own_answer(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"]), "--workers", "1"])
    data, _ = load_iris(return_X_y=True)
    bodies: list[dict] = []
    for i in range(150):
        if i % 5 == 4:
            bodies.append({"s_length": "oops", "s_width": 1, "p_length": 1, "p_width": 1})  # invalid among valid
        else:
            bodies.append(dict(zip(IRIS_NAMES, data[i].tolist(), strict=True)))
    responses = asyncio.run(_load(f"{server.url}/predict", bodies))
    expected = httpx.post(f"{server.url}/predict", json={"instances": data[:150].tolist()}).json()["predictions"]
    for i, response in enumerate(responses):
        if i % 5 == 4:
            assert response.status_code == 422
        else:
            assert response.status_code == 200
            assert response.json() == {"predictions": [expected[i]]}
    metrics = httpx.get(f"{server.url}/metrics").text
    requests = _metric(metrics, 'dockml_batch_requests_sum{model="iris"}')
    batches = _metric(metrics, 'dockml_batch_requests_count{model="iris"}')
    # 120 valid requests plus the reference call above (the warm-up bypasses the batcher).
    assert requests == 120 + 1
    assert batches < requests, "concurrent requests never shared a batch"
    print(f"\n120 concurrent requests were answered in {batches - 1:.0f} model calls")


def test_a_failing_row_fails_only_its_own_request(server_factory, tmp_path):
    path = trained.function_transformer_skops(tmp_path)
    server = server_factory([f"custom={path}", "--workers", "1"])
    bodies = [{"instances": [[1.0, 2.0, 3.0]]} for _ in range(30)]
    bodies[7] = {"instances": [[-5.0, 2.0, 3.0]]}  # log1p(-5) is NaN: the model raises
    responses = asyncio.run(_load(f"{server.url}/predict", bodies))
    assert responses[7].status_code == 500
    assert responses[7].json()["detail"] == "model 'custom' failed to predict; the server log has the cause"
    assert "NaN" not in responses[7].text
    assert [r.status_code for i, r in enumerate(responses) if i != 7] == [200] * 29
    assert httpx.get(f"{server.url}/models/custom").json()["runtime"] == "sklearn"


def test_batching_off_calls_the_model_once_per_request(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"]), "--workers", "1", "--batch-max-rows", "1"])
    data = load_iris().data
    asyncio.run(_load(f"{server.url}/predict", [dict(zip(IRIS_NAMES, row, strict=True)) for row in data[:40].tolist()]))
    metrics = httpx.get(f"{server.url}/metrics").text
    assert _metric(metrics, 'dockml_batch_requests_count{model="iris"}') == 40
