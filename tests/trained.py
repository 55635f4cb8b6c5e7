"""Small models the tests train and save: a regressor, a pipeline with a categorical column,
an ONNX classifier and a pickle. Each returns the path it wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TREE_TRUST = 'trusted_types = ["sklearn.tree._tree.Tree"]\n'


def regression_skops(folder: Path) -> Path:
    """LinearRegression on y = 3*a - 2*b + 1, features named a and b."""
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = LinearRegression().fit(frame, 3 * frame["a"] - 2 * frame["b"] + 1)
    path = folder / "linear.skops"
    sio.dump(model, path)
    return path


def pipeline_frame(rows: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype(float),
            "income": rng.normal(50, 15, rows),
            "city": rng.choice(["paris", "lyon", "nice"], rows),
        }
    )
    target = np.where((frame["city"] == "paris") | (frame["income"] > 60), "yes", "no")
    return frame, target


def categorical_pipeline_skops(folder: Path, *, handle_unknown: str = "error") -> Path:
    """Scaling and one-hot encoding in a ColumnTransformer, then logistic regression (labels yes/no).
    The encoder refuses unknown cities by default, as scikit-learn's OneHotEncoder does."""
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, target = pipeline_frame()
    model = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numbers", StandardScaler(), ["age", "income"]),
                        ("city", OneHotEncoder(handle_unknown=handle_unknown), ["city"]),
                    ]
                ),
            ),
            ("classify", LogisticRegression(max_iter=1000)),
        ]
    ).fit(frame, target)
    path = folder / "loans.skops"
    sio.dump(model, path)
    return path


def iris_onnx(folder: Path, *, with_side_file: bool = True) -> Path:
    """A logistic regression on iris converted with skl2onnx (one float tensor input, no ZipMap)."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris()
    model = LogisticRegression(max_iter=1000).fit(data.data, data.target)
    onnx_model = to_onnx(model, data.data[:1].astype(np.float32), options={id(model): {"zipmap": False}})
    path = folder / "iris_lr.onnx"
    path.write_bytes(onnx_model.SerializeToString())
    if with_side_file:
        (folder / "iris_lr.dockml.toml").write_text(
            'feature_names = ["s_length", "s_width", "p_length", "p_width"]\n'
            'class_names = ["setosa", "versicolor", "virginica"]\n'
            "[inputs.s_length]\nexample = 5.1\n[inputs.s_width]\nexample = 3.5\n"
            "[inputs.p_length]\nexample = 1.4\n[inputs.p_width]\nexample = 0.2\n"
        )
    return path


def iris_pickle(folder: Path, name: str = "iris_tree.joblib") -> Path:
    """A decision tree on iris saved with joblib, the way most users save models."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    data = load_iris()
    path = folder / name
    joblib.dump(DecisionTreeClassifier(random_state=0).fit(data.data, data.target), path)
    return path


def function_transformer_skops(folder: Path) -> Path:
    """A pipeline with a custom FunctionTransformer: skl2onnx cannot convert it. Inputs below -1
    make log1p give NaN, on which the classifier raises: a model that fails on valid-looking rows."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.default_rng(2)
    features = rng.normal(size=(100, 3))
    model = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(
        np.abs(features), (features[:, 0] > 0).astype(int)
    )
    path = folder / "custom.skops"
    sio.dump(model, path)
    (folder / "custom.dockml.toml").write_text('trusted_types = ["numpy.log1p"]\n')
    return path


def boosting_frame(rows: int = 400, seed: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with missing values and a pandas ``category`` column; a 0/1 label (another seed
    gives held-out rows)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype(float),
            "income": rng.normal(50, 15, rows).round(1),
            "city": pd.Categorical(rng.choice(["paris", "lyon", "nice"], rows)),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "income"] = np.nan
    target = ((frame["city"] == "paris") | (frame["income"].fillna(0) > 60)).astype(int).to_numpy()
    return frame, target


def xgboost_json(folder: Path, name: str = "xgb.json") -> Path:
    """XGBClassifier with a category column and missing incomes, in XGBoost's own JSON format."""
    import xgboost

    frame, target = boosting_frame()
    model = xgboost.XGBClassifier(n_estimators=30, max_depth=3, enable_categorical=True, n_jobs=1)
    model.fit(frame, target)
    path = folder / name
    model.save_model(path)
    return path


def catboost_categories_cbm(folder: Path, name: str = "cats.cbm") -> Path:
    """CatBoostClassifier with a categorical feature: CatBoost exports no ONNX graph for it."""
    import catboost

    frame, target = boosting_frame()
    frame = frame.assign(city=frame["city"].astype(str))
    model = catboost.CatBoostClassifier(
        iterations=20, depth=3, cat_features=["city"], thread_count=1, verbose=0, allow_writing_files=False
    )
    model.fit(frame, target)
    path = folder / name
    model.save_model(str(path))
    return path
