"""Loading and running models: one module per file format / runtime.

load_model(spec, runtime="auto")
  .onnx                       -> ONNX Runtime
  .skops / .joblib / .pkl     -> scikit-learn, then compiled to ONNX Runtime when the
                                 compiled model passes the parity check (runtime="auto"),
                                 else served by scikit-learn with the reason logged
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from dockml.config import ModelSpec
from dockml.constants import RUNTIMES
from dockml.errors import ConfigError, DockmlError
from dockml.models.base import LoadedModel, OnnxBacked, Outputs, Runtime
from dockml.models.details import CompiledToOnnx, ModelDetails, ServedBySklearn

if TYPE_CHECKING:
    from dockml.models.parity import ParityReport

__all__ = ["RUNTIMES", "LoadedModel", "ModelDetails", "Outputs", "Runtime", "load_model"]

SAMPLE_MAX_ROWS = 10_000
log = logging.getLogger("dockml.models")


def load_model(
    spec: ModelSpec,
    *,
    trust_pickle: bool = False,
    runtime: str = "auto",
    cache_dir: Path | None = None,
    threads: int = 1,
) -> LoadedModel[Runtime]:
    """Load ``spec.path`` with the runtime its format needs (or ``runtime`` asks for)."""
    from dockml.models.onnx import check_external_data, load_onnx

    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if spec.sha256 is not None:
        check_sha256(spec)
    if spec.path.suffix.lower() == ".onnx":
        if runtime == "sklearn":
            raise ConfigError(
                f"{spec.path} is an ONNX model: it runs only in ONNX Runtime (use --runtime auto or onnx)"
            )
        check_external_data(spec.path)  # a file from outside; the files dockml compiles keep no external data
        return load_onnx(spec, threads=threads)

    from dockml.models.cache import CompiledCache
    from dockml.models.compile import compile_sklearn, compiled_report
    from dockml.models.sklearn import check_pickle_trust, load_sklearn

    check_pickle_trust(spec.path, trust_pickle)
    cache = CompiledCache(cache_dir) if cache_dir is not None and runtime != "sklearn" else None
    entry = None
    if cache is not None:
        try:
            entry = cache.path_for(spec, trust_pickle)
        except importlib.metadata.PackageNotFoundError:  # no converter installed: nothing cached
            cache = None
    if cache is not None and entry is not None and cache.lookup(entry) is not None:
        try:
            loaded = load_onnx(replace(spec, path=entry), threads=threads)
            return _as_compiled(loaded, spec, compiled_report(loaded.runtime), cache="hit")
        except ConfigError as error:  # a damaged entry: compile again
            log.warning("cached compiled model %s cannot be loaded (%s); compiling again", entry, error.detail)
            cache.discard(entry)

    original = load_sklearn(spec, trust_pickle=trust_pickle)
    if spec.meta.sample is not None:
        original = replace(original, sample=read_sample(spec.meta.sample, original))
    if runtime == "sklearn":
        return _served_by_sklearn(original, "--runtime sklearn")
    compiled = compile_sklearn(original, threads=threads)
    if compiled.onnx_bytes is None:
        if runtime == "onnx":
            raise ConfigError(f"{spec.path} cannot be served by ONNX Runtime: {compiled.reason}")
        log.warning(
            "model %r is served by scikit-learn; its ONNX compilation was not used: %s", spec.name, compiled.reason
        )
        return _served_by_sklearn(original, compiled.reason)
    stored = cache.store(entry, compiled.onnx_bytes) if cache is not None and entry is not None else None
    if stored is not None:
        loaded = load_onnx(replace(spec, path=stored), threads=threads)
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch) / "model.onnx"
            target.write_bytes(compiled.onnx_bytes)
            loaded = load_onnx(replace(spec, path=target), threads=threads)
    assert compiled.report is not None
    return _as_compiled(loaded, spec, compiled.report, cache="miss")


def read_sample(path: Path, loaded: LoadedModel[Runtime]) -> np.ndarray:
    """The user's typical rows (a CSV with a header), checked like an upload."""
    from dockml.codecs.csv import decode_csv

    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"sample file {path}: {error.strerror}") from None
    try:
        return decode_csv(data, loaded.signature, max_rows=SAMPLE_MAX_ROWS)
    except DockmlError as error:
        raise ConfigError(f"sample file {path}: {error.detail}") from None


def check_sha256(spec: ModelSpec) -> None:
    """Refuse a model file that is not the one pinned, before reading anything from it."""
    from dockml.models.cache import file_sha256

    actual = file_sha256(spec.path)
    if actual != spec.sha256:
        raise ConfigError(
            f"{spec.path} has sha256 {actual}, not the pinned {spec.sha256}: refusing to serve a model file "
            "that is not the one expected"
        )


def _served_by_sklearn(loaded: LoadedModel[Runtime], reason: str) -> LoadedModel[Runtime]:
    return replace(loaded, details=replace(loaded.details, compilation=ServedBySklearn(reason)))


def _as_compiled(
    loaded: LoadedModel[OnnxBacked], spec: ModelSpec, report: ParityReport | None, *, cache: Literal["hit", "miss"]
) -> LoadedModel[OnnxBacked]:
    """The compiled model tells of the file it came from, as that file would, and of its compilation."""
    from dockml.models.compile import compiled_source

    details = loaded.details
    source = replace(
        details.source, format=spec.path.suffix.lower().lstrip("."), estimator=compiled_source(loaded.runtime)
    )
    return replace(loaded, details=replace(details, source=source, compilation=CompiledToOnnx(report, cache)))
