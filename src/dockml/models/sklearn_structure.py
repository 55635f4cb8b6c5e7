"""What a fitted scikit-learn model knows about its inputs, read from its steps.

Only the steps that see the raw input values count: the branches of a ColumnTransformer, the
first steps of a pipeline (and the ones after an imputer, which leaves values as they were),
the model itself when nothing transforms before it. From them come the string columns (encoder
categories), the free-text columns (vectorizers), pandas ``category`` columns, and a trace of
each numeric column's training range (scaler statistics, imputer fill values, tree split
thresholds, stored training rows) for examples and the parity check's inputs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dockml.models import boosting

TEXT_INPUT = "text"
"""The input name of a model whose first step is a vectorizer taking one text per row."""


@dataclass
class InputFacts:
    """What the raw-value steps say about the input columns."""

    categories: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    text: set[str] = field(default_factory=set)
    pandas_categories: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """Columns the model wants as pandas ``category`` dtype, with their categories."""
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    typical: dict[str, float] = field(default_factory=dict)
    boundaries: dict[str, np.ndarray] = field(default_factory=dict)
    """Split thresholds of trees that see the raw values: where a rounding difference changes the answer."""
    none_is_missing: set[str] = field(default_factory=set)
    """String columns whose encoder learned None as their missing value (trained on None, not NaN)."""
    unseen_refused: set[str] = field(default_factory=set)
    """Categorical columns whose model has no defined answer for a category it never saw (XGBoost),
    whatever a probe gets back."""
    open_strings: set[str] = field(default_factory=set)
    """Categorical columns that take any string: the model records no closed set (CatBoost)."""

    def add_thresholds(self, thresholds: dict[str, Any]) -> None:
        """Split thresholds per column: the parity check's edges and a trace of the training range."""
        for column, values in thresholds.items():
            edges = np.asarray(values, dtype=np.float64)
            # A split that only sends missing values one way has an infinite threshold (LightGBM: 1e300).
            edges = edges[np.isfinite(edges) & (np.abs(edges) < 1e30)]
            if edges.size:
                self.boundaries.setdefault(column, edges)
                self.ranges.setdefault(column, (float(edges.min()), float(edges.max())))
                self.typical.setdefault(column, round(float(np.median(edges)), 3))


def steps_of(estimator: Any) -> list[Any]:
    steps = getattr(estimator, "steps", None)
    return [step for _, step in steps] if steps is not None else [estimator]


