"""The model zoo of the conformance battery: one small declarative entry per model kind people train.

Each entry says how to make its data (train rows, held-out rows, target), how to build the estimator
and what the served model should declare. Nothing is downloaded: the data are generated here or come
from the datasets scikit-learn ships. Expected answers are never written here: the battery asks the
trained model itself (``predict`` / ``predict_proba``) on the held-out rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

RUNTIMES = ("auto", "sklearn")
"""`dockml serve --runtime` values the battery serves every model with."""
TRAIN_ROWS = 300
TEST_ROWS = 40


@dataclass(frozen=True)
class Data:
    """Training rows and held-out rows. A frame keeps its column names; a bare array has none."""

    train: pd.DataFrame | np.ndarray
    target: Any
    test: pd.DataFrame | np.ndarray


@dataclass(frozen=True)
class Kind:
    """One model kind. ``data`` and ``build`` are called at test time; the flags describe the contract."""

    name: str
    family: str
    data: Callable[[], Data]
    build: Callable[[], Any]
    task: str = "classification"  # classification | regression | clustering | outlier_detection
    takes_missing: bool = False
    """Built for NaN (an imputer, HistGradientBoosting, a tree trained with NaN): every input allows null."""
    multi_output: bool = False
    has_proba: bool = False
    """Whether the estimator has predict_proba (checked against the trained model)."""
    text_only: bool = False
    """Fit on one column of text as a 1-D sequence (no feature names): the one input is named by dockml."""
    categories: tuple[str, ...] = ()
    """String columns whose closed set of categories the model knows (from its encoder or dtype)."""
    unknown_ok: dict[str, bool] = field(default_factory=dict)
    """String columns -> whether the encoder tolerates a category it never saw."""
    unknown_value: tuple[str, str] | None = None
    """(column, value) never seen in training that the encoder refuses (handle_unknown="error")."""
    save_as: str = "joblib"  # joblib | skops | native (XGBoost .json/.ubj, LightGBM .txt, CatBoost .cbm)
    native_suffix: str = ""
    """For ``save_as="native"``: the file's suffix, which says the library's format."""
    side_file: str = ""
    """What the model file cannot say, for its side file (a boolean column the model never typed)."""

    def fit(self) -> tuple[Any, Data]:
        data = self.data()
        model = self.build()
        # One OpenMP thread: on a busy 2-core machine HistGradientBoosting takes 30 s instead of 0.5 s
        # when its threads spin against other processes.
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")  # convergence warnings on small data are not the point
            model.fit(as_model_input(self, data.train), data.target)
        return model, data


def as_model_input(kind: Kind, rows: pd.DataFrame | np.ndarray) -> Any:
    """What the estimator itself takes: the frame, the array, or for a text-only pipeline the 1-D text."""
    if kind.text_only:
        assert isinstance(rows, pd.DataFrame)
        return rows.iloc[:, 0]
    return rows


# ---------------------------------------------------------------------------------------------- data


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _split(frame: pd.DataFrame | np.ndarray, target: Any, seed: int, train: int = TRAIN_ROWS) -> Data:
    rows = len(frame)
    order = _rng(seed).permutation(rows)
    train = min(train, rows - TEST_ROWS)
    fit_rows, test_rows = order[:train], order[train : train + TEST_ROWS]

    def take(values: Any, index: np.ndarray) -> Any:
        if values is None:
            return None
        if isinstance(values, pd.DataFrame | pd.Series):
            return values.iloc[index].reset_index(drop=True)
        return np.asarray(values)[index]

    return Data(take(frame, fit_rows), take(target, fit_rows), take(frame, test_rows))


@cache
def _bundled(name: str) -> tuple[pd.DataFrame, pd.Series]:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    return bunch.data, bunch.target


def iris_named() -> Data:
    """Iris with the species names as labels (strings)."""
    from sklearn.datasets import load_iris

    frame, target = _bundled("iris")
    names = np.asarray(load_iris().target_names)[target.to_numpy()]
    return _split(frame, names, seed=1)


def iris() -> Data:
    frame, target = _bundled("iris")
    return _split(frame, target.to_numpy(), seed=2)


def wine() -> Data:
    frame, target = _bundled("wine")
    return _split(frame, target.to_numpy(), seed=3)


def cancer() -> Data:
    frame, target = _bundled("breast_cancer")
    return _split(frame, target.to_numpy(), seed=4)


def diabetes() -> Data:
    frame, target = _bundled("diabetes")
    return _split(frame, target.to_numpy(), seed=5)


def digits_array() -> Data:
    """The digits as a bare numpy array: no feature names."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _split(bunch.data, bunch.target, seed=6)


