"""Asking a loaded model what it takes, by trying it: which inputs may be missing, which string
inputs tolerate an unknown value, and the shape of its outputs.

Reading estimator tags would be a guess about what ``predict`` does; trying ``predict`` on the
example row, changed in one place, is what the model itself gives. A model that answers with a
non-finite value counts as refusing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from dockml.signature import Feature

UNSEEN = "(dockml: a category never seen)"
"""A string no encoder learned: the value the probe for unknown categories sends. (No NUL byte:
XGBoost refuses one in a category name.)"""

Predict = Callable[[np.ndarray], Any]


def answers(predict: Predict, table: np.ndarray) -> bool:
    """Whether ``predict`` answers for every row of ``table`` with finite numbers (or labels)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = predict(table)
    except Exception:  # noqa: BLE001 - any refusal of the model means "not accepted"
        return False
    for part in result if isinstance(result, tuple) else (result,):
        if part is None:
            continue
        for array in part if isinstance(part, list) else [part]:
            values = np.asarray(array)
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                return False
    return True


def _variants(base: np.ndarray, columns: list[int], value: Any) -> np.ndarray:
    """One copy of the row ``base`` per column, with that column set to ``value``."""
    table = np.repeat(base, len(columns), axis=0)
    for row, column in enumerate(columns):
        table[row, column] = value
    return table


def accepting_columns(predict: Predict, base: np.ndarray, columns: list[int], value: Any) -> set[int]:
    """The columns for which the model answers when its value in ``base`` becomes ``value``.
    One call for all of them when the model takes them all (the usual case), else one each."""
    if not columns:
        return set()
    if answers(predict, _variants(base, columns, value)):
        return set(columns)
    return {column for column in columns if answers(predict, _variants(base, [column], value))}


def missing_allowed(predict: Predict, base: np.ndarray, features: tuple[Feature, ...]) -> set[str]:
    accepted = accepting_columns(predict, base, list(range(len(features))), np.nan)
    return {features[i].name for i in accepted}


def unknown_allowed(predict: Predict, base: np.ndarray, features: tuple[Feature, ...]) -> set[str]:
    columns = [i for i, f in enumerate(features) if f.kind == "string" and f.categories]
    return {features[i].name for i in accepting_columns(predict, base, columns, UNSEEN)}
