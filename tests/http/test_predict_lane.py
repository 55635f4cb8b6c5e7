"""The predict lane (http/lane.py): plain predict requests answered from uvicorn's protocol, with
the bytes the ASGI path writes for the same request.

The first tests feed raw HTTP to the protocol class `dockml serve` configures (real parsing, the
real app and model) over a transport that only collects what is written, so they can see which
path answered: the ASGI path starts a task per request, the lane none. The last ones run a real
server, for what only a socket shows (a body that never ends, a client that leaves)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.server import ServerState

from dockml.config import load_settings
from dockml.http.app import create_app_and_lane
from dockml.server import _uvicorn_config
from dockml.service import load_registry

ROWS = {
    "setosa": {"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2},
    "versicolor": {"s_length": 6.4, "s_width": 3.2, "p_length": 4.5, "p_width": 1.5},
    "virginica": {"s_length": 7.7, "s_width": 3.0, "p_length": 6.1, "p_width": 2.3},
}
# What clients send, good and bad: each answer must be the ASGI path's, byte for byte.
BODIES = [
    json.dumps(ROWS["setosa"]).encode(),
    json.dumps(list(ROWS.values())).encode(),
    b"[[5.1, 3.5, 1.4, 0.2]]",
    b'{"s_length": 5.1',
    b"",
    b"   ",
    b"[]",
    b"null",
    b'{"s_length": "long", "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}',
    b'{"s_length": 5.1, "s_width": 3.5, "p_length": 1.4}',
    b'{"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2, "colour": "red"}',
    b'{"s_length": 1e999, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}',
    b"[" + b"[" * 200 + b"]" * 200 + b"]",
    b"\xff\xfe",
]


IRIS_QUERY = "s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2"
QUERIES = [
    IRIS_QUERY,
    IRIS_QUERY + "&proba=true",
    IRIS_QUERY + "&proba=1&proba=no",
    IRIS_QUERY + "&proba=maybe",
    "s_length=5.1&s_width=3.5&p_length=1.4",
    "s_length=long&s_width=3.5&p_length=1.4&p_width=0.2",
    IRIS_QUERY + "&colour=red",
    "s_length=%FF&s_width=&p_length=1.4&p_width=0.2",
    "s_length=5.1&s_length=6&s_width=3.5&p_length=1.4&p_width=0.2",
    "",
]


def request(
    body: bytes, *, path: str = "/predict", headers: dict[str, str] | None = None, version: str = "1.1"
) -> bytes:
    fields = {"Host": "127.0.0.1", "Content-Type": "application/json", "Content-Length": str(len(body))}
    fields.update(headers or {})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value)
    return f"POST {path} HTTP/{version}\r\n{head}\r\n".encode() + body


def get(query: str, *, path: str = "/predict", headers: dict[str, str] | None = None) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in {"Host": "127.0.0.1", **(headers or {})}.items())
    return f"GET {path}?{query} HTTP/1.1\r\n{head}\r\n".encode()


def every_request(headers: dict[str, str]) -> list[bytes]:
    """The good and bad requests clients send, with ``headers``."""
    return (
        [request(body, headers=headers) for body in BODIES]
        + [request(BODIES[1], path=f"/predict?{query}", headers=headers) for query in ("proba=true", "proba=nope")]
        + [get(query, headers=headers) for query in QUERIES]
        + [get(IRIS_QUERY, path="/models/iris/predict", headers=headers)]
    )


class Wire(asyncio.Transport):
    """A connection's transport without a socket: what the protocol writes is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 5000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: Any) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def answers(data: bytes) -> list[tuple[bytes, bytes]]:
    """The whole answers in ``data``: (head, body) each."""
    found = []
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 100 "):  # an interim answer to Expect: 100-continue
            data = rest
            continue
        length = next(int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        if len(rest) < length:
            break
        found.append((head, rest[:length]))
        data = rest[length:]
    return found


class Connections:
    """Connections to the protocol `dockml serve` runs, on one event loop."""

    def __init__(self, settings_flags: dict[str, object], model: Path) -> None:
        settings = load_settings(
            config_file=None, model_arguments=[str(model)], flags={"workers": 1, **settings_flags}, environ={}
        )
        registry = load_registry(settings)
        registry.warm_up()
        app, lane = create_app_and_lane(registry, settings)
        self.config = _uvicorn_config(app, settings, lane)
        self.config.load()
        self.state = ServerState()
        self.loop = asyncio.new_event_loop()

    def open(self) -> tuple[Any, Wire]:
        protocol = self.config.http_protocol_class(
            config=self.config, server_state=self.state, app_state={}, _loop=self.loop
        )
        wire = Wire()
        protocol.connection_made(wire)
        return protocol, wire

    def send(self, *pieces: bytes, expect: int = 1) -> tuple[list[tuple[bytes, bytes]], bool, Wire]:
        """Send ``pieces`` (each one read) on a new connection; the ``expect`` answers, and
        whether the lane answered every request (no ASGI task was started)."""
        protocol, wire = self.open()
        started_tasks = False

        async def exchange() -> list[tuple[bytes, bytes]]:
            nonlocal started_tasks
            for piece in pieces:
                protocol.data_received(piece)
                started_tasks |= bool(protocol.tasks)
                await asyncio.sleep(0)
            for _ in range(2000):
                started_tasks |= bool(protocol.tasks)
                if len(answers(bytes(wire.written))) >= expect:
                    break
                await asyncio.sleep(0.001)
            return answers(bytes(wire.written))

        found = self.loop.run_until_complete(exchange())
        assert len(found) == expect, bytes(wire.written)
        return found, not started_tasks, wire

    def close(self) -> None:
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()


@pytest.fixture
def connections(demo_models: dict[str, Path]) -> Iterator[Connections]:
    served = Connections({}, demo_models["iris"])
    yield served
    served.close()


def test_the_lane_answers_every_request_as_the_asgi_path_does(connections):
    # An Origin header (no CORS configured) changes nothing but sends a request down the ASGI path.
    pairs = zip(
        every_request({"X-Request-ID": "same-id"}),
        every_request({"X-Request-ID": "same-id", "Origin": "http://example.com"}),
        strict=True,
    )
    for plain, handed_over in pairs:
        (lane_answer,), took_lane, _ = connections.send(plain)
        (asgi_answer,), asgi_took_lane, _ = connections.send(handed_over)
        assert (took_lane, asgi_took_lane) == (True, False), plain
        assert lane_answer == asgi_answer, plain
    ((head, answer),), _, _ = connections.send(request(BODIES[1]))
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(answer) == {"predictions": list(ROWS)}
    (_, answer), *_ = connections.send(get(IRIS_QUERY + "&proba=true"))[0]
    assert json.loads(answer)["predictions"] == ["setosa"]
    assert set(json.loads(answer)["probabilities"][0]) == set(ROWS)


def test_pipelined_requests_are_answered_in_order_whichever_path_takes_them(connections):
    bodies = [json.dumps(row).encode() for row in ROWS.values()]
    pipelined = request(bodies[0]) + request(bodies[1], headers={"Origin": "http://example.com"}) + request(bodies[2])
    found, _, _ = connections.send(pipelined, expect=3)
    assert [json.loads(body)["predictions"] for _, body in found] == [[name] for name in ROWS]


def test_a_body_in_pieces_is_answered_once_whole(connections):
    whole = request(json.dumps(list(ROWS.values())).encode())
    (answer,), took_lane, _ = connections.send(whole[:90], whole[90:130], whole[130:])
    assert took_lane
    assert json.loads(answer[1]) == {"predictions": list(ROWS)}


@pytest.mark.parametrize(
    ("headers", "version"), [({"Connection": "close"}, "1.1"), ({}, "1.0")], ids=["connection-close", "http-1.0"]
)
def test_an_answer_that_ends_the_connection_says_so_and_closes_it(connections, headers, version):
    body = json.dumps(ROWS["setosa"]).encode()
    (lane_answer,), took_lane, wire = connections.send(
        request(body, headers={"X-Request-ID": "i", **headers}, version=version)
    )
    handed_over = request(body, headers={"X-Request-ID": "i", "Origin": "o", **headers}, version=version)
    (asgi_answer,), _, _ = connections.send(handed_over)
    assert took_lane and wire.closed
    assert b"\r\nconnection: close" in lane_answer[0]
    assert lane_answer == asgi_answer


@pytest.mark.parametrize(
    "raw",
    [
        request(b"{}", headers={"Content-Type": "application/json; charset=utf-8"}),
        request(b"{}", headers={"Content-Encoding": "gzip"}),
        request(b"{}", headers={"Expect": "100-continue"}),
        request(b"{}", headers={"X-Forwarded-For": "10.0.0.1"}),
        request(b"[" + b"[5.1, 3.5, 1.4, 0.2]," * 4000 + b"[5.1, 3.5, 1.4, 0.2]]"),
        b"POST /predict HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"GET /predict?" + IRIS_QUERY.encode() + b" HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}",
        b"OPTIONS /predict HTTP/1.1\r\nHost: h\r\n\r\n",
        request(b"{}", path="/models"),
    ],
    ids=["charset", "gzip", "expect", "proxied", "over-64KiB", "chunked", "get-with-a-body", "options", "not-predict"],
)
def test_requests_another_layer_acts_on_take_the_asgi_path(connections, raw):
    (answer,), took_lane, _ = connections.send(raw)
    assert not took_lane
    assert answer[0].startswith(b"HTTP/1.1 ")


