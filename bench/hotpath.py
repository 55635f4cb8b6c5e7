"""dockml's own work per request, without the network: the ASGI app called directly, one request
after another, as uvicorn would call it. For comparing changes to the hot path on a noisy machine.

    python bench/hotpath.py [--requests 20000] [--route post|get|bare] [--concurrency 1]
                            [--through-protocol] [--profile]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/hotpath.py --requests 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/hotpath.py --requests 2000

It prints CPU microseconds per request (process time, which other processes on the machine
inflate far less than wall time) in the fastest block of 1,000 requests, and over all of them.
Under callgrind, the difference between the two runs' instruction counts (`Collected :` in its
summary), divided by the requests, is the instructions per request: the same on every run, so a
change of a few percent shows. `--profile` prints cProfile's top
functions by own time. `--route bare` calls constant_apps.bare, the floor of any ASGI app.
`--through-protocol` feeds raw HTTP/1.1 requests to uvicorn's HTTP protocol instead, configured as
`dockml serve` configures it (plain httptools for bare), with a transport that only collects the
answer: the parsing, connection limits and response writing are counted, the socket is not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROW_JSON = b'{"s_length":5.1,"s_width":3.5,"p_length":1.4,"p_width":0.2}'
GET_QUERY = b"s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2"
EXPECTED = b'{"predictions":["setosa"]}'

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
RAW_POST = (
    b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(ROW_JSON), ROW_JSON)
)
RAW_GET = b"GET /predict?%s HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n\r\n" % GET_QUERY


def iris_app_and_settings() -> tuple[App, Any, Any]:
    from dockml.config import load_settings
    from dockml.demos import demo_paths
    from dockml.http.app import create_app_and_lane
    from dockml.service import load_registry

    # Two workers on two cores: ONNX Runtime on one thread, as each worker of the benchmark runs it.
    settings = load_settings(
        config_file=None, model_arguments=[str(demo_paths()["iris"])], flags={"workers": 2}, environ={}
    )
    registry = load_registry(settings)
    registry.warm_up()
    app, lane = create_app_and_lane(registry, settings)
    return app, settings, lane


class CollectingTransport(asyncio.Transport):
    """A connection's transport without a socket: what the protocol writes is collected, and the
    waiting client is woken when a whole answer has arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.received = bytearray()
        self.answered: asyncio.Future[bytes] | None = None
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 5000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: Any) -> None:
        self.received += data
        if self.received.endswith(EXPECTED) and self.answered is not None:
            self.answered.set_result(bytes(self.received))
            self.received.clear()

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connection_factory(app: App, settings: Any, lane: Any) -> Callable[[], Callable[[bytes], Awaitable[bytes]]]:
    """Makes connections: each a function sending one raw request and returning the raw answer
    (through dockml's predict lane, http/lane.py, unless ``lane`` is None)."""
    import uvicorn
    from uvicorn.server import ServerState

    if settings is None:
        config = uvicorn.Config(app, http="httptools", lifespan="off", log_level="warning", access_log=False)
    else:
        from dockml.server import _uvicorn_config

        config = _uvicorn_config(app, settings, lane)
    config.load()
    state = ServerState()

    def connect() -> Callable[[bytes], Awaitable[bytes]]:
        loop = asyncio.get_running_loop()
        protocol = config.http_protocol_class(config=config, server_state=state, app_state={}, _loop=loop)
        transport = CollectingTransport()
        protocol.connection_made(transport)

        async def exchange(request: bytes) -> bytes:
            transport.answered = loop.create_future()
            protocol.data_received(request)
            answer = await transport.answered
            return answer.partition(b"\r\n\r\n")[2] if answer.startswith(b"HTTP/1.1 200 ") else answer

        return exchange

    return connect


def scope_for(route: str) -> dict[str, Any]:
    get = route == "get"
    headers = [(b"host", b"127.0.0.1:5000"), (b"user-agent", b"wrk")]
    if not get:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(ROW_JSON)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET" if get else "POST",
        "scheme": "http",
        "path": "/predict",
        "raw_path": b"/predict",
        "query_string": GET_QUERY if get else b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 5000),
        "state": {},
    }


