"""A LightGBM ``model.txt`` as a scikit-learn estimator: LightGBM has no wrapper that loads one.

It answers as ``LGBMClassifier``/``LGBMRegressor`` would for the same booster: probabilities from
``booster.predict``, labels the most probable class. A text file records no class labels, so the
classes are 0..k-1, the labels LightGBM trained on. ``booster_`` is the attribute onnxmltools'
converter reads, so it compiles as LightGBM's own wrappers do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

_CLASSIFIER_OBJECTIVES = ("binary", "multiclass", "multiclassova")
"""cross_entropy is left out: a text file cannot say whether an LGBMClassifier or an LGBMRegressor
(on fractional labels) was trained with it, and Booster.predict's value is what the model gives."""


class _Booster(BaseEstimator):  # type: ignore[misc]
    boosting_library = "lightgbm"

    def __init__(self, booster: Any = None, n_jobs: int | None = None) -> None:
        self.booster = booster
        self.n_jobs = n_jobs

    @property
    def booster_(self) -> Any:
        return self.booster

    @property
    def boosting_type(self) -> str:
        """Read by onnxmltools: a random forest averages its trees where boosting sums them."""
        return "rf" if self.booster.params.get("boosting") == "rf" else "gbdt"

    def _fitted(self) -> None:
        names = [str(n) for n in self.booster.feature_name()]
        self.n_features_in_ = len(names)
        # LightGBM names unnamed columns Column_0, Column_1, ...: those are positions, not names.
        if names != [f"Column_{i}" for i in range(len(names))]:
            self.feature_names_in_ = np.asarray(names, dtype=object)

    def _raw(self, features: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(features, num_threads=self.n_jobs or 0))


class LightGBMClassifierFile(ClassifierMixin, _Booster):  # type: ignore[misc]
    def predict_proba(self, features: Any) -> np.ndarray:
        raw = self._raw(features)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, features: Any) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(features), axis=1)])


class LightGBMRegressorFile(RegressorMixin, _Booster):  # type: ignore[misc]
    def predict(self, features: Any) -> np.ndarray:
        return self._raw(features)


def wrap_booster(booster: Any) -> _Booster:
    dumped = booster.dump_model(num_iteration=1)
    if "objective" not in dumped:
        raise ValueError("it was trained with a custom objective, which the file does not hold")
    objective = str(dumped["objective"]).split()[0]
    if objective in _CLASSIFIER_OBJECTIVES:
        model: _Booster = LightGBMClassifierFile(booster)
        model.classes_ = np.arange(max(2, booster.num_model_per_iteration()))  # one tree per class a round
    else:
        model = LightGBMRegressorFile(booster)
    model._fitted()
    return model