def test_a_request_the_edge_refuses_is_refused_by_the_asgi_path(demo_models):
    served = Connections({"api_key": "sesame"}, demo_models["iris"])
    try:
        body = json.dumps(ROWS["setosa"]).encode()
        (refused,), took_lane, _ = served.send(request(body, headers={"X-API-Key": "guess"}))
        assert not took_lane and refused[0].startswith(b"HTTP/1.1 401 ")
        (answered,), took_lane, _ = served.send(request(body, headers={"Authorization": "Bearer sesame"}))
        assert took_lane and json.loads(answered[1]) == {"predictions": ["setosa"]}
    finally:
        served.close()


def test_the_lane_writes_the_same_access_log_line(demo_models, caplog):
    served = Connections({"access_log": "json"}, demo_models["iris"])
    try:
        body = json.dumps(ROWS["setosa"]).encode()
        with caplog.at_level(logging.INFO, logger="dockml.access"):
            served.send(request(body, headers={"X-Request-ID": "logged"}))
            served.send(request(body, headers={"X-Request-ID": "logged", "Origin": "o"}))
        lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "dockml.access"]
        for line in lines:
            assert line.pop("duration_ms") >= 0
        assert (
            lines
            == [{"request_id": "logged", "client": "127.0.0.1", "method": "POST", "path": "/predict", "status": 200}]
            * 2
        )
    finally:
        served.close()


