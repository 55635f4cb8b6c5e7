"""The dockml client: a served model from Python, blocking or with asyncio.

    import dockml
    with dockml.Client("http://127.0.0.1:5000") as client:
        client.predict([{"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}], proba=True)

Only httpx and orjson are needed (numpy and pandas inputs are recognised, not imported).
"""

from dockml.client._async import AsyncClient
from dockml.client._core import Predictions
from dockml.client._errors import (
    BadRequest,
    ClientError,
    GatewayTimeout,
    InternalServerError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServerError,
    ServiceUnavailable,
    Timeout,
    TransportError,
    Unauthorized,
    UnsupportedMediaType,
)
from dockml.client._sync import Client

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Client",
    "ClientError",
    "GatewayTimeout",
    "InternalServerError",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "Predictions",
    "ServerError",
    "ServiceUnavailable",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "UnsupportedMediaType",
]
