"""The predict lane: a plain request to a predict route, answered from the connection's own
callbacks (connections.py) rather than by an ASGI task.

At a few tens of microseconds per request, the ASGI machinery around the predict path (a task
per request, the scope's messages, ``receive`` and ``send`` with their header checks) cost more
than parsing, batching, the model and encoding together. Answered here, a one-row POST costs two
workers about 114 µs of CPU rather than 156 at 64 connections, and they answer 1.4 times the
requests per second (bench/run.py has the ratios against the constant apps). The request's body
gathers in uvicorn's own cycle; once whole it is decoded and joins the model's batch as its own
waiter (batching.Waiter), and the answer is written the moment the batch delivers.

The lane takes only the plain request: a GET with no body, or a POST with ``Content-Type:
application/json`` and a ``Content-Length`` within uvicorn's read buffer (64 KiB, so reading
never pauses); with none of the headers another layer acts on (CORS's Origin, Decompress's
Content-Encoding, Expect, chunked bodies, proxy headers), admitted by the edge, on a connection
whose writes are not held up. Everything else goes on to the ASGI path (fastpath.py), which
answers every case; so every refusal and every rule lives there once, and the lane's answers
are the bytes that path would write (tests/http/test_predict_lane.py compares them).
"""

from __future__ import annotations

import time
from typing import Protocol, cast

from starlette.types import Scope
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT, FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from dockml.errors import MalformedInput
from dockml.http.fastpath import (
    FastPredict,
    PredictRoute,
    decode_get,
    decode_json_body,
    error_answer,
    predictions_json,
    read_query,
)
from dockml.http.guards import Edge
from dockml.models.base import Outputs

Headers = list[tuple[bytes, bytes]]

HANDED_OVER = frozenset(
    (b"origin", b"content-encoding", b"expect", b"transfer-encoding", b"x-forwarded-for", b"x-forwarded-proto")
)
"""Request headers that an outer layer or uvicorn acts on: such a request takes the ASGI path."""

_JSON = (b"content-type", b"application/json")


def _scope(cycle: RequestResponseCycle) -> Scope:
    return cast("Scope", cycle.scope)  # uvicorn's TypedDict, Starlette's mapping: the same dict


class LaneConnection(Protocol):
    """What the lane needs of a connection (connections.py)."""

    flow: FlowControl
    lane_waiting_: LaneRequest | None

    def count_in_progress(self, cycle: RequestResponseCycle) -> None: ...

    def write_answer(self, cycle: RequestResponseCycle, status: int, headers: Headers, body: bytes) -> None: ...

    def request_ended(self, counted: bool) -> None: ...


class PredictLane:
    def __init__(self, fast: FastPredict, aliased_paths: frozenset[str]) -> None:
        """The routes of ``fast`` whose model batches, but ``aliased_paths`` (a platform's routes,
        platform_routes.py, which stand for another route)."""
        self.routes = {
            path: route
            for path, route in fast.routes.items()
            if route.service.policy.enabled and path not in aliased_paths
        }
        self.edge = fast.edge
        self.max_body_bytes = min(fast.max_body_bytes, HIGH_WATER_LIMIT)

    def take(self, connection: LaneConnection, cycle: RequestResponseCycle) -> bool:
        """Start answering ``cycle``'s request here; False, having done nothing, if it is not the lane's."""
        scope = _scope(cycle)
        route = self.routes.get(scope["path"])
        if route is None or scope["method"] not in route.methods or connection.flow.write_paused:
            return False
        for name, _ in scope["headers"]:
            if name in HANDED_OVER:
                return False
        edge = self.edge
        id_header, given_key, content_type, content_length = edge.identify(scope)
        if scope["method"] == "POST":
            plain = content_type == b"application/json" and content_length.isdigit()
            if not plain or int(content_length) > self.max_body_bytes:
                return False
        elif scope["method"] != "GET" or content_length not in (b"", b"0"):  # a GET's body is never read
            return False
        if edge.refusal(scope, given_key) is not None:
            return False
        request = LaneRequest(connection, cycle, route, edge, id_header)
        edge.enter(request)
        if cycle.more_body:
            connection.lane_waiting_ = request
        else:  # a pipelined request, read whole before its turn came
            request.body_arrived()
        return True


class LaneRequest:
    """One request in the lane, from its head to its answer."""

    __slots__ = ("answered", "connection", "counted", "cycle", "edge", "id_header", "proba", "route", "started")

    def __init__(
        self,
        connection: LaneConnection,
        cycle: RequestResponseCycle,
        route: PredictRoute,
        edge: Edge,
        id_header: tuple[bytes, bytes],
    ) -> None:
        self.connection = connection
        self.cycle = cycle
        self.route = route
        self.edge = edge
        self.id_header = id_header
        self.started = time.perf_counter()
        self.counted = False  # in progress for the connections' turn-taking
        self.answered = False
        self.proba = False

    def body_arrived(self) -> None:
        if self.answered:
            return
        self.connection.count_in_progress(self.cycle)
        self.counted = True
        service = self.route.service
        scope = _scope(self.cycle)
        try:
            if scope["method"] == "GET":
                table, self.proba = decode_get(scope["query_string"], service)
            else:
                self.proba = read_query(scope["query_string"], service)[1]
                table = decode_json_body(bytes(self.cycle.body), service)
        except Exception as error:  # noqa: BLE001 - a DockmlError or not: the renderer answers and logs it
            self._answer_error(error)
            return
        service.batcher.join(table, self)

    def body_lost(self) -> None:
        """The connection closed before the whole body arrived."""
        if not self.answered:
            self._answer_error(MalformedInput("the client went away before sending the whole body"))

    def cancel(self) -> bool:
        """The edge's deadline: answered 504 now; its batch then skips it or ignores its outputs."""
        if self.answered:
            return False
        self._answer_error(self.edge.deadline())
        return True

    # As the batcher's waiter (batching.Waiter): answered the moment its batch delivers.

    def cancelled(self) -> bool:
        return self.answered

    def done(self) -> bool:
        return self.answered

    def set_result(self, outputs: Outputs, /) -> None:
        try:
            body = predictions_json(self.route.service, outputs, self.proba)
        except Exception as error:  # noqa: BLE001 - as in body_arrived
            self._answer_error(error)
            return
        self._answer(200, body, [_JSON, self.id_header])

    def set_exception(self, exception: Exception, /) -> None:
        self._answer_error(exception)

    def _answer_error(self, error: Exception) -> None:
        status, body, headers = error_answer(error, _scope(self.cycle), self.route, self.id_header)
        self._answer(status, body, headers)

    def _answer(self, status: int, body: bytes, headers: Headers) -> None:
        # The steps and their order are FastPredict's: leave the edge, count, send, log.
        self.answered = True
        connection = self.connection
        if connection.lane_waiting_ is self:
            connection.lane_waiting_ = None
        edge = self.edge
        edge.leave(self)
        elapsed = time.perf_counter() - self.started
        self.route.record(status, elapsed, edge)
        connection.write_answer(self.cycle, status, headers, body)
        connection.request_ended(self.counted)
        if edge.log_format != "off":
            edge.log(_scope(self.cycle), status, elapsed)
