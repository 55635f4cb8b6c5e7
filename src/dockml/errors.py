"""Every error dockml raises on purpose, each knowing its HTTP status.

    DockmlError
     ├── InvalidInput (ValueError)         422  well-formed, but not what the model takes
     ├── MalformedInput (ValueError)       400  not valid JSON / CSV / image / multipart
     ├── ModelNotFound (LookupError)       404
     ├── RouteNotFound (LookupError)       404
     ├── MethodNotAllowed                  405
     ├── PayloadTooLarge                   413
     ├── UnsupportedMediaType              415
     ├── NotReady                          503
     ├── PredictionFailed                  500  the model raised; details stay in the server log
     └── ConfigError                       -    bad settings or model files, found before serving
          ├── UnsafeModelFile              -    a pickle without --trust-pickle, untrusted skops types
          └── MissingDependency (ImportError)

The HTTP layer turns any of them into one RFC 9457 problem document; nothing here
imports the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field (a feature, a row, a file part)."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


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
        detail = (
            errors[0].message
            if len(errors) == 1
            else f"{len(errors)} invalid fields: " + "; ".join(e.message for e in errors[:5])
        )
        return cls(detail, errors)


class MalformedInput(DockmlError, ValueError):
    status = HTTPStatus.BAD_REQUEST


class ModelNotFound(DockmlError, LookupError):
    status = HTTPStatus.NOT_FOUND


class RouteNotFound(DockmlError, LookupError):
    status = HTTPStatus.NOT_FOUND


class MethodNotAllowed(DockmlError):
    status = HTTPStatus.METHOD_NOT_ALLOWED


class PayloadTooLarge(DockmlError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMediaType(DockmlError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class NotReady(DockmlError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


class PredictionFailed(DockmlError):
    status = HTTPStatus.INTERNAL_SERVER_ERROR


class ConfigError(DockmlError):
    exit_code = 2


class UnsafeModelFile(ConfigError):
    pass


class MissingDependency(ConfigError, ImportError):
    pass
