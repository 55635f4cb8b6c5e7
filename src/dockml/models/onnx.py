"""ONNX models in ONNX Runtime: one tensor of all features, or one [N, 1] tensor per feature
(as skl2onnx writes pipelines with string columns)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from dockml.config import ModelSpec
from dockml.errors import ConfigError
from dockml.models.base import LoadedModel, Outputs
from dockml.signature import FeatureKind, build_signature, positional_names

_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": object,
}
_KINDS: dict[str, FeatureKind] = {
    "tensor(float)": "number",
    "tensor(double)": "number",
    "tensor(int64)": "integer",
    "tensor(int32)": "integer",
    "tensor(string)": "string",
}


def session_options(threads: int = 1) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


class OnnxRuntime:
    name = "onnx"

    def __init__(self, session: ort.InferenceSession, label_output: str, proba_output: str | None) -> None:
        self.session_ = session
        inputs = session.get_inputs()
        self.single_tensor_ = len(inputs) == 1
        self.input_names_ = [i.name for i in inputs]
        self.input_types_ = [_NUMPY_TYPES[i.type] for i in inputs]
        self.outputs_ = [label_output] + ([proba_output] if proba_output else [])

    def _feeds(self, table: np.ndarray) -> dict[str, np.ndarray]:
        if self.single_tensor_:
            return {self.input_names_[0]: np.ascontiguousarray(table, dtype=self.input_types_[0])}
        return {
            name: table[:, i : i + 1].astype(kind) for i, (name, kind) in enumerate(zip(self.input_names_, self.input_types_))
        }

    def predict(self, table: np.ndarray) -> Outputs:
        results = self.session_.run(self.outputs_, self._feeds(table))
        labels = np.asarray(results[0])
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        probabilities = None
        if len(results) > 1:
            probabilities = _as_matrix(results[1])
        return Outputs(labels=labels, probabilities=probabilities)


def _as_matrix(value: Any) -> np.ndarray:
    """ZipMap outputs come as a list of {class: probability} dicts."""
    if isinstance(value, list):
        return np.array([list(row.values()) for row in value], dtype=np.float64)
    return np.asarray(value)


def _class_labels(path: Path) -> list[Any]:
    """Class labels stored in the graph's ai.onnx.ml classifier node, if it has one."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name == "classlabels_strings":
                return [s.decode() for s in attribute.strings]
            if attribute.name in ("classlabels_int64s", "classlabels_ints"):
                return list(attribute.ints)
    return []


def load_onnx(spec: ModelSpec) -> LoadedModel:
    path, meta = spec.path, spec.meta
    try:
        session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped errors for bad files
        raise ConfigError(f"{path} is not a model ONNX Runtime can load: {error}") from None
    inputs = session.get_inputs()
    unsupported = [f"{i.name} ({i.type})" for i in inputs if i.type not in _NUMPY_TYPES]
    if unsupported:
        raise ConfigError(f"{path}: dockml cannot feed inputs {', '.join(unsupported)}")
    kinds: dict[str, FeatureKind] = {}
    if len(inputs) == 1:
        width = inputs[0].shape[1] if len(inputs[0].shape) == 2 else None
        if not isinstance(width, int):
            if not meta.feature_names:
                raise ConfigError(
                    f"{path}: input '{inputs[0].name}' has no fixed width; list feature_names in its side file"
                )
            width = len(meta.feature_names)
        names = positional_names(width, meta)
        kinds = {name: _KINDS[inputs[0].type] for name in names}
    else:
        names = [i.name for i in inputs]
        kinds = {i.name: _KINDS[i.type] for i in inputs}

    outputs = session.get_outputs()
    label_output = next((o.name for o in outputs if o.type in ("tensor(int64)", "tensor(string)")), None)
    if label_output is not None:
        proba_output = next((o.name for o in outputs if o.name != label_output), None)
        raw_classes = _class_labels(path)
        if not raw_classes and meta.class_names:
            raw_classes = list(range(len(meta.class_names)))
        task = "classification"
    else:
        label_output, proba_output, raw_classes, task = outputs[0].name, None, [], "regression"

    signature = build_signature(
        names=names, kinds=kinds, categories={}, task=task, raw_classes=raw_classes, meta=meta
    )
    runtime = OnnxRuntime(session, label_output, proba_output)
    info = {
        "format": "onnx",
        "onnxruntime_version": ort.__version__,
        "inputs": [{"name": i.name, "type": i.type, "shape": i.shape} for i in inputs],
        "probabilities": proba_output is not None,
    }
    return LoadedModel(runtime=runtime, signature=signature, info=info)
