"""What a model takes and gives, read from the model itself and completed by its side file.

The signature drives validation, the OpenAPI document, its examples and the error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from dockml.config import ImageSpec, ModelMeta
from dockml.errors import ConfigError

FeatureKind = Literal["number", "integer", "string", "boolean"]
Task = Literal["classification", "regression", "clustering", "outlier_detection"]
LABELLED_TASKS = ("classification", "clustering", "outlier_detection")
"""Tasks whose predictions are labels (classes, cluster ids, inlier 1 / outlier -1), not values."""


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    kind: FeatureKind = "number"
    description: str = ""
    example: Any = None
    categories: tuple[Any, ...] | None = None
    allows_missing: bool = False
    """The model answers when this value is missing (null, an empty cell, NaN)."""
    allows_unknown: bool = False
    """The model answers for a value outside ``categories`` (its encoder tolerates unknowns)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind}
        if self.description:
            out["description"] = self.description
        if self.categories is not None:
            out["categories"] = list(self.categories)
            out["allows_unknown"] = self.allows_unknown
        out["allows_missing"] = self.allows_missing
        out["example"] = self.example
        return out


@dataclass(frozen=True)
class Signature:
    features: tuple[Feature, ...]
    task: Task
    classes: tuple[Any, ...] = ()
    """Class labels as the client sees them (mapped to names where the side file gives them)."""
    image: ImageSpec | None = None
    raw_classes: tuple[Any, ...] = ()
    """Class labels as the model outputs them, in the order of its probability columns."""
    targets: tuple[str, ...] = ()
    """The names of a multi-output model's targets (one value each per row); empty for one output."""
    target_classes: tuple[tuple[Any, ...], ...] = ()
    """A multi-output classifier's classes, per target."""
    probabilities: bool = False
    """The model gives class probabilities (its estimator has ``predict_proba``)."""

    # Cached: the request path asks for these on every call.
    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @cached_property
    def name_set(self) -> frozenset[str]:
        return frozenset(self.names)

    @cached_property
    def integer_columns(self) -> list[int]:
        return [i for i, f in enumerate(self.features) if f.kind == "integer"]

    @cached_property
    def all_numeric(self) -> bool:
        return all(f.kind in ("number", "integer") for f in self.features)

    @cached_property
    def nullable_columns(self) -> np.ndarray | None:
        """A row mask of the features that allow a missing value, or None when none does."""
        mask = np.array([f.allows_missing for f in self.features])
        return mask if mask.any() else None

    @cached_property
    def multi_output(self) -> bool:
        return bool(self.targets)

    @property
    def labelled(self) -> bool:
        return self.task in LABELLED_TASKS

    def expected(self) -> str:
        return ", ".join(self.names)

    def example_record(self) -> dict[str, Any]:
        return {f.name: f.example for f in self.features}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "inputs": [f.to_dict() for f in self.features],
            "output": {"task": self.task},
        }
        output = out["output"]
        if self.task == "classification" and not self.multi_output:
            output["classes"] = list(self.classes)
        if self.multi_output:
            output["targets"] = list(self.targets)
            if self.target_classes:
                output["classes"] = {t: list(c) for t, c in zip(self.targets, self.target_classes, strict=False)}
        output["probabilities"] = self.probabilities
        if self.image is not None:
            out["image"] = {
                "width": self.image.width,
                "height": self.image.height,
                "grayscale": self.image.grayscale,
                "invert": self.image.invert,
                "scale_max": self.image.scale_max,
                "crop": self.image.crop,
            }
        return out


def default_example(kind: FeatureKind, categories: tuple[Any, ...] | None) -> Any:
    if categories:
        return categories[0]
    return {"number": 0.0, "integer": 0, "string": "", "boolean": False}[kind]


@dataclass(frozen=True)
class ModelFacts:
    """What a runtime read from a model file, before the side file adds to it."""

    names: list[str]
    task: Task
    kinds: dict[str, FeatureKind] = field(default_factory=dict)
    categories: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    raw_classes: list[Any] = field(default_factory=list)
    typical: dict[str, Any] = field(default_factory=dict)
    """A value inside the training range per feature, for examples."""
    allows_missing: frozenset[str] = frozenset()
    allows_unknown: frozenset[str] = frozenset()
    targets: int = 0
    """How many targets a multi-output model predicts per row; 0 for one output."""
    target_classes: list[list[Any]] = field(default_factory=list)
    probabilities: bool = False


