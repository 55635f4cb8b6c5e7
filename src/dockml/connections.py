"""Limits on connections, below HTTP's routes: how long a client may take to send a request head,
how many headers and header bytes it may send (431), how many connections a worker holds, and
which connections it reads while it is busy (Turns). The requests the predict lane takes
(http/lane.py) start here instead of in an ASGI task, and their answers are written here.

uvicorn's httptools protocol, with these checks added where it parses. When a worker is at its
connection limit, a new connection evicts the oldest one that has not finished sending its
request head (a slow or idle client) rather than being turned away: 2,000 connections that trickle
header bytes cannot keep a normal client out.

Every check here runs for every request, so each is made once per request head rather than once
per header, and the head deadlines share one timer per worker instead of arming and cancelling a
timer per request: that halved what these checks add to uvicorn's own protocol per request (from
about 8 to 4 µs in bench/hotpath.py --through-protocol). The keep-alive timeout, which uvicorn
arms and cancels as a timer per request, shares that timer too: ~5 µs less CPU per one-row POST
in a loaded server (two workers, wrk c64).
"""

from __future__ import annotations

import array
import asyncio
import contextvars
import fcntl
import logging
import termios
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from dockml.http.guards import WAITED
from dockml.http.route_table import OPEN_PATHS

if TYPE_CHECKING:
    from dockml.http.lane import LaneRequest, PredictLane

log = logging.getLogger("dockml.server")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    head_timeout_s: float = 10.0
    keep_alive_timeout_s: float = 5.0
    max_connections: int = 900
    max_headers: int = 100
    max_header_bytes: int = 64 * 1024
    take_turns_above: int = 0  # 0: connections never take turns
    max_turn_wait_s: float = 0.02


LONGEST_TURN_WAIT_S = 1.0
"""However busy the worker, a connection waits no longer than this for its turn (Retry-After's
second): then it is read, and a request that has arrived gets its 503."""


