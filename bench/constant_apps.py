"""The two ceilings dockml is measured against: apps that answer a constant with no model at all.

Both read the request body (as any real endpoint must) and return the answer the iris demo gives,
so a benchmark measured against them shows what dockml's own work costs:

- ``bare``: a plain ASGI callable, the least work a Python app on uvicorn can do per request;
- ``starlette``: a Starlette endpoint, what a framework's hello-world costs.

    uvicorn constant_apps:bare --app-dir bench --workers 2 --loop uvloop --http httptools
    uvicorn constant_apps:starlette --app-dir bench --workers 2 --loop uvloop --http httptools
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"predictions":["setosa"]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]

Message = MutableMapping[str, Any]


async def bare(
    scope: Message, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:  # the whole body, however it arrives
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def predict(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


starlette = Starlette(
    routes=[
        Route("/", predict, methods=["GET", "POST"]),
        Route("/predict", predict, methods=["GET", "POST"]),
    ]
)
