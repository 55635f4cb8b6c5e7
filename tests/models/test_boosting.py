"""XGBoost, LightGBM and CatBoost files: what dockml reads from them, what it refuses, and which
library a model needs. (Answers on held-out rows are the conformance battery's: tests/conformance.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trained
from dockml.config import model_spec
from dockml.errors import ConfigError
from dockml.models import load_model
from dockml.models.boosting import libraries_in


@pytest.mark.parametrize(
    ("name", "content", "library"),
    [
        ("model.json", b'{"not": "a model"}', "xgboost"),
        ("model.ubj", b"\x00\x01garbage", "xgboost"),
        ("model.txt", b"just some notes\n", "lightgbm"),
        ("model.cbm", b"not catboost", "catboost"),
    ],
)
def test_a_file_the_library_cannot_read_stops_the_start_with_how_to_save_one(
    tmp_path: Path, name: str, content: bytes, library: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as error:
        load_model(model_spec(str(path)))
    message = error.value.detail
    assert str(path) in message and f"not a model file {library} can read" in message
    assert "save_model" in message
    assert "Traceback" not in message and "\n" not in message


def test_xgboost_file_gives_names_categories_and_classes(tmp_path: Path) -> None:
    loaded = load_model(model_spec(str(trained.xgboost_json(tmp_path))), runtime="sklearn")
    features = {feature.name: feature for feature in loaded.signature.features}
    assert list(features) == ["age", "income", "city"]
    assert features["city"].categories == ("lyon", "nice", "paris")
    # XGBoost has no defined answer for a category it never saw: refused, not guessed.
    assert features["city"].allows_unknown is False
    assert features["income"].allows_missing
    assert loaded.signature.classes == (0, 1)
    assert loaded.info["libraries"] == {"xgboost": pytest.importorskip("xgboost").__version__}


def test_lightgbm_text_file_answers_as_its_booster(tmp_path: Path) -> None:
    import lightgbm

    frame, target = trained.boosting_frame()
    classes = target + (frame["age"] > 60).to_numpy()  # three classes: 0, 1, 2
    model = lightgbm.LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1).fit(frame, classes)
    path = tmp_path / "three.txt"
    model.booster_.save_model(path)
    loaded = load_model(model_spec(str(path)), runtime="sklearn")
    assert loaded.signature.classes == (0, 1, 2)
    held_out, _ = trained.boosting_frame(rows=30, seed=5)
    table = held_out.astype(object).to_numpy()
    outputs = loaded.runtime.predict(table)
    np.testing.assert_array_equal(outputs.labels, model.predict(held_out))
    np.testing.assert_allclose(outputs.probabilities, model.predict_proba(held_out), rtol=1e-12)


def test_unnamed_lightgbm_columns_are_positions(tmp_path: Path) -> None:
    import lightgbm

    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 3))
    model = lightgbm.LGBMRegressor(n_estimators=10, n_jobs=1, verbose=-1).fit(features, features[:, 0])
    path = tmp_path / "unnamed.txt"
    model.booster_.save_model(path)
    loaded = load_model(model_spec(str(path)), runtime="sklearn")
    assert [feature.name for feature in loaded.signature.features] == ["x0", "x1", "x2"]
    assert loaded.signature.task == "regression"


def test_libraries_are_found_inside_pipelines_and_ensembles() -> None:
    import xgboost
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
    target = (frame["a"] > 20).astype(int)
    stack = StackingClassifier(
        [("xgb", xgboost.XGBClassifier(n_estimators=5, n_jobs=1)), ("lr", LogisticRegression())], cv=2
    )
    pipeline = make_pipeline(ColumnTransformer([("scale", StandardScaler(), ["a", "b"])]), stack).fit(frame, target)
    assert libraries_in(pipeline) == {"xgboost"}
    assert libraries_in(make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, target)) == set()