def build_signature(facts: ModelFacts, meta: ModelMeta) -> Signature:
    """Merge what the runtime read from the model file with what the side file declares."""
    if meta.image is not None:
        _check_image(meta.image, len(facts.names))
    features = []
    for name in facts.names:
        declared = meta.inputs.get(name)
        kind: FeatureKind = declared.type if declared and declared.type else facts.kinds.get(name, "number")  # type: ignore[assignment]
        cats = declared.categories if declared and declared.categories else facts.categories.get(name)
        if cats is not None and all(isinstance(c, bool) for c in cats):
            kind = "boolean"
        elif cats is not None and all(isinstance(c, str) for c in cats):
            kind = "string"
        example = declared.example if declared and declared.example is not None else None
        if example is None and meta.examples and name in meta.examples[0]:
            example = meta.examples[0][name]
        if example is None and name in facts.typical:
            example = facts.typical[name]
        if example is None:
            example = default_example(kind, cats)
        allows_missing = name in facts.allows_missing
        if declared is not None and declared.allows_missing is not None:
            allows_missing = declared.allows_missing
        features.append(
            Feature(
                name=name,
                kind=kind,
                description=declared.description if declared else "",
                example=example,
                categories=cats,
                allows_missing=allows_missing,
                allows_unknown=cats is not None and name in facts.allows_unknown,
            )
        )
    classes: tuple[Any, ...] = ()
    plain_classes = tuple(_plain(c) for c in facts.raw_classes)
    if facts.task == "classification" and not facts.targets:
        classes = plain_classes
        if meta.class_names is not None:
            if len(meta.class_names) != len(plain_classes):
                raise ConfigError(
                    f"class_names has {len(meta.class_names)} names but the model has "
                    f"{len(plain_classes)} classes: {list(classes)}"
                )
            classes = meta.class_names
    return Signature(
        features=tuple(features),
        task=facts.task,
        classes=classes,
        image=meta.image,
        raw_classes=plain_classes,
        targets=target_names(facts.targets, meta),
        target_classes=tuple(tuple(_plain(c) for c in target) for target in facts.target_classes),
        probabilities=facts.probabilities,
    )


def _check_image(image: ImageSpec, inputs: int) -> None:
    if not image.grayscale:
        raise ConfigError("[image] grayscale = false is not supported: pictures become grey levels")
    if image.width * image.height != inputs:
        raise ConfigError(
            f"[image] makes a picture {image.width}x{image.height} = {image.width * image.height} grey levels, but "
            f"the model takes {inputs} inputs: set width and height so that width x height = {inputs}"
        )


def target_names(count: int, meta: ModelMeta) -> tuple[str, ...]:
    """A multi-output model's target names: the side file's, else "0".."count-1" (pandas' default labels)."""
    if meta.target_names is not None:
        if len(meta.target_names) != count:
            what = f"{count} targets" if count else "one output"
            raise ConfigError(f"target_names has {len(meta.target_names)} names but the model predicts {what}")
        return tuple(meta.target_names)
    return tuple(str(i) for i in range(count))


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so labels serialise as JSON numbers and strings."""
    return value.item() if hasattr(value, "item") else value


def positional_names(count: int, meta: ModelMeta) -> list[str]:
    """Feature names for a model that has none: the side file's, else x0..x{n-1}."""
    if meta.feature_names is not None:
        if len(meta.feature_names) != count:
            raise ConfigError(f"feature_names has {len(meta.feature_names)} names but the model takes {count} inputs")
        return list(meta.feature_names)
    return [f"x{i}" for i in range(count)]


def facts_of(signature: Signature) -> ModelFacts:
    """The facts a signature was built from, with the side file's additions kept: what a compiled
    model stores, so that serving it needs neither the original model nor its library."""
    features = signature.features
    return ModelFacts(
        names=list(signature.names),
        task=signature.task,
        kinds={f.name: f.kind for f in features},
        categories={f.name: f.categories for f in features if f.categories is not None},
        raw_classes=list(signature.raw_classes),
        typical={f.name: f.example for f in features},
        allows_missing=frozenset(f.name for f in features if f.allows_missing),
        allows_unknown=frozenset(f.name for f in features if f.allows_unknown),
        targets=len(signature.targets),
        target_classes=[list(c) for c in signature.target_classes],
        probabilities=signature.probabilities,
    )


def facts_to_dict(facts: ModelFacts) -> dict[str, Any]:
    return {
        "features": [
            {
                "name": name,
                "kind": facts.kinds.get(name, "number"),
                "categories": list(facts.categories[name]) if name in facts.categories else None,
                "example": facts.typical.get(name),
                "allows_missing": name in facts.allows_missing,
                "allows_unknown": name in facts.allows_unknown,
            }
            for name in facts.names
        ],
        "task": facts.task,
        "raw_classes": facts.raw_classes,
        "targets": facts.targets,
        "target_classes": facts.target_classes,
        "probabilities": facts.probabilities,
    }


def facts_from_dict(stored: dict[str, Any], names: list[str] | None = None) -> ModelFacts:
    """The inverse of facts_to_dict; ``names`` renames the features in order."""
    named = list(zip(names or [f["name"] for f in stored["features"]], stored["features"], strict=True))
    names = [name for name, _ in named]
    return ModelFacts(
        names=names,
        task=stored["task"],
        kinds={name: f["kind"] for name, f in named},
        categories={name: tuple(f["categories"]) for name, f in named if f["categories"] is not None},
        raw_classes=list(stored["raw_classes"]),
        typical={name: f["example"] for name, f in named if f["example"] is not None},
        allows_missing=frozenset(name for name, f in named if f.get("allows_missing")),
        allows_unknown=frozenset(name for name, f in named if f.get("allows_unknown")),
        targets=int(stored.get("targets", 0)),
        target_classes=[list(c) for c in stored.get("target_classes", [])],
        probabilities=bool(stored.get("probabilities", stored["task"] == "classification")),
    )
