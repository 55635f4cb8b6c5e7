"""HistGradientBoosting to ONNX, native categorical splits included.

skl2onnx 1.20's converter writes every split as ``x <= threshold`` on one numeric tensor: it knows
nothing of categorical splits (bitsets) nor of the model's own OrdinalEncoder (``_preprocessor``),
and under protobuf 7 it cannot even build its tree operator (it mixes Python bools into an INTS
attribute). This converter replaces it for every HistGradientBoosting model:

    numbers only      input [N, F] ----------------------------------> Cast(double) -> X
    with categories   number column   [N, 1] -> Cast(double) --------+
                      category column [N, 1] -> LabelEncoder, one per  +-> Concat -> X
                                      categorical split: 0.0 (left) /
                                      1.0 (right) / NaN (unknown)
    X -> TreeEnsemble{Classifier,Regressor} (ai.onnx.ml 3, double thresholds) -> Cast -> outputs

A categorical split ``category in S`` becomes ``side <= 0.5`` on its own LabelEncoder column, so
each tree keeps its shape (no copied subtrees). A missing or unknown category gives NaN, which takes
the node's missing-value branch, as scikit-learn's predictor does. Thresholds are rounded to the
input's precision: scikit-learn compares in double, but a float input has already lost the digits,
and 0.289 (as float) <= 0.289 (as double) is false where scikit-learn's answer is true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from onnx import TensorProto, numpy_helper

ML_DOMAIN = "ai.onnx.ml"


@dataclass
class _Ensemble:
    """The TreeEnsemble attributes, one entry per node (``nodes_*``) or per leaf (``leaves``)."""

    nodes: list[tuple[int, int, int, str, float, int, int, int]] = field(default_factory=list)
    leaves: list[tuple[int, int, int, float]] = field(default_factory=list)


@dataclass
class _Columns:
    """The ensemble's input columns: a tree's feature index (or categorical split) -> column of X."""

    numeric: dict[int, int]
    splits: dict[tuple[int, bytes], int] = field(default_factory=dict)
    """(feature index, left-category bitset) -> the column that LabelEncoder writes for it."""


def convert_hist_gradient_boosting(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter for HistGradientBoostingClassifier and HistGradientBoostingRegressor."""
    from skl2onnx.common.data_types import DoubleTensorType

    model = operator.raw_operator
    features, columns = _features(scope, operator, container)
    ensemble = _Ensemble()
    precision = np.float64 if any(isinstance(v.type, DoubleTensorType) for v in operator.inputs) else np.float32
    for iteration, predictors in enumerate(model._predictors):
        for target, predictor in enumerate(predictors):
            tree = iteration * len(predictors) + target
            _add_tree(predictor, tree, target, columns, precision, ensemble)
    if hasattr(model, "classes_"):
        _add_classifier(scope, operator, container, features, ensemble)
    else:
        _add_regressor(scope, operator, container, features, ensemble)


