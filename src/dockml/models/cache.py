"""The compiled-model cache: ONNX files compiled from scikit-learn models, reused across starts.

An entry is used only if it was compiled from this exact source file (its sha256), under the same
trust decision (the skops types trusted; pickles trusted), by this dockml, cache format and
converter version, and if the compiled file still has the sha256 recorded beside it when it was
written. Anything else is compiled again. A cache folder that cannot be written (read-only, full)
degrades to no cache with one warning, and leaves no partial file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import logging
import os
import tempfile
from pathlib import Path

from dockml import __version__
from dockml.config import ModelSpec

log = logging.getLogger("dockml.models")

CACHE_FORMAT = 3
"""Bumped whenever what a compiled file stores changes (2: outputs, missing values, unknown categories;
3: the source model's estimator, libraries and objective)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def trust_fingerprint(spec: ModelSpec, trust_pickle: bool) -> str:
    """What was trusted to load the source: a skops file's trusted types, or that pickles run code."""
    if spec.path.suffix.lower() == ".skops":
        decision = "skops:" + ",".join(sorted(spec.meta.trusted_types))
    else:
        decision = f"pickle:{trust_pickle}"
    return hashlib.sha256(decision.encode()).hexdigest()[:16]


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all, readable by every user (a container's user may differ)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".partial-", delete=False) as file:
        partial = Path(file.name)
    try:
        partial.write_bytes(data)
        partial.chmod(0o644)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


CONVERTERS = ("onnxmltools", "catboost", "xgboost", "xgboost-cpu", "lightgbm")
"""Besides skl2onnx, what writes compiled files (boosting models, from the libraries' own dumps):
their versions are in the key."""


def converter_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in CONVERTERS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class CompiledCache:
    """ONNX files by source sha256 and trust decision, each with the sha256 it was written with."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.warned_ = False

    def path_for(self, spec: ModelSpec, trust_pickle: bool) -> Path:
        # The converter's version from the package metadata: importing skl2onnx would pull in
        # scikit-learn, which a start from the cache should not pay for.
        converters = hashlib.sha256(repr(converter_versions()).encode()).hexdigest()[:12]
        stem = (
            f"{file_sha256(spec.path)}-trust{trust_fingerprint(spec, trust_pickle)}-dockml{__version__}"
            f"-format{CACHE_FORMAT}-skl2onnx{importlib.metadata.version('skl2onnx')}-converters{converters}"
        )
        return self.folder / f"{stem}.onnx"

    def lookup(self, path: Path) -> Path | None:
        """``path`` if it holds what was written there, else None (and the stale entry is dropped)."""
        if not path.is_file():
            return None
        recorded = _digest_file(path)
        try:
            intact = recorded.read_text().strip() == file_sha256(path)
        except OSError:
            intact = False
        if intact:
            return path
        log.warning("compiled model %s does not match the sha256 recorded when it was written; compiling again", path)
        self.discard(path)
        return None

    def store(self, path: Path, data: bytes) -> Path | None:
        """Write an entry; None (with one warning) when the folder cannot take it."""
        try:
            write_atomically(path, data)
            write_atomically(_digest_file(path), hashlib.sha256(data).hexdigest().encode())
        except OSError as error:
            self.discard(path)
            if not self.warned_:
                log.warning(
                    "cannot write the compiled-model cache in %s (%s): compiling at every start",
                    self.folder,
                    error.strerror,
                )
                self.warned_ = True
            return None
        return path

    def discard(self, path: Path) -> None:
        for stale in (path, _digest_file(path)):
            with contextlib.suppress(OSError):
                stale.unlink(missing_ok=True)


def _digest_file(path: Path) -> Path:
    return path.with_suffix(".sha256")
