"""The check that a compiled model answers as the original: inputs generated from the signature,
labels identical, probabilities and regression values within a relative tolerance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from dockml.codecs.values import example_table, table_dtype
from dockml.models.base import Outputs, Runtime
from dockml.models.probes import UNSEEN
from dockml.signature import Feature, Signature

RELATIVE_TOLERANCE = 1e-5
# Probabilities of exactly 0 in one runtime come out as 1e-8 in the other: a relative test
# alone would fail them, so differences below this are ignored.
ABSOLUTE_TOLERANCE = 1e-6
SAMPLE_ROWS = 256


@dataclass(frozen=True, slots=True)
class ParityReport:
    passed: bool
    rows: int
    label_mismatches: int
    max_abs_difference: float
    max_rel_difference: float
    distinct_outputs: int = 0
    """Different answers among the rows checked: a check whose rows all get one answer proves little."""
    missing_rows: int = 0
    unknown_rows: int = 0
    sample_rows: int = 0
    """Rows from the user's own sample (the side file's ``sample`` CSV)."""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CheckRows:
    table: np.ndarray
    missing_rows: int = 0
    """Rows with missing values, the last ones of ``table``."""
    unknown_rows: int = 0
    sample_rows: int = 0

    def without_missing(self) -> CheckRows:
        return replace(self, table=self.table[: len(self.table) - self.missing_rows], missing_rows=0)


def sample_table(
    signature: Signature,
    ranges: dict[str, tuple[float, float]],
    sample: np.ndarray | None = None,
    boundaries: dict[str, np.ndarray] | None = None,
    rows: int = SAMPLE_ROWS,
) -> CheckRows:
    """The rows a compiled model is checked on: the examples, the user's sample, rows spread over
    each feature's known range (else around its example), and, where the model takes them, rows
    with missing values and unknown categories."""
    rng = np.random.default_rng(0)
    dtype = table_dtype(signature)
    columns = [_column(feature, ranges.get(feature.name), rng, rows) for feature in signature.features]
    spread: np.ndarray = np.empty((rows, len(signature.features)), dtype=dtype)
    for index, column in enumerate(columns):
        spread[:, index] = column
    parts = [example_table(signature)]
    if sample is not None:
        parts.append(sample.astype(dtype))
    parts.append(spread)
    parts.append(_rounded(spread[: rows // 2], signature, rng))
    parts.append(_at_boundaries(spread[: rows // 2], signature, boundaries or {}, rng))
    missing = _with(spread[: rows // 4], [i for i, f in enumerate(signature.features) if f.allows_missing], np.nan, rng)
    unknown = _with(spread[: rows // 8], [i for i, f in enumerate(signature.features) if f.allows_unknown], UNSEEN, rng)
    parts += [unknown, missing]
    return CheckRows(
        np.vstack(parts),
        missing_rows=len(missing),
        unknown_rows=len(unknown),
        sample_rows=0 if sample is None else len(sample),
    )


def _column(feature: Feature, known: tuple[float, float] | None, rng: np.random.Generator, rows: int) -> np.ndarray:
    if feature.kind == "boolean":
        return rng.choice(np.array([False, True], dtype=object), rows)
    if feature.kind == "string":
        choices = list(feature.categories or [feature.example])
        return rng.choice(np.array(choices, dtype=object), rows)
    if known is None:
        centre = float(feature.example or 0.0)
        spread = abs(centre) or 1.0
        known = (centre - spread, centre + spread)
    low, high = known
    margin = (high - low) * 0.1 or 1.0
    values = rng.uniform(low - margin, high + margin, rows)
    return np.round(values) if feature.kind == "integer" else values


def _rounded(rows: np.ndarray, signature: Signature, rng: np.random.Generator) -> np.ndarray:
    """Copies of ``rows`` with their numbers rounded to 0, 1 or 2 decimals, as real data is: counts
    and prices sit exactly where a float32 split threshold (behind a scaler) may round either way."""
    changed = rows.copy()
    decimals = rng.integers(0, 3, len(changed))
    for index, feature in enumerate(signature.features):
        if feature.kind == "number":
            values = changed[:, index].astype(np.float64)
            changed[:, index] = np.choose(decimals, [np.round(values, d) for d in range(3)])
    return changed


def _at_boundaries(
    rows: np.ndarray, signature: Signature, boundaries: dict[str, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Copies of ``rows`` with values at split thresholds: the threshold, one float32 step either
    side, and the short decimals that round to it (data like 1.4 meets a float32 threshold 1.4
    there): where a runtime that rounds or compares otherwise gives another answer."""
    columns = [(i, boundaries[f.name]) for i, f in enumerate(signature.features) if f.name in boundaries]
    if not columns or not len(rows):
        return rows[:0]
    changed = rows.copy()
    for index, thresholds in columns:
        values = rng.choice(thresholds, len(changed)).astype(np.float32)
        way = rng.integers(0, 6, len(changed))
        below, above = np.nextafter(values, np.float32(-np.inf)), np.nextafter(values, np.float32(np.inf))
        exact = values.astype(np.float64)
        choices = [exact, below.astype(np.float64), above.astype(np.float64)]
        choices += [np.round(exact, decimals) for decimals in (1, 2, 3)]
        changed[:, index] = np.choose(way, choices)
    return changed


