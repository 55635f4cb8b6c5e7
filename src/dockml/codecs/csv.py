"""CSV uploads -> tables, and predictions -> CSV.

A CSV either starts with a header naming the features (in any order), or has no header and
gives the values in signature order.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from dockml.codecs.values import check_names, parse_text, raise_if, table_dtype
from dockml.errors import MAX_FIELD_ERRORS, FieldError, FieldErrors, MalformedInput, PayloadTooLarge
from dockml.signature import Signature


def column_limit(signature: Signature) -> int:
    """The most cells a CSV row may have: room for an index and other columns the model ignores,
    far short of what one 16 MiB line can hold (8 M cells took 20 s and 220 MB)."""
    return max(1024, 4 * len(signature.features))


def _numbered_rows(text: str, max_rows: int, max_columns: int) -> list[tuple[int, list[str]]]:
    """(line number where the row starts, cells) for every non-blank row; PayloadTooLarge as soon
    as there are more than ``max_rows`` besides a header, or a row of more than ``max_columns``
    cells, before the rest is read."""
    first_line_end = text.find("\n")
    if text.count(",", 0, first_line_end if first_line_end >= 0 else len(text)) >= max_columns:
        raise PayloadTooLarge(_too_wide(max_columns))
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    line = 1
    try:
        for cells in reader:
            if len(cells) > max_columns:
                raise PayloadTooLarge(_too_wide(max_columns))
            if any(cell.strip() for cell in cells):
                rows.append((line, cells))
                if len(rows) > max_rows + 1:
                    raise PayloadTooLarge(f"the CSV has more than {max_rows} rows; at most {max_rows} are accepted")
            line = reader.line_num + 1
    except csv.Error as error:
        raise MalformedInput(f"the CSV file cannot be parsed at line {line}: {error}") from None
    return rows


def _too_wide(max_columns: int) -> str:
    return f"a row of the CSV has more than {max_columns} columns; at most {max_columns} are accepted for this model"


def decode_csv(data: bytes, signature: Signature, *, max_rows: int) -> np.ndarray:
    if not data.strip():
        raise MalformedInput("the CSV file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedInput("the CSV file is not UTF-8 text") from None
    rows = _numbered_rows(text, max_rows, column_limit(signature))
    if not rows:
        raise MalformedInput("the CSV file has no rows")
    order, width, has_header = column_layout(rows[0][1], signature)
    if has_header:
        rows = rows[1:]
    if not rows:
        raise_if([FieldError("rows", "the CSV has a header but no data rows")])
    if len(rows) > max_rows:
        raise PayloadTooLarge(f"the CSV has {len(rows)} rows; at most {max_rows} are accepted per request")
    return parse_cells(rows, order, width, signature)


def column_layout(first_row: list[str], signature: Signature) -> tuple[list[int], int, bool]:
    """(the column of each feature, the cells per row, whether ``first_row`` is a header).

    A header names features; for a model without names (x0, x1, ...) the column numbers 0, 1, ...
    are a header too, as pandas writes a frame built from a bare array."""
    header = [cell.strip() for cell in first_row]
    if header == _positions(signature):
        return list(range(len(header))), len(header), True
    if any(cell in signature.name_set for cell in header):
        raise_if(check_names(signature, header))
        return [header.index(name) for name in signature.names], len(header), True
    width = len(signature.features)
    if len(header) != width:
        raise_if(
            [
                FieldError(
                    "header",
                    f"the CSV has no header and {len(header)} columns; expected a header naming "
                    f"{signature.expected()}, or {width} columns in that order",
                )
            ]
        )
    return list(range(width)), width, False


def _positions(signature: Signature) -> list[str] | None:
    """["0", "1", ...] when the model's inputs are named by position (x0, x1, ...), else None."""
    count = len(signature.names)
    return [str(i) for i in range(count)] if signature.names == tuple(f"x{i}" for i in range(count)) else None


def parse_cells(rows: list[tuple[int, list[str]]], order: list[int], width: int, signature: Signature) -> np.ndarray:
    errors = FieldErrors()
    table: list[list[Any]] = []
    for line, cells in rows:
        where = f"line {line}: "
        if len(cells) != width:
            errors.append(FieldError(f"line {line}", f"{where}expected {width} values, got {len(cells)}"))
            continue
        row = []
        for feature, column in zip(signature.features, order, strict=True):
            value, message = parse_text(feature, cells[column], where)
            if message:
                errors.append(FieldError(feature.name, message))
            row.append(value)
        table.append(row)
        if errors.total >= MAX_FIELD_ERRORS:
            break  # a CSV's rows are many: stop reading at the first screenful of problems
    raise_if(errors)
    return np.array(table, dtype=table_dtype(signature))


def encode_csv(table: np.ndarray, signature: Signature, columns: dict[str, list[Any]]) -> str:
    """The input columns followed by the output columns, one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*signature.names, *columns])
    outputs = list(columns.values())
    for index, row in enumerate(table.tolist()):
        cells = ["" if value != value else value for value in row]  # NaN: a missing value, written empty
        writer.writerow([*cells, *(column[index] for column in outputs)])
    return out.getvalue()
