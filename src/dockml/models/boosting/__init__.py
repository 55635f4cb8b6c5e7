"""XGBoost, LightGBM and CatBoost models: their native files, what they record about their inputs,
and which of the three libraries an estimator needs. One module per library (``*_impl.py``) says
how its file loads and what its models record; this one dispatches.

Native files become the library's own scikit-learn wrapper (a LightGBM ``model.txt``, which has
none, the small one in lightgbm_file.py), so they are served exactly as the same model pickled
would be: one path for signatures, probes, compilation and parity.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from dockml.errors import ConfigError, MissingDependency

if TYPE_CHECKING:
    from dockml.models.sklearn_structure import InputFacts

LIBRARIES = ("xgboost", "lightgbm", "catboost")
NATIVE_SUFFIXES = {".json": "xgboost", ".ubj": "xgboost", ".txt": "lightgbm", ".cbm": "catboost"}
"""A model file's suffix -> the library whose native format it is."""


def _impl(library: str) -> ModuleType:
    return importlib.import_module(f"dockml.models.boosting.{library}_impl")


def library_of(step: Any) -> str | None:
    """The boosting library a fitted object comes from, if any (dockml's own LightGBM file
    wrapper names its library)."""
    root = type(step).__module__.split(".")[0]
    if root in LIBRARIES:
        return root
    library: str | None = getattr(type(step), "boosting_library", None)
    return library


def boosting_steps(estimator: Any) -> list[Any]:
    """Every XGBoost, LightGBM and CatBoost model inside an estimator, looking into pipelines,
    column transformers and ensembles (any fitted attribute that holds estimators)."""
    found: list[Any] = []
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
        elif library_of(item) is not None:
            found.append(item)
        elif hasattr(item, "fit") and hasattr(item, "__dict__"):
            todo.extend(vars(item).values())
    return found


def libraries_in(estimator: Any) -> set[str]:
    """Every boosting library an estimator needs."""
    return {library for step in boosting_steps(estimator) if (library := library_of(step)) is not None}


def use_threads(estimator: Any, threads: int) -> None:
    """Predict on ``threads`` threads (the worker's share of the cores)."""
    for step in boosting_steps(estimator):
        _impl(str(library_of(step))).use_threads(step, threads)


def installed_version(library: str) -> str:
    """The version of the distribution that provides ``library`` (xgboost may come as xgboost-cpu,
    as in dockml's images)."""
    for distribution in importlib.metadata.packages_distributions().get(library, [library]):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def require(library: str) -> ModuleType:
    try:
        return importlib.import_module(library)
    except ImportError:
        raise MissingDependency(f"{library} models need {library}: pip install 'dockml[{library}]'") from None


def load_native(path: Path) -> Any:
    """A native XGBoost, LightGBM or CatBoost file as the library's scikit-learn wrapper."""
    library = NATIVE_SUFFIXES[path.suffix.lower()]
    module, impl = require(library), _impl(library)
    try:
        return impl.load(module, path)
    except (ValueError, OSError, KeyError, impl.error_class(module)) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ConfigError(
            f"{path} is not a model file {library} can read ({first}); dockml serves {library} models saved with "
            f"{impl.SAVE_HINT}"
        ) from None


def feature_names(step: Any) -> list[str] | None:
    """Input names a boosting model records where scikit-learn's ``feature_names_in_`` is absent."""
    if library_of(step) != "catboost":
        return None
    names: list[str] | None = _impl("catboost").feature_names(step)
    return names


def feature_count(step: Any) -> int | None:
    """How many inputs a boosting model takes where ``n_features_in_`` does not say."""
    if library_of(step) != "catboost":
        return None
    count: int | None = _impl("catboost").feature_count(step)
    return count


def objective(estimator: Any) -> str | None:
    """The boosting model's objective (its loss), when the estimator ends with one."""
    from dockml.models.sklearn_structure import final_estimator

    final = final_estimator(estimator)
    library = library_of(final)
    return None if library is None else str(_impl(library).objective(final))


def labels_in_a_column(estimator: Any) -> bool:
    """CatBoost's multi-class predict answers one label per row as an (n, 1) column: one output."""
    from dockml.models.sklearn_structure import final_estimator

    return library_of(final_estimator(estimator)) == "catboost"


def add_input_facts(facts: InputFacts, step: Any, columns: list[str]) -> None:
    """Categorical inputs, their categories where the model keeps them, and split thresholds."""
    library = library_of(step)
    if library is not None:
        _impl(library).add_facts(facts, step, columns)


def recorded_categories(step: Any, columns: list[str]) -> dict[str, tuple[str, ...]]:
    """The categories of each ``category`` input, as the model codes them (position = code),
    without reading its trees."""
    library = library_of(step)
    categories: dict[str, tuple[str, ...]] = {} if library is None else _impl(library).categories(step, columns)
    return categories


def string_categories(column: str, categories: tuple[Any, ...], library: str) -> tuple[str, ...]:
    """Categories as dockml takes them (strings), or a start that says why not."""
    if all(isinstance(category, str) for category in categories):
        return categories
    raise ConfigError(
        f"input '{column}': the {library} model recorded categories that are not strings "
        f"({', '.join(map(str, categories[:5]))}{', ...' if len(categories) > 5 else ''}); dockml takes categories "
        "as strings: train with the column cast to strings (frame[col].astype(str).astype('category'))"
    )
