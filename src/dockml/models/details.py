"""What a loaded model tells of itself beyond its signature: the file it came from, the runtime
that serves it and, for a scikit-learn model, whether it was compiled to ONNX Runtime.

``ModelDetails.to_dict()`` is the ``details`` object of GET /models/NAME: its keys, their order
and their values are part of the HTTP answer, so a field added here reaches clients on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # parity.py imports base.py, which imports this module
    from dockml.models.parity import ParityReport

FeatureNamesFrom = Literal["model", "text", "side file", "position"]
"""Where the input names came from: the model itself, dockml's one text input, the side file, or
their position (a model trained on a bare array)."""


@dataclass(frozen=True, slots=True)
class Estimator:
    """What a scikit-learn-style file holds. A compiled model keeps it in its ONNX metadata, in the
    form ``to_dict`` gives."""

    name: str
    libraries: dict[str, str] = field(default_factory=dict)
    """The boosting libraries it needs, with their installed versions; empty for scikit-learn's own."""
    objective: str | None = None
    """The boosting model's loss; told only with ``libraries``."""

    def to_dict(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"estimator": self.name}
        facts.update(self.boosting_facts())
        return facts

    @classmethod
    def from_dict(cls, facts: dict[str, Any]) -> Estimator | None:
        if "estimator" not in facts:
            return None
        return cls(str(facts["estimator"]), dict(facts.get("libraries", {})), facts.get("objective"))

    def boosting_facts(self) -> dict[str, Any]:
        return {"libraries": dict(self.libraries), "objective": self.objective} if self.libraries else {}


@dataclass(frozen=True, slots=True)
class Source:
    """The model file served."""

    format: str
    """Its suffix without the dot (a compiled model tells its source's: skops, joblib, json...)."""
    feature_names_from: FeatureNamesFrom
    estimator: Estimator | None = None
    """For a scikit-learn-style model, or one compiled from it (None from a cache entry that lacks it)."""


@dataclass(frozen=True, slots=True)
class SklearnFacts:
    """A model served by scikit-learn (or a boosting library's scikit-learn wrapper)."""

    sklearn_version: str
    saved_with_sklearn: str | None


@dataclass(frozen=True, slots=True)
class OnnxInput:
    name: str
    type: str
    shape: tuple[int | str | None, ...]
    """Each dimension's size, or its symbolic name, or None where the graph leaves it open."""


@dataclass(frozen=True, slots=True)
class OnnxFacts:
    """A model served by ONNX Runtime: an ONNX file or a compiled scikit-learn model."""

    onnxruntime_version: str
    inputs: tuple[OnnxInput, ...]
    threads: int


@dataclass(frozen=True, slots=True)
class CompiledToOnnx:
    """A scikit-learn model compiled to ONNX Runtime, let through by its parity check."""

    parity: ParityReport | None
    """None from a compiled file that does not record it."""
    cache: Literal["hit", "miss"]
    """Whether the compiled-model cache already held it."""


@dataclass(frozen=True, slots=True)
class ServedBySklearn:
    """A scikit-learn model that was not compiled: ``--runtime sklearn``, or what the compilation met."""

    reason: str


Compilation = CompiledToOnnx | ServedBySklearn


def _compilation_dict(compilation: Compilation) -> dict[str, Any]:
    if isinstance(compilation, ServedBySklearn):
        return {"compiled": False, "reason": compilation.reason}
    parity = compilation.parity.to_dict() if compilation.parity is not None else None
    return {"compiled": True, "parity": parity, "cache": compilation.cache}


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """The facts GET /models/NAME gives as ``details``."""

    source: Source
    runtime: SklearnFacts | OnnxFacts
    probabilities: bool
    """Whether the runtime gives class probabilities."""
    compilation: Compilation | None = None
    """For a scikit-learn model; None for an ONNX file."""

    def to_dict(self) -> dict[str, Any]:
        """The public ``details`` object. The key order is the one clients have always seen: a model
        served by scikit-learn names its estimator second, a compiled one last."""
        source, runtime = self.source, self.runtime
        estimator = source.estimator
        if isinstance(runtime, SklearnFacts):
            details: dict[str, Any] = {"format": source.format}
            if estimator is not None:
                details["estimator"] = estimator.name
            details |= {
                "sklearn_version": runtime.sklearn_version,
                "saved_with_sklearn": runtime.saved_with_sklearn,
                "probabilities": self.probabilities,
                "feature_names_from": source.feature_names_from,
            }
            if estimator is not None:
                details |= estimator.boosting_facts()
            if self.compilation is not None:
                details["onnx"] = _compilation_dict(self.compilation)
            return details
        details = {
            "format": source.format,
            "onnxruntime_version": runtime.onnxruntime_version,
            "inputs": [{"name": i.name, "type": i.type, "shape": list(i.shape)} for i in runtime.inputs],
            "probabilities": self.probabilities,
            "threads": runtime.threads,
            "feature_names_from": source.feature_names_from,
        }
        if self.compilation is not None:
            details["onnx"] = _compilation_dict(self.compilation)
        if estimator is not None:
            details |= estimator.to_dict()
        return details
