"""Fixes for skl2onnx's converters (seen with skl2onnx 1.20, onnx 1.23, protobuf 7, ONNX Runtime 1.32)
where they refuse a model dockml serves, or would answer otherwise than scikit-learn.

Each fix wraps skl2onnx's own converter, keeping its shape calculator, parser and options;
HistGradientBoosting gets a converter of its own (hist_gradient_boosting_onnx.py). The parity check still
judges every converted model, so a fix that does not hold for some model only means a fallback.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np
from onnx import TensorProto

Converter = Callable[[Any, Any, Any], None]
Fix = Callable[[Converter, Any, Any, Any], None]

MISSING_STRING = "nan"
"""What ONNX Runtime reads from a NaN fed in a string tensor, as dockml feeds a missing category."""


@cache
def register_fixes() -> None:
    """Register the fixes with skl2onnx, once per process."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, VotingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    from dockml.models.hist_gradient_boosting_onnx import calculate_shapes, convert_hist_gradient_boosting

    for model in (HistGradientBoostingClassifier, HistGradientBoostingRegressor):
        _replace(model, convert_hist_gradient_boosting, calculate_shapes)
    _wrap(VotingClassifier, _voting_without_flatten)
    _wrap(SimpleImputer, _imputer_on_missing_strings)
    _wrap(OneHotEncoder, _one_hot_encoder)


def _replace(model: type, convert: Converter, calculate_shapes: Callable[[Any], None]) -> None:
    # skl2onnx's public update_registered_converter would also swap a classifier's parser for the
    # generic one; the registry functions below change the converter and nothing else.
    from skl2onnx import get_model_alias
    from skl2onnx.common._registration import get_converter, register_converter, register_shape_calculator

    alias = get_model_alias(model)
    options = get_converter(alias).get_allowed_options()
    register_converter(alias, convert, overwrite=True, options=options)
    register_shape_calculator(alias, calculate_shapes, overwrite=True)


def _wrap(model: type, fix: Fix) -> None:
    """Register ``fix`` in front of skl2onnx's converter for ``model``, which it may call."""
    from skl2onnx import get_model_alias
    from skl2onnx.common._registration import get_converter, register_converter

    alias = get_model_alias(model)
    original = get_converter(alias)

    def convert(scope: Any, operator: Any, container: Any) -> None:  # skl2onnx checks these names
        fix(original, scope, operator, container)

    register_converter(alias, convert, overwrite=True, options=original.get_allowed_options())


@contextmanager
def _converting(operator: Any, **changes: Any) -> Iterator[None]:
    """Let the converter see a shallow copy of the fitted estimator with ``changes``; the model
    itself is never modified. The copy has its own id, so per-model options given to to_onnx do not
    reach it: the converters used with it read none that dockml sets."""
    model = operator.raw_operator
    changed = copy.copy(model)
    for name, value in changes.items():
        setattr(changed, name, value)
    operator.raw_operator = changed
    try:
        yield
    finally:
        operator.raw_operator = model


def _voting_without_flatten(original: Converter, scope: Any, operator: Any, container: Any) -> None:
    # skl2onnx refuses flatten_transform=True, VotingClassifier's default. It only shapes the
    # output of transform(); predict and predict_proba, all dockml serves, do not depend on it.
    with _converting(operator, flatten_transform=False):
        original(scope, operator, container)


