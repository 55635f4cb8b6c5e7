"""XGBoost: ``model.json``/``.ubj`` files, and what its models record about their inputs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dockml.models.boosting import string_categories

if TYPE_CHECKING:
    from dockml.models.sklearn_structure import InputFacts

SAVE_HINT = "model.save_model('model.json') (or .ubj)"


def error_class(xgboost: Any) -> type[Exception]:
    error: type[Exception] = xgboost.core.XGBoostError
    return error


def load(xgboost: Any, path: Path) -> Any:
    """The scikit-learn wrapper the file was saved from, or the one its objective calls for."""
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


def use_threads(step: Any, threads: int) -> None:
    step.set_params(n_jobs=threads)


def objective(step: Any) -> str:
    name: str = json.loads(step.get_booster().save_config())["learner"]["objective"]["name"]
    return name


def categories(step: Any, columns: list[str]) -> dict[str, tuple[str, ...]]:
    booster = step.get_booster()
    types = booster.feature_types or []
    if "c" not in types:  # the model's JSON (all its trees) is read only for its categories
        return {}
    learner = json.loads(bytes(booster.save_raw("json")))["learner"]
    encodings = learner["gradient_booster"].get("model", {}).get("cats", {}).get("enc", [])
    found = {}
    for index, kind in enumerate(types):
        recorded = _categories(encodings[index]) if kind == "c" and index < len(encodings) else ()
        if recorded and index < len(columns):
            found[columns[index]] = string_categories(columns[index], recorded, "XGBoost")
    return found


def add_facts(facts: InputFacts, step: Any, columns: list[str]) -> None:
    for column, recorded in categories(step, columns).items():
        facts.pandas_categories[column] = facts.categories[column] = recorded
        # XGBoost 3.2 answers for some unseen categories as for a neighbour in sorted order and
        # fails for others: refused, never guessed.
        facts.unseen_refused.add(column)
    booster = step.get_booster()
    try:
        trees = booster.trees_to_dataframe()
    except ValueError:  # a linear booster (gblinear) has no trees, and no thresholds to check at
        return
    splits = trees[trees["Feature"] != "Leaf"].dropna(subset=["Split"])
    names = booster.feature_names or [f"f{i}" for i in range(len(columns))]
    by_name = dict(zip(names, columns, strict=False))
    facts.add_thresholds(
        {by_name[str(name)]: group["Split"].to_numpy(np.float64) for name, group in splits.groupby("Feature")}
    )


def _categories(encoding: dict[str, Any]) -> tuple[Any, ...]:
    """The training categories XGBoost (>= 3.1) stores with a model: strings as UTF-8 bytes cut at
    offsets, numbers as they are."""
    offsets, values = encoding.get("offsets") or [], encoding.get("values") or []
    if not offsets:
        return tuple(values)
    data = bytes(values)
    return tuple(data[start:end].decode() for start, end in itertools.pairwise(offsets))
