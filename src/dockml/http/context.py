"""The request context every error log line names: the request's id, its model and its route."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import Scope

_UNPRINTABLE = re.compile(r'[\x00-\x1f\x7f"\\]')


def printable(text: str) -> str:
    """``text`` for one line of a text log: control characters, quotes and backslashes escaped."""
    return _UNPRINTABLE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str
    method: str
    path: str
    model: str = ""
    route: str = ""

    @classmethod
    def of(cls, scope: Scope) -> RequestContext:
        """From the scope: the id the edge gave the request (guards.py), and the model and route a
        model route labelled it with, else the route template Starlette matched (if any yet)."""
        model, route = scope.get("dockml.labels") or ("", getattr(scope.get("route"), "path", ""))
        return cls(scope.get("dockml.request_id", ""), scope.get("method", ""), scope["path"], model, route)

    def __str__(self) -> str:
        # The path and id come from the client: escaped, so a decoded %0A cannot forge a log line.
        return (
            f"{self.method} {printable(self.path)} (request {printable(self.request_id) or '-'}, "
            f"model {self.model or '-'}, route {self.route or '-'})"
        )
