"""`dockml convert`: compile a scikit-learn model to ONNX once, or re-save a pickle as .skops."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from dockml.config import ModelSpec, model_spec, side_file_for
from dockml.errors import ConfigError


def convert_model(source: Path, output: Path, *, trust_pickle: bool) -> Iterator[str]:
    """Write ``output`` and yield what a person should read about it, line by line."""
    suffix = output.suffix.lower()
    if suffix not in (".onnx", ".skops"):
        raise ConfigError(f"{output}: convert writes .onnx or .skops files")
    if source.suffix.lower() == ".onnx":
        raise ConfigError(f"{source} is already an ONNX model")
    spec = model_spec(str(source))
    if suffix == ".onnx":
        yield from _to_onnx(spec, output, trust_pickle)
    else:
        yield from _to_skops(spec, output, trust_pickle)
    side = side_file_for(spec.path)
    if side.is_file():
        shutil.copyfile(side, side_file_for(output))
        yield f"copied {side} to {side_file_for(output)}"


def _to_onnx(spec: ModelSpec, output: Path, trust_pickle: bool) -> Iterator[str]:
    from dockml.models.cache import write_atomically
    from dockml.models.compile import compile_sklearn
    from dockml.models.sklearn import load_sklearn

    original = load_sklearn(spec, trust_pickle=trust_pickle)
    compiled = compile_sklearn(original)
    if compiled.onnx_bytes is None or compiled.report is None:
        raise ConfigError(f"{spec.path} cannot be compiled to ONNX: {compiled.reason}")
    write_atomically(output, compiled.onnx_bytes)
    report = compiled.report
    yield f"wrote {output} ({len(compiled.onnx_bytes)} bytes)"
    yield (
        f"checked on {report.rows} generated rows: {report.label_mismatches} labels differ, values differ by at most "
        f"{report.max_abs_difference:.2e} (absolute), {report.max_rel_difference:.2e} (relative)"
    )


def _to_skops(spec: ModelSpec, output: Path, trust_pickle: bool) -> Iterator[str]:
    import skops.io as sio

    from dockml.models.sklearn import check_pickle_trust

    if spec.path.suffix.lower() == ".skops":
        raise ConfigError(f"{spec.path} is already a .skops file")
    check_pickle_trust(spec.path, trust_pickle)
    import joblib

    sio.dump(joblib.load(spec.path), output)
    yield f"wrote {output}"
    untrusted = sio.get_untrusted_types(file=output)
    if untrusted:
        yield "skops will ask you to trust these types; if you trust this model, add to its side file:"
        yield "  trusted_types = [" + ", ".join(f'"{t}"' for t in untrusted) + "]"
