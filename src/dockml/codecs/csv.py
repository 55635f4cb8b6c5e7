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
from dockml.errors import FieldError, MalformedInput, PayloadTooLarge
from dockml.signature import Signature

MAX_REPORTED_ERRORS = 20


def decode_csv(data: bytes, signature: Signature, *, max_rows: int) -> np.ndarray:
    if not data.strip():
        raise MalformedInput("the CSV file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedInput("the CSV file is not UTF-8 text") from None
    try:
        lines = [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise MalformedInput(f"the CSV file cannot be parsed: {error}") from None
    if not lines:
        raise MalformedInput("the CSV file has no rows")
    header = [cell.strip() for cell in lines[0]]
    names = set(signature.names)
    if any(cell in names for cell in header):
        raise_if(check_names(signature, header))
        order = [header.index(name) for name in signature.names]
        lines = lines[1:]
        first_line = 2
    else:
        order = list(range(len(signature.features)))
        first_line = 1
        if len(header) != len(order):
            raise_if(
                [
                    FieldError(
                        "header",
                        f"the CSV has no header and {len(header)} columns; expected a header naming "
                        f"{signature.expected()}, or {len(order)} columns in that order",
                    )
                ]
            )
    if not lines:
        raise_if([FieldError("rows", "the CSV has a header but no data rows")])
    if len(lines) > max_rows:
        raise PayloadTooLarge(f"the CSV has {len(lines)} rows; at most {max_rows} are accepted per request")
    return _parse_cells(lines, order, signature, first_line)


def _parse_cells(lines: list[list[str]], order: list[int], signature: Signature, first_line: int) -> np.ndarray:
    width = max(order) + 1
    errors: list[FieldError] = []
    rows: list[list[Any]] = []
    for offset, line in enumerate(lines):
        where = f"line {first_line + offset}: "
        if len(line) < width:
            errors.append(FieldError(f"line {first_line + offset}", f"{where}expected {width} values, got {len(line)}"))
            continue
        row = []
        for feature, column in zip(signature.features, order):
            value, message = parse_text(feature, line[column], where)
            if message:
                errors.append(FieldError(feature.name, message))
            row.append(value)
        rows.append(row)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    raise_if(errors)
    return np.array(rows, dtype=table_dtype(signature))


def encode_csv(table: np.ndarray, signature: Signature, columns: dict[str, list[Any]]) -> str:
    """The input columns followed by the output columns, one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*signature.names, *columns])
    outputs = list(columns.values())
    for index, row in enumerate(table.tolist()):
        writer.writerow([*row, *(column[index] for column in outputs)])
    return out.getvalue()
