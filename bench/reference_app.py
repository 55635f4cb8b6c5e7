"""The reference server: the fastest a Starlette app on uvicorn can answer, with no model at all.

It reads the request body (as any real endpoint must) and returns the answer the iris demo
gives, so a benchmark measured against it shows what dockml's own work costs.

    uvicorn reference_app:app --app-dir bench --workers 2 --loop uvloop --http httptools
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"predictions":["setosa"]}'


async def predict(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


app = Starlette(
    routes=[
        Route("/", predict, methods=["GET", "POST"]),
        Route("/predict", predict, methods=["GET", "POST"]),
    ]
)
