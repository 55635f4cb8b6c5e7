"""scikit-learn estimators and pipelines from .skops (safe) or .joblib/.pkl (only when trusted)."""

from __future__ import annotations

import json
import logging
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dockml.config import ModelSpec
from dockml.errors import ConfigError, MissingDependency, UnsafeModelFile
from dockml.models.base import LoadedModel, Outputs
from dockml.signature import FeatureKind, build_signature, positional_names

log = logging.getLogger("dockml.models")

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def _require_sklearn() -> Any:
    try:
        import sklearn
    except ImportError:
        raise MissingDependency("scikit-learn models need scikit-learn: pip install 'dockml[sklearn]'") from None
    return sklearn


class SklearnRuntime:
    name = "sklearn"

    def __init__(self, estimator: Any, feature_names: list[str] | None, string_columns: set[str]) -> None:
        self.estimator_ = estimator
        self.feature_names_ = feature_names
        self.string_columns_ = string_columns
        self.has_proba_ = hasattr(estimator, "predict_proba")

    def _frame(self, table: np.ndarray) -> Any:
        if self.feature_names_ is None:
            return table
        import pandas as pd

        frame = pd.DataFrame(table, columns=self.feature_names_)
        if table.dtype == object:
            numeric = [name for name in self.feature_names_ if name not in self.string_columns_]
            frame[numeric] = frame[numeric].astype(np.float64)
        return frame

    def predict(self, table: np.ndarray) -> Outputs:
        features = self._frame(table)
        labels = np.asarray(self.estimator_.predict(features))
        probabilities = self.estimator_.predict_proba(features) if self.has_proba_ else None
        return Outputs(labels=labels, probabilities=probabilities)


def _load_skops(path: Path, trusted: tuple[str, ...]) -> Any:
    try:
        import skops.io as sio
    except ImportError:
        raise MissingDependency(".skops models need skops: pip install 'dockml[sklearn]'") from None
    try:
        return sio.load(path, trusted=list(trusted))
    except sio.exceptions.UntrustedTypesFoundException:
        # Only the types dockml's configuration names are trusted, never what the file lists.
        untrusted = sio.get_untrusted_types(file=path)
        raise UnsafeModelFile(
            f"{path} contains types that skops does not trust by default: {', '.join(untrusted)}. "
            "If you made this file or trust its source, list the types you reviewed in its side file "
            f"({path.stem}.dockml.toml): trusted_types = {json.dumps(untrusted)}"
        ) from None
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
        raise ConfigError(f"{path} is not a readable .skops file: {error}") from None


def _skops_sklearn_version(path: Path) -> str | None:
    try:
        schema = json.loads(zipfile.ZipFile(path).read("schema.json"))
        node = schema["content"]["content"].get("_sklearn_version")
        return json.loads(node["content"]) if node else None
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return None


def check_pickle_trust(path: Path, trust_pickle: bool) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES and not trust_pickle:
        raise UnsafeModelFile(
            f"{path} is a pickle: loading it runs any code the file contains. Serve it only if you made it "
            "or trust who did, with --trust-pickle (or DOCKML_TRUST_PICKLE=1). Better, convert it once to a "
            f"safe format: dockml convert {path} -o {path.with_suffix('.onnx')} --trust-pickle "
            f"(or -o {path.with_suffix('.skops')})"
        )


def _load_pickle(path: Path, trust_pickle: bool) -> Any:
    check_pickle_trust(path, trust_pickle)
    import joblib

    return joblib.load(path)


def _string_categories(estimator: Any, names: list[str]) -> dict[str, tuple[Any, ...]]:
    """Columns that an encoder inside the model learned string categories for."""
    found: dict[str, tuple[Any, ...]] = {}
    for transformer, columns in _column_transformers(estimator, names):
        for encoder in _encoders(transformer):
            for column, categories in zip(columns, encoder.categories_, strict=False):
                values = tuple(c for c in categories.tolist() if c is not None and c == c)
                if values and all(isinstance(c, str) for c in values):
                    found[column] = values
    return found


