"""Compiling scikit-learn models to ONNX Runtime (skl2onnx), checked against scikit-learn.

The compiled file carries the signature dockml read from the original model in its metadata,
so serving it needs neither scikit-learn nor the original file. models/cache.py keeps the
results, so a restart does not convert again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from dockml.models.base import LoadedModel, OnnxBacked, SklearnBacked
from dockml.models.details import Estimator
from dockml.models.onnx import SIGNATURE_KEY
from dockml.models.onnx_trees import track_missing_values
from dockml.models.parity import ParityReport, compare, sample_table
from dockml.models.sklearn_structure import final_estimator
from dockml.signature import Signature, facts_of, facts_to_dict

PARITY_KEY = "dockml.parity"
SOURCE_KEY = "dockml.source"
"""What GET /models/NAME tells of the model a compiled file came from: ``Estimator.to_dict()``."""
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


def compile_sklearn(loaded: LoadedModel[SklearnBacked], *, threads: int = 1) -> Compiled:
    """Convert with float tensors, else double; keep the first that passes the parity check."""
    try:
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    except ImportError:
        return Compiled(None, None, "skl2onnx is not installed (pip install 'dockml[sklearn]')")
    from dockml.models.onnx import OnnxRuntime, session

    estimator = loaded.runtime.estimator
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
            source = loaded.details.source
            named = source.feature_names_from in ("model", "text")
            _set_metadata(
                model,
                {
                    SIGNATURE_KEY: signature_metadata(served, named=named),
                    PARITY_KEY: json.dumps(report.to_dict()),
                    SOURCE_KEY: json.dumps(source.estimator.to_dict() if source.estimator is not None else {}),
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


def compiled_report(runtime: OnnxBacked) -> ParityReport | None:
    """The parity report stored in a compiled model, if it has one."""
    stored = _stored(runtime, PARITY_KEY)
    return ParityReport(**stored) if stored is not None else None


def compiled_source(runtime: OnnxBacked) -> Estimator | None:
    """What a compiled model records of the model it came from (its estimator, libraries, objective)."""
    return Estimator.from_dict(_stored(runtime, SOURCE_KEY) or {})


def _stored(runtime: OnnxBacked, key: str) -> Any:
    values = runtime.metadata()
    return json.loads(values[key]) if key in values else None
