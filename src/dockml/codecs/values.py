"""One value for one feature: checked and converted to the feature's type."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dockml.errors import FieldError, InvalidInput
from dockml.signature import Feature, Signature


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_json_value(feature: Feature, value: Any, where: str) -> str | None:
    """The error message for a JSON value, or None when it fits the feature."""
    kind = feature.kind
    if kind == "string":
        if not isinstance(value, str):
            return f"{where}feature '{feature.name}': expected a string, got {describe(value)}"
        return _check_category(feature, value, where)
    if type(value) not in (int, float):  # bool is an int subclass, and never a measurement
        return f"{where}feature '{feature.name}': expected a number, got {describe(value)}"
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        return f"{where}feature '{feature.name}': expected a finite number, got {describe(value)}"
    if kind == "integer" and not number.is_integer():
        return f"{where}feature '{feature.name}': expected a whole number, got {value!r}"
    return None


def _check_category(feature: Feature, value: str, where: str) -> str | None:
    if feature.categories is not None and value not in feature.categories:
        allowed = ", ".join(map(str, feature.categories[:20]))
        return f"{where}feature '{feature.name}': unknown category {value!r}; expected one of {allowed}"
    return None


def parse_text(feature: Feature, text: str, where: str) -> tuple[Any, str | None]:
    """Parse a query-string or CSV cell to the feature's type: (value, error message)."""
    if feature.kind == "string":
        return text, _check_category(feature, text, where)
    stripped = text.strip()
    try:
        value = float(stripped)
    except ValueError:
        shown = describe(text) if stripped else "an empty value"
        return None, f"{where}feature '{feature.name}': expected a number, got {shown}"
    if not math.isfinite(value):
        return None, f"{where}feature '{feature.name}': expected a finite number, got {describe(text)}"
    if feature.kind == "integer" and not value.is_integer():
        return None, f"{where}feature '{feature.name}': expected a whole number, got {describe(text)}"
    return value, None


def table_dtype(signature: Signature) -> type:
    return np.float64 if signature.all_numeric else object


def check_names(
    signature: Signature, given: list[str] | set[str] | dict[str, Any], where: str = ""
) -> list[FieldError]:
    """Missing and unknown feature names, each as a field error."""
    expected = signature.expected()
    errors = []
    for name in signature.names:
        if name not in given:
            errors.append(FieldError(name, f"{where}missing feature '{name}'; expected {expected}"))
    names = set(signature.names)
    for name in given:
        if name not in names:
            errors.append(FieldError(str(name), f"{where}unknown feature '{name}'; expected {expected}"))
    return errors


def raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput.from_errors(errors)
