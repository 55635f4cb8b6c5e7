"""A model's signature as Open Inference Protocol tensors: its metadata, inputs -> table, outputs -> tensors.

Inputs, either of
    "input"   [-1, n_features]   any integer or FP datatype, columns in signature order
              (offered when every feature is a number and none is itself named "input");
              [n_features] is one row
    one tensor per feature, named as the feature, shape [-1, 1] or [-1]: BYTES for string
              features, any integer or FP datatype for the others
A model with one input tensor takes one tensor under any name (MLServer's clients say "input-0").
Outputs ([-1, n_targets] instead of [-1] for a multi-output model)
    labels       "label" [-1] after class-name mapping (BYTES for names, else INT64, FP64 or BOOL):
                 classes, cluster ids, inlier 1 / outlier -1
                 "probabilities" [-1, n_classes] FP32 or FP64, columns in the order of the classes
                 (single-output classifiers with predict_proba)
    regressors   "value" [-1] FP32 or FP64
FP32 or FP64 is what the runtime computes (ONNX Runtime: FP32, scikit-learn: FP64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dockml.codecs.predictions import PredictionEncoder
from dockml.codecs.records import decode_rows
from dockml.codecs.tensors import NUMERIC_TYPES, Tensor
from dockml.codecs.values import numbers_fit
from dockml.errors import FieldError, FieldErrors, InvalidInput
from dockml.models.base import Outputs
from dockml.signature import Signature

COMBINED = "input"
LABEL, PROBABILITIES, VALUE = "label", "probabilities", "value"
_LABEL_TYPES = {"INT64": np.int64, "FP64": np.float64, "BOOL": np.bool_}
_FEATURE_TYPES = {"number": "FP64", "integer": "INT64", "string": "BYTES", "boolean": "BOOL"}


@dataclass(frozen=True, slots=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


def takes_combined(signature: Signature) -> bool:
    return signature.all_numeric and COMBINED not in signature.name_set


def input_specs(signature: Signature) -> list[TensorSpec]:
    """The input tensors a model offers (no prediction needed, unlike its outputs)."""
    features = signature.features
    if takes_combined(signature):
        kind = "INT64" if all(f.kind == "integer" for f in features) else "FP64"
        return [TensorSpec(COMBINED, kind, (-1, len(features)))]
    return [TensorSpec(f.name, _FEATURE_TYPES[f.kind], (-1, 1)) for f in features]


def _value_datatype(values: list[Any]) -> str:
    kinds = {type(value) for value in values}
    if kinds <= {bool}:
        return "BOOL"
    if kinds <= {int}:
        return "INT64"
    if kinds <= {int, float}:
        return "FP64"
    return "BYTES"


def _float_datatype(array: np.ndarray) -> str:
    return "FP32" if array.dtype == np.float32 else "FP64"


class TensorLayout:
    """The tensors of one model. ``sample`` is one prediction, from which the output datatypes are read."""

    def __init__(self, signature: Signature, encoder: PredictionEncoder, sample: Outputs) -> None:
        self.signature = signature
        self.encoder = encoder
        self.combined_ = takes_combined(signature)
        per_row = (-1, len(signature.targets)) if signature.multi_output else (-1,)
        if signature.labelled:
            label_values = list(signature.classes) or np.asarray(encoder.labels(sample), dtype=object).ravel().tolist()
            outputs = [TensorSpec(LABEL, _value_datatype(label_values), per_row)]
            if sample.probabilities is not None and not signature.multi_output:
                width = np.asarray(sample.probabilities).shape[1]
                outputs.append(
                    TensorSpec(PROBABILITIES, _float_datatype(np.asarray(sample.probabilities)), (-1, width))
                )
        else:
            outputs = [TensorSpec(VALUE, _float_datatype(np.asarray(sample.labels)), per_row)]
        self.outputs_ = {spec.name: spec for spec in outputs}

    def inputs(self) -> list[TensorSpec]:
        return input_specs(self.signature)

    def outputs(self) -> list[TensorSpec]:
        return list(self.outputs_.values())

    def _offer(self) -> str:
        names = ", ".join(self.signature.names)
        if self.combined_:
            return (
                f"send the tensor '{COMBINED}' of shape [rows, {len(self.signature.features)}] (FP32, FP64 or an "
                f"integer type), or one tensor per feature: {names}"
            )
        return f"send one tensor per feature, shape [rows, 1] or [rows]: {names}"

    def table(self, tensors: tuple[Tensor, ...]) -> np.ndarray:
        """The rows the tensors hold, in signature order, checked as every other route checks them."""
        offered = self.inputs()
        if len(offered) == 1 and len(tensors) == 1 and tensors[0].name != offered[0].name:
            # One tensor for a model that takes one: its name cannot be anything else.
            only = tensors[0]
            tensors = (Tensor(offered[0].name, only.shape, only.datatype, only.data),)
        names = [tensor.name for tensor in tensors]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise InvalidInput(f"input '{name}' is given twice; {self._offer()}", [FieldError(name, "given twice")])
            seen.add(name)
        if self.combined_ and COMBINED in names:
            if len(tensors) > 1:
                others = ", ".join(name for name in names if name != COMBINED)
                raise InvalidInput(f"input '{COMBINED}' holds every feature; do not send {others} beside it")
            return self._combined(tensors[0])
        return self._per_feature({tensor.name: tensor for tensor in tensors})

    def _check_numeric_type(self, tensor: Tensor, what: str) -> None:
        if tensor.datatype not in NUMERIC_TYPES:
            raise InvalidInput(
                f"input '{tensor.name}': datatype {tensor.datatype} does not fit {what}; use FP32 or FP64 "
                "(or an integer type)",
                [FieldError(tensor.name, f"wrong datatype {tensor.datatype}")],
            )

    def _combined(self, tensor: Tensor) -> np.ndarray:
        width = len(self.signature.features)
        self._check_numeric_type(tensor, "numeric features")
        if len(tensor.shape) == 1 and width > 1 and tensor.shape[0] == width:
            tensor = Tensor(tensor.name, (1, width), tensor.datatype, tensor.data)  # one row
        elif len(tensor.shape) == 1 and width == 1:
            tensor = Tensor(tensor.name, (tensor.shape[0], 1), tensor.datatype, tensor.data)
        if len(tensor.shape) != 2 or tensor.shape[1] != width:
            raise InvalidInput(
                f"input '{COMBINED}' has shape {list(tensor.shape)}; expected [rows, {width}] (or [{width}] for "
                f"one row), one column per feature: {', '.join(self.signature.names)}",
                [FieldError(COMBINED, "wrong shape")],
            )
        self._check_rows(tensor.shape[0])
        return self._checked_numbers(tensor.data.reshape(tensor.shape).astype(np.float64))

    def _check_rows(self, rows: int) -> None:
        if rows == 0:
            raise InvalidInput("the inputs hold no rows; send at least one")

    def _per_feature(self, given: dict[str, Tensor]) -> np.ndarray:
        errors = FieldErrors()
        errors += (
            FieldError(name, f"missing input '{name}'; {self._offer()}")
            for name in self.signature.names
            if name not in given
        )
        errors += (
            FieldError(name, f"unknown input '{name}'; {self._offer()}")
            for name in given
            if name not in self.signature.name_set
        )
        if errors:
            raise InvalidInput.from_errors(errors)
        rows = None
        columns = []
        for feature in self.signature.features:
            tensor = given[feature.name]
            if feature.kind in ("string", "boolean"):
                wanted = _FEATURE_TYPES[feature.kind]
                if tensor.datatype != wanted:
                    raise InvalidInput(
                        f"input '{feature.name}': datatype {tensor.datatype} does not fit a {feature.kind} feature; "
                        f"use {wanted}",
                        [FieldError(feature.name, f"wrong datatype {tensor.datatype}")],
                    )
            else:
                self._check_numeric_type(tensor, f"the {feature.kind} feature '{feature.name}'")
            if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
                raise InvalidInput(
                    f"input '{feature.name}' has shape {list(tensor.shape)}; expected [rows, 1] or [rows]",
                    [FieldError(feature.name, "wrong shape")],
                )
            if rows is not None and tensor.shape[0] != rows:
                raise InvalidInput(
                    f"input '{feature.name}' has {tensor.shape[0]} rows but the inputs before it have {rows}; "
                    "every input needs the same number of rows",
                    [FieldError(feature.name, "wrong number of rows")],
                )
            rows = tensor.shape[0]
            columns.append(tensor.data)
        assert rows is not None
        self._check_rows(rows)
        if self.signature.all_numeric:
            return self._checked_numbers(np.column_stack([column.astype(np.float64) for column in columns]))
        table = [list(row) for row in zip(*(column.tolist() for column in columns), strict=True)]
        return decode_rows(table, self.signature)

    def _checked_numbers(self, table: np.ndarray) -> np.ndarray:
        if numbers_fit(table, self.signature):
            return table
        return decode_rows(table.tolist(), self.signature)  # raises, naming every bad value

    def output_names(self) -> list[str]:
        return list(self.outputs_)

    def encode(self, outputs: Outputs, names: list[str]) -> list[Tensor]:
        """The named output tensors of one prediction, in the order asked for."""
        return [self._output(outputs, self.outputs_[name]) for name in names]

    def _output(self, outputs: Outputs, spec: TensorSpec) -> Tensor:
        if spec.name == PROBABILITIES:
            matrix = np.asarray(outputs.probabilities, dtype=np.float32 if spec.datatype == "FP32" else np.float64)
            return Tensor(spec.name, matrix.shape, spec.datatype, matrix.reshape(-1))
        if spec.name == VALUE:
            values = np.asarray(self.encoder.labels(outputs)).astype(
                np.float32 if spec.datatype == "FP32" else np.float64
            )
            return Tensor(spec.name, values.shape, spec.datatype, values.reshape(-1))
        labels = np.asarray(self.encoder.labels(outputs), dtype=object)
        flat = labels.reshape(-1)
        array = (
            np.array([str(value) for value in flat.tolist()], dtype=object)
            if spec.datatype == "BYTES"
            else flat.astype(_LABEL_TYPES[spec.datatype])
        )
        return Tensor(spec.name, labels.shape, spec.datatype, array)
