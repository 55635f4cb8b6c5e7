"""What the client raises, mirroring the server's problem documents.

ClientError
 ├── TransportError                 no usable answer: connection refused or cut, after the retries
 │    └── Timeout                   no answer within the timeout
 └── ServerError                    the server answered with an error status; .status, .detail,
      │                             .errors (per field) and .body as the server sent them
      ├── BadRequest (ValueError)           400  malformed body
      ├── Unauthorized                      401  missing or wrong API key
      ├── NotFound (LookupError)            404  unknown model or route
      ├── PayloadTooLarge                   413
      ├── UnsupportedMediaType              415
      ├── InvalidInput (ValueError)         422  well-formed, but not what the model takes
      ├── InternalServerError               500  the model failed (the cause is in the server log)
      ├── ServiceUnavailable                503  still loading, or at capacity (after the retries)
      └── GatewayTimeout                    504  the request took longer than the server allows
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Anything the dockml client raises on purpose."""


class TransportError(ClientError):
    """The server could not be reached, or the connection broke, on every try."""


class Timeout(TransportError):
    """The server did not answer within the client's timeout."""


class ServerError(ClientError):
    """The server answered with an error status and (usually) an RFC 9457 problem document."""

    status: int = 0

    def __init__(
        self, status: int, detail: str, *, errors: list[dict[str, str]] | None = None, body: Any = None
    ) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors or []
        """Per-field problems, each {"field": ..., "message": ...}."""
        self.body = body
        """The decoded error body as the server sent it."""


class BadRequest(ServerError, ValueError):
    status = 400


class Unauthorized(ServerError):
    status = 401


class NotFound(ServerError, LookupError):
    status = 404


class PayloadTooLarge(ServerError):
    status = 413


class UnsupportedMediaType(ServerError):
    status = 415


class InvalidInput(ServerError, ValueError):
    status = 422


class InternalServerError(ServerError):
    status = 500


class ServiceUnavailable(ServerError):
    status = 503


class GatewayTimeout(ServerError):
    status = 504


_BY_STATUS: dict[int, type[ServerError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        NotFound,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidInput,
        InternalServerError,
        ServiceUnavailable,
        GatewayTimeout,
    )
}


def error_for(status: int, body: Any, text: str) -> ServerError:
    """The typed error for an error answer; the body is a problem document when dockml sent it."""
    cls = _BY_STATUS.get(status, ServerError)
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("error") or body.get("message") or body.get("title") or text
        errors = body.get("errors") if isinstance(body.get("errors"), list) else None
        return cls(status, str(detail), errors=errors, body=body)
    return cls(status, text.strip()[:500] or f"HTTP {status}", body=body)
