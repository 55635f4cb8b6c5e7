"""LightGBM: ``model.txt`` files, and what its models record about their inputs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dockml.errors import ConfigError
from dockml.models.boosting import string_categories

if TYPE_CHECKING:
    from dockml.models.sklearn_structure import InputFacts

SAVE_HINT = "booster.save_model('model.txt') (or model.booster_.save_model for LGBMClassifier)"


def error_class(lightgbm: Any) -> type[Exception]:
    error: type[Exception] = lightgbm.basic.LightGBMError
    return error


def load(lightgbm: Any, path: Path) -> Any:
    from dockml.models.boosting.lightgbm_file import wrap_booster

    with path.open("rb") as file:
        if not file.read(4096).lstrip().startswith(b"tree"):
            raise ValueError("it does not start with LightGBM's 'tree' header")
    return wrap_booster(lightgbm.Booster(model_file=str(path)))


def use_threads(step: Any, threads: int) -> None:
    step.set_params(n_jobs=threads)  # LightGBM's wrappers and dockml's file wrapper alike


def objective(step: Any) -> str:
    return str(step.booster_.dump_model(num_iteration=1).get("objective", "custom"))


def add_facts(facts: InputFacts, step: Any, columns: list[str]) -> None:
    for column, recorded in categories(step, columns).items():
        facts.pandas_categories[column] = facts.categories[column] = recorded
    booster = step.booster_
    by_name = dict(zip([str(name) for name in booster.feature_name()], columns, strict=False))
    trees = booster.trees_to_dataframe()
    splits = trees[(trees["decision_type"] == "<=") & trees["threshold"].notna()]
    facts.add_thresholds(
        {
            by_name[str(name)]: group["threshold"].to_numpy(np.float64)
            for name, group in splits.groupby("split_feature")
            if str(name) in by_name
        }
    )


def categories(step: Any, columns: list[str]) -> dict[str, tuple[str, ...]]:
    """pandas ``category`` columns, with the categories LightGBM maps to codes at predict time.

    The model records the categories of every pandas ``category`` column in column order, but not
    which columns they were: they are its categorical features when those are as many (what
    ``categorical_feature="auto"``, the default, makes); a different count is refused rather than
    guessed. (An explicit ``categorical_feature`` list as long as the pandas columns cannot be told
    from "auto": docs/models.md says so.)"""
    booster = step.booster_
    recorded = booster.pandas_categorical or []
    if not recorded:
        return {}
    names = [str(name) for name in booster.feature_name()]
    by_name = dict(zip(names, columns, strict=False))
    categorical = [names[i] for i in _categorical_indices(booster, names)]
    if len(categorical) != len(recorded):
        raise ConfigError(
            f"the LightGBM model has {len(recorded)} pandas category column(s) and {len(categorical)} categorical "
            "feature(s) chosen otherwise (categorical_feature=...): dockml cannot tell which inputs the categories "
            "belong to; train with pandas category dtype for exactly the categorical columns "
            "(categorical_feature='auto')"
        )
    return {
        by_name[name]: string_categories(by_name[name], tuple(values), "LightGBM")
        for name, values in zip(categorical, recorded, strict=True)
    }


def _categorical_indices(booster: Any, names: list[str]) -> list[int]:
    """The categorical features' positions: from the saved parameters, else from the features whose
    recorded values are a set of categories (features LightGBM found constant are left out of it)."""
    listed = booster.params.get("categorical_feature")
    if isinstance(listed, list | tuple) and all(isinstance(i, int) for i in listed):
        return sorted(listed)
    infos = booster.dump_model(num_iteration=1)["feature_infos"]
    return [i for i, name in enumerate(names) if (infos.get(name) or {}).get("values")]