def _imputer_on_missing_strings(original: Converter, scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    imputer = operator.raw_operator
    if not _is_nan(imputer.missing_values):
        original(scope, operator, container)
    elif isinstance(operator.inputs[0].type, StringTensorType):
        # skl2onnx converts a string imputer only when missing_values is a string: the missing value
        # ONNX Runtime sees is the text "nan". A column whose next encoder learned None as a category
        # is left as it is: scikit-learn never imputed that None (None is not NaN to an imputer), and
        # the encoder takes "nan" as its None category (_one_hot_encoder).
        statistics = np.array(imputer.statistics_, dtype=object)
        statistics[sorted(_columns_encoded_with_none(scope, operator))] = MISSING_STRING
        # statistics_ already holds a constant strategy's fill_value: skl2onnx takes it from there.
        with _converting(operator, missing_values=MISSING_STRING, statistics_=statistics, fill_value=None):
            original(scope, operator, container)
    elif isinstance(operator.inputs[0].type, DoubleTensorType):
        _impute_doubles(scope, operator, container)
    else:
        original(scope, operator, container)


def _impute_doubles(scope: Any, operator: Any, container: Any) -> None:
    """Where(IsNaN(x), statistics, x): ONNX Runtime's ai.onnx.ml Imputer, which skl2onnx writes, has
    float and int64 kernels only, so a double model fails to load."""
    from skl2onnx.operator_converters.common import concatenate_variables

    statistics = np.asarray(operator.raw_operator.statistics_, dtype=np.float64)
    if np.isnan(statistics).any():  # scikit-learn drops those columns; skl2onnx's graph does not either
        raise NotImplementedError("SimpleImputer with a column that was empty in training converts no further")
    features = concatenate_variables(scope, operator.inputs, container)
    fill = scope.get_unique_variable_name("statistics")
    container.add_initializer(fill, TensorProto.DOUBLE, [len(statistics)], statistics.tolist())
    missing = scope.get_unique_variable_name("missing")
    container.add_node("IsNaN", [features], [missing], name=scope.get_unique_operator_name("IsNaN"))
    container.add_node(
        "Where",
        [missing, fill, features],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Where"),
    )


def _columns_encoded_with_none(scope: Any, operator: Any) -> set[int]:
    """This imputer's columns whose encoder, reading exactly the imputer's output, has a None category."""
    output = operator.outputs[0].onnx_name
    for other in scope.operators.values():
        if [variable.onnx_name for variable in other.inputs] == [output] and hasattr(other.raw_operator, "categories_"):
            return {i for i, categories in enumerate(other.raw_operator.categories_) if _holds_none(categories)}
    return set()


def _one_hot_encoder(original: Converter, scope: Any, operator: Any, container: Any) -> None:
    encoder = operator.raw_operator
    changes: dict[str, Any] = {}
    if any(_holds_none(categories) for categories in encoder.categories_):
        # skl2onnx writes a None category as the text "None"; a missing string reaches ONNX Runtime as "nan".
        changes["categories_"] = [
            np.array([MISSING_STRING if c is None else c for c in categories.tolist()], dtype=object)
            if categories.dtype == object
            else categories
            for categories in encoder.categories_
        ]
    infrequent = encoder.handle_unknown in ("infrequent_if_exist", "warn")
    if infrequent:
        # skl2onnx keeps such an encoder failing on an unknown category (zeros=0) where scikit-learn
        # counts it as infrequent: convert as "ignore" (unknown -> zeros), then fix the infrequent columns.
        changes["handle_unknown"] = "ignore"
    first = len(container.nodes)
    with _converting(operator, **changes):
        original(scope, operator, container)
    if infrequent:
        _unknown_as_infrequent(scope, container, container.nodes[first:])


def _unknown_as_infrequent(scope: Any, container: Any, nodes: list[Any]) -> None:
    """skl2onnx builds a feature's infrequent column as ReduceSum(Split(one_hot)[1]), the sum over its
    infrequent categories: 0 for an unknown category. 1 - the sum over the frequent ones is the same
    for known categories and 1 for an unknown one, as scikit-learn answers. The finished nodes are
    rewired (the ReduceSum reads the frequent part, a Sub feeds the Concat that read it) rather than
    intercepting the converter's calls; skl2onnx refuses a second node with an existing output name."""
    frequent_of = {node.output[1]: node.output[0] for node in nodes if node.op_type == "Split"}
    for node in nodes:
        if node.op_type != "ReduceSum" or node.input[0] not in frequent_of:
            continue
        node.input[0] = frequent_of[node.input[0]]
        frequent_sum = node.output[0]
        one = scope.get_unique_variable_name("one")
        container.add_initializer(one, TensorProto.FLOAT, [1], [1.0])  # ai.onnx.ml OneHotEncoder answers floats
        infrequent = scope.get_unique_variable_name("infrequent")
        container.add_node("Sub", [one, frequent_sum], [infrequent], name=scope.get_unique_operator_name("Sub"))
        for consumer in nodes:
            if consumer.op_type == "Concat":
                consumer.input[:] = [infrequent if name == frequent_sum else name for name in consumer.input]


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and bool(np.isnan(value))


def _holds_none(categories: Any) -> bool:
    return any(c is None for c in np.asarray(categories).tolist())
