"""The inputs nearly every client sends to a model whose features are all floats, read with as
little Python as possible; anything else, and anything wrong, is left to the general path
(records.py), which answers it as before and says what is wrong.

JSON bodies: one record (``{"name": number, ...}``, what single-row clients send), a list of
records, a list of rows (``[[number, ...], ...]``) or ``{"instances": [[number, ...], ...]}``.
msgspec parses the body into values it has checked against the model's features (a number for
each, and nothing else: no null, bool or string, no missing or unknown name, no row of another
width, nothing past float's range), in one C call: faster than parsing with orjson, then
checking each value in Python. A one-row POST in 1.7 µs instead of 4.6; 1,000 rows in 250 µs
instead of 600 (rows) or 1,250 (records).

A GET's query string (``?s_length=5.1&...``): a value for each feature, once each, with nothing
to unquote, each read by float() as the general path reads it: in about a third of the general
path's time (urllib's parse_qsl, then each value parsed and checked: ~12 µs for four features).
"""

from __future__ import annotations

import math
from itertools import chain
from typing import Any, Literal

import msgspec
import numpy as np

from dockml.signature import Signature


class NumberInputs:
    """The readers for the float features ``names``: see ``of``."""

    @classmethod
    def of(cls, signature: Signature) -> NumberInputs | None:
        """The readers for ``signature``'s inputs (built once per model, service.ModelService);
        None unless every feature is a float."""
        if not signature.features or not signature.all_numeric or signature.integer_columns:
            return None
        return cls(signature.names)

    def __init__(self, names: tuple[str, ...]) -> None:
        self.width = len(names)
        fields = [f"f{index}" for index in range(self.width)]
        record: Any = msgspec.defstruct(
            "NumberRecord",
            [(field, float) for field in fields],
            rename=dict(zip(fields, names, strict=True)),
            forbid_unknown_fields=True,
        )
        row: Any = tuple[(float,) * self.width]  # type: ignore[misc]  # exactly one float per feature
        self.record = msgspec.json.Decoder(record)
        self.records = msgspec.json.Decoder(list[record])
        self.rows = msgspec.json.Decoder(list[row])
        # A feature called "instances" makes {"instances": ...} a record (records.decode_json).
        instances = dict[Literal["instances"], list[row]]  # no other key
        self.instances = None if "instances" in names else msgspec.json.Decoder(instances)
        self.query_names = [name.encode("latin-1") for name in names] if all(map(_plain, names)) else None

    def decode_query(self, query: bytes) -> np.ndarray | None:
        """The one-row table of a query string, or None: it is for the general path (a value to
        unquote, a parameter given twice, missing or unknown, such as ``proba``, or not a number)."""
        if self.query_names is None or b"%" in query or b"+" in query:
            return None
        pairs = query.split(b"&")
        given = dict(pair.partition(b"=")[::2] for pair in pairs)
        if len(pairs) != self.width or len(given) != self.width:  # one of each, or the general path says what
            return None
        try:
            row = [float(given[name]) for name in self.query_names]  # as records.decode_query does
        except (KeyError, ValueError):
            return None
        return np.array([row], dtype=np.float64) if math.isfinite(sum(row)) else None

    def decode(self, body: bytes) -> np.ndarray | None:
        """The table of a JSON body, or None: the body is for the general path."""
        try:  # a body of another shape fails at its first byte or key
            values = msgspec.structs.astuple(self.record.decode(body))
            return np.array([values], dtype=np.float64) if math.isfinite(sum(values)) else None
        except msgspec.MsgspecError:
            pass
        try:
            return self._table(self.rows.decode(body))
        except msgspec.MsgspecError:
            pass
        try:
            return self._table([msgspec.structs.astuple(each) for each in self.records.decode(body)])
        except msgspec.MsgspecError:
            pass
        if self.instances is None:
            return None
        try:
            return self._table(self.instances.decode(body).get("instances", []))
        except msgspec.MsgspecError:
            return None

    def _table(self, rows: list[tuple[float, ...]]) -> np.ndarray | None:
        if not rows:  # the general path says what to send
            return None
        table = np.fromiter(chain.from_iterable(rows), np.float64, len(rows) * self.width)
        return table.reshape(len(rows), self.width) if np.isfinite(table).all() else None


def _plain(name: str) -> bool:
    """Whether a feature's name stands in a query string as it is (nothing to quote)."""
    return name.isascii() and not any(character in name for character in "%+&=#; ") and name.isprintable()
