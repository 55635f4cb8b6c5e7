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
    assert loaded.details.source.estimator.libraries == {"xgboost": pytest.importorskip("xgboost").__version__}


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


def _rankers(folder: Path) -> list[tuple[Path, object]]:
    import catboost
    import lightgbm
    import xgboost

    rng = np.random.default_rng(0)
    features, relevance, query = rng.normal(size=(300, 4)), rng.integers(0, 4, 300), np.repeat(np.arange(30), 10)
    xgb = xgboost.XGBRanker(n_estimators=20, objective="rank:pairwise", n_jobs=1).fit(features, relevance, qid=query)
    lgb = lightgbm.LGBMRanker(n_estimators=20, n_jobs=1, verbose=-1).fit(features, relevance, group=[10] * 30)
    cat = catboost.CatBoostRanker(iterations=20, thread_count=1, verbose=0, allow_writing_files=False)
    cat.fit(features, relevance, group_id=query)
    xgb.save_model(folder / "rank.json")
    lgb.booster_.save_model(folder / "rank.txt")
    cat.save_model(str(folder / "rank.cbm"))
    return [(folder / "rank.json", xgb), (folder / "rank.txt", lgb), (folder / "rank.cbm", cat)]


@pytest.mark.parametrize("runtime", ["auto", "sklearn"])
def test_rankers_answer_their_scores_from_unnamed_columns(tmp_path: Path, runtime: str) -> None:
    held_out = np.random.default_rng(1).normal(size=(25, 4))
    for path, model in _rankers(tmp_path):
        loaded = load_model(model_spec(str(path)), runtime=runtime)
        assert [feature.name for feature in loaded.signature.features] == ["x0", "x1", "x2", "x3"], path
        assert loaded.signature.task == "regression"
        scores = np.asarray(loaded.runtime.predict(held_out.copy()).labels, dtype=np.float64).ravel()
        expected = model.predict(held_out)  # type: ignore[attr-defined]
        # Compiled (float32 sums) within the parity check's tolerance, else exactly the library's.
        np.testing.assert_allclose(scores, expected, rtol=1e-5 if loaded.runtime.name == "onnx" else 0, atol=1e-6)


def _zones(rows: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """A constant column, an int column and a pandas category column."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "k": np.ones(rows),
            "zone": rng.integers(0, 3, rows),
            "x": rng.normal(size=rows),
            "city": pd.Categorical(rng.choice(["paris", "lyon", "nice"], rows)),
        }
    )
    return frame, ((frame["x"] + (frame["city"] == "paris") + (frame["zone"] == 1)) > 0.5).astype(int).to_numpy()


def test_lightgbm_categories_go_to_their_own_column_past_a_constant_one(tmp_path: Path) -> None:
    import lightgbm

    frame, target = _zones()
    model = lightgbm.LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1).fit(frame, target)
    path = tmp_path / "zones.txt"
    model.booster_.save_model(path)
    loaded = load_model(model_spec(str(path)), runtime="sklearn")
    features = {feature.name: feature for feature in loaded.signature.features}
    assert features["city"].categories == ("lyon", "nice", "paris")
    assert features["zone"].kind != "string" and features["k"].kind != "string"


def test_lightgbm_categories_it_cannot_place_are_refused(tmp_path: Path) -> None:
    """An explicit categorical_feature beside pandas category columns: the model records their
    categories but not which columns they were (they were once given to 'zone')."""
    import joblib
    import lightgbm

    frame, target = _zones()
    frame["size"] = pd.Categorical(np.where(frame["x"] > 0, "L", "S"))
    model = lightgbm.LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1)
    model.fit(frame, target, categorical_feature=["zone"])
    joblib.dump(model, tmp_path / "zones.joblib")
    with pytest.raises(ConfigError, match="cannot tell which inputs the categories belong to"):
        load_model(model_spec(str(tmp_path / "zones.joblib")), trust_pickle=True)


def test_lightgbm_cross_entropy_file_answers_booster_values(tmp_path: Path) -> None:
    import lightgbm

    rng = np.random.default_rng(6)
    features = rng.normal(size=(300, 3))
    share = 1 / (1 + np.exp(-features[:, 0]))  # fractional labels: a regression on probabilities
    model = lightgbm.LGBMRegressor(objective="cross_entropy", n_estimators=20, n_jobs=1, verbose=-1)
    model.fit(features, share)
    path = tmp_path / "share.txt"
    model.booster_.save_model(path)
    loaded = load_model(model_spec(str(path)), runtime="sklearn")
    assert loaded.signature.task == "regression"
    held_out = rng.normal(size=(20, 3))
    np.testing.assert_allclose(loaded.runtime.predict(held_out).labels, model.predict(held_out), rtol=1e-12)


def test_catboost_multiclass_file_is_one_output_with_its_classes(tmp_path: Path) -> None:
    import catboost

    frame, target = trained.boosting_frame()
    classes = np.asarray(["low", "mid", "high"])[target + (frame["age"] > 60).to_numpy()]
    model = catboost.CatBoostClassifier(iterations=20, thread_count=1, verbose=0, allow_writing_files=False)
    model.fit(frame.assign(city=frame["city"].astype(str)), classes, cat_features=["city"])
    path = tmp_path / "three.cbm"
    model.save_model(str(path))
    loaded = load_model(model_spec(str(path)))
    assert not loaded.signature.multi_output
    assert sorted(loaded.signature.classes) == ["high", "low", "mid"]
    held_out, _ = trained.boosting_frame(rows=30, seed=7)
    held_out = held_out.assign(city=held_out["city"].astype(str))
    outputs = loaded.runtime.predict(held_out.astype(object).where(held_out.notna(), np.nan).to_numpy())
    assert np.asarray(outputs.labels).tolist() == model.predict(held_out)[:, 0].tolist()
    np.testing.assert_allclose(outputs.probabilities, model.predict_proba(held_out), atol=1e-6)


def test_xgboost_numeric_categories_are_refused_with_the_fix(tmp_path: Path) -> None:
    import xgboost

    frame, target = trained.boosting_frame()
    frame["city"] = pd.Categorical(frame["city"].cat.codes * 10)  # categories 0, 10, 20
    model = xgboost.XGBClassifier(n_estimators=5, enable_categorical=True, n_jobs=1).fit(frame, target)
    model.save_model(tmp_path / "codes.json")
    with pytest.raises(ConfigError, match=r"input 'city'.*not strings.*astype\(str\)"):
        load_model(model_spec(str(tmp_path / "codes.json")))


def test_models_say_their_library_and_objective_compiled_or_not(tmp_path: Path) -> None:
    path = trained.xgboost_json(tmp_path)
    expected = {"estimator": "XGBClassifier", "objective": "binary:logistic"}
    for runtime in ("sklearn", "auto"):
        for cache in ("miss", "hit"):  # a compiled model from the cache says the same
            info = load_model(model_spec(str(path)), runtime=runtime, cache_dir=tmp_path / "cache").details.to_dict()
            assert {key: info[key] for key in expected} == expected, (runtime, cache)
            assert set(info["libraries"]) == {"xgboost"}
            if runtime == "auto":
                assert info["onnx"]["cache"] == cache
            else:
                break
