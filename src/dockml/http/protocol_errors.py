"""Problem documents on the V2 and MLflow paths, reshaped into those protocols' error bodies.

The protocol routes answer their own errors in their protocol's form; this catches the answers
made before a request reaches them (the API key's 401, admission's 503, the deadline's 504,
Starlette's 404 and 405), so a protocol client never sees an error body it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockml.http import mlflow, v2
from dockml.http.problems import MEDIA_TYPE

Reshape = Callable[[int, str], tuple[int, bytes]]
MLFLOW_PATHS = ("/invocations", "/ping", "/health", "/version")


def _v2(status: int, detail: str) -> tuple[int, bytes]:
    status = v2.protocol_status(status)
    return status, v2.error_body(status, detail)


def _mlflow(status: int, detail: str) -> tuple[int, bytes]:
    status = mlflow.protocol_status(status)
    return status, mlflow.error_body(status, detail)


def reshaper(path: str) -> Reshape | None:
    if path == "/v2" or path.startswith("/v2/"):
        return _v2
    if path in MLFLOW_PATHS or (path.startswith("/models/") and path.endswith(("/invocations", "/ping"))):
        return _mlflow
    return None


def _detail(body: bytes) -> str:
    try:
        problem = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")[:500]
    return str(problem.get("detail") or problem.get("title") or "error") if isinstance(problem, dict) else "error"


class ProtocolErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reshape = reshaper(scope["path"]) if scope["type"] == "http" else None
        if reshape is None:
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        parts: list[bytes] = []

        async def reshaping_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if (b"content-type", MEDIA_TYPE.encode()) in message.get("headers", []):
                    held = message  # a problem document: wait for its body
                    return
            elif held is not None and message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                status, body = reshape(held["status"], _detail(b"".join(parts)))
                headers = [(k, v) for k, v in held.get("headers", []) if k not in (b"content-type", b"content-length")]
                headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({**held, "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, reshaping_send)