def friedman() -> Data:
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=TRAIN_ROWS + TEST_ROWS, n_features=6, noise=0.5, random_state=7)
    frame = pd.DataFrame(x, columns=["load", "temperature", "humidity", "wind", "pressure", "hour"])
    return _split(frame, y, seed=7)


def friedman_two_targets() -> Data:
    data = friedman()
    rng = _rng(8)
    train = data.train
    second = 2.0 * train["load"] - train["wind"] + rng.normal(0, 0.1, len(train))
    return Data(train, np.column_stack([data.target, second]), data.test)


def multi_class_two_targets() -> Data:
    """Two string targets with different classes: strength (3 values) and colour depth (2)."""
    data = wine()
    frame = data.train
    first = np.where(frame["alcohol"] > 13.2, "strong", np.where(frame["alcohol"] > 12.3, "medium", "light"))
    second = np.where(frame["color_intensity"] > 5.0, "dark", "pale")
    return Data(frame, np.column_stack([first, second]), data.test)


def multi_label() -> Data:
    """Three yes/no labels per row as a 0/1 indicator matrix."""
    data = wine()
    frame = data.train
    labels = np.column_stack(
        [
            frame["alcohol"] > 13.0,
            frame["malic_acid"] > 2.3,
            frame["flavanoids"] > 2.0,
        ]
    ).astype(int)
    return Data(frame, labels, data.test)


