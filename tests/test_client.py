"""dockml.Client and dockml.AsyncClient against real servers: every call, typed errors, timeouts,
and retries against a server that answers 503 first or is not up yet."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

import dockml
from dockml import client as dc
from dockml.config import load_settings
from dockml.demos import render_digit
from dockml.http import create_app
from dockml.service import load_registry
from servers import free_port

IRIS = ["s_length", "s_width", "p_length", "p_width"]
SETOSA = {"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}
VIRGINICA = {"s_length": 6.7, "s_width": 3.0, "p_length": 5.2, "p_width": 2.3}


@pytest.fixture(scope="module")
def server(demo_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dockml serve` with both demos, in its own process."""
    from servers import start_server

    running = start_server(
        [
            f"iris={demo_models['iris']}",
            f"digits={demo_models['digits']}",
            "--workers",
            "1",
            "--max-body-bytes",
            "100000",
        ]
    )
    yield running.url
    running.process.terminate()
    running.process.wait(timeout=15)
    running.process.stdout.close()


class Flaky:
    """Answers 503 (with Retry-After: 0) to the first ``failures`` requests, then passes them on."""

    def __init__(self, app: ASGIApp, failures: int) -> None:
        self.app = app
        self.failures = failures
        self.seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen += 1
            if self.seen <= self.failures:
                body = b'{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"warming up"}'
                headers = [(b"content-type", b"application/problem+json"), (b"retry-after", b"0")]
                await send({"type": "http.response.start", "status": 503, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


@contextlib.contextmanager
def threaded_server(app: ASGIApp, port: int, *, delay_s: float = 0.0) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1:port in a thread, started after ``delay_s``."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", ws="none", lifespan="on")
    )

    def run() -> None:
        time.sleep(delay_s)
        server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def iris_app(demo_models: dict[str, Path]) -> ASGIApp:
    settings = load_settings(
        config_file=None, model_arguments=[f"iris={demo_models['iris']}"], flags={"workers": 1}, environ={}
    )
    return create_app(load_registry(settings), settings)


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)


# Every call


def test_client_is_exported_from_dockml():
    assert dockml.Client is dc.Client and dockml.AsyncClient is dc.AsyncClient
    assert set(dc.__all__) >= {
        "Client",
        "AsyncClient",
        "Predictions",
        "ClientError",
        "ServerError",
        "InvalidInput",
        "TransportError",
    }


def test_predict_records_and_one_record(server):
    with dockml.Client(server) as client:
        assert client.predict([SETOSA, VIRGINICA]).predictions == ["setosa", "virginica"]
        assert client.predict(VIRGINICA).predictions == ["virginica"]
        assert list(client.predict([SETOSA])) == ["setosa"] and len(client.predict([SETOSA, SETOSA])) == 2


def test_predict_rows_numpy_and_dataframe(server):
    rows = [list(SETOSA.values()), list(VIRGINICA.values())]
    frame = pd.DataFrame([SETOSA, VIRGINICA])[["p_width", "s_length", "p_length", "s_width"]]
    with dockml.Client(server) as client:
        assert client.predict(rows).predictions == ["setosa", "virginica"]
        assert client.predict(np.array(rows)).predictions == ["setosa", "virginica"]
        assert client.predict(np.array(rows[1], dtype=np.float32)).predictions == ["virginica"]
        assert client.predict(frame).predictions == ["setosa", "virginica"]


def test_predict_with_probabilities(server):
    with dockml.Client(server) as client:
        answer = client.predict([SETOSA, VIRGINICA], proba=True)
    assert [max(p, key=p.get) for p in answer.probabilities] == ["setosa", "virginica"]
    assert client.predict is not None and answer.probabilities[0].keys() == {"setosa", "versicolor", "virginica"}


