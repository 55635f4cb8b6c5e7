"""Models beyond one output and plain numbers, served in process on both runtimes and checked
against the model's own predict / predict_proba: several targets, no probabilities, missing
values, unknown categories, text, a numeric CSV header. (tests/conformance runs the whole zoo
against real servers; these pin each behaviour to one small model.)"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.svm import SVC
from starlette.testclient import TestClient

from servers import make_client

X, Y = load_iris(return_X_y=True, as_frame=True)
NAMES = list(X.columns)
ROWS = X.iloc[::15].reset_index(drop=True)  # 10 rows of the three species
WORDS = ["good", "great", "fine", "bad", "awful", "dull", "plot", "actor", "film", "music"]


def _texts(count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, 5)) for _ in range(count)]


def _shops(rows: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"spend": rng.gamma(2.0, 30.0, rows).round(2), "city": rng.choice(["lyon", "nice"], rows)})
    return frame, np.where((frame["city"] == "lyon") ^ (frame["spend"] > 60), "buy", "leave")


def _models(folder: Path) -> dict[str, Any]:
    with_gaps = X.copy()
    with_gaps.iloc[::4, 1] = np.nan
    shops, bought = _shops()
    texts = _texts(200, 1)
    return {
        "two_targets": RandomForestRegressor(n_estimators=10, random_state=0).fit(
            X.iloc[:, :2], np.c_[X.iloc[:, 2], X.iloc[:, 3]]
        ),
        "svc": SVC(random_state=0).fit(X, Y),
        "clusters": KMeans(3, n_init=2, random_state=0).fit(X),
        "imputed": make_pipeline(SimpleImputer(), LogisticRegression(max_iter=1000)).fit(with_gaps, Y),
        "strict": LogisticRegression(max_iter=1000).fit(X, Y),
        "open_cities": make_pipeline(
            make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["city"]), remainder="passthrough"),
            LogisticRegression(),
        ).fit(shops, bought),
        "text": make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(
            texts, ["good" in t or "great" in t for t in texts]
        ),
        "bare": LogisticRegression(max_iter=1000).fit(X.to_numpy(), Y),
    }


@pytest.fixture(scope="module", params=["auto", "sklearn"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("kinds")
    models = _models(folder)
    arguments = []
    for name, model in models.items():
        joblib.dump(model, folder / f"{name}.joblib")
        arguments.append(f"{name}={folder / name}.joblib")
    with make_client(arguments, trust_pickle=True, runtime=request.param) as client:
        yield client, models


def _predict(client: TestClient, name: str, body: Any, **params: str) -> Any:
    response = client.post(f"/models/{name}/predict", json=body, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if v != v else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def test_two_targets_answer_a_list_per_row(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, models = served
    rows = ROWS.iloc[:, :2]
    got = np.array(_predict(client, "two_targets", _records(rows))["predictions"])
    assert got.shape == (len(rows), 2)
    np.testing.assert_allclose(got, models["two_targets"].predict(rows), rtol=1e-5, atol=1e-6)
    signature = client.get("/models/two_targets").json()["signature"]
    assert signature["output"]["targets"] == ["0", "1"]


def test_two_targets_in_csv_get_a_column_each(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, models = served
    rows = ROWS.iloc[:, :2]
    response = client.post(
        "/models/two_targets/predict_file",
        files={"file": ("rows.csv", rows.to_csv(index=False))},
        headers={"accept": "text/csv"},
    )
    assert response.status_code == 200, response.text
    answer = pd.read_csv(io.StringIO(response.text))
    assert list(answer.columns[-2:]) == ["prediction_0", "prediction_1"]
    np.testing.assert_allclose(answer.iloc[:, -2:], models["two_targets"].predict(rows), rtol=1e-5, atol=1e-5)


def test_two_targets_in_v2_have_a_column_each(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, models = served
    rows = ROWS.iloc[:, :2].to_numpy()
    body = {"inputs": [{"name": "input", "shape": list(rows.shape), "datatype": "FP64", "data": rows.ravel().tolist()}]}
    response = client.post("/v2/models/two_targets/infer", json=body)
    assert response.status_code == 200, response.text
    (value,) = response.json()["outputs"]
    assert value["shape"] == [len(rows), 2]
    np.testing.assert_allclose(
        np.reshape(value["data"], (-1, 2)), models["two_targets"].predict(ROWS.iloc[:, :2]), rtol=1e-5
    )


@pytest.mark.parametrize("name", ["svc", "clusters"])
def test_probabilities_only_where_the_estimator_has_predict_proba(
    served: tuple[TestClient, dict[str, Any]], name: str
) -> None:
    client, models = served
    response = client.post(f"/models/{name}/predict", json=_records(ROWS), params={"proba": "true"})
    assert response.status_code == 422
    assert "does not give class probabilities" in response.json()["detail"]
    assert client.get(f"/models/{name}").json()["signature"]["output"]["probabilities"] is False
    assert _predict(client, name, _records(ROWS))["predictions"] == models[name].predict(ROWS).tolist()


def test_clusters_are_the_models_own(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, _ = served
    assert client.get("/models/clusters").json()["signature"]["output"]["task"] == "clustering"


def test_missing_values_reach_a_model_built_for_them(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, models = served
    rows = ROWS.copy()
    rows.iloc[::2, 1] = np.nan
    body = _predict(client, "imputed", _records(rows), proba="true")
    assert body["predictions"] == models["imputed"].predict(rows).tolist()
    np.testing.assert_allclose(
        [list(p.values()) for p in body["probabilities"]], models["imputed"].predict_proba(rows), atol=1e-5
    )
    csv = client.post("/models/imputed/predict_file", files={"file": ("rows.csv", rows.to_csv(index=False))})
    assert csv.json()["predictions"] == models["imputed"].predict(rows).tolist()
    inputs = client.get("/models/imputed").json()["signature"]["inputs"]
    assert all(i["allows_missing"] for i in inputs)
    # In a query string, a parameter left out or sent empty is a missing value; a misspelt one is not.
    row = rows.iloc[:1]
    given = {name: str(value) for name, value in row.iloc[0].items() if not pd.isna(value)}
    assert len(given) == len(NAMES) - 1
    expected = models["imputed"].predict(row).tolist()
    assert client.get("/models/imputed/predict", params=given).json()["predictions"] == expected
    assert client.get("/models/imputed/predict", params={**given, NAMES[1]: ""}).json()["predictions"] == expected
    misspelt = client.get("/models/imputed/predict", params={**given, NAMES[1] + "x": "1.0"})
    assert misspelt.status_code == 422 and "unknown feature" in misspelt.json()["detail"]


def test_a_query_parameter_left_out_is_refused_by_a_model_that_cannot_take_one(
    served: tuple[TestClient, dict[str, Any]],
) -> None:
    client, _ = served
    given = {name: str(value) for name, value in _records(ROWS)[0].items() if name != NAMES[1]}
    response = client.get("/models/strict/predict", params=given)
    assert response.status_code == 422
    assert f"missing feature '{NAMES[1]}'" in response.json()["detail"]


def test_missing_value_for_a_model_that_cannot_take_one_is_named(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, _ = served
    record = {**_records(ROWS)[0], NAMES[1]: None}
    response = client.post("/models/strict/predict", json=record)
    assert response.status_code == 422
    assert f"this model cannot take a missing value for '{NAMES[1]}'" in response.json()["detail"]


def test_unknown_category_reaches_an_encoder_that_ignores_them(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, models = served
    rows = pd.DataFrame({"spend": [10.0, 80.0], "city": ["brest", "lyon"]})
    assert (
        _predict(client, "open_cities", _records(rows))["predictions"] == models["open_cities"].predict(rows).tolist()
    )
    (city,) = [i for i in client.get("/models/open_cities").json()["signature"]["inputs"] if i["name"] == "city"]
    assert (city["categories"], city["allows_unknown"]) == (["lyon", "nice"], True)


def test_text_pipeline_takes_one_text_per_row(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, models = served
    texts = _texts(8, 2)
    body = _predict(client, "text", [{"text": t} for t in texts], proba="true")
    assert body["predictions"] == models["text"].predict(texts).tolist()
    got = [[p["False"], p["True"]] for p in body["probabilities"]]
    np.testing.assert_allclose(got, models["text"].predict_proba(texts), atol=1e-5)


def test_numeric_csv_header_of_a_bare_array_model_is_a_header(served: tuple[TestClient, dict[str, Any]]) -> None:
    """pd.DataFrame(X).to_csv(index=False) writes 0,1,2,3: a header, not a fifth... made-up row."""
    client, models = served
    table = pd.DataFrame(ROWS.to_numpy())
    response = client.post("/models/bare/predict_file", files={"file": ("rows.csv", table.to_csv(index=False))})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == models["bare"].predict(ROWS.to_numpy()).tolist()
