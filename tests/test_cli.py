"""The command line: help texts and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dockml", *args], capture_output=True, text=True, timeout=60)


def test_serve_help_explains_options_and_defaults():
    result = run("serve", "--help")
    assert result.returncode == 0
    for text in (
        "--host",
        "default: 127.0.0.1",
        "--port",
        "default: 5000",
        "--workers",
        "--config",
        "--trust-pickle",
        "demo services",
    ):
        assert text in result.stdout


def test_no_command_prints_help():
    result = run()
    assert result.returncode == 2
    assert "serve" in result.stdout


def test_version():
    assert run("--version").stdout.startswith("dockml ")


def test_unknown_model_format(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"x")
    result = run("serve", str(path))
    assert result.returncode == 2
    assert "unknown model format '.h5'" in result.stderr


def test_serving_the_demos_without_scikit_learn_says_what_to_do(tmp_path):
    # A served image, or `pip install dockml` without the sklearn extra: scikit-learn is not there
    # (here hidden from the package metadata, which is where dockml looks first).
    hide = (
        "import importlib.metadata as metadata; real = metadata.version\n"
        "def version(name):\n"
        "    if name == 'scikit-learn': raise metadata.PackageNotFoundError(name)\n"
        "    return real(name)\n"
        "metadata.version = version\n"
        "from dockml.cli import main; raise SystemExit(main(['serve']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DOCKML_HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "dockml: error: no model named, and the demo services need scikit-learn: name a model to serve, "
        "or pip install 'dockml[sklearn]'"
    )