# A real server: a body that never ends, a client that leaves in the middle of one.


def _send_head_and_part_of_a_body(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)), timeout=10)
    client.sendall(request(json.dumps(ROWS["setosa"]).encode())[:-10])
    return client


def test_a_body_that_never_ends_gets_504_at_the_deadline_and_frees_its_place(server_factory, demo_models):
    server = server_factory(
        [str(demo_models["iris"]), "--workers", "1", "--request-timeout-s", "0.5", "--max-in-flight", "1"]
    )
    started = time.monotonic()
    with _send_head_and_part_of_a_body(server.url) as client:
        answer = client.recv(65536)
    assert answer.startswith(b"HTTP/1.1 504 "), answer
    assert b"request_timeout_s" in answer
    assert 0.4 < time.monotonic() - started < 5
    assert httpx.post(f"{server.url}/predict", json=ROWS["setosa"]).json() == {"predictions": ["setosa"]}


def test_a_client_leaving_in_the_middle_of_a_body_frees_its_place(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"]), "--workers", "1", "--max-in-flight", "1"])
    for _ in range(3):
        with _send_head_and_part_of_a_body(server.url):
            time.sleep(0.1)  # the server has read the head and started the request
        deadline = time.monotonic() + 5
        while (status := httpx.post(f"{server.url}/predict", json=ROWS["setosa"]).status_code) == 503:
            assert time.monotonic() < deadline, "the request that lost its client still holds its place"
            time.sleep(0.05)
        assert status == 200
