"""The RFC 9457 ``application/problem+json`` document: the error form of dockml's own routes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson

from dockml.errors import FieldError

PROBLEM_TYPE_BASE = "https://dockml.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem_body(status: int, detail: str, errors: list[FieldError] | None = None) -> bytes:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + phrase.lower().replace(" ", "-"),
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [error.to_dict() for error in errors]
    return orjson.dumps(body)
