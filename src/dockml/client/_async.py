"""The asyncio client: the same calls as Client, awaited."""

from __future__ import annotations

import asyncio
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


class AsyncClient:
    """A dockml server, from asyncio: the calls of Client, awaited.

    >>> async with dockml.AsyncClient("http://127.0.0.1:5000") as client:
    ...     (await client.predict([[5.1, 3.5, 1.4, 0.2]])).predictions
    ['setosa']
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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.retry = Retry(retries=retries, backoff_s=backoff_s)
        auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=self.url, timeout=timeout_s, headers={**auth, **(headers or {})}, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.request(**call.kwargs())
            except RETRY_ERRORS as error:
                if attempt >= self.retry.retries:
                    raise TransportError(transport_message(self.url, error)) from error
                await asyncio.sleep(self.retry.delay_s(attempt))
                attempt += 1
                continue
            except httpx.TimeoutException as error:
                raise Timeout(f"no answer from {self.url} within the timeout ({error})") from error
            except httpx.HTTPError as error:
                raise TransportError(transport_message(self.url, error)) from error
            if response.status_code in RETRY_STATUSES and call.retry_unavailable and attempt < self.retry.retries:
                await asyncio.sleep(self.retry.delay_s(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            return response

    async def predict(self, data: Any, *, proba: bool = False, model: str | None = None) -> Predictions:
        """Predict rows: records (dicts), one record, rows (lists), a pandas DataFrame or a numpy array."""
        return predictions(read(await self._send(predict_call(data, proba=proba, model=model or self.model))))

    async def predict_file(self, path: str | Path, *, proba: bool = False, model: str | None = None) -> Predictions:
        """Predict every row of a CSV file (uploaded to predict_file)."""
        return predictions(
            read(await self._send(upload_call("predict_file", path, proba=proba, model=model or self.model)))
        )

    async def predict_image(self, path: str | Path, *, proba: bool = False, model: str | None = None) -> Predictions:
        """Predict a PNG or JPEG picture (uploaded to predict_image)."""
        return predictions(
            read(await self._send(upload_call("predict_image", path, proba=proba, model=model or self.model)))
        )

    async def models(self) -> list[dict[str, Any]]:
        """Every served model with its signature, runtime and endpoints."""
        models: list[dict[str, Any]] = read(await self._send(Call("GET", "/models")))["models"]
        return models

    async def health(self) -> bool:
        """True when every model is loaded and warmed, False while not; TransportError if unreachable."""
        response = await self._send(Call("GET", "/health/ready", retry_unavailable=False))
        if response.status_code == 503:
            return False
        read(response)
        return True
