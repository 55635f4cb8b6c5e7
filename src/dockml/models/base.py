"""The one interface every model runtime offers: a batch of rows in, a batch of outputs out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from dockml.models.details import ModelDetails
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


@runtime_checkable
class SklearnBacked(Runtime, Protocol):
    """A runtime that predicts with a scikit-learn-style estimator: what compile.py converts, and
    what library_threads.py gives the worker's threads to."""

    @property
    def estimator(self) -> Any: ...


class OnnxBacked(Runtime, Protocol):
    """A runtime that predicts with an ONNX graph, whose metadata a compiled model fills."""

    def metadata(self) -> dict[str, str]:
        """The graph's custom metadata (``metadata_props``)."""


RuntimeT = TypeVar("RuntimeT", bound=Runtime, covariant=True)


@dataclass(frozen=True, slots=True)
class LoadedModel(Generic[RuntimeT]):
    """A runtime with its signature and what the loader learned on the way. Typed by its runtime,
    so what needs a scikit-learn estimator or an ONNX graph says so (``LoadedModel[SklearnBacked]``)."""

    runtime: RuntimeT
    signature: Signature
    details: ModelDetails
    """What GET /models/NAME tells of the model (``details.to_dict()``)."""
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Known training range per numeric feature, where the model keeps a trace of it."""
    boundaries: dict[str, np.ndarray] = field(default_factory=dict)
    """Values per feature where the model's answer changes (tree split thresholds), for the parity check."""
    sample: np.ndarray | None = None
    """Typical rows the user gave (the side file's ``sample`` CSV), for the parity check."""
