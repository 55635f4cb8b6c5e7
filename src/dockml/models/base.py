"""The one interface every model runtime offers: a batch of rows in, a batch of outputs out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dockml.signature import Signature


@dataclass(frozen=True, slots=True)
class Outputs:
    """Raw model outputs for n rows: labels (classes, clusters) or values, (n,) or (n, targets); and
    class probabilities, (n, classes), or one such matrix per target of a multi-output classifier."""

    labels: np.ndarray
    probabilities: np.ndarray | list[np.ndarray] | None = None


class Runtime(Protocol):
    """A loaded model. ``table`` is (n_rows, n_features) in signature order: float64 when every
    feature is numeric, else object."""

    name: str

    def predict(self, table: np.ndarray) -> Outputs: ...


@dataclass(slots=True)
class LoadedModel:
    """A runtime with its signature and what the loader learned on the way."""

    runtime: Runtime
    signature: Signature
    info: dict[str, Any] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Known training range per numeric feature, where the model keeps a trace of it."""
    boundaries: dict[str, np.ndarray] = field(default_factory=dict)
    """Values per feature where the model's answer changes (tree split thresholds), for the parity check."""
    sample: np.ndarray | None = None
    """Typical rows the user gave (the side file's ``sample`` CSV), for the parity check."""
