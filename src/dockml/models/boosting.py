"""XGBoost, LightGBM and CatBoost models: their native files, what they record about their inputs,
and which of the three libraries an estimator needs.

Native files become the library's own scikit-learn wrapper (a LightGBM ``model.txt``, which has
none, a small one in models/lightgbm_native.py), so they are served exactly as the same model
pickled would be: one path for signatures, probes, compilation and parity.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dockml.errors import ConfigError, MissingDependency

if TYPE_CHECKING:
    from dockml.models.sklearn_structure import InputFacts

LIBRARIES = ("xgboost", "lightgbm", "catboost")
NATIVE_SUFFIXES = {".json": "xgboost", ".ubj": "xgboost", ".txt": "lightgbm", ".cbm": "catboost"}
"""A model file's suffix -> the library whose native format it is."""

_CLASSIFIER_LOSSES = ("Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll")
"""CatBoost losses whose models answer classes and probabilities."""


def library_of(step: Any) -> str | None:
    """The boosting library a fitted object comes from, if any."""
    root = type(step).__module__.split(".")[0]
    if root in LIBRARIES:
        return root
    return "lightgbm" if type(step).__module__ == "dockml.models.lightgbm_native" else None


def libraries_in(estimator: Any) -> set[str]:
    """Every boosting library an estimator needs, looking into pipelines, column transformers and
    ensembles (any fitted attribute that holds estimators)."""
    found: set[str] = set()
    seen: set[int] = set()
    todo = [estimator]
    while todo:
        item = todo.pop()
        if id(item) in seen or item is None or isinstance(item, (str, bytes, int, float, np.generic)):
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)) or (isinstance(item, np.ndarray) and item.dtype == object):
            todo.extend(list(item.ravel()) if isinstance(item, np.ndarray) else item)
        elif (library := library_of(item)) is not None:
            found.add(library)
        elif hasattr(item, "fit") and hasattr(item, "__dict__"):
            todo.extend(vars(item).values())
    return found


def require(library: str) -> Any:
    import importlib

    try:
        return importlib.import_module(library)
    except ImportError:
        raise MissingDependency(f"{library} models need {library}: pip install 'dockml[{library}]'") from None


def load_native(path: Path) -> Any:
    """A native XGBoost, LightGBM or CatBoost file as the library's scikit-learn wrapper."""
    library = NATIVE_SUFFIXES[path.suffix.lower()]
    module = require(library)
    loader = {"xgboost": _load_xgboost, "lightgbm": _load_lightgbm, "catboost": _load_catboost}[library]
    try:
        return loader(module, path)
    except (ValueError, OSError, KeyError, module_error(module)) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ConfigError(
            f"{path} is not a model file {library} can read ({first}); dockml serves {library} models saved with "
            f"{_SAVE_HINT[library]}"
        ) from None


_SAVE_HINT = {
    "xgboost": "model.save_model('model.json') (or .ubj)",
    "lightgbm": "booster.save_model('model.txt') (or model.booster_.save_model for LGBMClassifier)",
    "catboost": "model.save_model('model.cbm')",
}


_ERRORS = {
    "xgboost": ("xgboost.core", "XGBoostError"),
    "lightgbm": ("lightgbm.basic", "LightGBMError"),
    "catboost": ("catboost", "CatBoostError"),
}


def module_error(module: Any) -> type[Exception]:
    """The library's own error class for a file it cannot read."""
    import importlib

    where, name = _ERRORS[module.__name__]
    error: type[Exception] = getattr(importlib.import_module(where), name)
    return error


def _load_xgboost(xgboost: Any, path: Path) -> Any:
    booster = xgboost.Booster(model_file=str(path))
    declared = json.loads(booster.attr("scikit_learn") or "{}").get("_estimator_type")
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    if declared == "classifier" or (declared is None and objective.split(":")[0] in ("binary", "multi")):
        model = xgboost.XGBClassifier()
    elif declared == "ranker" or objective.startswith("rank:"):
        model = xgboost.XGBRanker()
    else:
        model = xgboost.XGBRegressor()
    model.load_model(str(path))
    return model


def _load_lightgbm(lightgbm: Any, path: Path) -> Any:
    from dockml.models.lightgbm_native import wrap_booster

    if not path.read_bytes()[:4096].lstrip().startswith(b"tree"):
        raise ValueError("it does not start with LightGBM's 'tree' header")
    return wrap_booster(lightgbm.Booster(model_file=str(path)))


