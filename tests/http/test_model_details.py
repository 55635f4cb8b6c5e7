"""GET /models/NAME's ``details``: one shape per way a model is served (an ONNX file, a compiled
scikit-learn model, a scikit-learn model served by scikit-learn), pinned key by key and in order,
since clients read it and the OpenAPI document leaves it open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import trained
from servers import make_client

ONNX_FILE_KEYS = ["format", "onnxruntime_version", "inputs", "probabilities", "threads", "feature_names_from"]
COMPILED_KEYS = [*ONNX_FILE_KEYS, "onnx", "estimator"]
SKLEARN_KEYS = ["format", "estimator", "sklearn_version", "saved_with_sklearn", "probabilities", "feature_names_from"]
PARITY_KEYS = [
    "passed",
    "rows",
    "label_mismatches",
    "max_abs_difference",
    "max_rel_difference",
    "distinct_outputs",
    "missing_rows",
    "unknown_rows",
    "sample_rows",
    "reason",
]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("details")
    return [
        f"file={trained.iris_onnx(folder)}",
        f"compiled={trained.regression_skops(folder)}",
        f"fallback={trained.function_transformer_skops(folder)}",  # skl2onnx cannot convert it
    ]


def _details(arguments: list[str]) -> dict[str, dict[str, Any]]:
    with make_client(arguments) as client:
        return {name: client.get(f"/models/{name}").json() for name in ("file", "compiled", "fallback")}


def test_each_way_of_serving_gives_its_details_in_one_shape(model_files: list[str]) -> None:
    described = _details(model_files)
    assert [described[name]["runtime"] for name in described] == ["onnx", "onnx", "sklearn"]
    onnx_file, compiled, fallback = (described[name]["details"] for name in described)

    assert list(onnx_file) == ONNX_FILE_KEYS
    assert onnx_file["format"] == "onnx"
    assert [list(tensor) for tensor in onnx_file["inputs"]] == [["name", "type", "shape"]]
    assert onnx_file["probabilities"] is True and onnx_file["feature_names_from"] == "model"

    assert list(compiled) == COMPILED_KEYS
    assert (compiled["format"], compiled["estimator"]) == ("skops", "LinearRegression")
    assert list(compiled["onnx"]) == ["compiled", "parity", "cache"]
    assert compiled["onnx"]["compiled"] is True and list(compiled["onnx"]["parity"]) == PARITY_KEYS
    assert compiled["onnx"]["parity"]["passed"] is True

    assert list(fallback) == [*SKLEARN_KEYS, "onnx"]
    assert (fallback["format"], fallback["estimator"]) == ("skops", "Pipeline")
    assert fallback["feature_names_from"] == "position"
    assert list(fallback["onnx"]) == ["compiled", "reason"]
    assert fallback["onnx"]["compiled"] is False and "FunctionTransformer" in fallback["onnx"]["reason"]


def test_a_compiled_model_from_the_cache_tells_the_same(model_files: list[str]) -> None:
    first = _details(model_files)["compiled"]["details"]
    again = _details(model_files)["compiled"]["details"]
    assert again["onnx"].pop("cache") == "hit"
    first["onnx"].pop("cache")
    assert again == first


def test_a_boosting_model_names_its_library_and_objective_last_once_compiled(tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    path = trained.xgboost_json(tmp_path)
    with make_client([f"xgb={path}"]) as client:
        compiled = client.get("/models/xgb").json()["details"]
    with make_client([f"xgb={path}"], runtime="sklearn") as client:
        served = client.get("/models/xgb").json()["details"]
    assert list(compiled) == [*COMPILED_KEYS, "libraries", "objective"]
    assert list(served) == [*SKLEARN_KEYS, "libraries", "objective", "onnx"]
    for details in (compiled, served):
        assert details["libraries"] == {"xgboost": xgboost.__version__}
        assert (details["estimator"], details["objective"]) == ("XGBClassifier", "binary:logistic")