def calculate_shapes(operator: Any) -> None:
    """skl2onnx shape calculator: one input per column is allowed (skl2onnx's own wants one tensor)."""
    from skl2onnx.common.shape_calculator import (
        _infer_linear_classifier_output_types,
        _infer_linear_regressor_output_types,
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier = hasattr(operator.raw_operator, "classes_")
    if len(operator.inputs) == 1:
        (calculate_linear_classifier_output_shapes if classifier else calculate_linear_regressor_output_shapes)(
            operator
        )
    else:  # the same output types, without the one-input check
        (_infer_linear_classifier_output_types if classifier else _infer_linear_regressor_output_types)(operator)


def _features(scope: Any, operator: Any, container: Any) -> tuple[str, _Columns]:
    """X, the double tensor the ensemble reads, and which column holds what."""
    model = operator.raw_operator
    if model._preprocessor is None:
        width = model.n_features_in_
        joined = _concat(scope, container, [variable.full_name for variable in operator.inputs])
        return _cast(scope, container, joined, TensorProto.DOUBLE), _Columns({i: i for i in range(width)})
    if len(operator.inputs) != model.n_features_in_:
        raise NotImplementedError(
            "HistGradientBoosting with categorical features converts with one input per column, "
            f"not {len(operator.inputs)} inputs for {model.n_features_in_} features"
        )
    preprocessor = model._preprocessor
    # The trees number the features as the preprocessor's output: the categorical columns first.
    categorical = np.flatnonzero(preprocessor.transformers_[0][2]).tolist()
    numeric = np.flatnonzero(preprocessor.transformers_[1][2]).tolist()
    encoder = preprocessor.named_transformers_["encoder"]
    names = [_cast(scope, container, operator.inputs[i].full_name, TensorProto.DOUBLE) for i in numeric]
    columns = _Columns({len(categorical) + k: k for k in range(len(numeric))})
    for predictors in model._predictors:
        for predictor in predictors:
            for node in predictor.nodes:
                if node["is_leaf"] or not node["is_categorical"]:
                    continue
                feature = int(node["feature_idx"])
                bitset = predictor.raw_left_cat_bitsets[int(node["bitset_idx"])]
                key = (feature, bitset.tobytes())
                if key in columns.splits:
                    continue
                variable = operator.inputs[categorical[feature]]
                categories = encoder.categories_[feature].tolist()
                columns.splits[key] = len(names)
                names.append(_split_side(scope, container, variable, categories, bitset))
    return _concat(scope, container, names), columns


def _split_side(scope: Any, container: Any, variable: Any, categories: list[Any], bitset: np.ndarray) -> str:
    """[N, 1] double: 0.0 for a category that goes left, 1.0 for one that goes right, NaN otherwise."""
    from skl2onnx.common.data_types import StringTensorType

    if not isinstance(variable.type, StringTensorType):
        raise NotImplementedError(f"categorical feature {variable.raw_name!r} converts as strings only")
    # The encoder's code of a category is its position in categories_; NaN (last, if any) is missing.
    known = [(code, value) for code, value in enumerate(categories) if isinstance(value, str)]
    sides = [0.0 if _in_bitset(bitset, code) else 1.0 for code, _ in known]
    side = scope.get_unique_variable_name("category_side")
    container.add_node(
        "LabelEncoder",
        [variable.full_name],
        [side],
        op_domain=ML_DOMAIN,
        op_version=2,
        keys_strings=[value for _, value in known],
        values_floats=sides,
        default_float=float("nan"),
        name=scope.get_unique_operator_name("LabelEncoder"),
    )
    return _cast(scope, container, side, TensorProto.DOUBLE)


def _in_bitset(bitset: np.ndarray, code: int) -> bool:
    return bool((int(bitset[code // 32]) >> (code % 32)) & 1)


def _add_tree(
    predictor: Any, tree: int, target: int, columns: _Columns, precision: type[np.floating[Any]], ensemble: _Ensemble
) -> None:
    """One tree's nodes, numbered as scikit-learn numbers them."""
    for index, node in enumerate(predictor.nodes):
        if node["is_leaf"]:
            ensemble.nodes.append((tree, index, 0, "LEAF", 0.0, 0, 0, 0))
            ensemble.leaves.append((tree, index, target, float(node["value"])))
            continue
        feature = int(node["feature_idx"])
        if node["is_categorical"]:
            bitset = predictor.raw_left_cat_bitsets[int(node["bitset_idx"])]
            column, threshold = columns.splits[(feature, bitset.tobytes())], 0.5
        else:
            column, threshold = columns.numeric[feature], float(precision(node["num_threshold"]))
        missing_left = int(node["missing_go_to_left"])
        ensemble.nodes.append(
            (tree, index, column, "BRANCH_LEQ", threshold, int(node["left"]), int(node["right"]), missing_left)
        )


def _node_attributes(model: Any, ensemble: _Ensemble) -> dict[str, Any]:
    trees, ids, features, modes, values, lefts, rights, missing = zip(*ensemble.nodes, strict=True)
    return {
        "nodes_treeids": list(trees),
        "nodes_nodeids": list(ids),
        "nodes_featureids": list(features),
        "nodes_modes": list(modes),
        "nodes_values_as_tensor": _doubles(values, "nodes_values"),
        "nodes_truenodeids": list(lefts),
        "nodes_falsenodeids": list(rights),
        "nodes_missing_value_tracks_true": list(missing),
        "base_values_as_tensor": _doubles(np.ravel(model._baseline_prediction), "base_values"),
    }


def _add_classifier(scope: Any, operator: Any, container: Any, features: str, ensemble: _Ensemble) -> None:
    model = operator.raw_operator
    trees, ids, targets, weights = zip(*ensemble.leaves, strict=True)
    raw_scores = container.get_options(model, {"raw_scores": False})["raw_scores"]
    binary = model.n_trees_per_iteration_ == 1
    classes = model.classes_.tolist()
    labels = (
        {"classlabels_strings": [str(c) for c in classes]}
        if all(isinstance(c, str) for c in classes)
        else {"classlabels_int64s": [int(c) for c in classes]}
    )
    probabilities = scope.get_unique_variable_name("probabilities")
    container.add_node(
        "TreeEnsembleClassifier",
        [features],
        [operator.outputs[0].full_name, probabilities],
        op_domain=ML_DOMAIN,
        op_version=3,
        name=scope.get_unique_operator_name("TreeEnsembleClassifier"),
        class_treeids=list(trees),
        class_nodeids=list(ids),
        class_ids=list(targets),
        class_weights_as_tensor=_doubles(weights, "class_weights"),
        post_transform="NONE" if raw_scores else "LOGISTIC" if binary else "SOFTMAX",
        **labels,
        **_node_attributes(model, ensemble),
    )
    _cast_to(scope, container, probabilities, operator.outputs[1])


def _add_regressor(scope: Any, operator: Any, container: Any, features: str, ensemble: _Ensemble) -> None:
    model = operator.raw_operator
    link = type(model._loss.link).__name__
    if link not in ("IdentityLink", "LogLink"):
        raise NotImplementedError(f"HistGradientBoostingRegressor with a {link} converts no further")
    trees, ids, targets, weights = zip(*ensemble.leaves, strict=True)
    values = scope.get_unique_variable_name("values")
    container.add_node(
        "TreeEnsembleRegressor",
        [features],
        [values],
        op_domain=ML_DOMAIN,
        op_version=3,
        name=scope.get_unique_operator_name("TreeEnsembleRegressor"),
        target_treeids=list(trees),
        target_nodeids=list(ids),
        target_ids=list(targets),
        target_weights_as_tensor=_doubles(weights, "target_weights"),
        n_targets=1,
        post_transform="NONE",
        **_node_attributes(model, ensemble),
    )
    if link == "LogLink":  # poisson and gamma losses predict exp(raw)
        exponent = scope.get_unique_variable_name("exp_values")
        container.add_node("Exp", [values], [exponent], name=scope.get_unique_operator_name("Exp"))
        values = exponent
    _cast_to(scope, container, values, operator.outputs[0])


def _doubles(values: Any, name: str) -> Any:
    return numpy_helper.from_array(np.asarray(values, dtype=np.float64), name)


def _concat(scope: Any, container: Any, names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    joined: str = scope.get_unique_variable_name("features")
    container.add_node("Concat", names, [joined], axis=1, name=scope.get_unique_operator_name("Concat"))
    return joined


def _cast(scope: Any, container: Any, name: str, to: int) -> str:
    cast: str = scope.get_unique_variable_name("cast")
    container.add_node("Cast", [name], [cast], to=to, name=scope.get_unique_operator_name("Cast"))
    return cast


def _cast_to(scope: Any, container: Any, name: str, output: Any) -> None:
    """The tree operators answer in float; the output keeps the type skl2onnx declared for it."""
    from skl2onnx.common.data_types import DoubleTensorType

    to = TensorProto.DOUBLE if isinstance(output.type, DoubleTensorType) else TensorProto.FLOAT
    container.add_node("Cast", [name], [output.full_name], to=to, name=scope.get_unique_operator_name("Cast"))
