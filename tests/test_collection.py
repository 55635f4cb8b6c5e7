"""Every test file on disk is collected. pytest skips some folder names without a word (any
folder named build, by default: tests/build went unrun that way), so a whole folder could drop
out of the suite and every run would still be green."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def files_collected_by_a_fresh_pytest() -> set[Path]:
    """`pytest --collect-only -qq` of the whole suite, which lists `FILE: COUNT` per file with tests."""
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_ADDOPTS"}
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-qq", "-p", "no:cacheprovider"]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return {(ROOT / name).resolve() for name in re.findall(r"^(\S+\.py): \d+$", result.stdout, flags=re.MULTILINE)}


def test_every_test_file_on_disk_is_collected(collected_test_files: set[Path] | None) -> None:
    on_disk = {path for pattern in ("test_*.py", "*_test.py") for path in TESTS.rglob(pattern)}
    # This run's own collection when it took the whole suite (`pytest`, `pytest -m ...`), else a fresh one.
    collected = collected_test_files if collected_test_files is not None else files_collected_by_a_fresh_pytest()
    missing = sorted(str(path.relative_to(ROOT)) for path in on_disk - collected)
    assert not missing, (
        f"test files that gave pytest no tests (in a folder norecursedirs skips? no test functions?): {missing}"
    )
