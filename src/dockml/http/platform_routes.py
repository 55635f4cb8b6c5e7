"""The paths a cloud platform chooses, answered by the routes that already do what it asks.

Vertex AI tells the container where it will call (AIP_PREDICT_ROUTE, AIP_HEALTH_ROUTE; see
platforms.py): a POST to the predict route is answered as /invocations (it takes
{"instances": [...]} and answers {"predictions": [...]}), a GET of the health route as /ping.
Rewriting the path before every other layer lets those layers (the API key's open health
checks, admission, metrics) treat the request exactly as the route it stands for.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from dockml.http.route_table import PLATFORM_HEALTH, PLATFORM_PREDICT, platform_path


class PlatformRoutes:
    def __init__(self, app: ASGIApp, *, predict_route: str = "", health_route: str = "") -> None:
        self.app = app
        self.aliases: dict[tuple[str, str], str] = {}
        for route, setting in ((PLATFORM_HEALTH, health_route), (PLATFORM_PREDICT, predict_route)):
            if setting:
                self.aliases.update({(method, platform_path(setting)): route.alias_of for method in route.methods})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = self.aliases.get((scope["method"], scope["path"]))
            if target is not None:
                scope = {**scope, "path": target, "raw_path": target.encode()}
        await self.app(scope, receive, send)
