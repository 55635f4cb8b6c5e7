"""Venvs of their own for the real clients the tests run against a real dockml server.

Their pins clash with the test venv (tritonclient's ml-dtypes with onnx, the KServe SDK's pandas
with pandas 3, and MLflow brings a hundred packages), so each client gets a venv made once
(`pip install ...`, 30 s to a few minutes) and kept in pytest's cache (.pytest_cache/d/NAME-venv),
rebuilt when its requirements change. The scripts beside this file run in them and print what
they saw as JSON. Where a venv cannot be made (no PyPI) the test skips; with
DOCKML_REQUIRE_CLIENTS=1 (or the older DOCKML_REQUIRE_TRITON=1) or CI set, as in CI, it fails.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

CLIENTS = {
    "tritonclient": (["tritonclient[http]>=2.40,<3", "numpy"], "import numpy, tritonclient.http"),
    "kserve": (["kserve>=0.14,<1", "numpy"], "import numpy, kserve"),
    # The whole of mlflow, not mlflow-skinny: `mlflow models serve` runs beside dockml in a test.
    "mlflow": (["mlflow>=3,<4", "scikit-learn", "pandas", "pyarrow"], "import mlflow.pyfunc.scoring_server.client"),
}
TRITON_REQUIREMENTS = CLIENTS["tritonclient"][0]


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail where DOCKML_REQUIRE_CLIENTS=1 or CI says the clients must run."""
    required = "1" in (os.environ.get("DOCKML_REQUIRE_CLIENTS"), os.environ.get("DOCKML_REQUIRE_TRITON"))
    if required or os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} (DOCKML_REQUIRE_CLIENTS=1 or CI makes this a failure)", pytrace=False)
    pytest.skip(reason)


def make_venv(folder: Path, requirements: list[str]) -> None:
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(folder)],
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements],
    ]
    for argv in steps:
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            unavailable(f"no client venv: `{' '.join(argv)}` took over 900 s")
        if result.returncode != 0:
            detail = (result.stdout + result.stderr).strip()[-2000:]
            unavailable(f"no client venv: `{' '.join(argv)}` exited with {result.returncode}:\n{detail}")


def imports(python: Path, statement: str) -> bool:
    if not python.is_file():
        return False
    return subprocess.run([str(python), "-c", statement], capture_output=True, timeout=300).returncode == 0


def client_python(request: pytest.FixtureRequest, name: str) -> Path:
    """The Python of the venv with client ``name`` (see CLIENTS), made on first use and then reused."""
    requirements, probe = CLIENTS[name]
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        folder = cache.mkdir(f"{name}-venv")
    else:  # -p no:cacheprovider: the same place, rather than minutes and PyPI again on every run
        folder = request.config.rootpath / ".pytest_cache" / "d" / f"{name}-venv"
        folder.mkdir(parents=True, exist_ok=True)
    python = folder / "bin" / "python"
    stamp = folder / "dockml-requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    # Two test runs at once (scripts/check beside a full run) must not build the same venv together.
    with (folder.parent / f"{name}-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.is_file() and stamp.read_text() == wanted and imports(python, probe)):
            make_venv(folder, requirements)
            stamp.write_text(wanted)
    return python


@pytest.fixture(scope="session")
def triton_python(request: pytest.FixtureRequest) -> Path:
    return client_python(request, "tritonclient")


@pytest.fixture(scope="session")
def kserve_python(request: pytest.FixtureRequest) -> Path:
    return client_python(request, "kserve")


@pytest.fixture(scope="session")
def mlflow_python(request: pytest.FixtureRequest) -> Path:
    return client_python(request, "mlflow")