class Deadlines:
    """One timer per worker that closes every connection whose request head is overdue (with 408)
    or that has been idle between requests for longer than the keep-alive timeout.

    A connection's deadlines are numbers it sets when a request head begins (or an answer has
    gone and it waits for the next request) and clears when the head is complete (or the next
    request's first bytes arrive); the timer looks at them a few times per timeout, so a slow head
    gets its 408, and an idle connection is closed, between one and one and a quarter timeouts (at
    most a second late) after the deadline was set."""

    def __init__(self, limits: ConnectionLimits) -> None:
        shortest = min(limits.head_timeout_s, limits.keep_alive_timeout_s)
        self.period_s = min(1.0, max(shortest / 4, 0.01))
        self.timer: asyncio.TimerHandle | None = None

    def watch(self, connection: _GuardedProtocol) -> None:
        if self.timer is None:
            self.timer = connection.loop.call_later(self.period_s, self.sweep, connection.loop, connection.connections)

    def sweep(self, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        now = loop.time()
        for connection in list(connections):
            if not isinstance(connection, _GuardedProtocol):
                continue
            if 0 < connection.head_due_ <= now:
                connection.refuse(408)
            elif 0 < connection.idle_due_ <= now:
                connection.idle_due_ = 0.0
                connection.timeout_keep_alive_handler()
        self.timer = loop.call_later(self.period_s, self.sweep, loop, connections) if connections else None


class Turns:
    """Connections taking turns while a worker is busy: one worker's share of them.

    With more than ``limit`` requests in progress (a request counts once its body has arrived),
    a connection that has just been answered is not read again until a request ends: it joins a
    queue, and its client's next request waits in the socket, costing the worker nothing. A
    worker's latency is one pass of its event loop over every connection with a request to read,
    so reading fewer keeps the requests it takes fast: at ten times the load, admitted requests'
    p99 stays within 2x of its value at nominal load, where without turns it grew 6.5-8x
    (bench/limits.py). Turns come in queue order, and within LONGEST_TURN_WAIT_S whatever
    happens. A request that waited longer than ``max_turn_wait_s`` for its turn gets a 503 with
    Retry-After at once (the edge answers it, seeing ``WAITED`` in its scope), and its connection
    keeps the turn for the client's next request. The wait counts from the connection's last
    answer, so a client's own pause between requests counts too: the server cannot see when a
    request it does not read arrived. Connections that served a health route never wait.
    """

    def __init__(self, limit: int = 0) -> None:
        self.limit = limit
        self.waiting: deque[_GuardedProtocol] = deque()
        self.busy = 0  # requests in progress in this worker
        self.deadline: asyncio.TimerHandle | None = None

    def join(self, connection: _GuardedProtocol) -> None:
        self.waiting.append(connection)
        if self.deadline is None:
            self.deadline = connection.loop.call_later(LONGEST_TURN_WAIT_S, self.release_overdue)

    def request_ended(self, _: object) -> None:
        """If that freed a place, the next connection in line with a request takes it. Idle ones
        on the way are only let go, as they would start no request to pass the turn on."""
        self.busy -= 1
        if self.busy < self.limit:
            while self.waiting and not self.waiting.popleft().take_turn():
                pass

    def release_overdue(self) -> None:
        """Read every connection that has waited LONGEST_TURN_WAIT_S: no turn is ever lost for good
        (a request that ends nothing, such as a malformed one, passes no turn on)."""
        self.deadline = None
        if not self.waiting:
            return
        loop = self.waiting[0].loop
        while self.waiting and self.waiting[0].waited_for_turn_s(loop.time()) >= LONGEST_TURN_WAIT_S - 0.001:
            self.waiting.popleft().take_turn()
        if self.waiting:
            remaining = LONGEST_TURN_WAIT_S - self.waiting[0].waited_for_turn_s(loop.time())
            self.deadline = loop.call_later(max(0.0, remaining), self.release_overdue)


_REFUSALS = {
    408: b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
}


def guarded_protocol(limits: ConnectionLimits, lane: PredictLane | None = None) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol class with ``limits`` (uvicorn.Config takes a class for ``http``),
    answering the requests ``lane`` takes (http/lane.py) itself."""

    class GuardedProtocol(_GuardedProtocol):
        pass

    GuardedProtocol.limits = limits
    GuardedProtocol.lane = lane
    GuardedProtocol.turns = Turns(limits.take_turns_above)
    GuardedProtocol.deadlines = Deadlines(limits)
    return GuardedProtocol


class _GuardedProtocol(HttpToolsProtocol):
    limits: ConnectionLimits = ConnectionLimits()
    turns: Turns = Turns()
    deadlines: Deadlines = Deadlines(limits)
    lane: PredictLane | None = None
    last_eviction_log = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_due_ = 0.0  # when the request head being read is overdue (loop time); 0: none is
        self.idle_due_ = 0.0  # when the connection, idle since its last answer, is closed; 0: not idle
        self.head_bytes_ = 0  # bytes received since the request head began, while it spans reads
        self.last_read_ = 0  # bytes in the latest read
        self.refused_ = False
        self.mid_head_ = False  # some of a request head has arrived, not all of it
        self.last_answer_ = False  # shutting down: answer the request that has arrived, then close
        self.waiting_since_: float | None = None  # waiting for its turn (not read) since then
        self.waited_s_ = 0.0  # how long the request about to be read waited, if too long
        self.keeps_turn_ = False  # its request waited too long: it is refused, the next one read
        self.started_: tuple[RequestResponseCycle, asyncio.Task[None]] | None = None  # the latest request task
        self.counted_: RequestResponseCycle | None = None  # the latest request counted as in progress
        self.lane_waiting_: LaneRequest | None = None  # a request of the lane waiting for its body

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._evict_slowest()
        super().connection_made(transport)
        self.head_due_ = self.loop.time() + self.limits.head_timeout_s  # the first request's head
        self.deadlines.watch(self)

    def _evict_slowest(self) -> None:
        waiting = [c for c in self.connections if isinstance(c, _GuardedProtocol) and c.head_due_]
        if not waiting:
            return
        slowest = min(waiting, key=lambda connection: connection.head_due_)
        slowest.refuse(408)
        now = time.monotonic()
        if now - _GuardedProtocol.last_eviction_log > 10:
            _GuardedProtocol.last_eviction_log = now
            log.warning(
                "worker at its connection limit (%d): closing the connections slowest to send a request",
                self.limits.max_connections,
            )

    def refuse(self, status: int) -> None:
        """Answer ``status`` and close: the request head was too slow (408) or too large (431)."""
        self.head_due_ = 0.0
        if self.refused_ or self.transport.is_closing():
            return
        self.refused_ = True
        self.transport.write(_REFUSALS[status])
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.idle_due_ = 0.0
        if self.refused_:
            return
        self.last_read_ = len(data)
        if self.mid_head_:
            # A head arriving over several reads is refused once what came before this read is over
            # the limit (this read may end the head and carry the body): it holds at most one read more.
            if self.head_bytes_ > self.limits.max_header_bytes:
                self.refuse(431)
                return
            self.head_bytes_ += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.mid_head_ = True
        self.head_bytes_ = 0
        self.head_due_ = self.loop.time() + self.limits.head_timeout_s  # each request's head gets the same time

    def on_headers_complete(self) -> None:
        self.head_due_ = 0.0
        self.mid_head_ = False
        if not self.refused_ and self._head_too_large():
            self.refuse(431)
        if self.waited_s_:
            self.scope[WAITED] = self.waited_s_  # type: ignore[literal-required]
            self.waited_s_ = 0.0
            self.keeps_turn_ = True
        if not self.refused_:
            super().on_headers_complete()
            if self.last_answer_:
                self.cycle.keep_alive = False  # "connection: close", and closed once answered

    def _head_too_large(self) -> bool:
        # Checked once the head is parsed (a head arriving in one read is bounded by the read size,
        # one spanning reads by data_received), not per header: that cost every request a call per header.
        headers = self.headers
        if len(headers) > self.limits.max_headers:
            return True
        if self.head_bytes_ + self.last_read_ <= self.limits.max_header_bytes:
            return False  # the head came in fewer bytes than the limit, so its names and values did too
        return sum(len(name) + len(value) for name, value in headers) > self.limits.max_header_bytes

    def on_body(self, body: bytes) -> None:
        if not self.refused_:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused_:
            super().on_message_complete()
            waiting = self.lane_waiting_
            if waiting is not None and waiting.cycle is self.cycle:
                self.lane_waiting_ = None
                waiting.body_arrived()
            elif self.started_ is not None and self.started_[0] is self.cycle:
                self._count(*self.started_)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        if self.lane is not None and app is self.app and self.lane.take(self, cycle):
            return
        # uvicorn's own, keeping the task: a request counts as in progress for turn-taking from
        # when its body has arrived (so clients trickling bodies hold no place) until its task ends.
        context = contextvars.Context() if self.config.reset_contextvars else None
        task = self.loop.create_task(cycle.run_asgi(app), context=context)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)
        self.started_ = (cycle, task)
        if not cycle.more_body:  # a pipelined request, read whole before it started
            self._count(cycle, task)

    def _count(self, cycle: RequestResponseCycle, task: asyncio.Task[None]) -> None:
        if self.counted_ is not cycle and not task.done():
            self.count_in_progress(cycle)
            task.add_done_callback(self.turns.request_ended)

    def count_in_progress(self, cycle: RequestResponseCycle) -> None:
        self.counted_ = cycle
        self.turns.busy += 1

    # The lane's side (http/lane.py): its answers are written here, as uvicorn's ``send`` writes them.

    def write_answer(
        self, cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """Write the whole answer in one write, then go on to the connection's next request."""
        if cycle.disconnected or self.transport.is_closing():  # gone, or closing (a 408 for a pipelined head)
            return
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content += (name, b": ", value, b"\r\n")
        for name, value in headers:
            content += (name.lower(), b": ", value, b"\r\n")
        content.append(b"content-length: %d\r\n" % len(body))
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        self.transport.write(b"".join(content))
        cycle.response_started = cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()

    def request_ended(self, counted: bool) -> None:
        if counted:
            self.turns.request_ended(None)

    def on_response_complete(self) -> None:
        answered = self.cycle
        self._next_request_or_idle()
        if self.keeps_turn_:  # refused for its wait: the client's next request is read at once
            self.keeps_turn_ = False
            return
        # The request answered now counts as in progress until its task ends.
        others = self.turns.busy - (1 if self.counted_ is answered else 0)
        if (
            self.turns.limit
            and others >= self.turns.limit
            and answered.scope["path"] not in OPEN_PATHS  # a load balancer's probes are never kept waiting
            and self.cycle.response_complete  # else uvicorn started a pipelined request already
            and self.waiting_since_ is None
            and not self.transport.is_closing()
        ):
            self.transport.pause_reading()
            self.idle_due_ = 0.0  # the client is not idle: it is kept waiting
            self.waiting_since_ = self.loop.time()
            self.turns.join(self)

    def _next_request_or_idle(self) -> None:
        # uvicorn's on_response_complete, but for the keep-alive timeout: a deadline Deadlines
        # sweeps instead of a timer armed here and cancelled when the next request arrives.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self.idle_due_ = self.loop.time() + self.limits.keep_alive_timeout_s

    def waited_for_turn_s(self, now: float) -> float:
        return now - self.waiting_since_ if self.waiting_since_ is not None else 0.0

    def take_turn(self) -> bool:
        """Read again; True if a request is there to read."""
        waited = self.waited_for_turn_s(self.loop.time())
        self.waiting_since_ = None
        self.transport.resume_reading()
        if self._unread_bytes() > 0:
            self.waited_s_ = waited if waited > self.limits.max_turn_wait_s else 0.0
            return True
        self.idle_due_ = self.loop.time() + self.limits.keep_alive_timeout_s
        return False

    def _leave_the_queue(self) -> None:
        if self.waiting_since_ is not None:
            self.turns.waiting.remove(self)
            self.waiting_since_ = None
            self.transport.resume_reading()

    def shutdown(self) -> None:
        """uvicorn closes a connection that is between requests at once. If the client's next
        request has already arrived (unread in the socket, or its head half read), closing would
        reset it: it was sent before the server stopped, so it is answered first, then closed."""
        self._leave_the_queue()  # a request waiting for its turn has arrived: it is answered
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
        self.head_due_ = self.idle_due_ = 0.0
        self._leave_the_queue()
        super().connection_lost(exc)
        waiting, self.lane_waiting_ = self.lane_waiting_, None
        if waiting is not None:
            waiting.body_lost()
