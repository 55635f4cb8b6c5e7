"""CatBoost: ``model.cbm`` files, and what its models record about their inputs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockml.errors import ConfigError

if TYPE_CHECKING:
    from dockml.models.sklearn_structure import InputFacts

SAVE_HINT = "model.save_model('model.cbm')"
_CLASSIFIER_LOSSES = ("Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll", "Focal")
"""Where CatBoost's own test (private) is missing: the losses whose models answer classes."""


def error_class(catboost: Any) -> type[Exception]:
    error: type[Exception] = catboost.CatBoostError
    return error


def load(catboost: Any, path: Path) -> Any:
    probe = catboost.CatBoost()
    probe.load_model(str(path))
    loss = str(probe.get_all_params().get("loss_function", ""))
    if _is_multi_target(loss):
        raise ConfigError(
            f"{path}: CatBoost models with several targets ({loss.split(':')[0]}) are not served yet; "
            "train one model per target"
        )
    model = catboost.CatBoostClassifier() if _is_classification(loss) else catboost.CatBoostRegressor()
    model.load_model(str(path))
    return model


def _is_classification(loss: str) -> bool:
    try:
        from catboost._catboost import is_classification_objective
    except ImportError:
        return loss.split(":")[0] in _CLASSIFIER_LOSSES
    return bool(is_classification_objective(loss))


def _is_multi_target(loss: str) -> bool:
    try:
        from catboost._catboost import is_multitarget_objective
    except ImportError:
        return loss.split(":")[0].startswith(("Multi", "SurvivalAft")) and not loss.startswith("MultiClass")
    return bool(is_multitarget_objective(loss))


def feature_names(step: Any) -> list[str] | None:
    """The names CatBoost recorded, unless they are only the positions it made up."""
    names = [str(name) for name in getattr(step, "feature_names_", None) or []]
    return names if names and names != [str(i) for i in range(len(names))] else None


def feature_count(step: Any) -> int | None:
    """How many inputs the model takes: ``n_features_in_`` reads 0 once loaded from a file."""
    names = getattr(step, "feature_names_", None)
    return len(names) if names else None


def use_threads(step: Any, threads: int) -> None:
    """Nothing to set: a fitted CatBoost model refuses new parameters, and its predictions run on
    CatBoost's own thread pool (not OpenMP), which it starts again in a forked worker."""


def objective(step: Any) -> str:
    return str(step.get_all_params().get("loss_function", "unknown"))


def add_facts(facts: InputFacts, step: Any, columns: list[str]) -> None:
    for index in step.get_cat_feature_indices():
        if index < len(columns):
            facts.open_strings.add(columns[index])
    borders = step.get_borders() or {}
    facts.add_thresholds({columns[int(i)]: values for i, values in borders.items() if int(i) < len(columns)})


def categories(step: Any, columns: list[str]) -> dict[str, tuple[str, ...]]:
    return {}  # CatBoost hashes its categories: it records no closed set
