"""Limits on connections, below HTTP's routes: how long a client may take to send a request head,
how many headers and header bytes it may send (431), and how many connections a worker holds.

uvicorn's httptools protocol, with these checks added where it parses. When a worker is at its
connection limit, a new connection evicts the oldest one that has not finished sending its
request head (a slow or idle client) rather than being turned away: 2,000 connections that trickle
header bytes cannot keep a normal client out.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import termios
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

log = logging.getLogger("dockml.server")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    head_timeout_s: float = 10.0
    max_connections: int = 900
    max_headers: int = 100
    max_header_bytes: int = 64 * 1024


_REFUSALS = {
    408: b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
}


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol class with ``limits`` (uvicorn.Config takes a class for ``http``)."""

    class GuardedProtocol(_GuardedProtocol):
        pass

    GuardedProtocol.limits = limits
    return GuardedProtocol


class _GuardedProtocol(HttpToolsProtocol):
    limits: ConnectionLimits = ConnectionLimits()
    last_eviction_log = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_deadline_: asyncio.TimerHandle | None = None
        self.head_started_ = time.monotonic()
        self.header_bytes_ = 0
        self.refused_ = False
        self.mid_head_ = False  # some of a request head has arrived, not all of it
        self.last_answer_ = False  # shutting down: answer the request that has arrived, then close

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._evict_slowest()
        super().connection_made(transport)
        self._arm_head_deadline()

    def _evict_slowest(self) -> None:
        waiting = [c for c in self.connections if isinstance(c, _GuardedProtocol) and c.head_deadline_ is not None]
        if not waiting:
            return
        slowest = min(waiting, key=lambda connection: connection.head_started_)
        slowest.refuse(408)
        now = time.monotonic()
        if now - _GuardedProtocol.last_eviction_log > 10:
            _GuardedProtocol.last_eviction_log = now
            log.warning(
                "worker at its connection limit (%d): closing the connections slowest to send a request",
                self.limits.max_connections,
            )

    def _arm_head_deadline(self) -> None:
        self.head_started_ = time.monotonic()
        if self.head_deadline_ is None:
            self.head_deadline_ = self.loop.call_later(self.limits.head_timeout_s, self.refuse, 408)

    def _disarm_head_deadline(self) -> None:
        if self.head_deadline_ is not None:
            self.head_deadline_.cancel()
            self.head_deadline_ = None

    def refuse(self, status: int) -> None:
        """Answer ``status`` and close: the request head was too slow (408) or too large (431)."""
        self._disarm_head_deadline()
        if self.refused_ or self.transport.is_closing():
            return
        self.refused_ = True
        self.transport.write(_REFUSALS[status])
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if not self.refused_:
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.mid_head_ = True
        self.header_bytes_ = 0
        self._arm_head_deadline()  # a kept-alive connection's next request gets the same time

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes_ += len(name) + len(value)
        if self.refused_:
            return
        if len(self.headers) >= self.limits.max_headers or self.header_bytes_ > self.limits.max_header_bytes:
            self.refuse(431)
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        self.mid_head_ = False
        if not self.refused_:
            super().on_headers_complete()
            if self.last_answer_:
                self.cycle.keep_alive = False  # "connection: close", and closed once answered

    def on_body(self, body: bytes) -> None:
        if not self.refused_:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused_:
            super().on_message_complete()

    def shutdown(self) -> None:
        """uvicorn closes a connection that is between requests at once. If the client's next
        request has already arrived (unread in the socket, or its head half read), closing would
        reset it: it was sent before the server stopped, so it is answered first, then closed."""
        cycle: RequestResponseCycle | None = self.cycle  # None before the first request
        between_requests = cycle is None or cycle.response_complete
        if between_requests and not self.refused_ and (self.mid_head_ or self._unread_bytes() > 0):
            self.last_answer_ = True
            return
        super().shutdown()

    def _unread_bytes(self) -> int:
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return 0
        count = array.array("i", [0])
        try:
            fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
        except OSError:
            return 0
        return count[0]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)
