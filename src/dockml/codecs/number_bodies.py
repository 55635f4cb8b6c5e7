"""The JSON bodies nearly every client sends to a model whose features are all floats, read in
one C call each.

One record (``{"name": number, ...}``, what single-row clients send), a list of records, a list
of rows (``[[number, ...], ...]``) or ``{"instances": [[number, ...], ...]}``: msgspec parses
the body into values it has checked against the model's features (a number for each, and nothing
else: no null, bool or string, no missing or unknown name, no row of another width, nothing past
float's range). That is faster than parsing with orjson, then checking each value in Python: a
one-row POST in 1.7 µs instead of 4.6, 1,000 rows in 250 µs instead of 600 (rows) or 1,250
(records). Any other body, and any body that is wrong, is left to the general path
(records.decode_json), which answers it as before and says what is wrong.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import Any, Literal

import msgspec
import numpy as np

from dockml.signature import Signature


class NumberBodies:
    """The decoders for the float features ``names``: see ``of``."""

    @classmethod
    def of(cls, signature: Signature) -> NumberBodies | None:
        """The decoders for ``signature``'s bodies (built once per model, service.ModelService);
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

    def decode(self, body: bytes) -> np.ndarray | None:
        """The table, or None: the body is for the general path."""
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
