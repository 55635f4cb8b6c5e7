"""Compressed request bodies: ``Content-Encoding: gzip`` or ``deflate``, on every route.

The body is inflated as the app reads it, never more than ``max_bytes`` past what the app has
taken: once the inflated size passes the body limit the request gets 413, so a small compressed
body that inflates to gigabytes (a compression bomb) costs no more memory than a plain body at
the limit. Any other encoding is a clear 415, and data that does not inflate a 400. The app
sees a plain body: the Content-Encoding and Content-Length headers are taken out of its request.

The errors are raised from ``receive``, as the body limit's are (limits.py), so each route
answers them in its own form (a problem document, V2's or MLflow's error body).
"""

from __future__ import annotations

import zlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockml.errors import MalformedInput, UnsupportedMediaType
from dockml.http.limits import too_large

# wbits: gzip's header and trailer; "deflate" in HTTP is the zlib format (RFC 9110), but some
# clients send raw deflate, which is tried when the zlib header is not there.
_GZIP, _ZLIB, _RAW = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS, -zlib.MAX_WBITS
ENCODINGS = {"gzip": _GZIP, "x-gzip": _GZIP, "deflate": _ZLIB}


class Inflater:
    """One body's decompressor, refusing output past ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.wbits = ENCODINGS[encoding]
        self.encoding = encoding
        self.engine = zlib.decompressobj(self.wbits)
        self.limit = limit
        self.size = 0
        self.started = False

    def feed(self, chunk: bytes, last: bool) -> bytes:
        try:
            out = self._inflate(chunk)
            if last:
                out += self.engine.flush()
                if not self.engine.eof:
                    raise MalformedInput(f"the {self.encoding} body ends before its compressed data does")
        except zlib.error as error:
            raise MalformedInput(
                f"the body is not valid {self.encoding} data ({error}); compress it with gzip or deflate, "
                "or send it uncompressed without Content-Encoding"
            ) from None
        return out

    def _inflate(self, chunk: bytes) -> bytes:
        if not self.started and chunk:
            self.started = True
            if self.wbits == _ZLIB and (len(chunk) < 2 or (chunk[0] * 256 + chunk[1]) % 31 or chunk[0] & 0x0F != 8):
                self.engine = zlib.decompressobj(_RAW)
        parts = []
        data = chunk
        while data:
            # max_length bounds each step's output, so a bomb never inflates past the limit in memory.
            part = self.engine.decompress(data, self.limit - self.size + 1)
            self.size += len(part)
            if self.size > self.limit:
                raise too_large(self.limit)
            parts.append(part)
            data = self.engine.unconsumed_tail
            if self.engine.eof:
                break
        return b"".join(parts)


class Decompress:
    """Inflate gzip and deflate request bodies for ``app``; 415 for any other Content-Encoding."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = None
        for name, value in scope["headers"]:
            if name == b"content-encoding":
                encoding = value.decode("latin-1").strip().lower()
                break
        if encoding is None or encoding in ("", "identity"):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
        inner = {**scope, "headers": headers}
        if encoding not in ENCODINGS:
            await self.app(inner, _refusing(encoding), send)
            return
        inflater = Inflater(encoding, self.max_bytes)

        async def inflating_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                last = not message.get("more_body", False)
                message = {**message, "body": inflater.feed(message.get("body", b""), last)}
            return message

        await self.app(inner, inflating_receive, send)


def _refusing(encoding: str) -> Receive:
    async def receive() -> Message:
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not accepted; send the body uncompressed, or as gzip or deflate"
        )

    return receive
