"""Every error dockml raises on purpose, each knowing its HTTP status.

    DockmlError
     ├── InvalidInput (ValueError)         422  well-formed, but not what the model takes
     ├── MalformedInput (ValueError)       400  not valid JSON / CSV / image / multipart
     ├── ModelNotFound (LookupError)       404
     ├── RouteNotFound (LookupError)       404
     ├── Unauthorized                      401  no API key, or the wrong one
     ├── MethodNotAllowed                  405  knows the methods the route allows
     ├── PayloadTooLarge                   413
     ├── UnsupportedMediaType              415
     ├── NotReady                          503
     ├── Overloaded                        503  refused under load; the client should retry shortly
     ├── DeadlineExceeded                  504  still running after request_timeout_s
     ├── PredictionFailed                  500  the model raised; details stay in the server log
     └── ConfigError                       -    bad settings or model files, found before serving
          ├── UnsafeModelFile              -    a pickle without --trust-pickle, untrusted skops types
          └── MissingDependency (ImportError)

The HTTP layer turns any of them into one error answer (http/error_renderer.py: an RFC 9457
problem document, or the error body of the route's protocol); nothing here imports the web
framework.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field (a feature, a row, a file part)."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


MAX_FIELD_ERRORS = 20
"""The most field errors one answer lists; the others are only counted."""


class FieldErrors(list[FieldError]):
    """The field errors of one request, bounded: the first MAX_FIELD_ERRORS are kept and the rest
    only counted, so a body of a million bad rows costs a counter, not a million-entry answer."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def append(self, error: FieldError) -> None:
        self.total += 1
        if len(self) < MAX_FIELD_ERRORS:
            super().append(error)

    def __iadd__(self, errors: Iterable[FieldError]) -> FieldErrors:  # type: ignore[override,misc]
        for error in errors:
            self.append(error)
        return self

    def __bool__(self) -> bool:
        return self.total > 0

    @property
    def full(self) -> bool:
        """No more errors will be listed; further ones are only counted."""
        return len(self) >= MAX_FIELD_ERRORS


class DockmlError(Exception):
    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    exit_code: int = 1

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(DockmlError, ValueError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY

    @classmethod
    def from_errors(cls, errors: list[FieldError]) -> InvalidInput:
        total = errors.total if isinstance(errors, FieldErrors) else len(errors)
        if total == 1:
            return cls(errors[0].message, errors)
        listed = f" (the first {len(errors)} listed)" if total > len(errors) else ""
        return cls(f"{total} invalid fields{listed}: " + "; ".join(e.message for e in errors[:5]), errors)


class MalformedInput(DockmlError, ValueError):
    status = HTTPStatus.BAD_REQUEST


class ModelNotFound(DockmlError, LookupError):
    status = HTTPStatus.NOT_FOUND


class RouteNotFound(DockmlError, LookupError):
    status = HTTPStatus.NOT_FOUND


class Unauthorized(DockmlError):
    status = HTTPStatus.UNAUTHORIZED


class MethodNotAllowed(DockmlError):
    status = HTTPStatus.METHOD_NOT_ALLOWED

    def __init__(self, detail: str, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.allowed = allowed


class PayloadTooLarge(DockmlError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMediaType(DockmlError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class NotReady(DockmlError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


class Overloaded(DockmlError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


class DeadlineExceeded(DockmlError):
    status = HTTPStatus.GATEWAY_TIMEOUT


class PredictionFailed(DockmlError):
    status = HTTPStatus.INTERNAL_SERVER_ERROR


class ConfigError(DockmlError):
    exit_code = 2


class UnsafeModelFile(ConfigError):
    pass


class MissingDependency(ConfigError, ImportError):
    pass
