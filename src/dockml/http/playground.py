"""The playground at ``GET /``: a page to try every served model in a browser.

Plain HTML, JavaScript and CSS from ``static/playground/`` (no build step, no CDN). The page
holds no data of its own: it reads ``GET /models`` and calls the per-model predict routes, so
it works with one model or several. Its files are open even when the server has an API key
(guards.py), so the page can ask for the key; every call it makes still needs it.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static" / "playground"
PREFIX = "/playground"

# Only dockml's own files and calls; no inline script or style, no framing.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def playground_routes() -> list[BaseRoute]:
    """``GET /`` (the page) and its files under ``/playground/``."""
    page = (STATIC / "index.html").read_bytes()

    async def home(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=HEADERS)

    return [
        Route("/", home, methods=["GET"]),
        Mount(PREFIX, StaticFiles(directory=STATIC), name="playground"),
    ]
