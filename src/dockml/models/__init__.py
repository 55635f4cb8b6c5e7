"""Loading and running models: one module per file format / runtime."""

from __future__ import annotations

from dockml.config import ModelSpec
from dockml.models.base import LoadedModel, Outputs, Runtime

__all__ = ["LoadedModel", "Outputs", "Runtime", "load_model"]


def load_model(spec: ModelSpec, *, trust_pickle: bool = False) -> LoadedModel:
    """Load ``spec.path`` with the runtime its format needs."""
    suffix = spec.path.suffix.lower()
    if suffix == ".onnx":
        from dockml.models.onnx import load_onnx

        return load_onnx(spec)
    from dockml.models.sklearn import load_sklearn

    return load_sklearn(spec, trust_pickle=trust_pickle)
