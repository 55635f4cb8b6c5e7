"""Compiling scikit-learn models to ONNX Runtime: parity, fallback, cache and `dockml convert`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import trained
from dockml.config import model_spec
from dockml.models import load_model
from dockml.models.details import ServedBySklearn
from dockml.models.parity import CheckRows, compare, sample_table
from dockml.models.sklearn import load_sklearn


def _parity_on(path: Path, table: np.ndarray | CheckRows) -> None:
    spec = model_spec(str(path))
    original = load_sklearn(spec, trust_pickle=True)
    compiled = load_model(spec, trust_pickle=True, runtime="onnx")
    assert compiled.runtime.name == "onnx"
    rows = table if isinstance(table, CheckRows) else CheckRows(table)
    report = compare(original.runtime, compiled.runtime, rows, original.signature)
    assert report.passed, report.reason
    assert report.label_mismatches == 0


def test_iris_forest_compiles_with_identical_labels_on_the_whole_dataset(demo_models):
    from sklearn.datasets import load_iris

    _parity_on(demo_models["iris"], load_iris().data)


def test_digits_forest_compiles_with_identical_labels_on_the_whole_dataset(demo_models):
    from sklearn.datasets import load_digits

    _parity_on(demo_models["digits"], load_digits().data)


def test_forest_compiles_with_scikit_learns_missing_value_branches(demo_models):
    """scikit-learn's forests answer NaN, down the branch each node learned; the compiled graph
    is given the same branches, so the compiled model takes missing values too."""
    spec = model_spec(str(demo_models["iris"]))
    original = load_sklearn(spec, trust_pickle=False)
    compiled = load_model(spec, runtime="onnx")
    assert all(f.allows_missing for f in compiled.signature.features)
    assert compiled.details.compilation.parity.missing_rows > 0
    table = load_iris_with_gaps()
    rows = CheckRows(table, missing_rows=len(table))
    assert compare(original.runtime, compiled.runtime, rows, original.signature).label_mismatches == 0


def load_iris_with_gaps() -> np.ndarray:
    from sklearn.datasets import load_iris

    table = load_iris().data.copy()
    for column in range(4):
        table[column::4, column] = np.nan
    return table


def test_compiled_model_that_answers_nan_otherwise_refuses_missing_values(demo_models, monkeypatch):
    """Without the missing-value branches the graph answers NaN differently: rather than fall back
    to the slow runtime or answer wrongly, the compiled model refuses missing values and says why."""
    monkeypatch.setattr("dockml.models.compile.track_missing_values", lambda model, estimator: None)
    compiled = load_model(model_spec(str(demo_models["iris"])), runtime="onnx")
    assert not any(f.allows_missing for f in compiled.signature.features)
    assert "--runtime sklearn" in compiled.details.compilation.parity.reason


def test_regression_compiles_within_tolerance(tmp_path):
    path = trained.regression_skops(tmp_path)
    spec = model_spec(str(path))
    table = sample_table(load_sklearn(spec, trust_pickle=False).signature, {})
    _parity_on(path, table)


def test_pipeline_with_scaling_and_one_hot_compiles(tmp_path):
    path = trained.categorical_pipeline_skops(tmp_path)
    frame, _ = trained.pipeline_frame(100)
    _parity_on(path, frame[["age", "income", "city"]].to_numpy(dtype=object))
    compiled = load_model(model_spec(str(path)), runtime="onnx")
    city = compiled.signature.features[2]
    assert (city.kind, city.categories) == ("string", ("lyon", "nice", "paris"))


def test_model_skl2onnx_cannot_convert_falls_back_to_sklearn_with_the_reason(tmp_path, caplog):
    path = trained.function_transformer_skops(tmp_path)
    loaded = load_model(model_spec(str(path)), runtime="auto")
    assert loaded.runtime.name == "sklearn"
    assert isinstance(loaded.details.compilation, ServedBySklearn)
    assert "FunctionTransformer" in loaded.details.compilation.reason
    assert "served by scikit-learn" in caplog.text


def test_runtime_onnx_refuses_a_model_that_does_not_compile(tmp_path):
    from dockml.errors import ConfigError

    path = trained.function_transformer_skops(tmp_path)
    with pytest.raises(ConfigError, match="cannot be served by ONNX Runtime"):
        load_model(model_spec(str(path)), runtime="onnx")


def test_compiled_model_is_cached_by_the_source_sha256(tmp_path):
    path = trained.regression_skops(tmp_path)
    cache = tmp_path / "cache"
    first = load_model(model_spec(str(path)), runtime="auto", cache_dir=cache)
    second = load_model(model_spec(str(path)), runtime="auto", cache_dir=cache)
    assert first.details.compilation.cache == "miss"
    assert second.details.compilation.cache == "hit"
    assert second.details.compilation.parity.passed is True
    (entry,) = cache.glob("*.onnx")
    assert entry.stat().st_mode & 0o777 == 0o644  # an image's user must read it; it was 0600


def test_parity_report_counts_differing_labels(demo_models):
    """The check can fail: iris compared with a model trained on shuffled labels."""
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    from dockml.models.parity import CheckRows
    from dockml.models.sklearn import InputAdapter, SklearnRuntime

    data = load_iris()
    array = InputAdapter("array")
    honest = SklearnRuntime(
        DecisionTreeClassifier(random_state=0).fit(data.data, data.target), array, probabilities=True
    )
    shuffled = np.random.default_rng(0).permutation(data.target)
    liar = SklearnRuntime(DecisionTreeClassifier(random_state=0).fit(data.data, shuffled), array, probabilities=True)
    report = compare(honest, liar, CheckRows(data.data), load_model(model_spec(str(demo_models["iris"]))).signature)
    assert not report.passed
    assert report.label_mismatches > 50


@pytest.mark.slow
def test_convert_writes_an_onnx_file_that_serves_without_the_original(tmp_path):
    source = trained.iris_pickle(tmp_path)
    (tmp_path / "iris_tree.dockml.toml").write_text('class_names = ["setosa", "versicolor", "virginica"]\n')
    output = tmp_path / "out" / "iris.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "dockml", "convert", str(source), "-o", str(output), "--trust-pickle"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "0 labels differ" in result.stdout
    assert (tmp_path / "out" / "iris.dockml.toml").is_file()
    # Readable by every user (an image's user is not the one who converted): it was written 0600.
    assert output.stat().st_mode & 0o777 == 0o644
    loaded = load_model(model_spec(str(output)))
    assert loaded.runtime.name == "onnx"
    assert loaded.signature.classes == ("setosa", "versicolor", "virginica")
    assert loaded.signature.names == ("x0", "x1", "x2", "x3")


@pytest.mark.slow
def test_convert_refuses_a_pickle_without_trust(tmp_path):
    source = trained.iris_pickle(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "dockml", "convert", str(source), "-o", str(tmp_path / "x.onnx")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--trust-pickle" in result.stderr
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.slow
def test_convert_to_skops_says_which_types_to_trust(tmp_path):
    source = trained.iris_pickle(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "dockml", "convert", str(source), "-o", str(tmp_path / "tree.skops"), "--trust-pickle"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert 'trusted_types = ["sklearn.tree._tree.Tree"]' in result.stdout


def test_check_rows_sit_on_split_thresholds_and_catch_a_graph_that_rounds_otherwise(demo_models):
    """The demo forest compiled with double inputs compares values in float64 where scikit-learn
    uses float32: iris's own values sit at the splits, and so do the check's boundary rows."""
    from skl2onnx.common.data_types import DoubleTensorType

    from dockml.models.compile import _convert
    from dockml.models.onnx import OnnxRuntime, session

    original = load_sklearn(model_spec(str(demo_models["iris"])), trust_pickle=False)
    rows = sample_table(original.signature, original.ranges, None, original.boundaries)
    thresholds = np.concatenate(list(original.boundaries.values()))
    assert np.isin(rows.table.astype(np.float32), thresholds.astype(np.float32)).any()
    graph = _convert(original.runtime.estimator, original.signature, DoubleTensorType)
    doubled = OnnxRuntime.from_session(session(graph.SerializeToString()), probabilities=True)
    assert not compare(original.runtime, doubled, rows, original.signature).passed
