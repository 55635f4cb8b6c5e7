"""A `dockml build` image of a compiled XGBoost model (a category column, missing values), on a
real Docker engine: it answers as XGBoost does, and holds neither XGBoost nor scikit-learn."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import trained
from servers import free_port

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
HARDENED = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"]


def docker(*args: str, timeout_s: float = 120.0) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout_s)
    assert result.returncode == 0, f"docker {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def xgboost_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    model = trained.xgboost_json(tmp_path_factory.mktemp("xgboost"))
    tag = f"dockml-test-xgboost-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, "-m", "dockml", "build", str(model), "-t", tag, "--base-image", base_image]
    argv += ["--network", "host"]
    if HOST_CA_BUNDLE.is_file():
        argv += ["--ca-cert", str(HOST_CA_BUNDLE)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    yield tag, model
    subprocess.run(["docker", "image", "rm", "--force", tag], capture_output=True, timeout=60)


@pytest.fixture()
def container(xgboost_image: tuple[str, Path]) -> Iterator[str]:
    tag, _ = xgboost_image
    name, port = f"dockml-test-{uuid.uuid4().hex[:12]}", free_port()
    docker("run", "-d", "--rm", "--network", "host", "--name", name, "-e", f"DOCKML_PORT={port}", *HARDENED, tag)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    else:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=30)
        raise AssertionError(f"{tag} not ready in 60 s:\n{logs.stdout}\n{logs.stderr}")
    yield url
    subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=60)


def test_the_image_holds_neither_xgboost_nor_scikit_learn(xgboost_image: tuple[str, Path]) -> None:
    tag, _ = xgboost_image
    probe = "import importlib.util as u; print([u.find_spec(m) for m in ('xgboost', 'sklearn', 'onnxmltools')])"
    assert docker("run", "--rm", "--network", "none", tag, "python3", "-c", probe).strip() == "[None, None, None]"


def test_the_image_answers_as_xgboost(xgboost_image: tuple[str, Path], container: str) -> None:
    import xgboost

    _, path = xgboost_image
    model = xgboost.XGBClassifier()
    model.load_model(path)
    held_out, _ = trained.boosting_frame(rows=50, seed=3)
    records = held_out.astype(object).where(held_out.notna(), None).to_dict("records")
    assert any(record["income"] is None for record in records)
    answer = httpx.post(f"{container}/predict?proba=true", json=records, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["predictions"] == model.predict(held_out).tolist()
    served = np.array([[row["0"], row["1"]] for row in body["probabilities"]])
    # Rounded to 5 decimal places (the default), from float32 sums of the trees.
    np.testing.assert_allclose(served, model.predict_proba(held_out), atol=1e-5)
    details = httpx.get(f"{container}/models/xgb").json()
    assert details["runtime"] == "onnx"
    unknown = httpx.post(f"{container}/predict", json=[{**records[0], "city": "rome"}])
    assert unknown.status_code == 422 and "rome" in unknown.text