def _with_missing(frame: pd.DataFrame, columns: list[str], share: float, seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    frame = frame.copy()
    for column in columns:
        frame.loc[rng.random(len(frame)) < share, column] = np.nan
    return frame


def credit(rows: int = TRAIN_ROWS + TEST_ROWS) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Loan applicants: numbers with 15 % missing; a default label (strings) and an amount (regression)."""
    rng = _rng(9)
    frame = pd.DataFrame(
        {
            "income": rng.normal(52_000, 15_000, rows).round(0),
            "age": rng.integers(19, 75, rows).astype(float),
            "debt_ratio": rng.beta(2, 5, rows).round(3),
            "years_employed": rng.exponential(6, rows).round(1),
        }
    )
    risk = -frame["income"] / 20_000 + 4 * frame["debt_ratio"] - frame["years_employed"] / 8 + rng.normal(0, 0.4, rows)
    label = np.where(risk > np.median(risk), "default", "repaid")
    amount = 0.2 * frame["income"] * (1 - frame["debt_ratio"]) + 300 * frame["years_employed"]
    return _with_missing(frame, list(frame.columns), 0.15, seed=10), label, amount.to_numpy()


def credit_label() -> Data:
    frame, label, _ = credit()
    return _split(frame, label, seed=11)


def credit_amount() -> Data:
    frame, _, amount = credit()
    return _split(frame, amount, seed=12)


PLANS = ["basic", "plus", "pro"]
REGIONS = ["north", "south", "east", "west"]


def customers(missing: bool, blank: float = np.nan) -> Data:
    """Telecom customers: numbers and categories (with missing values if asked); a churn label.

    ``blank`` is the missing category: NaN, as read_csv gives for an empty cell, or None, as an object
    column built from Python values holds (an imputer then takes None as a category, not as missing).
    """
    rows = TRAIN_ROWS + TEST_ROWS
    rng = _rng(13)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, rows).astype(float),
            "monthly_fee": rng.normal(45, 12, rows).round(2),
            "plan": rng.choice(PLANS, rows, p=[0.5, 0.3, 0.2]),
            "region": rng.choice(REGIONS, rows),
        }
    )
    score = -frame["tenure_months"] / 20 + frame["monthly_fee"] / 25 + (frame["plan"] == "basic") * 1.0
    churn = np.where(score + rng.normal(0, 0.5, rows) > np.median(score), "churn", "stay")
    if missing:
        frame = _with_missing(frame, ["tenure_months", "monthly_fee"], 0.1, seed=14)
        if blank is None:
            frame = frame.astype({"plan": object, "region": object})
        for column in ("plan", "region"):
            frame.loc[rng.random(rows) < 0.1, column] = blank
    return _split(frame, churn, seed=15)


CITIES = ["paris", "lyon", "nice", "lille", "nantes", "brest", "metz", "dijon"]
CITY_WEIGHTS = [0.3, 0.25, 0.2, 0.15, 0.05, 0.03, 0.01, 0.01]  # the last ones are infrequent
DEVICES = ["mobile", "desktop", "tablet"]


def shoppers(unseen: bool) -> Data:
    """Web shoppers: spend, visits, a city (some rare) and a device; did they buy (0/1)?

    With ``unseen``, a quarter of the held-out rows come from a city and a device never seen in training.
    """
    rows = TRAIN_ROWS + TEST_ROWS
    rng = _rng(16)
    frame = pd.DataFrame(
        {
            "spend": rng.gamma(2.0, 30.0, rows).round(2),
            "visits": rng.poisson(4, rows).astype(float),
            "city": rng.choice(CITIES, rows, p=CITY_WEIGHTS),
            "device": rng.choice(DEVICES, rows),
        }
    )
    score = (
        frame["spend"] / 60
        + frame["visits"] / 4
        + frame["city"].isin(["paris", "nice"])
        - (frame["device"] == "tablet")
    )
    bought = (score + rng.normal(0, 0.5, rows) > np.median(score)).astype(int).to_numpy()
    data = _split(frame, bought, seed=17)
    if not unseen:
        return data
    test = data.test.copy()
    test.loc[::4, "city"] = "atlantis"
    test.loc[1::8, "device"] = "smartwatch"
    # the rare cities must be in the held-out rows too, whatever the draw gave
    test.loc[2, "city"], test.loc[3, "city"] = "metz", "dijon"
    return Data(data.train, data.target, test)


def shoppers_unseen() -> Data:
    return shoppers(unseen=True)


def shoppers_unseen_city() -> Data:
    """Unseen cities only in the held-out rows (the refusing encoder sees unknown values in its own check)."""
    return shoppers(unseen=False)


def members() -> Data:
    """A boolean column beside a number and a category: will the customer renew?"""
    rows = TRAIN_ROWS + TEST_ROWS
    rng = _rng(18)
    frame = pd.DataFrame(
        {
            "is_member": rng.random(rows) < 0.4,
            "basket": rng.gamma(2.0, 25.0, rows).round(2),
            "channel": rng.choice(["store", "web", "phone"], rows),
        }
    )
    score = frame["is_member"] * 1.5 + frame["basket"] / 50 + (frame["channel"] == "web") * 0.5
    renew = np.where(score + rng.normal(0, 0.5, rows) > np.median(score), "renew", "leave")
    return _split(frame, renew, seed=19)


def garments() -> Data:
    """pandas ``category`` columns (with missing values) for HistGradientBoosting's native categories.

    Some held-out rows have a colour never seen in training (which the model takes as missing).
    """
    rows = TRAIN_ROWS + TEST_ROWS
    rng = _rng(20)
    colour = rng.choice(["red", "green", "blue", "black", "white"], rows)
    size = rng.choice(["S", "M", "L", "XL"], rows)
    weight = rng.normal(300, 60, rows).round(1)
    score = (colour == "black") * 1.2 + (size == "XL") * 0.8 + weight / 200 + rng.normal(0, 0.4, rows)
    returned = np.where(score > np.median(score), "returned", "kept")
    frame = pd.DataFrame({"colour": colour, "size": size, "weight_g": weight})
    frame = _with_missing(frame, ["weight_g"], 0.1, seed=21)
    frame.loc[rng.random(rows) < 0.08, "colour"] = None
    frame["colour"] = pd.Categorical(frame["colour"], categories=sorted(set(colour)))
    frame["size"] = pd.Categorical(frame["size"], categories=["S", "M", "L", "XL"])
    data = _split(frame, returned, seed=22)
    test = data.test.copy()
    held_out = test["colour"].astype(object)
    held_out[::6] = "purple"
    test["colour"] = pd.Categorical(held_out, categories=[*test["colour"].cat.categories, "purple"])
    return Data(data.train, data.target, test)


def credit_coded() -> Data:
    """Credit with 0/1 labels (1 = default): XGBoost trains on class indices only, and a LightGBM
    text file records no class names."""
    frame, label, _ = credit()
    return _split(frame, (label == "default").astype(int), seed=11)


def garments_coded() -> Data:
    data = garments()
    return Data(data.train, (np.asarray(data.target) == "returned").astype(int), data.test)


def garments_seen() -> Data:
    """Garments with 0/1 labels whose held-out colours were all seen in training ("purple" becomes
    "black"): XGBoost has no defined answer for an unseen category, so dockml refuses one."""
    data = garments_coded()
    test = data.test.copy()
    colour = test["colour"].astype(object)
    test["colour"] = pd.Categorical(
        colour.where(colour != "purple", "black"), categories=data.train["colour"].cat.categories
    )
    return Data(data.train, data.target, test)


def customers_strings() -> Data:
    """Customers whose plan and region are plain strings, as CatBoost's categorical features take them
    (never missing: CatBoost refuses that); the numbers miss 10 %."""
    data = customers(missing=False)
    numbers = ["tenure_months", "monthly_fee"]
    return Data(
        _with_missing(data.train, numbers, 0.1, seed=23), data.target, _with_missing(data.test, numbers, 0.1, seed=24)
    )


POSITIVE = ["great", "excellent", "love", "perfect", "sturdy", "fast", "recommend", "happy", "beautiful", "works"]
NEGATIVE = ["broken", "terrible", "slow", "refund", "cheap", "disappointed", "useless", "late", "noisy", "returned"]
NEUTRAL = ["the", "product", "arrived", "box", "it", "was", "and", "a", "item", "colour", "size", "with", "my", "this"]
PRODUCTS = ["kitchen", "garden", "toys", "books"]


def reviews(with_columns: bool) -> Data:
    """Synthetic product reviews from word lists; the label follows the balance of good and bad words.

    With ``with_columns`` a price and a product category sit beside the text. Held-out reviews contain
    words never seen in training.
    """
    rows = TRAIN_ROWS + TEST_ROWS
    rng = _rng(23)
    texts, labels = [], []
    for _ in range(rows):
        good, bad = rng.integers(0, 4), rng.integers(0, 4)
        words = list(rng.choice(POSITIVE, good)) + list(rng.choice(NEGATIVE, bad)) + list(rng.choice(NEUTRAL, 6))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + "!" * int(rng.integers(0, 2)))
        labels.append("positive" if good + rng.normal(0, 0.7) > bad else "negative")
    frame = pd.DataFrame({"review": texts})
    if with_columns:
        frame["price"] = rng.gamma(2.0, 15.0, rows).round(2)
        frame["product"] = rng.choice(PRODUCTS, rows)
    data = _split(frame, np.asarray(labels), seed=24)
    test = data.test.copy()
    test.loc[::5, "review"] = test.loc[::5, "review"] + " zyzzyva unboxing, très bien"
    return Data(data.train, data.target, test)


def text_only() -> Data:
    return reviews(with_columns=False)


def text_with_columns() -> Data:
    return reviews(with_columns=True)


def blobs() -> Data:
    from sklearn.datasets import make_blobs

    x, _ = make_blobs(n_samples=TRAIN_ROWS + TEST_ROWS, centers=4, n_features=3, cluster_std=1.2, random_state=25)
    frame = pd.DataFrame(x, columns=["recency", "frequency", "monetary"])
    return _split(frame, None, seed=26)


def sensors() -> Data:
    """Normal readings to train on; held-out rows half normal, half far-off anomalies."""
    rng = _rng(27)
    columns = ["vibration", "temperature", "current"]
    normal = pd.DataFrame(
        rng.normal([1.0, 60.0, 4.0], [0.2, 3.0, 0.5], (TRAIN_ROWS + TEST_ROWS // 2, 3)), columns=columns
    )
    odd = pd.DataFrame(rng.normal([2.5, 80.0, 1.0], [0.8, 10.0, 1.0], (TEST_ROWS // 2, 3)), columns=columns)
    test = pd.concat([normal.iloc[TRAIN_ROWS:], odd], ignore_index=True)
    return Data(normal.iloc[:TRAIN_ROWS].reset_index(drop=True), None, test)


# ------------------------------------------------------------------------------------------ models


def _scaled(estimator: Any) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), estimator)


def _sk(path: str, **params: Any) -> Callable[[], Any]:
    """A factory for ``sklearn.<module>.<Class>(**params)``, imported when called."""

    def build() -> Any:
        module, _, name = path.rpartition(".")
        imported = __import__(f"sklearn.{module}", fromlist=[name])
        return getattr(imported, name)(**params)

    return build


def _scaled_sk(path: str, **params: Any) -> Callable[[], Any]:
    return lambda: _scaled(_sk(path, **params)())


def voting(kind: str) -> Callable[[], Any]:
    def build() -> Any:
        from sklearn.ensemble import RandomForestClassifier, VotingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.naive_bayes import GaussianNB

        return VotingClassifier(
            [
                ("lr", _scaled(LogisticRegression(max_iter=1000))),
                ("rf", RandomForestClassifier(n_estimators=20, random_state=0)),
                ("nb", GaussianNB()),
            ],
            voting=kind,
        )

    return build


def stacking_classifier() -> Any:
    from sklearn.ensemble import RandomForestClassifier, StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    return StackingClassifier(
        [("rf", RandomForestClassifier(n_estimators=20, random_state=0)), ("knn", _scaled(KNeighborsClassifier()))],
        final_estimator=LogisticRegression(max_iter=1000),
        cv=3,
    )


def stacking_regressor() -> Any:
    from sklearn.ensemble import RandomForestRegressor, StackingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor

    return StackingRegressor(
        [("rf", RandomForestRegressor(n_estimators=20, random_state=0)), ("knn", _scaled(KNeighborsRegressor()))],
        final_estimator=Ridge(),
        cv=3,
    )


def calibrated() -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    return _scaled(CalibratedClassifierCV(LinearSVC(), cv=3))


def multi_output_ridge() -> Any:
    from sklearn.linear_model import Ridge
    from sklearn.multioutput import MultiOutputRegressor

    return MultiOutputRegressor(Ridge())


def multi_output_logistic() -> Any:
    from sklearn.multioutput import MultiOutputClassifier

    return _scaled(MultiOutputClassifier(_sk("linear_model.LogisticRegression", max_iter=1000)()))


def imputed_logistic() -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=1000))


def mixed_imputed(classifier: Callable[[], Any]) -> Callable[[], Any]:
    def build() -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        prepare = ColumnTransformer(
            [
                ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["tenure_months", "monthly_fee"]),
                (
                    "categories",
                    make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                    ["plan", "region"],
                ),
            ]
        )
        return make_pipeline(prepare, classifier())

    return build


def encoded(encoder: Callable[[], Any], classifier: Callable[[], Any]) -> Callable[[], Any]:
    """Scaled numbers and an encoder on city and device, then a classifier."""

    def build() -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        prepare = ColumnTransformer(
            [("numbers", StandardScaler(), ["spend", "visits"]), ("categories", encoder(), ["city", "device"])]
        )
        return make_pipeline(prepare, classifier())

    return build


def with_boolean() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prepare = ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["basket"]),
            ("channel", OneHotEncoder(), ["channel"]),
            ("flags", "passthrough", ["is_member"]),
        ]
    )
    return make_pipeline(prepare, LogisticRegression(max_iter=1000))


def tfidf_logistic() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))


def text_beside_columns() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prepare = ColumnTransformer(
        [
            ("text", TfidfVectorizer(), "review"),
            ("price", StandardScaler(), ["price"]),
            ("product", OneHotEncoder(handle_unknown="ignore"), ["product"]),
        ]
    )
    return make_pipeline(prepare, LogisticRegression(max_iter=1000))


def _clf(path: str, **params: Any) -> Callable[[], Any]:
    return _sk(path, **params)


def _pipeline(*steps: Any) -> Any:
    from sklearn.pipeline import make_pipeline

    return make_pipeline(*steps)


def _boosting(path: str, **params: Any) -> Callable[[], Any]:
    """A factory for ``xgboost.XGBClassifier(**params)`` and the like, one thread to train."""

    def build() -> Any:
        library, _, name = path.partition(".")
        threads = {
            "xgboost": {"n_jobs": 1},
            "lightgbm": {"n_jobs": 1, "verbose": -1},
            "catboost": {"thread_count": 1, "allow_writing_files": False},
        }
        return getattr(__import__(library), name)(**threads[library], **params)

    return build


LOGISTIC = _clf("linear_model.LogisticRegression", max_iter=1000)
SHOP_CATEGORIES = ("city", "device")

KINDS: tuple[Kind, ...] = (
    # linear and friends
    Kind(
        "logistic_scaled",
        "linear",
        wine,
        _scaled_sk("linear_model.LogisticRegression", max_iter=1000),
        has_proba=True,
        save_as="skops",
    ),
    Kind("linear_regression", "linear", diabetes, _sk("linear_model.LinearRegression"), task="regression"),
    Kind("ridge", "linear", diabetes, _sk("linear_model.Ridge", alpha=0.5), task="regression", save_as="skops"),
    Kind("lasso", "linear", diabetes, _sk("linear_model.Lasso", alpha=0.05), task="regression"),
    Kind("elastic_net", "linear", diabetes, _sk("linear_model.ElasticNet", alpha=0.01), task="regression"),
    Kind(
        "sgd_log_loss",
        "linear",
        cancer,
        _scaled_sk("linear_model.SGDClassifier", loss="log_loss", random_state=0),
        has_proba=True,
    ),
    Kind("linear_svc", "linear", iris_named, _scaled_sk("svm.LinearSVC")),
    Kind("svc_proba", "linear", iris_named, _scaled_sk("svm.SVC", probability=True, random_state=0), has_proba=True),
    Kind("svc", "linear", wine, _scaled_sk("svm.SVC")),
    Kind("svr", "linear", friedman, _scaled_sk("svm.SVR", C=5.0), task="regression"),
    Kind("knn_classifier", "linear", iris_named, _scaled_sk("neighbors.KNeighborsClassifier"), has_proba=True),
    Kind("knn_regressor", "linear", diabetes, _sk("neighbors.KNeighborsRegressor"), task="regression"),
    Kind("gaussian_nb", "linear", wine, _sk("naive_bayes.GaussianNB"), has_proba=True),
    Kind(
        "mlp_classifier",
        "linear",
        cancer,
        _scaled_sk("neural_network.MLPClassifier", max_iter=300, random_state=0),
        has_proba=True,
    ),
    Kind(
        "mlp_regressor",
        "linear",
        friedman,
        _scaled_sk("neural_network.MLPRegressor", hidden_layer_sizes=(32,), max_iter=500, random_state=0),
        task="regression",
    ),
    Kind("lda", "linear", wine, _sk("discriminant_analysis.LinearDiscriminantAnalysis"), has_proba=True),
    # trees
    Kind(
        "decision_tree_classifier",
        "trees",
        iris_named,
        _sk("tree.DecisionTreeClassifier", max_depth=5, random_state=0),
        has_proba=True,
    ),
    Kind(
        "decision_tree_regressor",
        "trees",
        diabetes,
        _sk("tree.DecisionTreeRegressor", max_depth=6, random_state=0),
        task="regression",
    ),
    Kind(
        "random_forest_classifier",
        "trees",
        wine,
        _sk("ensemble.RandomForestClassifier", n_estimators=30, random_state=0),
        has_proba=True,
        save_as="skops",
    ),
    Kind(
        "random_forest_regressor",
        "trees",
        diabetes,
        _sk("ensemble.RandomForestRegressor", n_estimators=30, random_state=0),
        task="regression",
    ),
    Kind(
        "extra_trees_classifier",
        "trees",
        cancer,
        _sk("ensemble.ExtraTreesClassifier", n_estimators=30, random_state=0),
        has_proba=True,
    ),
    Kind(
        "extra_trees_regressor",
        "trees",
        friedman,
        _sk("ensemble.ExtraTreesRegressor", n_estimators=30, random_state=0),
        task="regression",
    ),
    Kind(
        "gradient_boosting_classifier",
        "trees",
        iris_named,
        _sk("ensemble.GradientBoostingClassifier", n_estimators=30, random_state=0),
        has_proba=True,
    ),
    Kind(
        "gradient_boosting_regressor",
        "trees",
        diabetes,
        _sk("ensemble.GradientBoostingRegressor", n_estimators=50, random_state=0),
        task="regression",
    ),
    Kind(
        "hist_gradient_boosting_classifier_nan",
        "trees",
        credit_label,
        _sk("ensemble.HistGradientBoostingClassifier", max_iter=40, random_state=0),
        takes_missing=True,
        has_proba=True,
        save_as="skops",
    ),
    Kind(
        "hist_gradient_boosting_regressor_nan",
        "trees",
        credit_amount,
        _sk("ensemble.HistGradientBoostingRegressor", max_iter=40, random_state=0),
        task="regression",
        takes_missing=True,
    ),
    Kind(
        "adaboost_classifier",
        "trees",
        cancer,
        _sk("ensemble.AdaBoostClassifier", n_estimators=30, random_state=0),
        has_proba=True,
    ),
    # ensembles
    Kind("voting_soft", "ensembles", wine, voting("soft"), has_proba=True),
    Kind("voting_hard", "ensembles", wine, voting("hard")),
    Kind("stacking_classifier", "ensembles", iris_named, stacking_classifier, has_proba=True),
    Kind("stacking_regressor", "ensembles", diabetes, stacking_regressor, task="regression"),
    Kind(
        "bagging_classifier",
        "ensembles",
        cancer,
        _sk("ensemble.BaggingClassifier", n_estimators=10, random_state=0),
        has_proba=True,
    ),
    Kind("calibrated_linear_svc", "ensembles", cancer, calibrated, has_proba=True),
    # several outputs
    Kind(
        "random_forest_regressor_2_targets",
        "multi-output",
        friedman_two_targets,
        _sk("ensemble.RandomForestRegressor", n_estimators=30, random_state=0),
        task="regression",
        multi_output=True,
    ),
    Kind(
        "multi_output_ridge",
        "multi-output",
        friedman_two_targets,
        multi_output_ridge,
        task="regression",
        multi_output=True,
    ),
    Kind(
        "multi_output_logistic",
        "multi-output",
        multi_class_two_targets,
        multi_output_logistic,
        multi_output=True,
        has_proba=True,
    ),
    Kind(
        "random_forest_multi_label",
        "multi-output",
        multi_label,
        _sk("ensemble.RandomForestClassifier", n_estimators=30, random_state=0),
        multi_output=True,
        has_proba=True,
    ),
    Kind(
        "knn_regressor_2_targets",
        "multi-output",
        friedman_two_targets,
        _scaled_sk("neighbors.KNeighborsRegressor"),
        task="regression",
        multi_output=True,
    ),
    # missing values
    Kind("imputer_logistic", "missing", credit_label, imputed_logistic, takes_missing=True, has_proba=True),
    Kind(
        "decision_tree_nan",
        "missing",
        credit_label,
        _sk("tree.DecisionTreeClassifier", max_depth=5, random_state=0),
        takes_missing=True,
        has_proba=True,
    ),
    Kind(
        "mixed_frame_imputed",
        "missing",
        lambda: customers(missing=True),
        mixed_imputed(_clf("ensemble.RandomForestClassifier", n_estimators=30, random_state=0)),
        takes_missing=True,
        has_proba=True,
        categories=("plan", "region"),
        unknown_ok={"plan": True, "region": True},
    ),
    Kind(
        "mixed_frame_imputed_none",
        "missing",
        lambda: customers(missing=True, blank=None),
        mixed_imputed(_clf("linear_model.LogisticRegression", max_iter=1000)),
        takes_missing=True,
        has_proba=True,
        categories=("plan", "region"),
        unknown_ok={"plan": True, "region": True},
    ),
    # categories
    Kind(
        "one_hot_error",
        "categories",
        shoppers_unseen_city,
        encoded(_sk("preprocessing.OneHotEncoder", handle_unknown="error"), LOGISTIC),
        has_proba=True,
        categories=SHOP_CATEGORIES,
        unknown_ok={"city": False, "device": False},
        unknown_value=("city", "atlantis"),
    ),
    Kind(
        "one_hot_ignore",
        "categories",
        shoppers_unseen,
        encoded(_sk("preprocessing.OneHotEncoder", handle_unknown="ignore"), LOGISTIC),
        has_proba=True,
        categories=SHOP_CATEGORIES,
        unknown_ok={"city": True, "device": True},
        save_as="skops",
    ),
    Kind(
        "one_hot_infrequent",
        "categories",
        shoppers_unseen,
        encoded(_sk("preprocessing.OneHotEncoder", handle_unknown="infrequent_if_exist", min_frequency=10), LOGISTIC),
        has_proba=True,
        categories=SHOP_CATEGORIES,
        unknown_ok={"city": True, "device": True},
    ),
    Kind(
        "ordinal_unknown_value",
        "categories",
        shoppers_unseen,
        encoded(
            _sk("preprocessing.OrdinalEncoder", handle_unknown="use_encoded_value", unknown_value=-1),
            _clf("ensemble.RandomForestClassifier", n_estimators=30, random_state=0),
        ),
        has_proba=True,
        categories=SHOP_CATEGORIES,
        unknown_ok={"city": True, "device": True},
    ),
    Kind(
        "target_encoder",
        "categories",
        shoppers_unseen,
        encoded(_sk("preprocessing.TargetEncoder", random_state=0), LOGISTIC),
        has_proba=True,
        categories=SHOP_CATEGORIES,
        unknown_ok={"city": True, "device": True},
    ),
    Kind(
        "boolean_column",
        "categories",
        members,
        with_boolean,
        has_proba=True,
        # A passthrough column keeps no trace of its bool dtype in the model: the side file says it.
        side_file='[inputs.is_member]\ntype = "boolean"\n',
        categories=("channel",),
        unknown_ok={"channel": False},
    ),
    Kind(
        "hist_gradient_boosting_category_dtype",
        "categories",
        garments,
        _sk("ensemble.HistGradientBoostingClassifier", categorical_features="from_dtype", max_iter=40, random_state=0),
        takes_missing=True,
        has_proba=True,
        categories=("colour", "size"),
        unknown_ok={"colour": True, "size": True},
    ),
    # gradient boosting: the libraries' scikit-learn wrappers (pickled) and their native files
    Kind(
        "xgboost_classifier_nan",
        "boosting",
        credit_coded,
        _boosting("xgboost.XGBClassifier", n_estimators=60, max_depth=4, random_state=0),
        takes_missing=True,
        has_proba=True,
    ),
    Kind(
        "xgboost_regressor_native",
        "boosting",
        credit_amount,
        _boosting("xgboost.XGBRegressor", n_estimators=60, max_depth=4, random_state=0),
        task="regression",
        takes_missing=True,
        save_as="native",
        native_suffix=".json",
    ),
    Kind(
        "xgboost_categories_native",
        "boosting",
        garments_seen,
        _boosting("xgboost.XGBClassifier", n_estimators=40, max_depth=4, enable_categorical=True, random_state=0),
        takes_missing=True,
        has_proba=True,
        categories=("colour", "size"),
        unknown_ok={"colour": False, "size": False},
        unknown_value=("colour", "purple"),
        save_as="native",
        native_suffix=".ubj",
    ),
    Kind(
        "lightgbm_classifier_nan",
        "boosting",
        credit_label,
        _boosting("lightgbm.LGBMClassifier", n_estimators=60, random_state=0),
        takes_missing=True,
        has_proba=True,
    ),
    Kind(
        "lightgbm_regressor_native",
        "boosting",
        credit_amount,
        _boosting("lightgbm.LGBMRegressor", n_estimators=60, random_state=0),
        task="regression",
        takes_missing=True,
        save_as="native",
        native_suffix=".txt",
    ),
    Kind(
        "lightgbm_categories_native",
        "boosting",
        garments_coded,
        _boosting("lightgbm.LGBMClassifier", n_estimators=40, random_state=0),
        takes_missing=True,
        has_proba=True,
        categories=("colour", "size"),
        unknown_ok={"colour": True, "size": True},
        save_as="native",
        native_suffix=".txt",
    ),
    Kind(
        "xgboost_imputed_pipeline",
        "boosting",
        credit_coded,
        lambda: _pipeline(
            _sk("impute.SimpleImputer", strategy="median")(),
            _boosting("xgboost.XGBClassifier", n_estimators=40, max_depth=4, random_state=0)(),
        ),
        takes_missing=True,
        has_proba=True,
    ),
    Kind(
        "lightgbm_one_hot_pipeline_skops",
        "boosting",
        shoppers_unseen,
        encoded(
            _sk("preprocessing.OneHotEncoder", handle_unknown="ignore"),
            _boosting("lightgbm.LGBMClassifier", n_estimators=40, random_state=0),
        ),
        has_proba=True,
        categories=SHOP_CATEGORIES,
        unknown_ok={"city": True, "device": True},
        save_as="skops",
    ),
    Kind(
        "catboost_classifier_nan",
        "boosting",
        credit_label,
        _boosting("catboost.CatBoostClassifier", iterations=60, depth=4, random_seed=0, verbose=0),
        takes_missing=True,
        has_proba=True,
    ),
    Kind(
        "catboost_regressor_native",
        "boosting",
        credit_amount,
        _boosting("catboost.CatBoostRegressor", iterations=60, depth=4, random_seed=0, verbose=0),
        task="regression",
        takes_missing=True,
        save_as="native",
        native_suffix=".cbm",
    ),
    Kind(
        "catboost_categories_native",
        "boosting",
        customers_strings,
        _boosting(
            "catboost.CatBoostClassifier",
            iterations=40,
            depth=4,
            cat_features=["plan", "region"],
            random_seed=0,
            verbose=0,
        ),
        has_proba=True,
        save_as="native",
        native_suffix=".cbm",
    ),
    # text
    Kind("tfidf_logistic", "text", text_only, tfidf_logistic, has_proba=True, text_only=True),
    Kind(
        "text_beside_columns",
        "text",
        text_with_columns,
        text_beside_columns,
        has_proba=True,
        categories=("product",),
        unknown_ok={"product": True},
    ),
    # clustering and outliers
    Kind(
        "kmeans", "clustering", blobs, _sk("cluster.KMeans", n_clusters=4, n_init=3, random_state=0), task="clustering"
    ),
    Kind(
        "mini_batch_kmeans",
        "clustering",
        blobs,
        _sk("cluster.MiniBatchKMeans", n_clusters=4, n_init=3, random_state=0),
        task="clustering",
    ),
    Kind(
        "isolation_forest",
        "outliers",
        sensors,
        _sk("ensemble.IsolationForest", n_estimators=50, random_state=0),
        task="outlier_detection",
    ),
    Kind("one_class_svm", "outliers", sensors, _scaled_sk("svm.OneClassSVM", nu=0.05), task="outlier_detection"),
    Kind(
        "local_outlier_factor",
        "outliers",
        sensors,
        _sk("neighbors.LocalOutlierFactor", novelty=True),
        task="outlier_detection",
    ),
    # no feature names
    Kind(
        "digits_numpy",
        "numpy",
        digits_array,
        _scaled_sk("linear_model.LogisticRegression", max_iter=500),
        has_proba=True,
    ),
)

BY_NAME = {kind.name: kind for kind in KINDS}
assert len(BY_NAME) == len(KINDS), "two zoo entries share a name"
