"""The build context `dockml build --context-only` writes."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import dockml
import trained


def build_context(tmp_path, *args: str):
    folder = tmp_path / "context"
    result = subprocess.run(
        [sys.executable, "-m", "dockml", "build", *args, "--context-only", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return folder, result.stdout


def python_files(package: Path) -> set[str]:
    return {str(path.relative_to(package)) for path in package.rglob("*.py")}


@pytest.mark.slow
def test_demo_context_ships_compiled_models_without_scikit_learn(tmp_path, demo_models):
    folder, output = build_context(tmp_path)
    assert "model 'iris': ships as iris.onnx (onnx)" in output
    assert sorted(p.name for p in (folder / "models").iterdir()) == [
        "digits.dockml.toml",
        "digits.onnx",
        "iris.dockml.toml",
        "iris.onnx",
    ]
    requirements = (folder / "requirements.txt").read_text()
    assert "onnxruntime==" in requirements and "numpy==" in requirements
    assert "pillow==" in requirements  # digits takes uploaded pictures
    for absent in ("scikit-learn", "scipy", "skl2onnx", "skops", "pandas", "onnx=="):
        assert absent not in requirements
    assert all("==" in line for line in requirements.splitlines())
    config = tomllib.loads((folder / "dockml.toml").read_text())
    assert config["models"]["iris"]["path"] == "models/iris.onnx"
    # The image runs dockml from this copy: every module of the installed package, the cli package included.
    assert (folder / "lib" / "dockml" / "cli" / "__init__.py").is_file()
    assert python_files(folder / "lib" / "dockml") == python_files(Path(dockml.__file__).parent)
    assert not list(folder.rglob("__pycache__"))
    assert not (folder / "ca.crt").exists()


@pytest.mark.slow
def test_a_model_without_pictures_ships_without_pillow_or_onnxruntimes_tool_dependencies(tmp_path, demo_models):
    folder, _ = build_context(tmp_path, f"iris={demo_models['iris']}")
    names = {line.partition("==")[0] for line in (folder / "requirements.txt").read_text().splitlines()}
    assert {"onnxruntime", "numpy", "starlette", "uvicorn"} <= names
    # Serving never imports them: Pillow is for pictures, the rest for onnxruntime's converters.
    assert not names & {"pillow", "protobuf", "flatbuffers", "packaging", "sympy", "coloredlogs"}
    assert "PIL" not in (folder / "Dockerfile").read_text()


@pytest.mark.slow
def test_model_that_does_not_compile_ships_with_scikit_learn(tmp_path):
    path = trained.function_transformer_skops(tmp_path)
    folder, output = build_context(tmp_path, str(path))
    assert "ships as custom.skops (sklearn)" in output
    assert "scikit-learn==" in (folder / "requirements.txt").read_text()
    assert (folder / "models" / "custom.dockml.toml").is_file()


@pytest.mark.slow
def test_ca_certificate_goes_into_the_context(tmp_path, demo_models):
    cert = tmp_path / "proxy.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    folder, _ = build_context(tmp_path, str(demo_models["iris"]), "--ca-cert", str(cert))
    assert (folder / "ca.crt").read_text() == cert.read_text()
    assert "COPY ca.crt /tmp/ca.crt" in (folder / "Dockerfile").read_text()


@pytest.mark.slow
def test_serve_options_travel_into_the_image_settings(tmp_path, demo_models):
    folder, _ = build_context(tmp_path, str(demo_models["iris"]), "--workers", "2", "--batch-max-rows", "16")
    config = tomllib.loads((folder / "dockml.toml").read_text())
    assert config["server"] == {"workers": 2, "batch_max_rows": 16}


def test_tag_or_context_only_is_required(demo_models):
    result = subprocess.run(
        [sys.executable, "-m", "dockml", "build", str(demo_models["iris"])], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "-t TAG" in result.stderr


BOOSTING_LIBRARIES = ("xgboost", "lightgbm", "catboost", "nvidia-nccl", "onnxmltools")


@pytest.mark.slow
def test_compiled_xgboost_model_ships_without_xgboost_or_scikit_learn(tmp_path):
    path = trained.xgboost_json(tmp_path)
    folder, output = build_context(tmp_path, str(path))
    assert "model 'xgb': ships as xgb.onnx (onnx)" in output
    requirements = (folder / "requirements.txt").read_text()
    for absent in (*BOOSTING_LIBRARIES, "scikit-learn", "scipy", "pandas"):
        assert absent not in requirements


@pytest.mark.slow
def test_boosting_model_served_by_its_library_ships_with_exactly_that_library(tmp_path):
    path = trained.catboost_categories_cbm(tmp_path)
    folder, output = build_context(tmp_path, str(path))
    assert "ships as cats.cbm (sklearn)" in output
    requirements = (folder / "requirements.txt").read_text()
    assert "catboost==" in requirements and "scikit-learn==" in requirements
    assert not [name for name in BOOSTING_LIBRARIES if name != "catboost" and name in requirements]


@pytest.mark.slow
def test_xgboost_served_by_xgboost_ships_its_cpu_build(tmp_path):
    path = trained.xgboost_json(tmp_path)
    folder, _ = build_context(tmp_path, str(path), "--runtime", "sklearn")
    requirements = (folder / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("xgboost-cpu==") for line in requirements)
    assert not any(line.startswith(("xgboost==", "nvidia-nccl")) for line in requirements)