def _with(rows: np.ndarray, columns: list[int], value: Any, rng: np.random.Generator) -> np.ndarray:
    """Copies of ``rows`` with ``value`` in one of ``columns`` each (every column in turn, some rows in all)."""
    if not columns or not len(rows):
        return rows[:0]
    changed = rows.copy()
    for row in range(len(changed)):
        picked = columns if row % 4 == 3 else [columns[row % len(columns)]]
        for column in picked:
            changed[row, column] = value
    return changed


def compare(reference: Runtime, candidate: Runtime, rows: CheckRows, signature: Signature) -> ParityReport:
    table = rows.table
    expected: Outputs = reference.predict(table)
    got: Outputs = candidate.predict(table)
    count = len(table)
    want_labels = np.asarray(expected.labels).reshape(count, -1)
    have_labels = np.asarray(got.labels).reshape(count, -1)
    distinct = len({tuple(row) for row in want_labels.astype(str).tolist()})
    if signature.labelled:
        mismatches = int(np.sum(np.any(want_labels.astype(str) != have_labels.astype(str), axis=1)))
        pairs = [(expected.probabilities, got.probabilities)]
    else:
        mismatches = 0
        pairs = [(expected.labels, got.labels)]
    if expected.probabilities is not None:
        distinct = max(
            distinct, len({tuple(row) for row in np.round(_matrix(expected.probabilities, count), 6).tolist()})
        )
    max_abs = max_rel = 0.0
    within = True
    for want_values, have_values in pairs:
        if want_values is None or have_values is None:
            continue
        want = _matrix(want_values, count)
        have = _matrix(have_values, count)
        if want.shape != have.shape:
            within = False
            continue
        difference = np.abs(want - have)
        both_missing = np.isnan(want) & np.isnan(have)
        difference[both_missing] = 0.0
        max_abs = float(np.nan_to_num(difference, nan=np.inf).max(initial=0.0))
        max_rel = float(
            np.nan_to_num(difference / np.maximum(np.abs(np.nan_to_num(want)), 1e-12), nan=np.inf).max(initial=0.0)
        )
        within = bool(
            np.all(
                np.nan_to_num(difference, nan=np.inf)
                <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * np.abs(np.nan_to_num(want))
            )
        )
    varied = distinct > 1
    passed = mismatches == 0 and within and varied
    if mismatches:
        reason = f"{mismatches} of {count} labels differ"
    elif not within:
        reason = f"values differ by up to {max_rel:.2e} (relative), over the {RELATIVE_TOLERANCE:.0e} tolerance"
    elif not varied:
        reason = (
            f"all {count} check rows got one and the same answer, which proves nothing; give typical rows as "
            'sample = "FILE.csv" in the model\'s side file'
        )
    else:
        reason = ""
    return ParityReport(
        passed,
        count,
        mismatches,
        max_abs,
        max_rel,
        distinct_outputs=distinct,
        missing_rows=rows.missing_rows,
        unknown_rows=rows.unknown_rows,
        sample_rows=rows.sample_rows,
        reason=reason,
    )


def _matrix(values: Any, rows: int) -> np.ndarray:
    if isinstance(values, list):  # one matrix per target
        return np.hstack([np.asarray(v, dtype=np.float64).reshape(rows, -1) for v in values])
    return np.asarray(values, dtype=np.float64).reshape(rows, -1)
