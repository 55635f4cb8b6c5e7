"""ONNX models in ONNX Runtime: the signature from the graph and its side file, and outputs that
match the scikit-learn models they were converted from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

import trained
from dockml.config import model_spec
from dockml.errors import ConfigError
from dockml.models import LoadedModel, load_model

X, Y = load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    return load_model(model_spec(str(trained.iris_onnx(tmp_path_factory.mktemp("side")))))


@pytest.fixture(scope="module")
def bare_iris(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    path = trained.iris_onnx(tmp_path_factory.mktemp("bare"), with_side_file=False)
    return load_model(model_spec(str(path)))


@pytest.fixture(scope="module")
def sklearn_iris() -> LogisticRegression:
    """The model trained.iris_onnx converts: lbfgs on the full data set is deterministic."""
    return LogisticRegression(max_iter=1000).fit(X, Y)


@pytest.fixture(scope="module")
def linear() -> LinearRegression:
    """Petal width from the other three measurements."""
    return LinearRegression().fit(X[:, :3], X[:, 3])


@pytest.fixture(scope="module")
def linear_onnx(tmp_path_factory: pytest.TempPathFactory, linear: LinearRegression) -> LoadedModel:
    path = tmp_path_factory.mktemp("linear") / "linear.onnx"
    path.write_bytes(to_onnx(linear, X[:1, :3].astype(np.float32)).SerializeToString())
    return load_model(model_spec(str(path)))


def test_feature_names_come_from_the_side_file(iris: LoadedModel) -> None:
    assert iris.signature.names == ("s_length", "s_width", "p_length", "p_width")


def test_class_names_map_the_graphs_class_labels(iris: LoadedModel) -> None:
    assert (iris.signature.classes, iris.signature.raw_classes) == (("setosa", "versicolor", "virginica"), (0, 1, 2))


def test_labels_equal_sklearns(iris: LoadedModel, sklearn_iris: LogisticRegression) -> None:
    assert iris.runtime.predict(X).labels.tolist() == sklearn_iris.predict(X).tolist()


def test_probabilities_equal_sklearns(iris: LoadedModel, sklearn_iris: LogisticRegression) -> None:
    np.testing.assert_allclose(iris.runtime.predict(X).probabilities, sklearn_iris.predict_proba(X), rtol=0, atol=1e-5)


def test_without_side_file_names_are_positional(bare_iris: LoadedModel) -> None:
    assert bare_iris.signature.names == ("x0", "x1", "x2", "x3")


def test_without_side_file_classes_are_the_graphs(bare_iris: LoadedModel) -> None:
    assert bare_iris.signature.classes == (0, 1, 2)


def test_file_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.onnx"
    path.write_bytes(b"this is not a protobuf")

    with pytest.raises(ConfigError, match="is not a model ONNX Runtime can load"):
        load_model(model_spec(str(path)))


def test_regressor_gives_a_regression_signature(linear_onnx: LoadedModel) -> None:
    assert (linear_onnx.signature.task, linear_onnx.signature.classes) == ("regression", ())


def test_regressor_values_equal_sklearns(linear_onnx: LoadedModel, linear: LinearRegression) -> None:
    values = linear_onnx.runtime.predict(X[:, :3]).labels

    np.testing.assert_allclose(values, linear.predict(X[:, :3]), rtol=0, atol=1e-4)
