"""Model outputs -> the response's predictions and per-class probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np

from dockml.models.base import Outputs
from dockml.signature import Signature


class PredictionEncoder:
    """Maps raw model labels to the labels clients see (iris 0 -> setosa)."""

    def __init__(self, signature: Signature) -> None:
        self.signature = signature
        self.label_map_ = dict(zip(signature.raw_classes, signature.classes, strict=False))
        self.identity_ = all(raw == shown for raw, shown in self.label_map_.items())

    def labels(self, outputs: Outputs) -> list[Any] | np.ndarray:
        if self.signature.task == "regression":
            # Left as numpy, so float32 values serialise at their own precision (0.1, not 0.10000000149).
            return np.ravel(outputs.labels)
        values: list[Any] = outputs.labels.tolist()
        if self.identity_:
            return values
        return [self.label_map_.get(v, v) for v in values]

    def probabilities(self, outputs: Outputs) -> list[dict[str, Any]] | None:
        if outputs.probabilities is None:
            return None
        matrix = np.asarray(outputs.probabilities)
        classes = self.signature.classes or tuple(range(matrix.shape[1]))
        keys = [str(c) for c in classes]
        return [dict(zip(keys, row, strict=False)) for row in matrix]

    def to_json(self, outputs: Outputs, *, proba: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"predictions": self.labels(outputs)}
        if proba:
            body["probabilities"] = self.probabilities(outputs)
        return body

    def to_columns(self, outputs: Outputs, *, proba: bool) -> dict[str, list[Any]]:
        """Output columns for a CSV answer: prediction, then proba_<class> per class."""
        columns: dict[str, list[Any]] = {"prediction": list(self.labels(outputs))}
        probabilities = self.probabilities(outputs) if proba else None
        if probabilities:
            for key in probabilities[0]:
                columns[f"proba_{key}"] = [row[key] for row in probabilities]
        return columns
