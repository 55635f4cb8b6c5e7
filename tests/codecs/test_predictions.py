"""Model outputs -> the labels and probabilities clients see."""

from __future__ import annotations

import numpy as np
import orjson

from dockml.codecs.predictions import PredictionEncoder
from dockml.config import ModelMeta
from dockml.models import Outputs
from dockml.signature import ModelFacts, Signature, build_signature

IRIS_NAMES = ["s_length", "s_width", "p_length", "p_width"]
PROBABILITIES = np.array([[0.9, 0.1, 0.0], [0.0, 0.2, 0.8]])


def classifier(raw_classes: list[object], class_names: tuple[str, ...] | None = None) -> PredictionEncoder:
    facts = ModelFacts(names=IRIS_NAMES, task="classification", raw_classes=raw_classes, probabilities=True)
    signature = build_signature(facts, ModelMeta(class_names=class_names))
    return PredictionEncoder(signature)


NAMED = classifier([np.int64(0), np.int64(1), np.int64(2)], ("setosa", "versicolor", "virginica"))
RAW = classifier([0, 1, 2])
IRIS_OUTPUTS = Outputs(labels=np.array([0, 2]), probabilities=PROBABILITIES)


def test_labels_are_mapped_to_class_names() -> None:
    assert NAMED.labels(IRIS_OUTPUTS) == ["setosa", "virginica"]


def test_labels_without_class_names_pass_through() -> None:
    assert RAW.labels(IRIS_OUTPUTS) == [0, 2]


def test_string_labels_pass_through() -> None:
    encoder = classifier(["no", "yes"])

    assert encoder.labels(Outputs(labels=np.array(["yes", "no"], dtype=object))) == ["yes", "no"]


def test_probabilities_are_keyed_by_class_names() -> None:
    assert NAMED.probabilities(IRIS_OUTPUTS) == [
        {"setosa": 0.9, "versicolor": 0.1, "virginica": 0.0},
        {"setosa": 0.0, "versicolor": 0.2, "virginica": 0.8},
    ]


def test_probabilities_without_class_names_are_keyed_by_raw_class() -> None:
    assert RAW.probabilities(IRIS_OUTPUTS)[1] == {"0": 0.0, "1": 0.2, "2": 0.8}


def test_model_without_probabilities_gives_none() -> None:
    assert NAMED.probabilities(Outputs(labels=np.array([1]))) is None


def test_regression_values_pass_through() -> None:
    encoder = PredictionEncoder(Signature(features=(), task="regression"))

    assert list(encoder.labels(Outputs(labels=np.array([1.5, -2.25])))) == [1.5, -2.25]


def test_json_has_probabilities_only_when_asked() -> None:
    assert NAMED.to_json(IRIS_OUTPUTS, proba=False) == {"predictions": ["setosa", "virginica"]}


def test_json_with_probabilities() -> None:
    assert NAMED.to_json(IRIS_OUTPUTS, proba=True)["probabilities"] == NAMED.probabilities(IRIS_OUTPUTS)


def test_columns_hold_prediction_then_one_proba_column_per_class() -> None:
    assert NAMED.to_columns(IRIS_OUTPUTS, proba=True) == {
        "prediction": ["setosa", "virginica"],
        "proba_setosa": [0.9, 0.0],
        "proba_versicolor": [0.1, 0.2],
        "proba_virginica": [0.0, 0.8],
    }


def test_columns_without_proba_hold_only_the_prediction() -> None:
    assert NAMED.to_columns(IRIS_OUTPUTS, proba=False) == {"prediction": ["setosa", "virginica"]}


def test_probabilities_are_rounded_to_the_decimals_asked() -> None:
    """A compiled forest's float32 sums: 0.99 arrives as 0.98999935, 0.01 as 0.0100006."""
    facts = ModelFacts(names=IRIS_NAMES, task="classification", raw_classes=[0, 1, 2], probabilities=True)
    signature = build_signature(facts, ModelMeta())
    noisy = Outputs(labels=np.array([2]), probabilities=np.array([[0.0, 0.0100006, 0.98999935]], dtype=np.float32))

    rounded = PredictionEncoder(signature, probability_decimals=5).probabilities(noisy)
    as_given = PredictionEncoder(signature).probabilities(noisy)

    assert orjson.dumps(rounded) == b'[{"0":0.0,"1":0.01,"2":0.99}]'
    assert orjson.dumps(as_given, option=orjson.OPT_SERIALIZE_NUMPY) == b'[{"0":0.0,"1":0.0100006,"2":0.98999935}]'
