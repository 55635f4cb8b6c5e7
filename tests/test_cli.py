"""The command line: help texts and exit codes."""

from __future__ import annotations

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
