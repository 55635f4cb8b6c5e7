"""The JSON bodies of MLflow's scoring server (``mlflow models serve``) -> tables.

A JSON object with exactly one of (``params`` is accepted and ignored, as are other keys):
    {"dataframe_split": {"columns": [...], "data": [[...], ...]}}   pandas "split" ("columns" optional)
    {"dataframe_records": [{"feature": value, ...}, ...]}          pandas "records"
    {"instances": [[...], ...]}   rows in signature order, or records
    {"inputs": [[...], ...]}      the same, or columns {"feature": [values, ...], ...}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dockml.codecs.records import decode_json, decode_records, decode_rows
from dockml.errors import InvalidInput, MalformedInput
from dockml.signature import Signature

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_REQUIRED = f"send a JSON object with exactly one of the keys {', '.join(FORMATS)}"


def decode_invocation(payload: Any, signature: Signature) -> np.ndarray:
    """Decode a parsed ``/invocations`` JSON body to a table."""
    if not isinstance(payload, dict):
        raise MalformedInput(
            f"{_REQUIRED}; got a JSON {'array' if isinstance(payload, list) else type(payload).__name__}"
        )
    present = [key for key in FORMATS if key in payload]
    if len(present) != 1:
        found = ", ".join(present) if present else ", ".join(map(str, list(payload)[:5])) or "an empty object"
        raise MalformedInput(f"{_REQUIRED}; got {found}")
    key = present[0]
    value = payload[key]
    if key == "dataframe_split":
        return _split(value, signature)
    if key == "dataframe_records":
        if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
            raise InvalidInput("'dataframe_records' must be a non-empty list of records {\"feature\": value, ...}")
        return decode_records(value, signature)
    if key == "inputs" and isinstance(value, dict):
        return _columns(value, signature)
    return _rows(value, key, signature)


def _rows(value: Any, key: str, signature: Signature) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"'{key}' must be a non-empty list of rows or records")
    if all(isinstance(item, dict) for item in value):
        return decode_records(value, signature)
    if all(isinstance(item, list) for item in value):
        return decode_rows(value, signature)
    if len(signature.features) == 1 and not any(isinstance(item, (list, dict)) for item in value):
        return decode_rows([[item] for item in value], signature)  # one value per row for a one-feature model
    raise InvalidInput(
        f"'{key}' must hold only rows (lists, in the order {signature.expected()}) or only records (objects)"
    )


def _split(value: Any, signature: Signature) -> np.ndarray:
    if not isinstance(value, dict) or "data" not in value:
        raise InvalidInput('\'dataframe_split\' must be an object {"columns": [...], "data": [[...], ...]}')
    if "columns" not in value:
        data = value["data"]
        if not isinstance(data, list) or not data or not all(isinstance(row, list) for row in data):
            raise InvalidInput("'dataframe_split.data' must be a non-empty list of rows")
        return decode_rows(data, signature)
    return decode_json({key: value[key] for key in ("columns", "data", "index") if key in value}, signature)


def _columns(columns: dict[str, Any], signature: Signature) -> np.ndarray:
    """{"feature": [values, ...], ...} (or one value per feature, for one row) -> a table."""
    if all(not isinstance(values, list) for values in columns.values()):
        return decode_records([columns], signature)
    if not all(isinstance(values, list) for values in columns.values()):
        raise InvalidInput("'inputs' as columns must map every feature to a list of values")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise InvalidInput("'inputs' columns must all hold the same, non-zero number of values")
    names = list(columns)
    return decode_records(
        [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)], signature
    )
