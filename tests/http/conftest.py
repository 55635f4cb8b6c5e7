"""A venv with Triton's HTTP client, for the test that runs it against a real dockml server.

tritonclient pins an ml-dtypes that clashes with onnx, so it cannot live in the test venv: the
fixture makes a venv of its own once (`pip install tritonclient[http] numpy`, about 30 s) and keeps
it in pytest's cache (.pytest_cache/d/tritonclient-venv). Where it cannot be made (no PyPI) the
test skips; with DOCKML_REQUIRE_TRITON=1 or CI set, as in CI, it fails instead.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

TRITON_REQUIREMENTS = ["tritonclient[http]>=2.40,<3", "numpy"]


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail where DOCKML_REQUIRE_TRITON=1 or CI says the client must run."""
    if os.environ.get("DOCKML_REQUIRE_TRITON") == "1" or os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} (DOCKML_REQUIRE_TRITON=1 or CI makes this a failure)", pytrace=False)
    pytest.skip(reason)


def make_venv(folder: Path) -> None:
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(folder)],
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", *TRITON_REQUIREMENTS],
    ]
    for argv in steps:
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            unavailable(f"no tritonclient venv: `{' '.join(argv)}` took over 600 s")
        if result.returncode != 0:
            detail = (result.stdout + result.stderr).strip()[-2000:]
            unavailable(f"no tritonclient venv: `{' '.join(argv)}` exited with {result.returncode}:\n{detail}")


def imports_tritonclient(python: Path) -> bool:
    if not python.is_file():
        return False
    argv = [str(python), "-c", "import numpy, tritonclient.http"]
    return subprocess.run(argv, capture_output=True, timeout=120).returncode == 0


@pytest.fixture(scope="session")
def triton_python(request: pytest.FixtureRequest) -> Path:
    """The Python of a venv with tritonclient[http], made on first use and then reused."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        folder = cache.mkdir("tritonclient-venv")
    else:  # -p no:cacheprovider: the same place, rather than 30 s and PyPI again on every run
        folder = request.config.rootpath / ".pytest_cache" / "d" / "tritonclient-venv"
        folder.mkdir(parents=True, exist_ok=True)
    python = folder / "bin" / "python"
    stamp = folder / "dockml-requirements.txt"
    wanted = "\n".join(TRITON_REQUIREMENTS) + "\n"
    # Two test runs at once (scripts/check beside a full run) must not build the same venv together.
    with (folder.parent / "tritonclient-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.is_file() and stamp.read_text() == wanted and imports_tritonclient(python)):
            make_venv(folder)
            stamp.write_text(wanted)
    return python
