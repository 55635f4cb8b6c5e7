"""Compiling scikit-learn models to ONNX Runtime (skl2onnx), checked against scikit-learn.

The compiled file carries the signature dockml read from the original model in its metadata,
so serving it needs neither scikit-learn nor the original file. models/cache.py keeps the
results, so a restart does not convert again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from dockml.models.base import LoadedModel
from dockml.models.onnx import SIGNATURE_KEY
from dockml.models.onnx_trees import track_missing_values
from dockml.models.parity import ParityReport, compare, sample_table
from dockml.models.sklearn_structure import final_estimator
from dockml.signature import Signature, facts_of, facts_to_dict

PARITY_KEY = "dockml.parity"
SOURCE_KEY = "dockml.source"
SOURCE_FIELDS = ("estimator", "libraries", "objective")
"""What GET /models/NAME tells of the model a compiled file came from."""
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
"""ai.onnx.ml 3 has the tree ensembles every converter writes (onnxmltools' and skl2onnx's would
otherwise ask for version 4 or 5, which they cannot build); opset 18 runs on ONNX Runtime >= 1.17."""


@dataclass(frozen=True, slots=True)
class Compiled:
    onnx_bytes: bytes | None
    report: ParityReport | None
    reason: str = ""


def signature_metadata(signature: Signature, *, named: bool) -> str:
    """What the ONNX loader needs to rebuild the signature (side files still apply on top).
    Names that did not come from the model itself are left for the side file to give."""
    return json.dumps({"named": named, **facts_to_dict(facts_of(signature))})


def _initial_types(signature: Signature, tensor_type: Any) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import StringTensorType

    if signature.all_numeric:
        return [("input", tensor_type([None, len(signature.features)]))]
    if len(signature.features) == 1 and signature.features[0].kind == "string":  # one text, or one category
        return [(signature.features[0].name, StringTensorType([None]))]
    return [
        (f.name, StringTensorType([None, 1]) if f.kind == "string" else tensor_type([None, 1]))
        for f in signature.features
    ]


def _convert(estimator: Any, signature: Signature, tensor_type: Any) -> Any:
    from skl2onnx import to_onnx

    from dockml.models.boosting_onnx import register_converters
    from dockml.models.converter_fixes import register_fixes

    register_converters()
    register_fixes()
    # Options always name the final step: without any, skl2onnx adds a zipmap option that some
    # classifiers' converters refuse (LinearSVC). Probabilities as one matrix, not a list of dicts.
    options = {id(final_estimator(estimator)): {"zipmap": False} if signature.probabilities else {}}
    model = to_onnx(
        estimator, initial_types=_initial_types(signature, tensor_type), options=options, target_opset=TARGET_OPSET
    )
    track_missing_values(model, estimator)
    return model


def compile_sklearn(loaded: LoadedModel, *, threads: int = 1) -> Compiled:
    """Convert with float tensors, else double; keep the first that passes the parity check."""
    try:
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    except ImportError:
        return Compiled(None, None, "skl2onnx is not installed (pip install 'dockml[sklearn]')")
    from dockml.models.onnx import OnnxRuntime, session

    estimator = loaded.runtime.estimator_  # type: ignore[attr-defined]
    signature = loaded.signature
    if signature.multi_output and signature.task != "regression":
        return Compiled(None, None, "multi-output classifiers are served by scikit-learn")
    if any(f.kind == "boolean" for f in signature.features):
        return Compiled(None, None, "boolean inputs are served by scikit-learn")
    table = sample_table(signature, loaded.ranges, loaded.sample, loaded.boundaries)
    reasons = []
    # Float first: scikit-learn's trees compare float32 values too. Double where float does not pass.
    types = (FloatTensorType, DoubleTensorType)
    for tensor_type in types:
        try:
            model = _convert(estimator, signature, tensor_type)
            candidate = OnnxRuntime.from_session(
                session(model.SerializeToString(), threads), probabilities=signature.probabilities
            )
            report = compare(loaded.runtime, candidate, table, signature)
            served = signature
            if not report.passed and table.missing_rows:
                # Trees answer NaN in ways ONNX's tree ensembles do not follow: rather than fall back
                # to the slow runtime, serve the compiled model and refuse missing values.
                without = compare(loaded.runtime, candidate, table.without_missing(), signature)
                if without.passed:
                    served = without_missing(signature)
                    report = replace(without, reason=MISSING_REFUSED)
        except Exception as error:  # noqa: BLE001 - skl2onnx raises many untyped errors for what it cannot convert
            reasons.append(f"{tensor_type.__name__}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            continue
        if report.passed:
            named = loaded.info.get("feature_names_from") in ("model", "text")
            _set_metadata(
                model,
                {
                    SIGNATURE_KEY: signature_metadata(served, named=named),
                    PARITY_KEY: json.dumps(report.to_dict()),
                    SOURCE_KEY: json.dumps({key: loaded.info[key] for key in SOURCE_FIELDS if key in loaded.info}),
                },
            )
            return Compiled(model.SerializeToString(), report)
        reasons.append(f"{tensor_type.__name__}: {report.reason}")
    return Compiled(None, None, "; ".join(reasons))


MISSING_REFUSED = (
    "missing values are refused: the compiled model does not treat them as scikit-learn does "
    "(serve with --runtime sklearn to accept them)"
)


def without_missing(signature: Signature) -> Signature:
    features = tuple(replace(f, allows_missing=False) for f in signature.features)
    return replace(signature, features=features)


def _set_metadata(model: Any, values: dict[str, str]) -> None:
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def compiled_report(loaded: LoadedModel) -> dict[str, Any] | None:
    """The parity report stored in a compiled model, if it has one."""
    report: dict[str, Any] | None = _stored(loaded, PARITY_KEY)
    return report


def compiled_source(loaded: LoadedModel) -> dict[str, Any]:
    """What a compiled model records of the model it came from (its estimator, libraries, objective)."""
    source: dict[str, Any] = _stored(loaded, SOURCE_KEY) or {}
    return source


def _stored(loaded: LoadedModel, key: str) -> Any:
    from dockml.models.onnx import metadata

    values = metadata(loaded.runtime.session_)  # type: ignore[attr-defined]
    return json.loads(values[key]) if key in values else None