def _load_catboost(catboost: Any, path: Path) -> Any:
    probe = catboost.CatBoost()
    probe.load_model(str(path))
    loss = str(probe.get_all_params().get("loss_function", "")).split(":")[0]
    model = catboost.CatBoostClassifier() if loss in _CLASSIFIER_LOSSES else catboost.CatBoostRegressor()
    model.load_model(str(path))
    return model


def feature_names(step: Any) -> list[str] | None:
    """Input names a boosting model records where scikit-learn's ``feature_names_in_`` is absent
    (CatBoost), unless they are only the positions it made up."""
    names = getattr(step, "feature_names_", None) if library_of(step) == "catboost" else None
    if not names or [str(n) for n in names] == [str(i) for i in range(len(names))]:
        return None
    return [str(n) for n in names]


def add_input_facts(facts: InputFacts, step: Any, columns: list[str]) -> None:
    """Categorical inputs, their categories where the model keeps them, and split thresholds."""
    library = library_of(step)
    if library == "xgboost":
        _xgboost_facts(facts, step.get_booster(), columns)
    elif library == "lightgbm":
        _lightgbm_facts(facts, step.booster_, columns)
    elif library == "catboost":
        for index in step.get_cat_feature_indices():
            facts.open_strings.add(columns[index])
        borders = step.get_borders() or {}
        _add_thresholds(facts, {columns[int(i)]: values for i, values in borders.items() if int(i) < len(columns)})


def _xgboost_facts(facts: InputFacts, booster: Any, columns: list[str]) -> None:
    learner = json.loads(bytes(booster.save_raw("json")))["learner"]
    types = learner.get("feature_types") or []
    encodings = learner["gradient_booster"].get("model", {}).get("cats", {}).get("enc", [])
    for index, kind in enumerate(types):
        if kind != "c" or index >= len(columns):
            continue
        categories = _xgboost_categories(encodings[index]) if index < len(encodings) else ()
        if categories:
            facts.pandas_categories[columns[index]] = categories
            facts.categories[columns[index]] = categories
            # XGBoost 3.2 answers for some unseen categories as for a neighbour in sorted order and
            # fails for others: refused, never guessed.
            facts.unseen_refused.add(columns[index])
    trees = booster.trees_to_dataframe()
    splits = trees[trees["Feature"] != "Leaf"].dropna(subset=["Split"])
    names = booster.feature_names or [f"f{i}" for i in range(len(columns))]
    by_name = dict(zip(names, columns, strict=False))
    _add_thresholds(
        facts,
        {by_name[str(name)]: group["Split"].to_numpy(np.float64) for name, group in splits.groupby("Feature")},
    )


def _xgboost_categories(encoding: dict[str, Any]) -> tuple[str, ...]:
    """The training categories XGBoost (>= 3.1) stores with a model: UTF-8 bytes cut at offsets."""
    offsets, values = encoding.get("offsets") or [], encoding.get("values") or []
    if not offsets:
        return ()
    data = bytes(values)
    return tuple(data[start:end].decode() for start, end in itertools.pairwise(offsets))


def _lightgbm_facts(facts: InputFacts, booster: Any, columns: list[str]) -> None:
    infos = booster.dump_model(num_iteration=0)["feature_infos"]
    categorical = [columns[i] for i, info in enumerate(infos.values()) if info.get("values") and i < len(columns)]
    for column, categories in zip(categorical, booster.pandas_categorical or [], strict=False):
        known = tuple(str(c) if not isinstance(c, (int, float)) else c for c in categories)
        facts.pandas_categories[column] = known
        facts.categories[column] = known
    trees = booster.trees_to_dataframe()
    splits = trees[(trees["decision_type"] == "<=") & trees["threshold"].notna()]
    by_name = dict(zip(booster.feature_name(), columns, strict=False))
    _add_thresholds(
        facts,
        {
            by_name[str(name)]: group["threshold"].to_numpy(np.float64)
            for name, group in splits.groupby("split_feature")
        },
    )


def _add_thresholds(facts: InputFacts, thresholds: dict[str, Any]) -> None:
    for column, values in thresholds.items():
        finite = np.asarray(values, dtype=np.float64)
        # LightGBM writes 1e300 for a split that only sends missing values one way: no value's edge.
        finite = finite[np.isfinite(finite) & (np.abs(finite) < 1e30)]
        if not finite.size:
            continue
        facts.boundaries.setdefault(column, finite)
        facts.ranges.setdefault(column, (float(finite.min()), float(finite.max())))
        facts.typical.setdefault(column, round(float(np.median(finite)), 3))
