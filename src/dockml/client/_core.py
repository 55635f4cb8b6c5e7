"""The client's shared core, free of I/O: what to send, how to read the answer, when to retry."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from dockml.client._errors import ClientError, error_for

RETRY_STATUSES = frozenset({503})
# Failures where the request cannot have had an effect, or where repeating it is harmless
# (a prediction changes nothing on the server).
RETRY_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".csv": "text/csv"}


@dataclass(frozen=True, slots=True)
class Retry:
    """``retries`` more tries after the first, on connection errors and 503, waiting
    ``backoff_s`` x 2^n with jitter (or the server's Retry-After), at most ``max_backoff_s``."""

    retries: int = 3
    backoff_s: float = 0.25
    max_backoff_s: float = 8.0

    def delay_s(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after is not None:
            try:
                return min(self.max_backoff_s, max(0.0, float(retry_after)))
            except ValueError:
                pass  # an HTTP date: fall back to our own backoff
        return min(self.max_backoff_s, self.backoff_s * 2.0**attempt) * random.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class Call:
    """One request, ready for httpx."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None
    retry_unavailable: bool = True
    """Retry a 503 (not for health checks, where 503 is the answer)."""

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "url": self.path, "params": self.params, "headers": self.headers}
        if self.content is not None:
            out["content"] = self.content
        if self.files is not None:
            out["files"] = self.files
        return out


@dataclass(frozen=True, slots=True)
class Predictions:
    """The server's answer: one prediction per row, and per-class probabilities when asked for."""

    predictions: list[Any]
    probabilities: list[dict[str, float]] | None = None

    def __len__(self) -> int:
        return len(self.predictions)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.predictions)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalars
        return value.item()
    raise TypeError  # orjson names the type


def encode_rows(data: Any) -> bytes:
    """Records, a record, rows, a pandas DataFrame or a numpy array -> a JSON body for POST /predict."""
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):  # a pandas DataFrame
        payload: Any = {"columns": [str(c) for c in data.columns], "data": data.to_numpy(dtype=object).tolist()}
    elif hasattr(data, "ndim") and hasattr(data, "tolist"):  # a numpy array
        if data.ndim not in (1, 2):
            raise ClientError(f"a numpy array of {data.ndim} dimensions cannot be rows; send 1 (one row) or 2")
        payload = {"instances": data.tolist() if data.ndim == 2 else [data.tolist()]}
    elif isinstance(data, (list, tuple)):
        items = list(data)
        if items and all(isinstance(item, dict) for item in items):
            payload = items
        elif items and all(isinstance(item, (list, tuple)) for item in items):
            payload = {"instances": [list(item) for item in items]}
        elif items and not any(isinstance(item, (dict, list, tuple)) for item in items):
            payload = {"instances": [items]}  # a flat list of values is one row
        else:
            raise ClientError("send records (dicts), rows (lists) or one row of values, not a mix")
    elif isinstance(data, dict):
        payload = data  # a record, or a body already in a server format
    else:
        raise ClientError(f"cannot send {type(data).__name__}; send records, rows, a pandas DataFrame or a numpy array")
    try:
        return orjson.dumps(payload, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError as error:  # orjson.JSONEncodeError is a TypeError
        raise ClientError(f"cannot send the data as JSON: {error}") from None


def model_prefix(model: str | None) -> str:
    return f"/models/{model}" if model else ""


def predict_call(data: Any, *, proba: bool, model: str | None) -> Call:
    return Call(
        "POST",
        f"{model_prefix(model)}/predict",
        params={"proba": "true"} if proba else {},
        content=encode_rows(data),
        headers={"content-type": "application/json"},
    )


def upload_call(route: str, path: str | Path, *, proba: bool, model: str | None) -> Call:
    file = Path(path)
    try:
        content = file.read_bytes()  # read once, so a retry sends the same bytes
    except OSError as error:
        raise ClientError(f"cannot read {file}: {error.strerror or error}") from None
    media_type = _MEDIA_TYPES.get(file.suffix.lower(), "application/octet-stream")
    return Call(
        "POST",
        f"{model_prefix(model)}/{route}",
        params={"proba": "true"} if proba else {},
        files={"file": (file.name, content, media_type)},
    )


def read(response: httpx.Response) -> Any:
    """The decoded JSON of a successful answer, else the typed error for it."""
    if response.is_success:
        if not response.content.strip():
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ClientError(f"the server answered {response.status_code} with a body that is not JSON") from None
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    raise error_for(response.status_code, body, response.text)


def predictions(body: Any) -> Predictions:
    if not isinstance(body, dict) or "predictions" not in body:
        raise ClientError("the server's answer has no 'predictions'; is this a dockml server?")
    return Predictions(body["predictions"], body.get("probabilities"))


def transport_message(url: str, error: Exception) -> str:
    return f"cannot reach the dockml server at {url}: {error or type(error).__name__}"