async def one_request(app: App, template: dict[str, Any]) -> bytes:
    body = b"" if template["method"] == "GET" else ROW_JSON
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # uvicorn gives every request a fresh scope, with fresh lists in it.
    await app({**template, "headers": list(template["headers"]), "state": {}}, receive, send)
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


Client = Callable[[], Awaitable[bytes]]


async def one_client(client: Client, requests: int) -> None:
    for _ in range(requests):
        answer = await client()
        if answer != EXPECTED:
            raise SystemExit(f"hotpath: the app answered {answer[:200]!r}, not {EXPECTED!r}")


BLOCK = 1000
"""Requests per timed block: the fastest block is the one other processes disturbed least."""


async def run(make_client: Callable[[], Client], requests: int, concurrency: int) -> tuple[float, float]:
    """CPU seconds per request (over all requests, and in the fastest block of BLOCK) from
    ``concurrency`` clients at once (their requests meet in the batcher, as under load), each
    sending its share of every block one after another."""
    clients = [make_client() for _ in range(concurrency)]
    await one_client(clients[0], 200)  # warm caches and the batcher before the clock runs
    total, fastest = 0.0, float("inf")
    for start in range(0, requests, BLOCK):
        block = min(BLOCK, requests - start)
        share, extra = divmod(block, concurrency)
        started = time.process_time()
        await asyncio.gather(*(one_client(client, share + (i < extra)) for i, client in enumerate(clients)))
        seconds = time.process_time() - started
        total += seconds
        fastest = min(fastest, seconds / block)
    return total / max(1, requests), fastest


def client_maker(app: App, settings: Any, lane: Any, route: str, through_protocol: bool) -> Callable[[], Client]:
    if through_protocol:
        connect = connection_factory(app, settings, lane)
        raw = RAW_GET if route == "get" else RAW_POST

        def make_connected() -> Client:
            exchange = connect()
            return lambda: exchange(raw)

        return make_connected
    template = scope_for(route)
    return lambda: lambda: one_request(app, template)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests timed (default: 20000)")
    parser.add_argument("--route", choices=["post", "get", "bare"], default="post", help="what to call (default: post)")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="clients sending at once, whose requests batch together (default: 1)"
    )
    parser.add_argument(
        "--through-protocol", action="store_true", help="send raw HTTP through uvicorn's protocol, not ASGI calls"
    )
    parser.add_argument(
        "--no-lane", action="store_true", help="with --through-protocol: every request through the ASGI app"
    )
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 25 functions by own time")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        return measure(args, stack)


def measure(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    if args.route == "bare":
        sys.path.insert(0, str(BENCH_DIR))
        from constant_apps import bare

        app: App = bare
        settings = lane = None
    else:
        from dockml.cli.serve import _metrics_folder

        # Metrics in shared files, as each of the benchmark's two workers keeps them.
        stack.enter_context(_metrics_folder(2))
        app, settings, lane = iris_app_and_settings()
        if args.no_lane:
            lane = None
    import uvloop

    loop = uvloop.new_event_loop()  # as the server runs
    asyncio.set_event_loop(loop)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    route = "post" if args.route == "bare" else args.route
    make_client = client_maker(app, settings, lane, route, args.through_protocol)
    concurrency = max(1, args.concurrency)
    mean, fastest = loop.run_until_complete(run(make_client, args.requests, concurrency))
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(int(os.environ.get("TOP", "25")))
    pending = asyncio.all_tasks(loop)  # the app's own watchers, which a server's shutdown would end
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending))
    if args.requests:
        print(
            f"{args.route}: {fastest * 1e6:.1f} CPU µs per request in the fastest block of {BLOCK}"
            f" ({mean * 1e6:.1f} over all {args.requests}) from {concurrency} client(s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
