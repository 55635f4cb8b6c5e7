"""The hot route, ``GET``/``POST .../predict``, answered in plain ASGI.

Once a model runs in ONNX Runtime (microseconds), the framework's routing, Request object and
middleware stack cost more than the model. This layer sits in front of the Starlette app:
predict requests are answered here, everything else (and every other method on these paths)
goes on to Starlette. The rules are the same as everywhere: the body limit while reading,
errors answered by the one renderer (error_renderer.py), the same metrics.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from dockml import metrics
from dockml.codecs.json_budget import check_json_values, value_budget
from dockml.codecs.records import decode_json, decode_query
from dockml.errors import FieldError, InvalidInput, MalformedInput, MethodNotAllowed, UnsupportedMediaType
from dockml.http.context import RequestContext
from dockml.http.error_renderer import ErrorForm, render
from dockml.http.guards import Edge
from dockml.http.limits import too_large
from dockml.http.offload import decode_sized
from dockml.models.base import Outputs
from dockml.service import ModelService
from dockml.signature import Signature

_JSON_HEADERS = [(b"content-type", b"application/json")]
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def parse_proba(raw: str | None, service: ModelService) -> bool:
    if raw is None:
        return False
    value = raw.strip().lower()
    if value not in _TRUE and value not in _FALSE:
        raise InvalidInput(
            f"query parameter 'proba': expected true or false, got {raw!r}",
            [FieldError("proba", "expected true or false")],
        )
    if value in _TRUE and not service.signature.probabilities:
        raise InvalidInput(
            f"model '{service.name}' does not give class probabilities", [FieldError("proba", "not available")]
        )
    return value in _TRUE


def read_query(query_string: bytes, service: ModelService) -> tuple[list[tuple[str, str]], bool]:
    """The query's feature values, and whether it asks for probabilities: ``proba`` is a control
    parameter, unless the model has a feature of that name."""
    if not query_string:
        return [], False
    query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if "proba" in service.signature.name_set:
        return query, False
    asked = [value for name, value in query if name == "proba"]
    features = [(name, value) for name, value in query if name != "proba"]
    return features, parse_proba(asked[-1] if asked else None, service)


def check_json_media_type(content_type: str) -> None:
    if content_type == "application/json":  # as nearly every client sends it
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the rows as JSON with Content-Type: application/json (got {media_type or 'none'}); "
            "upload CSV files to predict_file"
        )


ROWS_ADVICE = "send fewer rows per request, or score large files offline with `dockml score`"


def parse_json_body(body: bytes, signature: Signature) -> Any:
    if not body or body.isspace():
        raise MalformedInput("the request body is empty; send JSON rows")
    check_json_values(body, value_budget(signature), ROWS_ADVICE)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedInput(f"the body is not valid JSON: {error}") from None


def decode_get(query_string: bytes, service: ModelService) -> tuple[np.ndarray, bool]:
    """A GET's one-row table and whether it asks for probabilities: the query read with little
    Python when it is what nearly every client sends (codecs/number_inputs.py)."""
    table = service.numbers.decode_query(query_string) if service.numbers is not None else None
    if table is not None:
        return table, False
    features, proba = read_query(query_string, service)
    return decode_query(features, service.signature), proba


def decode_json_body(body: bytes, service: ModelService) -> np.ndarray:
    """The table of a JSON body: read in one C call when it is what nearly every client sends
    (codecs/number_inputs.py), else parsed, then checked value by value (codecs/records.py)."""
    table = service.numbers.decode(body) if service.numbers is not None else None
    return table if table is not None else decode_json(parse_json_body(body, service.signature), service.signature)


class PredictRoute:
    """Per-model state prepared once: the service and its metrics."""

    def __init__(self, service: ModelService, methods: tuple[str, ...]) -> None:
        self.service = service
        self.methods = methods
        self.tally = metrics.PredictTally(service.name)
        self.latency = metrics.LATENCY.labels(service.name, "predict")

    def record(self, status: int, elapsed: float, edge: Edge) -> None:
        """An answer's metrics, counted before it leaves (so a client that reads /metrics next sees it)."""
        if status == 200:
            self.tally.add(elapsed)
        else:
            self.latency.observe(elapsed)
            metrics.REQUESTS.labels(self.service.name, "predict", str(status)).inc()
        if not edge.in_progress:
            metrics.PredictTally.flush_all()


def error_answer(
    error: Exception, scope: Scope, route: PredictRoute, id_header: tuple[bytes, bytes]
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """Status, body and headers (but Content-Length) of the answer to ``error``, from the one renderer."""
    context = RequestContext(scope["dockml.request_id"], scope["method"], scope["path"], route.service.name, "predict")
    answer = render(error, context, ErrorForm.PROBLEM)
    return answer.status, answer.body, [(b"content-type", answer.content_type), *answer.headers, id_header]


def predictions_json(service: ModelService, outputs: Outputs, proba: bool) -> bytes:
    return orjson.dumps(service.encoder.to_json(outputs, proba=proba), option=orjson.OPT_SERIALIZE_NUMPY)


class FastPredict:
    def __init__(
        self,
        app: ASGIApp,
        services: dict[str, tuple[ModelService, tuple[str, ...]]],
        max_body_bytes: int,
        edge: Edge,
    ) -> None:
        """``services`` maps each predict path (``/predict``, ``/models/iris/predict``) to its model and
        the methods it answers (route_table.fast_paths); ``app`` answers everything else; ``edge``'s
        steps (guards.py) run here inline."""
        self.app = app
        self.routes = {path: PredictRoute(service, methods) for path, (service, methods) in services.items()}
        self.max_body_bytes = max_body_bytes
        self.edge = edge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        edge = self.edge
        id_header, given_key, content_type, content_length = edge.identify(scope)
        task = asyncio.current_task()
        assert task is not None
        entered = False
        try:
            refused = edge.refusal(scope, given_key)
            if refused is not None:
                raise refused
            edge.enter(task)
            entered = True
            if scope["method"] not in route.methods:
                allowed = ", ".join(route.methods)
                raise MethodNotAllowed(
                    f"{scope['method']} is not allowed on {scope['path']}; use {allowed}", allowed=route.methods
                )
            status, body = 200, await self._predict(route.service, scope, receive, content_type, content_length)
            headers = [*_JSON_HEADERS, id_header]
        except asyncio.CancelledError:
            if not edge.timed_out(task):
                raise
            status, body, headers = error_answer(edge.deadline(), scope, route, id_header)
        except Exception as error:  # noqa: BLE001 - a DockmlError or not: the renderer answers and logs it
            status, body, headers = error_answer(error, scope, route, id_header)
        finally:
            if entered:
                edge.leave(task)
        headers.append((b"content-length", str(len(body)).encode()))
        elapsed = time.perf_counter() - started
        route.record(status, elapsed, edge)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if edge.log_format != "off":
            edge.log(scope, status, elapsed)

    async def _predict(
        self, service: ModelService, scope: Scope, receive: Receive, content_type: bytes, content_length: bytes
    ) -> bytes:
        if scope["method"] == "GET":
            table, proba = decode_get(scope["query_string"], service)
        else:
            proba = read_query(scope["query_string"], service)[1]
            check_json_media_type(content_type.decode("latin-1"))
            body = await self._read_body(receive, content_length)
            table = await decode_sized(len(body), decode_json_body, body, service)
        return predictions_json(service, await service.predict(table), proba)

    async def _read_body(self, receive: Receive, declared_length: bytes) -> bytes:
        limit = self.max_body_bytes
        if declared_length.isdigit() and int(declared_length) > limit:
            raise too_large(limit)
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise MalformedInput("the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
