"""What a model takes and gives, read from the model itself and completed by its side file.

The signature drives validation, the OpenAPI document, its examples and the error messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from dockml.config import ImageSpec, ModelMeta
from dockml.errors import ConfigError

FeatureKind = Literal["number", "integer", "string"]
Task = Literal["classification", "regression"]


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    kind: FeatureKind = "number"
    description: str = ""
    example: Any = None
    categories: tuple[Any, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind}
        if self.description:
            out["description"] = self.description
        if self.categories is not None:
            out["categories"] = list(self.categories)
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
        return all(f.kind != "string" for f in self.features)

    def expected(self) -> str:
        return ", ".join(self.names)

    def example_record(self) -> dict[str, Any]:
        return {f.name: f.example for f in self.features}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "inputs": [f.to_dict() for f in self.features],
            "output": {"task": self.task},
        }
        if self.task == "classification":
            out["output"]["classes"] = list(self.classes)
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
    return {"number": 0.0, "integer": 0, "string": ""}[kind]


def build_signature(
    *,
    names: list[str],
    kinds: dict[str, FeatureKind],
    categories: dict[str, tuple[Any, ...]],
    task: Task,
    raw_classes: list[Any],
    meta: ModelMeta,
    typical: dict[str, float] | None = None,
) -> Signature:
    """Merge what the runtime read from the model file with what the side file declares."""
    features = []
    for name in names:
        declared = meta.inputs.get(name)
        kind: FeatureKind = declared.type if declared and declared.type else kinds.get(name, "number")  # type: ignore[assignment]
        cats = declared.categories if declared and declared.categories else categories.get(name)
        if cats is not None:
            kind = "string" if all(isinstance(c, str) for c in cats) else kind
        example = declared.example if declared and declared.example is not None else None
        if example is None and meta.examples and name in meta.examples[0]:
            example = meta.examples[0][name]
        if example is None and kind != "string" and typical and name in typical:
            example = typical[name]
        if example is None:
            example = default_example(kind, cats)
        features.append(
            Feature(
                name=name,
                kind=kind,
                description=declared.description if declared else "",
                example=example,
                categories=cats,
            )
        )
    classes: tuple[Any, ...] = ()
    plain_classes = tuple(_plain(c) for c in raw_classes)
    if task == "classification":
        classes = plain_classes
        if meta.class_names is not None:
            if len(meta.class_names) != len(raw_classes):
                raise ConfigError(
                    f"class_names has {len(meta.class_names)} names but the model has "
                    f"{len(raw_classes)} classes: {list(classes)}"
                )
            classes = meta.class_names
    return Signature(features=tuple(features), task=task, classes=classes, image=meta.image, raw_classes=plain_classes)


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
