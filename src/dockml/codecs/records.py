"""JSON bodies and query strings -> tables.

Accepted JSON shapes:
    {"s_length": 5.1, ...}                        one record
    [{"s_length": 5.1, ...}, ...]                 a list of records
    {"instances": [[5.1, 3.5, 1.4, 0.2], ...]}    rows in signature order (or records)
    {"columns": [...], "data": [[...], ...]}      pandas' "split" orientation
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import chain
from typing import Any

import numpy as np

from dockml.codecs.values import (
    check_json_value,
    check_names,
    numbers_fit,
    parse_text,
    raise_if,
    table_dtype,
    with_missing_as_nan,
)
from dockml.errors import FieldError, FieldErrors, InvalidInput
from dockml.signature import Signature

SHAPES = (
    'a record {"feature": value, ...}, a list of records, {"instances": [[...], ...]} '
    'or {"columns": [...], "data": [[...], ...]}'
)
_PLAIN_NUMBERS = frozenset((int, float))
_NUMBERS = {int, float, type(None)}
"""Values the fast path takes: numbers, and null (NaN in a float table; numbers_fit refuses it
where the model does not take a missing value, and the slow path then names it)."""


def decode_json(payload: Any, signature: Signature) -> np.ndarray:
    """Decode a parsed JSON body to a table."""
    if isinstance(payload, list):
        return _rows_or_records(payload, signature, "body")
    if not isinstance(payload, dict):
        raise InvalidInput(f"expected {SHAPES}; got a JSON {type(payload).__name__}")
    if "instances" in payload and "instances" not in signature.names:
        _only_keys(payload, {"instances"})
        return _rows_or_records(payload["instances"], signature, "instances")
    if "columns" in payload and "data" in payload and "columns" not in signature.names:
        _only_keys(payload, {"columns", "data", "index"})
        if not isinstance(payload.get("index", []), list):
            raise InvalidInput("'index' must be a list (it is ignored)")
        return _split(payload["columns"], payload["data"], signature)
    return decode_records([payload], signature)


def _only_keys(payload: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(payload) - allowed)
    if extra:
        raise InvalidInput(f"unexpected key {extra[0]!r} beside {', '.join(sorted(allowed))}; expected {SHAPES}")


def _rows_or_records(items: Any, signature: Signature, where: str) -> np.ndarray:
    if not isinstance(items, list):
        raise InvalidInput(f"'{where}' must be a list of rows or records")
    if not items:
        raise InvalidInput(f"'{where}' is empty; send at least one row")
    # The item types seen, in one pass in C (a Python loop per item costs ~40 µs per 1,000 rows);
    # isinstance below only for subclasses, which parsed JSON never holds.
    kinds = set(map(type, items))
    if kinds == {dict} or (kinds != {list} and all(isinstance(item, dict) for item in items)):
        return decode_records(items, signature)
    if kinds == {list} or all(isinstance(item, list) for item in items):
        return decode_rows(items, signature)
    raise InvalidInput(f"'{where}' must hold only records (objects) or only rows (lists)")


def decode_records(records: list[dict[str, Any]], signature: Signature) -> np.ndarray:
    names = signature.names
    wanted = signature.name_set
    if len(records) == 1 and signature.all_numeric and not signature.integer_columns and records[0].keys() == wanted:
        # One all-numeric record (a body of one is read by number_inputs.py first; this takes
        # MLflow's records, and bodies that path left, such as one holding a null). Python's own
        # checks are cheaper than numpy's on a few values; anything unusual takes the general path.
        row = [records[0][name] for name in names]
        # Checked in C: only floats and ints (not bools), none of them NaN or infinite (a sum that
        # overflows, or an int past float's range, merely takes the general path).
        if set(map(type, row)) <= _PLAIN_NUMBERS:
            try:
                if math.isfinite(sum(row)):
                    return np.array([row], dtype=np.float64)
            except OverflowError:
                pass
    errors = FieldErrors()
    many = len(records) > 1
    for index, record in enumerate(records):
        if record.keys() != wanted:
            if errors.full:  # past the listed ones, only the count is wanted: no messages to build
                errors.total += len(wanted - record.keys()) + len(record.keys() - wanted)
            else:
                errors += check_names(signature, record, f"record {index}: " if many else "")
    raise_if(errors)
    return _typed_table([[record[name] for name in names] for record in records], signature, many)


def decode_rows(rows: list[list[Any]], signature: Signature, many: bool | None = None) -> np.ndarray:
    width = len(signature.features)
    many = len(rows) > 1 if many is None else many
    if set(map(len, rows)) == {width}:  # every row the right width, checked in C
        return _typed_table(rows, signature, many)
    errors = FieldErrors()
    for index, row in enumerate(rows):
        if len(row) != width and errors.full:
            errors.total += 1
        elif len(row) != width:
            where = f"row {index}: " if many else ""
            errors.append(
                FieldError(f"row {index}", f"{where}expected {width} values ({signature.expected()}), got {len(row)}")
            )
    raise_if(errors)
    return _typed_table(rows, signature, many)


def _typed_table(rows: list[list[Any]], signature: Signature, many: bool) -> np.ndarray:
    """Rows of the right width -> the table, or InvalidInput naming every bad value."""
    errors = FieldErrors()
    if signature.all_numeric and set(map(type, chain.from_iterable(rows))) <= _NUMBERS:
        try:
            table = np.array(rows, dtype=np.float64)
        except OverflowError:  # an integer beyond float64: the slow path names it
            table = None
        if table is not None and numbers_fit(table, signature):
            return table
    # The slow path: find every bad value and say which it is.
    for index, row in enumerate(rows):
        where = f"row {index}, " if many else ""
        for feature, value in zip(signature.features, row, strict=True):
            message = check_json_value(feature, value, where)
            if message:
                errors.append(FieldError(feature.name, message))
    raise_if(errors)
    return with_missing_as_nan(np.array(rows, dtype=table_dtype(signature)))


def _split(columns: Any, data: Any, signature: Signature) -> np.ndarray:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidInput("'columns' must be a list of feature names")
    if not isinstance(data, list) or not data or not all(isinstance(row, list) for row in data):
        raise InvalidInput("'data' must be a non-empty list of rows")
    raise_if(check_names(signature, columns))
    if len(set(columns)) != len(columns):
        raise InvalidInput("'columns' names a feature twice")
    order = [columns.index(name) for name in signature.names]
    for index, row in enumerate(data):
        if len(row) != len(columns):
            raise InvalidInput(f"row {index}: expected {len(columns)} values, one per column, got {len(row)}")
    return decode_rows([[row[i] for i in order] for row in data], signature)


def decode_query(params: list[tuple[str, str]], signature: Signature) -> np.ndarray:
    """A query string (``?s_length=5.1&...``) -> a one-row table, each value parsed to its type."""
    given: dict[str, str] = {}
    errors = FieldErrors()
    for key, value in params:
        if key in given:
            errors.append(FieldError(key, f"feature '{key}' is given twice"))
        given[key] = value
    # A parameter left out is a missing value where the model takes one (a typo is still caught:
    # its name is unknown); elsewhere it stays a "missing feature" error.
    for feature in signature.features:
        if feature.allows_missing and feature.name not in given:
            given[feature.name] = ""
    errors += check_names(signature, given)
    raise_if(errors)
    row = []
    for feature in signature.features:
        value, message = parse_text(feature, given[feature.name], "")
        if message:
            errors.append(FieldError(feature.name, message))
        row.append(value)
    raise_if(errors)
    return np.array([row], dtype=table_dtype(signature))
