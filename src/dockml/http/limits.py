"""Request body limit, enforced while the body is read (not after it is in memory)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockml.errors import PayloadTooLarge


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413: by Content-Length up front, else as chunks arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    scope["dockml.too_large"] = declared
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if "dockml.too_large" in scope:
                raise too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, limited_receive, send)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than the limit of {limit} bytes (max_body_bytes)")
