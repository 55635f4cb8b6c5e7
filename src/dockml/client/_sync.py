"""The blocking client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from dockml.client._core import (
    RETRY_ERRORS,
    RETRY_STATUSES,
    Call,
    Predictions,
    Retry,
    predict_call,
    predictions,
    read,
    transport_message,
    upload_call,
)
from dockml.client._errors import Timeout, TransportError


class Client:
    """A dockml server, from Python.

        >>> with dockml.Client("http://127.0.0.1:5000") as client:
        ...     client.predict({"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}).predictions
        ['setosa']

    ``model`` picks a model of a server that serves several (default: the root routes).
    Connection errors and 503 answers are retried ``retries`` times with exponential backoff;
    every other error raises a ServerError subclass carrying the server's detail.
    ``transport`` is passed to httpx (e.g. ``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:5000",
        *,
        model: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 3,
        backoff_s: float = 0.25,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.retry = Retry(retries=retries, backoff_s=backoff_s)
        auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout_s, headers={**auth, **(headers or {})}, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.request(**call.kwargs())
            except RETRY_ERRORS as error:
                if attempt >= self.retry.retries:
                    raise TransportError(transport_message(self.url, error)) from error
                time.sleep(self.retry.delay_s(attempt))
                attempt += 1
                continue
            except httpx.TimeoutException as error:
                raise Timeout(f"no answer from {self.url} within the timeout ({error})") from error
            except httpx.HTTPError as error:
                raise TransportError(transport_message(self.url, error)) from error
            if response.status_code in RETRY_STATUSES and call.retry_unavailable and attempt < self.retry.retries:
                time.sleep(self.retry.delay_s(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            return response

    def predict(self, data: Any, *, proba: bool = False, model: str | None = None) -> Predictions:
        """Predict rows: records (dicts), one record, rows (lists), a pandas DataFrame or a numpy array."""
        return predictions(read(self._send(predict_call(data, proba=proba, model=model or self.model))))

    def predict_file(self, path: str | Path, *, proba: bool = False, model: str | None = None) -> Predictions:
        """Predict every row of a CSV file (uploaded to predict_file)."""
        return predictions(read(self._send(upload_call("predict_file", path, proba=proba, model=model or self.model))))

    def predict_image(self, path: str | Path, *, proba: bool = False, model: str | None = None) -> Predictions:
        """Predict a PNG or JPEG picture (uploaded to predict_image)."""
        return predictions(read(self._send(upload_call("predict_image", path, proba=proba, model=model or self.model))))

    def models(self) -> list[dict[str, Any]]:
        """Every served model with its signature, runtime and endpoints."""
        models: list[dict[str, Any]] = read(self._send(Call("GET", "/models")))["models"]
        return models

    def health(self) -> bool:
        """True when every model is loaded and warmed, False while not; TransportError if unreachable."""
        response = self._send(Call("GET", "/health/ready", retry_unavailable=False))
        if response.status_code == 503:
            return False
        read(response)
        return True
