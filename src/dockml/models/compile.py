"""Compiling scikit-learn models to ONNX Runtime (skl2onnx), checked against scikit-learn.

The compiled file carries the signature dockml read from the original model in its metadata,
so serving it needs neither scikit-learn nor the original file. Results are cached by the
source file's sha256, so a restart does not convert again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockml import __version__
from dockml.models.base import LoadedModel
from dockml.models.onnx import SIGNATURE_KEY
from dockml.models.parity import ParityReport, compare, sample_table
from dockml.signature import Signature

PARITY_KEY = "dockml.parity"


@dataclass(frozen=True, slots=True)
class Compiled:
    onnx_bytes: bytes | None
    report: ParityReport | None
    reason: str = ""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def signature_metadata(signature: Signature, *, named: bool) -> str:
    """What the ONNX loader needs to rebuild the signature (side files still apply on top).
    Names that did not come from the model itself are left for the side file to give."""
    return json.dumps(
        {
            "named": named,
            "features": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "categories": list(f.categories) if f.categories else None,
                    "example": f.example,
                }
                for f in signature.features
            ],
            "task": signature.task,
            "raw_classes": list(signature.raw_classes),
        }
    )


def _initial_types(signature: Signature, tensor_type: Any) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import StringTensorType

    if signature.all_numeric:
        return [("input", tensor_type([None, len(signature.features)]))]
    return [
        (f.name, StringTensorType([None, 1]) if f.kind == "string" else tensor_type([None, 1]))
        for f in signature.features
    ]


def _final_step(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return _final_step(steps[-1][1]) if steps else estimator


def _convert(estimator: Any, signature: Signature, tensor_type: Any) -> Any:
    from skl2onnx import to_onnx

    options = {id(_final_step(estimator)): {"zipmap": False}} if signature.task == "classification" else None
    return to_onnx(estimator, initial_types=_initial_types(signature, tensor_type), options=options)


def compile_sklearn(loaded: LoadedModel, *, threads: int = 1) -> Compiled:
    """Convert with float tensors, else double; keep the first that passes the parity check."""
    try:
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    except ImportError:
        return Compiled(None, None, "skl2onnx is not installed (pip install 'dockml[sklearn]')")
    from dockml.models.onnx import OnnxRuntime, session

    estimator = loaded.runtime.estimator_  # type: ignore[attr-defined]
    signature = loaded.signature
    table = sample_table(signature, loaded.ranges)
    reasons = []
    types = (FloatTensorType, DoubleTensorType) if signature.all_numeric else (FloatTensorType,)
    for tensor_type in types:
        try:
            model = _convert(estimator, signature, tensor_type)
            candidate = OnnxRuntime.from_session(session(model.SerializeToString(), threads))
            report = compare(loaded.runtime, candidate, table, signature.task)
        except Exception as error:  # noqa: BLE001 - skl2onnx raises many untyped errors for what it cannot convert
            reasons.append(f"{tensor_type.__name__}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            continue
        if report.passed:
            named = loaded.info.get("feature_names_from") == "model"
            _set_metadata(
                model,
                {SIGNATURE_KEY: signature_metadata(signature, named=named), PARITY_KEY: json.dumps(report.to_dict())},
            )
            return Compiled(model.SerializeToString(), report)
        reasons.append(f"{tensor_type.__name__}: {report.reason}")
    return Compiled(None, None, "; ".join(reasons))


def _set_metadata(model: Any, values: dict[str, str]) -> None:
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def cache_path(cache_dir: Path, source_sha256: str) -> Path:
    # The version from the package metadata: importing skl2onnx would pull in scikit-learn,
    # which a start from the cache should not pay for.
    converter = importlib.metadata.version("skl2onnx")
    return cache_dir / f"{source_sha256}-dockml{__version__}-skl2onnx{converter}.onnx"


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
        file.write(data)
    os.replace(file.name, path)


def compiled_report(loaded: LoadedModel) -> dict[str, Any] | None:
    """The parity report stored in a compiled model, if it has one."""
    from dockml.models.onnx import metadata

    values = metadata(loaded.runtime.session_)  # type: ignore[attr-defined]
    return json.loads(values[PARITY_KEY]) if PARITY_KEY in values else None
