"""The bodies of MLflow's scoring server (``mlflow models serve``) -> tables, read by MLflow's rules.

A JSON object with exactly one of (``params`` is accepted and ignored, as are other keys):
    {"dataframe_split": {"columns": [...], "data": [[...], ...]}}   pandas "split" ("columns" optional)
    {"dataframe_records": [{"feature": value, ...}, ...]}          pandas "records"
    {"instances": [[...], ...]}   rows in signature order, or records
    {"inputs": [[...], ...]}      the same, or columns {"feature": [values, ...], ...}
or a CSV (``df.to_csv()``), or a Parquet file (``df.to_parquet()``, needs pyarrow).

MLflow's rules, which dockml's own routes do not follow (they refuse what they cannot be sure of):
    column labels 0, 1, ... (``pd.DataFrame(X)``) name the features of a model without names (x0, x1, ...)
    columns the model does not take are ignored, as is the index column ``df.to_csv()`` writes first
    numbers sent as text ("5.1") are numbers
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from dockml.codecs.csv import _numbered_rows, _positions, column_layout, column_limit, parse_cells
from dockml.codecs.records import decode_records, decode_rows
from dockml.codecs.values import check_names, parse_text, raise_if
from dockml.errors import FieldError, InvalidInput, MalformedInput, PayloadTooLarge, UnsupportedMediaType
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
        return _records(value, signature)
    if key == "inputs" and isinstance(value, dict):
        return _columns(value, signature)
    return _rows(value, key, signature)


def decode_invocation_csv(data: bytes, signature: Signature, *, max_rows: int) -> np.ndarray:
    """A CSV as pandas reads it: a header (its index column and columns the model does not take
    ignored), or no header and the values in signature order."""
    if not data.strip():
        raise MalformedInput("the CSV file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedInput("the CSV file is not UTF-8 text") from None
    rows = _numbered_rows(text, max_rows, column_limit(signature))
    if not rows:
        raise MalformedInput("the CSV file has no rows")
    header = [_feature_of(cell.strip(), signature) for cell in rows[0][1]]
    if any(name is not None for name in header):
        raise_if(check_names(signature, [name for name in header if name is not None]))
        order, width = [header.index(name) for name in signature.names], len(header)
        rows = rows[1:]
        if not rows:
            raise_if([FieldError("rows", "the CSV has a header but no data rows")])
    else:
        order, width, _ = column_layout(rows[0][1], signature)
    if len(rows) > max_rows:
        raise PayloadTooLarge(f"the CSV has {len(rows)} rows; at most {max_rows} are accepted per request")
    return parse_cells(rows, order, width, signature)


def decode_invocation_parquet(data: bytes, signature: Signature, *, max_rows: int) -> np.ndarray:
    """A Parquet file (``df.to_parquet()``): a column per feature, others ignored."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UnsupportedMediaType(
            "Parquet bodies need pyarrow on the server: pip install 'dockml[parquet]'; or send JSON or CSV"
        ) from None
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise MalformedInput(f"the body is not a readable Parquet file: {str(error)[:200]}") from None
    if table.num_rows == 0:
        raise InvalidInput("the Parquet file holds no rows; send at least one")
    if table.num_rows > max_rows:
        raise PayloadTooLarge(f"the Parquet file has {table.num_rows} rows; at most {max_rows} are accepted")
    records: list[dict[str, Any]] = table.to_pylist()
    return _records(records, signature)


def _feature_of(label: Any, signature: Signature) -> str | None:
    """The feature a column label names, or None for a column the model does not take."""
    if isinstance(label, str) and label in signature.name_set:
        return label
    if _positions(signature) is not None and not isinstance(label, bool):
        text = str(label).strip()
        if text.isdigit() and int(text) < len(signature.names):
            return signature.names[int(text)]
    return None


def _value(signature: Signature, index: int, value: Any) -> Any:
    """A number sent as text becomes that number, for a numeric feature; anything else is left
    for the strict decoder to accept or name."""
    feature = signature.features[index]
    if isinstance(value, str) and feature.kind in ("number", "integer"):
        parsed, message = parse_text(feature, value, "")
        if message is None:
            return parsed
    return value


def _record(record: dict[str, Any], signature: Signature) -> dict[str, Any]:
    positions = {name: index for index, name in enumerate(signature.names)}
    kept: dict[str, Any] = {}
    for label, value in record.items():
        name = _feature_of(label, signature)
        if name is not None:
            kept[name] = _value(signature, positions[name], value)
    return kept


def _records(records: list[dict[str, Any]], signature: Signature) -> np.ndarray:
    return decode_records([_record(record, signature) for record in records], signature)


def _row(row: list[Any], signature: Signature) -> list[Any]:
    if len(row) != len(signature.features):
        return row  # the strict decoder names the width
    return [_value(signature, index, value) for index, value in enumerate(row)]


def _rows(value: Any, key: str, signature: Signature) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"'{key}' must be a non-empty list of rows or records")
    if all(isinstance(item, dict) for item in value):
        return _records(value, signature)
    if all(isinstance(item, list) for item in value):
        return decode_rows([_row(item, signature) for item in value], signature)
    if len(signature.features) == 1 and not any(isinstance(item, (list, dict)) for item in value):
        return decode_rows([_row([item], signature) for item in value], signature)  # one value per row
    flat = not any(isinstance(item, (list, dict)) for item in value)
    if flat and len(signature.features) > 1 and len(value) == len(signature.features):
        return decode_rows([_row(value, signature)], signature)  # one row, as a 1-D array sends it
    raise InvalidInput(
        f"'{key}' must hold only rows (lists, in the order {signature.expected()}) or only records (objects)"
    )


def _split(value: Any, signature: Signature) -> np.ndarray:
    if not isinstance(value, dict) or "data" not in value:
        raise InvalidInput('\'dataframe_split\' must be an object {"columns": [...], "data": [[...], ...]}')
    data = value["data"]
    if not isinstance(data, list) or not data or not all(isinstance(row, list) for row in data):
        raise InvalidInput("'dataframe_split.data' must be a non-empty list of rows")
    if "columns" not in value:
        return decode_rows([_row(row, signature) for row in data], signature)
    columns = value["columns"]
    if not isinstance(columns, list) or not all(isinstance(label, (str, int, float)) for label in columns):
        raise InvalidInput("'dataframe_split.columns' must be a list of column labels (text or numbers)")
    width = len(columns)
    bad = [index for index, row in enumerate(data) if len(row) != width]
    if bad:
        raise InvalidInput(
            f"'dataframe_split.data' row {bad[0]} has {len(data[bad[0]])} values but there are {width} columns",
            [FieldError(f"row {bad[0]}", "wrong number of values")],
        )
    return _records([dict(zip(columns, row, strict=True)) for row in data], signature)


def _columns(columns: dict[str, Any], signature: Signature) -> np.ndarray:
    """{"feature": [values, ...], ...} (or one value per feature, for one row) -> a table."""
    if all(not isinstance(values, list) for values in columns.values()):
        return _records([columns], signature)
    if not all(isinstance(values, list) for values in columns.values()):
        raise InvalidInput("'inputs' as columns must map every feature to a list of values")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise InvalidInput("'inputs' columns must all hold the same, non-zero number of values")
    names = list(columns)
    return _records([dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)], signature)