def _column_transformers(estimator: Any, names: list[str]) -> list[tuple[Any, list[str]]]:
    """(transformer, the input columns it sees) for the steps that see the raw input columns:
    the branches of a ColumnTransformer, or the first steps of a pipeline, as long as each step
    before them keeps the columns in place (an imputer, a scaler)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    steps = [step for _, step in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    branches: list[tuple[Any, list[str]]] = []
    for step in steps:
        if isinstance(step, Pipeline):
            return branches + _column_transformers(step, names)
        if isinstance(step, ColumnTransformer):
            for _, transformer, columns in step.transformers_:
                if isinstance(transformer, str):
                    continue
                selected = np.arange(len(names))[columns] if not _are_names(columns) else columns
                picked = [names[c] if isinstance(c, (int, np.integer)) else str(c) for c in np.atleast_1d(selected)]
                branches.append((transformer, picked))
            return branches
        if hasattr(step, "categories_"):
            return [*branches, (step, names)]
        if not _keeps_columns(step, len(names)):
            return branches
    return branches


def _keeps_columns(step: Any, width: int) -> bool:
    try:
        return len(step.get_feature_names_out()) == width
    except Exception:  # noqa: BLE001 - estimators without feature names out cannot be followed
        return False


def _are_names(columns: Any) -> bool:
    values = [columns] if isinstance(columns, str) else list(np.atleast_1d(columns))
    return all(isinstance(c, str) for c in values)


def _encoders(transformer: Any) -> list[Any]:
    from sklearn.pipeline import Pipeline

    steps = [step for _, step in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    return [step for step in steps if hasattr(step, "categories_")]


def _trees(estimator: Any) -> list[Any]:
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return _trees(estimator.steps[-1][1]) if len(estimator.steps) == 1 else []
    if hasattr(estimator, "tree_"):
        return [estimator.tree_]
    members = np.ravel(getattr(estimator, "estimators_", []))
    return [member.tree_ for member in members if hasattr(member, "tree_")]


def split_thresholds(estimator: Any, count: int) -> dict[int, np.ndarray]:
    """Every split threshold of each feature of a tree model: a trace of the training range."""
    thresholds: dict[int, list[float]] = {}
    for tree in _trees(estimator):
        for feature, threshold in zip(tree.feature.tolist(), tree.threshold.tolist(), strict=True):
            if 0 <= feature < count:
                thresholds.setdefault(feature, []).append(threshold)
    return {feature: np.asarray(values) for feature, values in thresholds.items()}


def load_sklearn(spec: ModelSpec, *, trust_pickle: bool) -> LoadedModel:
    sklearn = _require_sklearn()
    path, meta = spec.path, spec.meta
    saved_with = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if path.suffix.lower() == ".skops":
            estimator = _load_skops(path, meta.trusted_types)
            saved_with = _skops_sklearn_version(path)
        else:
            estimator = _load_pickle(path, trust_pickle)
    for warning in caught:
        saved_with = getattr(warning.message, "original_sklearn_version", saved_with)
    if saved_with and saved_with != sklearn.__version__:
        log.warning(
            "%s was saved with scikit-learn %s but %s is installed; predictions may differ or fail. "
            "Install scikit-learn==%s to match.",
            path,
            saved_with,
            sklearn.__version__,
            saved_with,
        )
    if not hasattr(estimator, "predict"):
        raise ConfigError(f"{path} holds a {type(estimator).__name__}, not a fitted model with predict()")

    feature_names = getattr(estimator, "feature_names_in_", None)
    names_from = "model" if feature_names is not None else "side file" if meta.feature_names else "position"
    if feature_names is not None:
        names = [str(n) for n in feature_names]
    elif hasattr(estimator, "n_features_in_"):
        names = positional_names(int(estimator.n_features_in_), meta)
    elif meta.feature_names:
        names = list(meta.feature_names)
    else:
        raise ConfigError(f"{path}: cannot tell the model's inputs; list them as feature_names in its side file")

    categories = _string_categories(estimator, names)
    kinds: dict[str, FeatureKind] = dict.fromkeys(categories, "string")
    is_classifier = hasattr(estimator, "classes_")
    thresholds = split_thresholds(estimator, len(names))
    signature = build_signature(
        names=names,
        kinds=kinds,
        categories=categories,
        task="classification" if is_classifier else "regression",
        raw_classes=list(estimator.classes_) if is_classifier else [],
        meta=meta,
        # Examples inside the training range, where the model keeps a trace of it (0.0 would be meaningless).
        typical={names[i]: round(float(np.median(values)), 3) for i, values in thresholds.items()},
    )
    string_columns = {f.name for f in signature.features if f.kind == "string"}
    runtime = SklearnRuntime(
        estimator,
        names if feature_names is not None else None,
        string_columns,
    )
    info = {
        "format": path.suffix.lower().lstrip("."),
        "estimator": type(estimator).__name__,
        "sklearn_version": sklearn.__version__,
        "saved_with_sklearn": saved_with,
        "probabilities": runtime.has_proba_,
        "feature_names_from": names_from,
    }
    ranges = {names[i]: (float(v.min()), float(v.max())) for i, v in thresholds.items()}
    return LoadedModel(runtime=runtime, signature=signature, info=info, ranges=ranges)
