"""scikit-learn models in their own runtime: the signature read from the model and its side file,
safety of the file formats, and the version the model was saved with."""

from __future__ import annotations

import logging
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn.base
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

# tests/ is on sys.path because tests/conftest.py is imported in pytest's default "prepend" mode.
import trained
from dockml.config import model_spec
from dockml.errors import ConfigError, UnsafeModelFile
from dockml.models import LoadedModel, load_model
from dockml.models.sklearn import load_sklearn

IRIS_NAMES = ("s_length", "s_width", "p_length", "p_width")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")
X, Y = load_iris(return_X_y=True)


def save_skops(model: object, path: Path, side_file: str | None = None) -> Path:
    sio.dump(model, path)
    if side_file is not None:
        path.with_name(path.stem + ".dockml.toml").write_text(side_file)
    return path


def iris_on_array(folder: Path, side_file: str | None = None) -> Path:
    return save_skops(LogisticRegression(max_iter=1000).fit(X, Y), folder / "iris.skops", side_file)


def iris_on_frame(folder: Path) -> Path:
    frame = pd.DataFrame(X, columns=list(IRIS_NAMES))
    return save_skops(LogisticRegression(max_iter=1000).fit(frame, Y), folder / "iris_frame.skops")


def load(path: Path, *, trust_pickle: bool = False) -> LoadedModel:
    return load_sklearn(model_spec(str(path)), trust_pickle=trust_pickle)


def test_feature_names_come_from_feature_names_in(tmp_path: Path) -> None:
    assert load(iris_on_frame(tmp_path)).signature.names == IRIS_NAMES


def test_model_trained_on_an_array_gets_positional_names(tmp_path: Path) -> None:
    assert load(iris_on_array(tmp_path)).signature.names == ("x0", "x1", "x2", "x3")


def test_side_file_feature_names_replace_positional_names(tmp_path: Path) -> None:
    path = iris_on_array(tmp_path, 'feature_names = ["s_length", "s_width", "p_length", "p_width"]\n')

    assert load(path).signature.names == IRIS_NAMES


def test_side_file_feature_names_must_match_the_input_count(tmp_path: Path) -> None:
    path = iris_on_array(tmp_path, 'feature_names = ["a", "b"]\n')

    with pytest.raises(ConfigError, match="feature_names has 2 names but the model takes 4 inputs"):
        load(path)


def test_classes_come_from_classes_(tmp_path: Path) -> None:
    assert load(iris_on_array(tmp_path)).signature.classes == (0, 1, 2)


def test_class_names_replace_the_model_classes(tmp_path: Path) -> None:
    path = iris_on_array(tmp_path, 'class_names = ["setosa", "versicolor", "virginica"]\n')

    signature = load(path).signature

    assert (signature.classes, signature.raw_classes) == (IRIS_CLASSES, (0, 1, 2))


def test_class_names_with_the_wrong_count_are_refused(tmp_path: Path) -> None:
    path = iris_on_array(tmp_path, 'class_names = ["setosa", "versicolor"]\n')

    with pytest.raises(ConfigError, match="class_names has 2 names but the model has 3 classes"):
        load(path)


def test_regressor_gives_a_regression_signature(tmp_path: Path) -> None:
    signature = load(trained.regression_skops(tmp_path)).signature

    assert (signature.task, signature.classes, signature.names) == ("regression", (), ("a", "b"))


def test_regressor_predicts_its_values(tmp_path: Path) -> None:
    model = load(trained.regression_skops(tmp_path))

    labels = model.runtime.predict(np.array([[0.0, 0.0], [1.0, 2.0]])).labels

    np.testing.assert_allclose(labels, [1.0, 0.0], atol=1e-9)


def test_encoded_string_column_becomes_a_string_feature_with_its_categories(tmp_path: Path) -> None:
    city = load(trained.categorical_pipeline_skops(tmp_path)).signature.features[2]

    assert (city.name, city.kind, city.categories) == ("city", "string", ("lyon", "nice", "paris"))


def test_scaled_columns_of_a_pipeline_stay_numbers(tmp_path: Path) -> None:
    features = load(trained.categorical_pipeline_skops(tmp_path)).signature.features

    assert [(f.name, f.kind, f.categories) for f in features[:2]] == [
        ("age", "number", None),
        ("income", "number", None),
    ]


