"""One value for one feature: checked and converted to the feature's type."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dockml.errors import FieldError, FieldErrors, InvalidInput
from dockml.signature import Feature, Signature


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def missing_refused(feature: Feature, where: str) -> str:
    return (
        f"{where}feature '{feature.name}' is missing; this model cannot take a missing value for "
        f"'{feature.name}': send a value"
    )


def check_json_value(feature: Feature, value: Any, where: str) -> str | None:
    """The error message for a JSON value, or None when it fits the feature."""
    kind = feature.kind
    if value is None or (type(value) is float and value != value):  # null; NaN from a binary tensor
        return None if feature.allows_missing else missing_refused(feature, where)
    if kind == "string":
        if not isinstance(value, str):
            return f"{where}feature '{feature.name}': expected a string, got {describe(value)}"
        return _check_category(feature, value, where)
    if kind == "boolean":
        if not isinstance(value, bool):
            return f"{where}feature '{feature.name}': expected true or false, got {describe(value)}"
        return None
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
    if feature.categories is not None and not feature.allows_unknown and value not in feature.categories:
        allowed = ", ".join(map(str, feature.categories[:20]))
        return f"{where}feature '{feature.name}': unknown category {value!r}; expected one of {allowed}"
    return None


_TRUE_TEXT, _FALSE_TEXT = {"true", "1"}, {"false", "0"}


def parse_text(feature: Feature, text: str, where: str) -> tuple[Any, str | None]:
    """Parse a query-string or CSV cell to the feature's type: (value, error message).
    An empty cell is a missing value for a feature that allows one (as pandas reads it)."""
    # Blank means spaces, tabs and line ends: str.strip() would also take control characters
    # such as \x1d, and turn a cell of garbage into a missing value.
    stripped = text.strip(" \t\r\n")
    if not stripped and feature.allows_missing:
        return np.nan, None
    if feature.kind == "string":
        return text, _check_category(feature, text, where)
    if feature.kind == "boolean":
        lowered = stripped.lower()
        if lowered in _TRUE_TEXT or lowered in _FALSE_TEXT:
            return lowered in _TRUE_TEXT, None
        return None, f"{where}feature '{feature.name}': expected true or false, got {describe(text)}"
    try:
        value = float(stripped)
    except ValueError:
        if not stripped:
            return None, missing_refused(feature, where)
        return None, f"{where}feature '{feature.name}': expected a number, got {describe(text)}"
    if not math.isfinite(value):
        if value != value and feature.allows_missing:  # "nan", as pandas writes a missing value
            return np.nan, None
        return None, f"{where}feature '{feature.name}': expected a finite number, got {describe(text)}"
    if feature.kind == "integer" and not value.is_integer():
        return None, f"{where}feature '{feature.name}': expected a whole number, got {describe(text)}"
    return value, None


def table_dtype(signature: Signature) -> type:
    return np.float64 if signature.all_numeric else object


def numbers_fit(table: np.ndarray, signature: Signature) -> bool:
    """Whether a float table of an all-numeric model is valid as it is: finite, but for missing
    values (NaN) where the model takes them, and whole in integer columns."""
    finite = np.isfinite(table)
    if not finite.all():
        nullable = signature.nullable_columns
        if nullable is None or not np.all(finite | (np.isnan(table) & nullable)):
            return False
    integers = signature.integer_columns
    if not integers:
        return True
    values = table[:, integers]
    return bool(np.all((values == np.round(values)) | np.isnan(values)))


def with_missing_as_nan(table: np.ndarray) -> np.ndarray:
    """None (JSON null) -> NaN in an object table: what encoders, imputers and ONNX Runtime read as missing."""
    if table.dtype == object:
        table[table == None] = np.nan  # noqa: E711 - element-wise: `is None` would test the array
    return table


def example_table(signature: Signature) -> np.ndarray:
    """The one-row table of every feature's example, unchecked (the model is the judge)."""
    return np.array([[f.example for f in signature.features]], dtype=table_dtype(signature))


def check_names(
    signature: Signature, given: list[str] | set[str] | dict[str, Any], where: str = ""
) -> list[FieldError]:
    """Missing and unknown feature names, each as a field error."""
    expected = signature.expected()
    errors = FieldErrors()
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
