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
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from dockml.http.error_renderer import Handler

STATIC = Path(__file__).parent / "static" / "playground"

# Only dockml's own files and calls; no inline script or style, no framing.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def playground_endpoints() -> dict[str, Handler]:
    """``GET /``: the page."""
    page = (STATIC / "index.html").read_bytes()

    async def home(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=HEADERS)

    return {"playground": home}


def playground_files() -> dict[str, ASGIApp]:
    """Its files, under ``/playground/``."""
    return {"playground_files": StaticFiles(directory=STATIC)}
