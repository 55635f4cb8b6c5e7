"""`dockml build` images of an XGBoost model (a category column, missing values), on a real Docker
engine: compiled, it answers as XGBoost does and holds neither XGBoost nor scikit-learn; served by
XGBoost itself (--runtime sklearn), it holds XGBoost's CPU build and answers exactly as XGBoost."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
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


def build(model: Path, base_image: str, *extra: str) -> str:
    tag = f"dockml-test-xgboost-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, "-m", "dockml", "build", str(model), "-t", tag, "--base-image", base_image, *extra]
    argv += ["--network", "host"]
    if HOST_CA_BUNDLE.is_file():
        argv += ["--ca-cert", str(HOST_CA_BUNDLE)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return tag


@pytest.fixture(scope="module")
def xgboost_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained.xgboost_json(tmp_path_factory.mktemp("xgboost"))


@pytest.fixture(scope="module")
def xgboost_image(base_image: str, xgboost_model: Path) -> Iterator[tuple[str, Path]]:
    tag = build(xgboost_model, base_image)
    yield tag, xgboost_model
    subprocess.run(["docker", "image", "rm", "--force", tag], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def library_image(base_image: str, xgboost_model: Path) -> Iterator[tuple[str, Path]]:
    tag = build(xgboost_model, base_image, "--runtime", "sklearn")
    yield tag, xgboost_model
    subprocess.run(["docker", "image", "rm", "--force", tag], capture_output=True, timeout=60)


@pytest.fixture()
def start() -> Iterator[Callable[[str], str]]:
    """Runs an image hardened (read-only, no capabilities) on a free port; its URL once ready."""
    names: list[str] = []

    def run(tag: str) -> str:
        name, port = f"dockml-test-{uuid.uuid4().hex[:12]}", free_port()
        names.append(name)
        docker("run", "-d", "--rm", "--network", "host", "--name", name, "-e", f"DOCKML_PORT={port}", *HARDENED, tag)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=30)
        raise AssertionError(f"{tag} not ready in 90 s:\n{logs.stdout}\n{logs.stderr}")

    yield run
    for name in names:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=60)


def test_the_image_holds_neither_xgboost_nor_scikit_learn(xgboost_image: tuple[str, Path]) -> None:
    tag, _ = xgboost_image
    probe = "import importlib.util as u; print([u.find_spec(m) for m in ('xgboost', 'sklearn', 'onnxmltools')])"
    assert docker("run", "--rm", "--network", "none", tag, "python3", "-c", probe).strip() == "[None, None, None]"


def answers_as_xgboost(url: str, path: Path, *, exactly: bool) -> None:
    import xgboost

    model = xgboost.XGBClassifier()
    model.load_model(path)
    held_out, _ = trained.boosting_frame(rows=50, seed=3)
    records = held_out.astype(object).where(held_out.notna(), None).to_dict("records")
    assert any(record["income"] is None for record in records)
    answer = httpx.post(f"{url}/predict?proba=true", json=records, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["predictions"] == model.predict(held_out).tolist()
    served = np.array([[row["0"], row["1"]] for row in body["probabilities"]])
    # Rounded to 5 decimal places (the default); compiled, from float32 sums of the trees.
    expected = model.predict_proba(held_out)
    np.testing.assert_allclose(served, np.round(expected, 5) if exactly else expected, atol=0 if exactly else 1e-5)
    unknown = httpx.post(f"{url}/predict", json=[{**records[0], "city": "rome"}])
    assert unknown.status_code == 422 and "rome" in unknown.text


def test_the_image_answers_as_xgboost(xgboost_image: tuple[str, Path], start: Callable[[str], str]) -> None:
    tag, path = xgboost_image
    url = start(tag)
    answers_as_xgboost(url, path, exactly=False)
    assert httpx.get(f"{url}/models/xgb").json()["runtime"] == "onnx"


def test_an_image_served_by_xgboost_holds_its_cpu_build_and_answers_exactly(
    library_image: tuple[str, Path], start: Callable[[str], str]
) -> None:
    tag, path = library_image
    probe = (
        "import importlib.metadata as m, importlib.util as u; "
        "print(m.version('xgboost-cpu'), u.find_spec('sklearn') is not None, u.find_spec('nvidia') is None)"
    )
    assert docker("run", "--rm", "--network", "none", tag, "python3", "-c", probe).split() == [
        pytest.importorskip("xgboost").__version__,
        "True",
        "True",
    ]
    url = start(tag)
    answers_as_xgboost(url, path, exactly=True)
    details = httpx.get(f"{url}/models/xgb").json()
    assert details["runtime"] == "sklearn"
    assert details["details"]["libraries"] == {"xgboost": pytest.importorskip("xgboost").__version__}