def test_pipeline_predictions_equal_sklearns_on_a_dataframe(tmp_path: Path) -> None:
    path = trained.categorical_pipeline_skops(tmp_path)
    model = load(path)
    frame, _ = trained.pipeline_frame()
    table = frame[list(model.signature.names)].to_numpy(dtype=object)

    outputs = model.runtime.predict(table)

    reference = sio.load(path)
    assert outputs.labels.tolist() == reference.predict(frame).tolist()
    np.testing.assert_array_equal(outputs.probabilities, reference.predict_proba(frame))


def test_pickle_is_refused_without_trust_pickle(tmp_path: Path) -> None:
    with pytest.raises(UnsafeModelFile, match="--trust-pickle"):
        load(trained.iris_pickle(tmp_path))


def test_load_model_refuses_a_pickle_without_trust_pickle(tmp_path: Path) -> None:
    with pytest.raises(UnsafeModelFile, match="--trust-pickle"):
        load_model(model_spec(str(trained.iris_pickle(tmp_path))))


def test_pickle_loads_with_trust_pickle(tmp_path: Path) -> None:
    path = trained.iris_pickle(tmp_path)

    model = load(path, trust_pickle=True)

    assert model.runtime.predict(X).labels.tolist() == joblib.load(path).predict(X).tolist()


def test_untrusted_skops_types_are_refused_by_name(tmp_path: Path) -> None:
    path = save_skops(RandomForestClassifier(n_estimators=2, random_state=0).fit(X, Y), tmp_path / "forest.skops")

    with pytest.raises(UnsafeModelFile, match=r"sklearn\.tree\._tree\.Tree"):
        load(path)


def test_skops_types_listed_in_the_side_file_are_trusted(tmp_path: Path) -> None:
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, Y)
    path = save_skops(forest, tmp_path / "forest.skops", trained.TREE_TRUST)

    assert load(path).runtime.predict(X).labels.tolist() == forest.predict(X).tolist()


def test_object_without_predict_is_refused(tmp_path: Path) -> None:
    path = save_skops(StandardScaler().fit(X), tmp_path / "scaler.skops")

    with pytest.raises(ConfigError, match="holds a StandardScaler, not a fitted model with predict"):
        load(path)


def test_file_that_is_not_skops_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.skops"
    path.write_bytes(b"not a zip file")

    with pytest.raises(ConfigError, match=r"is not a readable \.skops file"):
        load(path)


def test_skops_file_records_the_sklearn_version_it_was_saved_with(tmp_path: Path) -> None:
    assert load(iris_on_array(tmp_path)).details.runtime.saved_with_sklearn == sklearn.__version__


@pytest.fixture()
def old_pickle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A joblib file that says it was written by scikit-learn 0.0.1."""
    with monkeypatch.context() as patch:
        # BaseEstimator.__getstate__ stamps the state with sklearn.base's own __version__ name.
        patch.setattr(sklearn.base, "__version__", "0.0.1")
        return trained.iris_pickle(tmp_path)


def test_sklearn_version_mismatch_is_recorded(old_pickle: Path) -> None:
    assert load(old_pickle, trust_pickle=True).details.runtime.saved_with_sklearn == "0.0.1"


def test_sklearn_version_mismatch_is_logged(old_pickle: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dockml.models"):
        load(old_pickle, trust_pickle=True)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"saved with scikit-learn 0.0.1 but {sklearn.__version__} is installed" in m for m in warnings)


def test_encoder_after_an_imputer_still_marks_the_column_as_text(tmp_path: Path) -> None:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"city": ["lyon", "nice", "paris"] * 10})
    model = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(), LogisticRegression())
    model.fit(frame, [0, 1, 1] * 10)
    path = tmp_path / "cities.skops"
    sio.dump(model, path)
    (tmp_path / "cities.dockml.toml").write_text('trusted_types = ["numpy.dtype"]\n')
    city = load_sklearn(model_spec(str(path)), trust_pickle=False).signature.features[0]
    assert (city.kind, city.categories) == ("string", ("lyon", "nice", "paris"))