def final_estimator(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return final_estimator(steps[-1][1]) if steps else estimator


def is_vectorizer(step: Any) -> bool:
    """CountVectorizer, TfidfVectorizer, HashingVectorizer: one text per row in, a sparse matrix out."""
    return hasattr(step, "build_analyzer")


def takes_text_only(estimator: Any) -> bool:
    """A pipeline that starts with a vectorizer: its input is a list of texts, not a table."""
    first = steps_of(estimator)[0]
    if getattr(first, "steps", None) is not None:
        return takes_text_only(first)
    return is_vectorizer(first)


def _keeps_values(step: Any) -> bool:
    """Steps after which the next step still sees the raw values (of the same columns)."""
    if isinstance(step, str):
        return step == "passthrough"
    name = type(step).__name__
    return name in ("SimpleImputer", "KNNImputer", "IterativeImputer") or (
        name == "FunctionTransformer" and getattr(step, "func", None) is None
    )


def raw_steps(estimator: Any, columns: list[str]) -> Iterator[tuple[Any, list[str]]]:
    """(step, the input columns whose raw values it sees) for every step that sees raw values."""
    for step in steps_of(estimator):
        if step is None or isinstance(step, str):
            if step in (None, "passthrough"):
                continue
            return
        if getattr(step, "steps", None) is not None:  # a pipeline inside a pipeline
            yield from raw_steps(step, columns)
            return
        if hasattr(step, "transformers_"):  # a ColumnTransformer
            yield from _branches(step, columns)
            return
        yield step, columns
        for member in getattr(step, "named_estimators_", {}).values():  # voting, stacking: each sees the inputs
            if member is not None and not isinstance(member, str):
                yield from raw_steps(member, columns)
        preprocessor = getattr(step, "_preprocessor", None)  # HistGradientBoosting's categorical_features
        if preprocessor is not None and hasattr(preprocessor, "transformers_"):
            for branch, picked in _branches(preprocessor, columns):
                if hasattr(branch, "categories_"):
                    yield _PandasCategories(branch), picked
        if not _keeps_values(step):
            return


@dataclass
class _PandasCategories:
    """HistGradientBoosting's own encoder for ``category``-dtype columns (categorical_features="from_dtype")."""

    encoder: Any


def _branches(transformer: Any, columns: list[str]) -> Iterator[tuple[Any, list[str]]]:
    for _, branch, selection in transformer.transformers_:
        if isinstance(branch, str):
            continue
        picked = _selected(selection, columns)
        if not picked:
            continue
        if is_vectorizer(branch) or (getattr(branch, "steps", None) is not None and takes_text_only(branch)):
            yield _Text(), picked
            continue
        yield from raw_steps(branch, picked)


@dataclass
class _Text:
    """A ColumnTransformer branch that vectorizes one text column."""


def _selected(selection: Any, columns: list[str]) -> list[str]:
    if isinstance(selection, str):
        return [selection]
    values = list(np.atleast_1d(selection))
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return [name for name, keep in zip(columns, values, strict=False) if keep]
    return [columns[int(v)] if isinstance(v, (int, np.integer)) else str(v) for v in values]


def input_facts(estimator: Any, columns: list[str]) -> InputFacts:
    facts = InputFacts()
    for step, picked in raw_steps(estimator, columns):
        if isinstance(step, _Text) or is_vectorizer(step):
            facts.text.update(picked)
        elif isinstance(step, _PandasCategories):
            for column, categories in zip(picked, step.encoder.categories_, strict=False):
                facts.pandas_categories[column] = _known(categories)
                facts.categories[column] = _known(categories)
        elif hasattr(step, "categories_"):
            for column, categories in zip(picked, step.categories_, strict=False):
                if any(c is None for c in np.asarray(categories).tolist()):
                    facts.none_is_missing.add(column)
                values = _known(categories)
                if values and all(isinstance(c, (str, bool, np.bool_)) for c in values):
                    facts.categories[column] = tuple(bool(c) if isinstance(c, np.bool_) else c for c in values)
        elif boosting.library_of(step) is not None:
            boosting.add_input_facts(facts, step, picked)
        else:
            _add_ranges(facts, step, picked)
            facts.add_thresholds(split_thresholds(step, picked))
    return facts


def _known(categories: Any) -> tuple[Any, ...]:
    return tuple(c for c in np.asarray(categories).tolist() if c is not None and c == c)


def _add_ranges(facts: InputFacts, step: Any, columns: list[str]) -> None:
    """Training ranges from a step's fitted statistics, in raw units."""
    width = len(columns)
    low = high = centre = None
    if hasattr(step, "data_min_") and hasattr(step, "data_max_"):  # MinMaxScaler
        low, high = step.data_min_, step.data_max_
    elif hasattr(step, "mean_") and getattr(step, "scale_", None) is not None:  # StandardScaler
        centre, spread = step.mean_, step.scale_
        low, high = centre - 2 * spread, centre + 2 * spread
    elif hasattr(step, "center_") and getattr(step, "scale_", None) is not None:  # RobustScaler
        centre, spread = step.center_, step.scale_
        low, high = centre - spread, centre + spread
    else:
        rows = _stored_rows(step)
        if rows is not None and rows.ndim == 2 and rows.shape[1] == width:
            low, high, centre = rows.min(axis=0), rows.max(axis=0), np.median(rows, axis=0)
    if getattr(step, "statistics_", None) is not None:  # SimpleImputer: its fill values are typical
        with contextlib.suppress(TypeError, ValueError):  # string fill values are no centre
            centre = np.asarray(step.statistics_, dtype=np.float64)
    if low is not None and high is not None and np.ndim(low) == 1 and len(low) == width:
        for column, lowest, highest in zip(columns, low, high, strict=True):
            if np.isfinite(lowest) and np.isfinite(highest):
                facts.ranges.setdefault(column, (float(lowest), float(highest)))
    if centre is not None and np.ndim(centre) == 1 and len(centre) == width:
        for column, value in zip(columns, centre, strict=True):
            if np.isfinite(value):
                facts.typical.setdefault(column, round(float(value), 3))


def _stored_rows(step: Any) -> np.ndarray | None:
    """Rows in input space that a fitted model keeps: neighbours' training data, support vectors,
    cluster centres, class means."""
    for attribute in ("_fit_X", "support_vectors_", "cluster_centers_", "theta_", "means_"):
        value = getattr(step, attribute, None)
        if value is not None and not hasattr(value, "tocsr"):
            try:
                return np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                return None
    return None


def split_thresholds(step: Any, columns: list[str]) -> dict[str, np.ndarray]:
    """Every split threshold of each feature of a tree model: a trace of the training range."""
    thresholds: dict[int, list[float]] = {}
    for tree, features in _trees(step):
        for feature, threshold in zip(tree.feature.tolist(), tree.threshold.tolist(), strict=False):
            # A split that only separates missing values has an infinite threshold.
            if 0 <= feature < len(features) and np.isfinite(threshold):
                thresholds.setdefault(int(features[feature]), []).append(threshold)
    return {columns[f]: np.asarray(values) for f, values in thresholds.items() if f < len(columns)}


def _trees(step: Any) -> list[tuple[Any, Any]]:
    """(tree, the input column of each of its features) for a tree or a forest of them."""
    if hasattr(step, "tree_"):
        return [(step.tree_, range(step.tree_.n_features))]
    raw = getattr(step, "estimators_", [])
    members = raw.ravel().tolist() if isinstance(raw, np.ndarray) else list(raw)  # a Pipeline member is a sequence
    subsets = getattr(step, "estimators_features_", None)  # bagging, isolation forests: a subset each
    found = []
    for index, member in enumerate(members):
        if hasattr(member, "tree_"):
            found.append((member.tree_, subsets[index] if subsets is not None else range(member.tree_.n_features)))
    return found
