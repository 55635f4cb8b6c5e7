"""ONNX models in ONNX Runtime: one tensor of all features, or one [N, 1] tensor per feature
(as skl2onnx writes pipelines with string columns)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from dockml.config import ModelSpec
from dockml.errors import ConfigError
from dockml.models.base import LoadedModel, Outputs
from dockml.models.details import FeatureNamesFrom, ModelDetails, OnnxFacts, OnnxInput, Source
from dockml.signature import FeatureKind, ModelFacts, build_signature, facts_from_dict, positional_names

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
SIGNATURE_KEY = "dockml.signature"


def session(model: str | bytes, threads: int = 1) -> ort.InferenceSession:
    """A session set up for serving: a fixed, small thread count (workers x threads <= cores),
    sequential execution, quiet logs."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class OnnxRuntime:
    name = "onnx"

    def __init__(self, session: ort.InferenceSession, label_output: str, proba_output: str | None) -> None:
        self.session_ = session
        inputs = session.get_inputs()
        self.single_tensor_ = len(inputs) == 1
        self.input_names_ = [i.name for i in inputs]
        self.input_types_ = [_NUMPY_TYPES[i.type] for i in inputs]
        self.input_ranks_ = [len(i.shape) if isinstance(i.shape, list) else 2 for i in inputs]
        self.outputs_ = [label_output] + ([proba_output] if proba_output else [])
        self.has_proba_ = proba_output is not None

    @classmethod
    def from_session(cls, session: ort.InferenceSession, *, probabilities: bool | None = None) -> OnnxRuntime:
        """``probabilities`` says whether the model gives them; None: whenever the graph has a second output.
        (A compiled model without predict_proba still has one: decision scores, distances.)"""
        label_output, proba_output = _outputs(session)
        return cls(session, label_output, proba_output if probabilities is not False else None)

    def metadata(self) -> dict[str, str]:
        return custom_metadata(self.session_)

    def _feeds(self, table: np.ndarray) -> dict[str, np.ndarray]:
        if self.single_tensor_:
            values = table[:, 0] if self.input_ranks_[0] == 1 else table
            return {self.input_names_[0]: np.asarray(values, dtype=self.input_types_[0])}
        return {
            name: table[:, i : i + 1].astype(kind)
            for i, (name, kind) in enumerate(zip(self.input_names_, self.input_types_, strict=False))
        }

    def predict(self, table: np.ndarray) -> Outputs:
        results = self.session_.run(self.outputs_, self._feeds(table))
        labels = np.asarray(results[0])
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        probabilities = _as_matrix(results[1]) if len(results) > 1 else None
        return Outputs(labels=labels, probabilities=probabilities)


def _outputs(session: ort.InferenceSession) -> tuple[str, str | None]:
    """(label output, probability output) of a classifier, or (value output, None) of a regressor."""
    outputs = session.get_outputs()
    label = next((o.name for o in outputs if o.type in ("tensor(int64)", "tensor(string)")), None)
    if label is None:
        return outputs[0].name, None
    return label, next((o.name for o in outputs if o.name != label), None)


def _as_matrix(value: Any) -> np.ndarray:
    """ZipMap outputs come as a list of {class: probability} dicts."""
    if isinstance(value, list):
        return np.array([list(row.values()) for row in value], dtype=np.float64)
    return np.asarray(value)


def _graph_class_labels(path: Path) -> list[Any]:
    """Class labels stored in the graph's ai.onnx.ml classifier node, if any. Needs the onnx
    package, which served images leave out: models compiled by dockml carry their labels in
    the metadata instead."""
    try:
        import onnx
    except ImportError:
        return []
    model = onnx.load(str(path), load_external_data=False)
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name == "classlabels_strings":
                return [s.decode() for s in attribute.strings]
            if attribute.name in ("classlabels_int64s", "classlabels_ints"):
                return list(attribute.ints)
    return []


def custom_metadata(onnx_session: ort.InferenceSession) -> dict[str, str]:
    return dict(onnx_session.get_modelmeta().custom_metadata_map)


