"""Model outputs -> the response's predictions and per-class probabilities.

One entry per input row, always: a value or label, or for a multi-output model a list with one
per target (in the order of ``signature.targets``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dockml.models.base import Outputs
from dockml.signature import Signature


class PredictionEncoder:
    """Maps raw model labels to the labels clients see (iris 0 -> setosa), and rounds probabilities
    to ``probability_decimals`` places (None: as the model gives them).

    Rounding is by decimal places, not significant digits: a compiled model sums its trees' votes
    in float32, so a forest's 0.99 arrives as 0.98999935 and a 0.01 as 0.0100006, both off by about
    1e-6 whatever their size; five places give back 0.99 and 0.01."""

    def __init__(self, signature: Signature, *, probability_decimals: int | None = None) -> None:
        self.signature = signature
        self.probability_decimals = probability_decimals
        self.label_map_ = dict(zip(signature.raw_classes, signature.classes, strict=False))
        self.identity_ = all(raw == shown for raw, shown in self.label_map_.items())

    def labels(self, outputs: Outputs) -> list[Any] | np.ndarray:
        values = np.asarray(outputs.labels)
        if self.signature.multi_output:
            values = np.ascontiguousarray(values.reshape(len(values), -1))  # orjson needs C order
            # Values stay numpy, so float32 serialises at its own precision (0.1, not 0.10000000149).
            return values if values.dtype.kind == "f" else values.tolist()
        values = values.reshape(-1) if values.ndim == 2 and values.shape[1] == 1 else values
        if values.ndim != 1:
            raise ValueError(f"the model gave outputs of shape {values.shape} for a single-output signature")
        if not self.signature.labelled:
            return values
        labels: list[Any] = values.tolist()
        if self.identity_:
            return labels
        return [self.label_map_.get(v, v) for v in labels]

    def probabilities(self, outputs: Outputs) -> list[dict[str, Any]] | None:
        if outputs.probabilities is None:
            return None
        if isinstance(outputs.probabilities, list):  # a multi-output classifier: a matrix per target
            per_target = [
                self._rows(np.asarray(matrix), classes)
                for matrix, classes in zip(outputs.probabilities, self.signature.target_classes, strict=False)
            ]
            return [dict(zip(self.signature.targets, row, strict=False)) for row in zip(*per_target, strict=False)]
        matrix = np.asarray(outputs.probabilities)
        return self._rows(matrix, self.signature.classes or tuple(range(matrix.shape[1])))

    def _rows(self, matrix: np.ndarray, classes: tuple[Any, ...]) -> list[dict[str, Any]]:
        keys = [str(c) for c in classes]
        if self.probability_decimals is not None:
            # float64 and plain floats: 0.99 then prints as 0.99, never as float32's 0.99000001.
            rounded = np.round(matrix.astype(np.float64), self.probability_decimals) + 0.0  # + 0.0: no -0.0
            return [dict(zip(keys, row, strict=False)) for row in rounded.tolist()]
        return [dict(zip(keys, row, strict=False)) for row in matrix]

    def to_json(self, outputs: Outputs, *, proba: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"predictions": self.labels(outputs)}
        if proba:
            body["probabilities"] = self.probabilities(outputs)
        return body

    def to_columns(self, outputs: Outputs, *, proba: bool) -> dict[str, list[Any]]:
        """Output columns for a CSV answer: prediction (or prediction_<target> per target), then
        proba_<class> per class (proba_<target>_<class> for a multi-output model)."""
        labels = self.labels(outputs)
        columns: dict[str, list[Any]]
        if self.signature.multi_output:
            matrix = np.asarray(labels, dtype=object)
            columns = {f"prediction_{t}": matrix[:, i].tolist() for i, t in enumerate(self.signature.targets)}
        else:
            columns = {"prediction": list(labels)}
        probabilities = self.probabilities(outputs) if proba else None
        if probabilities:
            for key, value in probabilities[0].items():
                if isinstance(value, dict):
                    for inner in value:
                        columns[f"proba_{key}_{inner}"] = [row[key][inner] for row in probabilities]
                else:
                    columns[f"proba_{key}"] = [row[key] for row in probabilities]
        return columns
