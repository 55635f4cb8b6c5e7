"""ONNX converters for XGBoost, LightGBM and CatBoost, registered with skl2onnx so their models
convert alone or as the last step of a pipeline: onnxmltools' converters for XGBoost and LightGBM,
CatBoost's own ONNX export for CatBoost. Each library is registered only if it is installed."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

Converter = Callable[[Any, Any, Any], None]
_ZIPMAP = {"nocl": [True, False], "zipmap": [True, False, "columns"]}


@cache
def register_converters() -> tuple[str, ...]:
    """Register what is installed; the names of the libraries registered."""
    registered = []
    for library, register in (("xgboost", _xgboost), ("lightgbm", _lightgbm), ("catboost", _catboost)):
        try:
            module = importlib.import_module(library)
        except ImportError:
            continue
        try:
            register(module)
        except ImportError:  # onnxmltools missing: the models convert no further than before
            continue
        registered.append(library)
    return tuple(registered)


def _xgboost(xgboost: Any) -> None:
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    def convert(scope: Any, operator: Any, container: Any) -> None:
        # onnxmltools reads a feature's index from its name and knows only f0, f1, ...: convert a
        # copy named so (the inputs are columns in the model's order either way).
        named = operator.raw_operator
        unnamed = copy.deepcopy(named)
        booster = unnamed.get_booster()
        booster.feature_names = [f"f{i}" for i in range(booster.num_features())]  # types kept: categories
        operator.raw_operator = unnamed
        try:
            convert_xgboost(scope, operator, container)
        finally:
            operator.raw_operator = named

    update_registered_converter(
        xgboost.XGBClassifier,
        "XGBoostXGBClassifier",
        _many_inputs(calculate_linear_classifier_output_shapes, classifier=True),
        _coded(convert),
        options=_ZIPMAP,
    )
    for regressor in (xgboost.XGBRegressor, xgboost.XGBRanker):
        update_registered_converter(
            regressor,
            f"XGBoost{regressor.__name__}",
            _many_inputs(calculate_linear_regressor_output_shapes, classifier=False),
            _coded(convert),
        )


def _lightgbm(lightgbm: Any) -> None:
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from dockml.models.boosting.lightgbm_file import LightGBMClassifierFile, LightGBMRegressorFile

    convert = _coded(_in_double(convert_lightgbm))
    for classifier in (lightgbm.LGBMClassifier, LightGBMClassifierFile):
        update_registered_converter(
            classifier,
            f"LightGbm{classifier.__name__}",
            _many_inputs(calculate_linear_classifier_output_shapes, classifier=True),
            convert,
            options={**_ZIPMAP, "split": None},
        )
    for regressor in (lightgbm.LGBMRegressor, LightGBMRegressorFile):
        update_registered_converter(
            regressor,
            f"LightGbm{regressor.__name__}",
            _many_inputs(calculate_linear_regressor_output_shapes, classifier=False),
            convert,
            options={"split": None},
        )


def _coded(convert: Converter) -> Converter:
    """Categorical features in a graph that takes one column per input: XGBoost and LightGBM split
    on category codes (the position in the categories they recorded), so each string input goes
    through a LabelEncoder (an unrecorded or missing value becomes NaN, the missing value the trees
    know), every column is cast to one type and concatenated in the model's order, and the
    library's converter sees the one matrix it expects."""

    def convert_coded(scope: Any, operator: Any, container: Any) -> None:
        if len(operator.inputs) <= 1:
            convert(scope, operator, container)
            return
        inputs = operator.inputs
        operator.inputs = [_codes_matrix(scope, operator, container)]
        try:
            convert(scope, operator, container)
        finally:
            operator.inputs = inputs

    return convert_coded


def _codes_matrix(scope: Any, operator: Any, container: Any) -> Any:
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    from dockml.models import boosting

    names = [variable.onnx_name for variable in operator.inputs]
    recorded = boosting.recorded_categories(operator.raw_operator, names)
    double = any(isinstance(variable.type, DoubleTensorType) for variable in operator.inputs)
    element = TensorProto.DOUBLE if double else TensorProto.FLOAT
    columns = []
    for variable in operator.inputs:
        source = variable.full_name
        if isinstance(variable.type, StringTensorType):
            categories = recorded.get(variable.onnx_name)
            if not categories:
                raise NotImplementedError(f"{variable.onnx_name}: the model records no categories to code it with")
            source = scope.get_unique_variable_name(f"{variable.onnx_name}_code")
            container.add_node(
                "LabelEncoder",
                [variable.full_name],
                [source],
                op_domain="ai.onnx.ml",
                op_version=2,
                name=scope.get_unique_operator_name("LabelEncoder"),
                keys_strings=[str(c) for c in categories],
                values_floats=[float(code) for code in range(len(categories))],
                default_float=float("nan"),
            )
        column = scope.get_unique_variable_name(f"{variable.onnx_name}_column")
        container.add_node("Cast", [source], [column], to=element, name=scope.get_unique_operator_name("Cast"))
        columns.append(column)
    tensor_type = DoubleTensorType if double else FloatTensorType
    matrix = scope.declare_local_variable("features", tensor_type([None, len(columns)]))
    container.add_node("Concat", columns, [matrix.full_name], axis=1, name=scope.get_unique_operator_name("Concat"))
    return matrix