def _read_inputs(path: Path, session: ort.InferenceSession, meta: Any) -> tuple[list[str], dict[str, FeatureKind]]:
    inputs = session.get_inputs()
    unsupported = [f"{i.name} ({i.type})" for i in inputs if i.type not in _NUMPY_TYPES]
    if unsupported:
        raise ConfigError(f"{path}: dockml cannot feed inputs {', '.join(unsupported)}")
    if len(inputs) > 1:
        return [i.name for i in inputs], {i.name: _KINDS[i.type] for i in inputs}
    width = inputs[0].shape[1] if len(inputs[0].shape) == 2 else None
    if not isinstance(width, int):
        if not meta.feature_names:
            raise ConfigError(
                f"{path}: input '{inputs[0].name}' has no fixed width; list feature_names in its side file"
            )
        width = len(meta.feature_names)
    names = positional_names(width, meta)
    return names, dict.fromkeys(names, _KINDS[inputs[0].type])


def check_external_data(path: Path) -> None:
    """Refuse a model whose external tensor files lie outside its folder: a crafted model could
    otherwise make the server read any file it can (../../etc/passwd as weights)."""
    try:
        import onnx
        from onnx.external_data_helper import _get_all_tensors, uses_external_data
    except ImportError:  # served images leave onnx out; ONNX Runtime checks these paths itself
        return
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - not a model at all: ONNX Runtime's refusal, next, says so
        return
    folder = path.resolve().parent
    for tensor in _get_all_tensors(model):
        if uses_external_data(tensor):
            location = next((entry.value for entry in tensor.external_data if entry.key == "location"), "")
            target = (folder / location).resolve()
            if not location or Path(location).is_absolute() or not target.is_relative_to(folder):
                raise ConfigError(
                    f"{path}: tensor '{tensor.name}' keeps its data in {location!r}, outside the model's folder; "
                    "refusing to load it"
                )


def load_onnx(spec: ModelSpec, *, threads: int = 1) -> LoadedModel[OnnxRuntime]:
    path, meta = spec.path, spec.meta
    try:
        onnx_session = session(str(path), threads)
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own untyped errors for bad files
        raise ConfigError(f"{path} is not a model ONNX Runtime can load: {str(error).splitlines()[0]}") from None
    stored_metadata = custom_metadata(onnx_session)
    names_from: FeatureNamesFrom = "model"
    if SIGNATURE_KEY in stored_metadata:
        # Compiled by dockml: the original model's signature travels with the file.
        stored = json.loads(stored_metadata[SIGNATURE_KEY])
        renamed = None if stored.get("named", True) else positional_names(len(stored["features"]), meta)
        if renamed is not None:
            names_from = "side file" if meta.feature_names else "position"
        facts = facts_from_dict(stored, renamed)
        runtime = OnnxRuntime.from_session(onnx_session, probabilities=facts.probabilities)
    else:
        runtime = OnnxRuntime.from_session(onnx_session)
        names, kinds = _read_inputs(path, onnx_session, meta)
        labelled = any(o.type in ("tensor(int64)", "tensor(string)") for o in onnx_session.get_outputs())
        raw_classes = _graph_class_labels(path) if labelled else []
        if labelled and not raw_classes and meta.class_names:
            raw_classes = list(range(len(meta.class_names)))
        facts = ModelFacts(
            names=names,
            task="classification" if labelled else "regression",
            kinds=kinds,
            raw_classes=raw_classes,
            probabilities=runtime.has_proba_,
        )
    signature = build_signature(facts, meta)
    details = ModelDetails(
        source=Source(format="onnx", feature_names_from=names_from),
        runtime=OnnxFacts(
            onnxruntime_version=ort.__version__,
            inputs=tuple(OnnxInput(i.name, i.type, tuple(i.shape)) for i in onnx_session.get_inputs()),
            threads=threads,
        ),
        probabilities=runtime.has_proba_,
    )
    return LoadedModel(runtime=runtime, signature=signature, details=details)
