"""Swagger UI at /apidocs, served from the installed swagger-ui-py package (no CDN)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from dockml.errors import MissingDependency
from dockml.http.error_renderer import Handler

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>dockml - API docs</title>
  <link rel="stylesheet" href="/apidocs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/apidocs/static/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/apidocs/static/swagger-ui-bundle.js"></script>
  <script src="/apidocs/static/swagger-ui-standalone-preset.js"></script>
  <script src="/apidocs/init.js"></script>
</body>
</html>
"""

# A separate script rather than an inline one, so a strict Content-Security-Policy can allow it.
INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
  validatorUrl: null,  // the online validator would send the spec's address to a third party
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
"""


def swagger_ui_folder() -> Path:
    # Found without importing the package: its __init__ needs jinja2, which dockml does not.
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("the Swagger UI needs swagger-ui-py: pip install swagger-ui-py")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


async def init_script(request: Request) -> Response:
    return Response(INIT, media_type="text/javascript")


async def to_apidocs(request: Request) -> Response:
    return RedirectResponse("/apidocs", status_code=307)


def docs_endpoints() -> dict[str, Handler]:
    return {"apidocs": page, "apidocs_script": init_script, "docs": to_apidocs}


def docs_files() -> dict[str, ASGIApp]:
    return {"apidocs_files": StaticFiles(directory=swagger_ui_folder())}
