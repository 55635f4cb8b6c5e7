"""The check that a compiled model answers as the original: inputs generated from the signature,
labels identical, probabilities and regression values within a relative tolerance."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dockml.models.base import Outputs, Runtime
from dockml.signature import Signature

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
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_table(signature: Signature, ranges: dict[str, tuple[float, float]], rows: int = SAMPLE_ROWS) -> np.ndarray:
    """Rows spread over each feature's known range (else around its example), plus the examples."""
    rng = np.random.default_rng(0)
    columns = []
    for feature in signature.features:
        if feature.kind == "string":
            choices = list(feature.categories or [feature.example])
            columns.append(rng.choice(np.array(choices, dtype=object), rows))
            continue
        if feature.name in ranges:
            low, high = ranges[feature.name]
        else:
            centre = float(feature.example or 0.0)
            spread = abs(centre) or 1.0
            low, high = centre - spread, centre + spread
        margin = (high - low) * 0.1 or 1.0
        values = rng.uniform(low - margin, high + margin, rows)
        columns.append(np.round(values) if feature.kind == "integer" else values)
    table = np.empty((rows, len(signature.features)), dtype=np.float64 if signature.all_numeric else object)
    for index, column in enumerate(columns):
        table[:, index] = column
    example = np.array([[f.example for f in signature.features]], dtype=table.dtype)
    return np.vstack([example, table])


def compare(reference: Runtime, candidate: Runtime, table: np.ndarray, task: str) -> ParityReport:
    expected: Outputs = reference.predict(table)
    got: Outputs = candidate.predict(table)
    rows = len(table)
    if task == "classification":
        mismatches = int(np.sum(np.asarray(expected.labels).astype(str) != np.asarray(got.labels).astype(str)))
        pairs = [(expected.probabilities, got.probabilities)]
    else:
        mismatches = 0
        pairs = [(expected.labels, got.labels)]
    max_abs = max_rel = 0.0
    within = True
    for want, have in pairs:
        if want is None or have is None:
            continue
        want = np.asarray(want, dtype=np.float64).reshape(rows, -1)
        have = np.asarray(have, dtype=np.float64).reshape(rows, -1)
        difference = np.abs(want - have)
        max_abs = float(difference.max(initial=0.0))
        max_rel = float((difference / np.maximum(np.abs(want), 1e-12)).max(initial=0.0))
        within = bool(np.all(difference <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * np.abs(want)))
    passed = mismatches == 0 and within
    reason = (
        ""
        if passed
        else (
            f"{mismatches} of {rows} labels differ"
            if mismatches
            else f"values differ by up to {max_rel:.2e} (relative), over the {RELATIVE_TOLERANCE:.0e} tolerance"
        )
    )
    return ParityReport(passed, rows, mismatches, max_abs, max_rel, reason)