def test_predict_file_and_image(server, tmp_path):
    csv_file = tmp_path / "flowers.csv"
    csv_file.write_text(",".join(IRIS) + "\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    from sklearn.datasets import load_digits

    digits = load_digits()
    picture = tmp_path / "digit.png"
    picture.write_bytes(render_digit(digits.images[3]))
    with dockml.Client(server) as client:
        assert client.predict_file(csv_file).predictions == ["setosa", "virginica"]
        assert client.predict_image(picture, model="digits").predictions == [int(digits.target[3])]
        assert len(client.predict_image(picture, proba=True).probabilities[0]) == 10


def test_models_and_health(server):
    with dockml.Client(server, model="iris") as client:
        assert [m["name"] for m in client.models()] == ["iris", "digits"]
        assert client.health() is True
        assert client.predict(SETOSA).predictions == ["setosa"]


# Typed errors


def test_invalid_input_carries_the_server_detail_and_fields(server):
    with dockml.Client(server) as client, pytest.raises(dc.InvalidInput) as error:
        client.predict({"s_length": 5.1, "s_width": 3.5, "p_length": 1.4})
    assert error.value.status == 422
    assert "missing feature 'p_width'" in error.value.detail
    assert error.value.errors[0]["field"] == "p_width"
    assert isinstance(error.value, ValueError) and isinstance(error.value, dc.ServerError)


def test_unknown_model_is_not_found(server):
    with dockml.Client(server, model="nope") as client, pytest.raises(dc.NotFound) as error:
        client.predict(SETOSA)
    assert error.value.status == 404 and "no such route" in error.value.detail and isinstance(error.value, LookupError)


def test_payload_too_large(server):
    with dockml.Client(server) as client, pytest.raises(dc.PayloadTooLarge):
        client.predict([SETOSA] * 5000)


def test_unreadable_input_and_unsendable_values_fail_in_the_client(server, tmp_path):
    with dockml.Client(server) as client:
        with pytest.raises(dc.ClientError, match="cannot read"):
            client.predict_file(tmp_path / "missing.csv")
        with pytest.raises(dc.ClientError, match="cannot send the data as JSON: Type is not JSON serializable: object"):
            client.predict([{"s_length": object()}])
        with pytest.raises(dc.ClientError, match="3 dimensions"):
            client.predict(np.zeros((1, 2, 2)))


def test_api_key(server_factory, demo_models):
    running = server_factory([str(demo_models["iris"]), "--workers", "1", "--api-key", "s3cret"])
    with dockml.Client(running.url) as client, pytest.raises(dc.Unauthorized):
        client.predict(SETOSA)
    with dockml.Client(running.url, api_key="s3cret") as client:
        assert client.predict(SETOSA).predictions == ["setosa"]


def test_no_server_is_a_transport_error_after_the_retries():
    started = time.monotonic()
    with (
        dockml.Client(f"http://127.0.0.1:{free_port()}", retries=2, backoff_s=0.05) as client,
        pytest.raises(dc.TransportError, match="cannot reach the dockml server"),
    ):
        client.predict(SETOSA)
    assert time.monotonic() - started < 5


def test_a_server_that_never_answers_is_a_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection in the backlog, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with dockml.Client(url, timeout_s=0.3, retries=0) as client, pytest.raises(dc.Timeout):
            client.predict(SETOSA)


# Retries


def test_retries_a_server_that_answers_503_first(demo_models):
    app = Flaky(iris_app(demo_models), failures=2)
    port = free_port()
    with threaded_server(app, port) as url:
        wait_until_up(port)
        app.seen = 0  # count only the client's requests
        with dockml.Client(url, retries=3, backoff_s=0.01) as client:
            assert client.predict(SETOSA).predictions == ["setosa"]
    assert app.seen == 3


def test_gives_up_after_the_retries_with_the_servers_detail(demo_models):
    app = Flaky(iris_app(demo_models), failures=100)
    port = free_port()
    with threaded_server(app, port) as url:
        wait_until_up(port)
        app.seen = 0
        with dockml.Client(url, retries=2, backoff_s=0.01) as client, pytest.raises(dc.ServiceUnavailable) as error:
            client.predict(SETOSA)
        assert error.value.detail == "warming up" and app.seen == 3
        app.seen = 0
        with dockml.Client(url, retries=2) as client:
            assert client.health() is False  # 503 is the health check's answer: no retry
        assert app.seen == 1


def test_retries_connection_errors_until_the_server_is_up(demo_models):
    port = free_port()
    with (
        threaded_server(iris_app(demo_models), port, delay_s=0.5) as url,
        dockml.Client(url, retries=8, backoff_s=0.1) as client,
    ):
        assert client.predict(SETOSA).predictions == ["setosa"]


# The async twin


def test_async_client_against_a_real_server(server, tmp_path):
    csv_file = tmp_path / "flowers.csv"
    csv_file.write_text(",".join(IRIS) + "\n5.1,3.5,1.4,0.2\n")

    async def main() -> None:
        async with dockml.AsyncClient(server) as client:
            answers = await asyncio.gather(*(client.predict([SETOSA, VIRGINICA]) for _ in range(10)))
            assert all(a.predictions == ["setosa", "virginica"] for a in answers)
            assert (await client.predict_file(csv_file, proba=True)).probabilities[0]["setosa"] > 0.9
            assert [m["name"] for m in await client.models()] == ["iris", "digits"]
            assert await client.health() is True
            with pytest.raises(dc.InvalidInput, match="missing feature"):
                await client.predict({"s_length": 1.0})

    asyncio.run(main())


def test_async_client_retries_503(demo_models):
    app = Flaky(iris_app(demo_models), failures=2)
    port = free_port()

    async def main(url: str) -> None:
        async with dockml.AsyncClient(url, retries=3, backoff_s=0.01) as client:
            assert (await client.predict(SETOSA)).predictions == ["setosa"]

    with threaded_server(app, port) as url:
        wait_until_up(port)
        app.seen = 0
        asyncio.run(main(url))
    assert app.seen == 3
