"""dockml's own work per request, without the network: the ASGI app called directly, one request
after another, as uvicorn would call it. For comparing changes to the hot path on a noisy machine.

    python bench/hotpath.py [--requests 20000] [--route post|get|bare] [--profile]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/hotpath.py --requests 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/hotpath.py --requests 2000

It prints CPU microseconds per request (process time, which other processes on the machine do not
inflate as they do wall time). Under callgrind, the difference between the two runs' instruction
counts (`Collected :` in its summary), divided by the requests, is the instructions per request:
the same on every run, so a change of a few percent shows. `--profile` prints cProfile's top
functions by own time. `--route bare` calls constant_apps.bare, the floor of any ASGI app.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
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


def iris_app() -> App:
    from dockml.config import load_settings
    from dockml.demos import demo_paths
    from dockml.http.app import create_app
    from dockml.service import load_registry

    # Two workers on two cores: ONNX Runtime on one thread, as each worker of the benchmark runs it.
    settings = load_settings(
        config_file=None, model_arguments=[str(demo_paths()["iris"])], flags={"workers": 2}, environ={}
    )
    registry = load_registry(settings)
    registry.warm_up()
    return create_app(registry, settings)


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


async def run(app: App, route: str, requests: int) -> float:
    template = scope_for(route)
    answer = await one_request(app, template)
    if answer != EXPECTED:
        raise SystemExit(f"hotpath: the app answered {answer[:200]!r}, not {EXPECTED!r}")
    for _ in range(200):  # warm caches and the batcher before the clock runs
        await one_request(app, template)
    started = time.process_time()
    for _ in range(requests):
        await one_request(app, template)
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests timed (default: 20000)")
    parser.add_argument("--route", choices=["post", "get", "bare"], default="post", help="what to call (default: post)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 25 functions by own time")
    args = parser.parse_args()
    if args.route == "bare":
        sys.path.insert(0, str(BENCH_DIR))
        from constant_apps import bare

        app: App = bare
    else:
        app = iris_app()
    loop = asyncio.new_event_loop()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    seconds = loop.run_until_complete(run(app, "post" if args.route == "bare" else args.route, args.requests))
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    pending = asyncio.all_tasks(loop)  # the app's own watchers, which a server's shutdown would end
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    if args.requests:
        print(f"{args.route}: {seconds / args.requests * 1e6:.1f} CPU µs per request over {args.requests} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
