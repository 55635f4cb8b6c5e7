"""The schema of a side file (``model.dockml.toml``) and of a ``[models.NAME]`` table of --config.

Validated by msgspec, so each wrong key or value gets one message naming where it is and what
was expected ("Expected `array`, got `bool` - at `trusted_types`"), never a traceback.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from dockml.errors import ConfigError

Label = str | int | float | bool
MAX_IMAGE_SIDE = 1024


class InputTable(msgspec.Struct, forbid_unknown_fields=True):
    description: str = ""
    type: Literal["number", "integer", "string", "boolean"] | None = None
    example: Any = None
    categories: list[Label] | None = None
    allows_missing: bool | None = None


class ImageTable(msgspec.Struct, forbid_unknown_fields=True):
    width: Annotated[int, msgspec.Meta(ge=1, le=MAX_IMAGE_SIDE)] = 8
    height: Annotated[int, msgspec.Meta(ge=1, le=MAX_IMAGE_SIDE)] = 8
    grayscale: bool = True
    invert: Literal["auto", "true", "false"] | bool = "auto"
    scale_max: Annotated[float, msgspec.Meta(gt=0)] = 16.0
    crop: bool = True


class BatchingTable(msgspec.Struct, forbid_unknown_fields=True):
    max_rows: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_delay_ms: Annotated[float, msgspec.Meta(ge=0)] | None = None


class ModelTable(msgspec.Struct, forbid_unknown_fields=True):
    path: str | None = None
    sha256: str | None = None
    description: str = ""
    feature_names: list[str] | None = None
    inputs: dict[str, InputTable] = {}
    class_names: list[Label] | None = None
    target_names: list[str] | None = None
    examples: list[dict[str, Any]] = []
    sample: str | None = None
    image: ImageTable | None = None
    trusted_types: list[str] = []
    batching: BatchingTable = msgspec.field(default_factory=BatchingTable)


def read_model_table(table: Any, origin: str) -> ModelTable:
    """``table`` checked against the schema; ConfigError naming ``origin`` and the first problem."""
    try:
        return msgspec.convert(table, ModelTable)
    except msgspec.ValidationError as error:
        # TOML has no null: "array | null" would only puzzle; "$." is msgspec's root.
        message = str(error).replace(" | null", "").replace("`$.", "`").replace("`$`", "the table")
        raise ConfigError(f"{origin}: {message}") from None