def _many_inputs(calculate: Callable[[Any], None], *, classifier: bool) -> Callable[[Any], None]:
    """skl2onnx's shape calculators take one input: with one per column (see _coded), the outputs
    are typed as they would be for the matrix."""

    def calculate_many(operator: Any) -> None:
        if len(operator.inputs) <= 1:
            calculate(operator)
            return
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
        from skl2onnx.common.shape_calculator import _infer_linear_classifier_output_types

        rows = operator.inputs[0].get_first_dimension()
        if classifier:
            _infer_linear_classifier_output_types(operator)
        else:
            double = any(isinstance(variable.type, DoubleTensorType) for variable in operator.inputs)
            operator.outputs[0].set_type((DoubleTensorType if double else FloatTensorType)([rows, 1]))

    return calculate_many


def _in_double(convert: Converter) -> Converter:
    """onnxmltools' LightGBM converter writes float thresholds. LightGBM compares double inputs
    with double thresholds, so a value between a threshold and its float rounding goes the other
    way; with double inputs, this keeps the thresholds double (ONNX Runtime's tree ensembles take
    them as ``nodes_values_as_tensor``) and casts the ensemble's float outputs to the double ones
    skl2onnx declared, where onnxmltools would pass them on with Identity."""

    def convert_in_double(scope: Any, operator: Any, container: Any) -> None:
        from onnx import TensorProto, numpy_helper
        from skl2onnx.common.data_types import DoubleTensorType

        if not isinstance(operator.inputs[0].type, DoubleTensorType):
            convert(scope, operator, container)
            return
        doubles = {output.full_name for output in operator.outputs if isinstance(output.type, DoubleTensorType)}
        add_node = container.add_node

        def add(op_type: str, inputs: Any, outputs: Any, *args: Any, **attributes: Any) -> Any:
            if op_type.startswith("TreeEnsemble") and "nodes_values" in attributes:
                values = np.asarray(attributes.pop("nodes_values"), dtype=np.float64)
                attributes["nodes_values_as_tensor"] = numpy_helper.from_array(values, "nodes_values")
            written = [outputs] if isinstance(outputs, str) else list(outputs)
            if op_type == "Identity" and written[0] in doubles:
                return add_node("Cast", inputs, outputs, *args, to=TensorProto.DOUBLE, **attributes)
            return add_node(op_type, inputs, outputs, *args, **attributes)

        container.add_node = add
        try:
            convert(scope, operator, container)
        finally:
            del container.add_node

    return convert_in_double


def _catboost(catboost: Any) -> None:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    update_registered_converter(
        catboost.CatBoostClassifier,
        "CatBoostCatBoostClassifier",
        _one_input(calculate_linear_classifier_output_shapes),
        _convert_catboost,
        parser=_parse_catboost_classifier,
        options=_ZIPMAP,
    )
    update_registered_converter(
        catboost.CatBoostRegressor,
        "CatBoostCatBoostRegressor",
        _one_input(calculate_linear_regressor_output_shapes),
        _convert_catboost,
    )


def _one_input(calculate: Callable[[Any], None]) -> Callable[[Any], None]:
    def calculate_one(operator: Any) -> None:
        if len(operator.inputs) > 1:
            # Its categorical features are hashed inside CatBoost; its ONNX export refuses them.
            raise NotImplementedError("CatBoost exports no ONNX graph for a model with categorical features")
        calculate(operator)

    return calculate_one


def _parse_catboost_classifier(scope: Any, model: Any, inputs: Any, custom_parsers: Any = None) -> Any:
    """Declare a label and a probability matrix, as skl2onnx's own classifiers do (no ZipMap:
    dockml always asks for the matrix)."""
    from skl2onnx._parse import _get_sklearn_operator_name
    from skl2onnx.common.data_types import Int64TensorType, guess_tensor_type

    operator = scope.declare_local_operator(_get_sklearn_operator_name(type(model)), model)
    operator.inputs = inputs
    operator.outputs.append(scope.declare_local_variable("label", Int64TensorType()))
    operator.outputs.append(scope.declare_local_variable("probabilities", guess_tensor_type(inputs[0].type)))
    return operator.outputs


def _convert_catboost(scope: Any, operator: Any, container: Any) -> None:
    """CatBoost exports one tree-ensemble node (and a ZipMap): copy the node into skl2onnx's graph."""
    from catboost.utils import convert_to_onnx_object
    from onnx.helper import get_attribute_value

    exported = convert_to_onnx_object(operator.raw_operator)
    opsets = {entry.domain: entry.version for entry in exported.opset_import}
    node = exported.graph.node[0]
    if exported.graph.initializer or not node.op_type.startswith("TreeEnsemble"):
        kinds = ", ".join(n.op_type for n in exported.graph.node)
        raise NotImplementedError(f"CatBoost's ONNX export has a graph dockml cannot take ({kinds})")
    attributes = {attribute.name: get_attribute_value(attribute) for attribute in node.attribute}
    container.add_node(
        node.op_type,
        [operator.inputs[0].full_name],
        [output.full_name for output in operator.outputs],
        op_domain=node.domain,
        op_version=opsets.get(node.domain),
        **attributes,
    )
