"""The compiled-model cache cannot lie: an entry is used only for the same source file, trust
decision and versions, and only while it holds the bytes written; an unwritable folder means no cache."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import trained
from dockml.config import model_spec
from dockml.errors import UnsafeModelFile
from dockml.models import load_model


def _compiled(tmp_path: Path) -> tuple[Path, Path]:
    path = trained.regression_skops(tmp_path)
    cache = tmp_path / "cache"
    assert load_model(model_spec(str(path)), cache_dir=cache).details.compilation.cache == "miss"
    return path, cache


def test_a_replaced_compiled_file_is_not_served(tmp_path: Path, demo_models: dict[str, Path]) -> None:
    """A different valid ONNX file in the cache was once served (a setosa came back 'virginica')."""
    path, cache = _compiled(tmp_path)
    (entry,) = cache.glob("*.onnx")
    other = load_model(model_spec(str(demo_models["iris"])), cache_dir=tmp_path / "other")
    assert other.runtime.name == "onnx"
    (other_entry,) = (tmp_path / "other").glob("*.onnx")
    shutil.copyfile(other_entry, entry)
    again = load_model(model_spec(str(path)), cache_dir=cache)
    assert again.details.compilation.cache == "miss"
    assert again.signature.names == ("a", "b")


def test_a_skops_file_compiled_when_trusted_is_not_served_once_untrusted(tmp_path: Path) -> None:
    path = trained.iris_pickle(tmp_path)
    import joblib
    import skops.io as sio

    skops_path = tmp_path / "tree.skops"
    sio.dump(joblib.load(path), skops_path)
    side = tmp_path / "tree.dockml.toml"
    side.write_text(trained.TREE_TRUST)
    cache = tmp_path / "cache"
    assert load_model(model_spec(str(skops_path)), cache_dir=cache).runtime.name == "onnx"
    side.unlink()
    with pytest.raises(UnsafeModelFile):
        load_model(model_spec(str(skops_path)), cache_dir=cache)


def test_a_damaged_entry_is_compiled_again(tmp_path: Path) -> None:
    path, cache = _compiled(tmp_path)
    (entry,) = cache.glob("*.onnx")
    entry.write_bytes(b"not a model")
    entry.with_suffix(".sha256").write_text(hashlib.sha256(b"not a model").hexdigest())
    again = load_model(model_spec(str(path)), cache_dir=cache)
    assert (again.runtime.name, again.details.compilation.cache) == ("onnx", "miss")
    assert load_model(model_spec(str(path)), cache_dir=cache).details.compilation.cache == "hit"


def test_an_unwritable_cache_folder_means_no_cache_and_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = trained.regression_skops(tmp_path)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the folder should be")  # unwritable for root too
    with caplog.at_level(logging.WARNING, logger="dockml.models"):
        loaded = load_model(model_spec(str(path)), cache_dir=blocked)
    assert loaded.runtime.name == "onnx"
    warnings = [r for r in caplog.records if "cannot write the compiled-model cache" in r.getMessage()]
    assert len(warnings) == 1
    assert blocked.read_text() == "a file where the folder should be"


def test_a_write_that_fails_midway_leaves_no_partial_file(tmp_path: Path) -> None:
    """A full disk, as a file-size limit makes it: the write fails after 4 KiB."""
    script = f"""
import resource, signal
from pathlib import Path
from dockml.models.cache import CompiledCache
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
folder = Path({str(tmp_path / "cache")!r})
stored = CompiledCache(folder).store(folder / "m.onnx", b"x" * 100_000)
print("stored" if stored else "not stored")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "not stored", result.stderr
    assert "cannot write the compiled-model cache" in result.stderr
    assert list((tmp_path / "cache").iterdir()) == []
