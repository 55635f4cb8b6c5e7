"""The clients people already have, run for real against a real dockml server: the KServe SDK's
REST client, MLflow's ScoringServerClient, and `mlflow models serve` itself side by side with
dockml on MLflow's documented payloads. (Triton's client: test_v2.py.) Each client runs from a
venv of its own (conftest.py) through a script beside this file that prints what it saw."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from servers import free_port

HERE = Path(__file__).parent
SETOSA_VIRGINICA = ["setosa", "virginica"]


def run(python: Path, *args: str, timeout_s: float = 180) -> dict:
    result = subprocess.run([str(python), *args], capture_output=True, text=True, timeout=timeout_s)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_kserve_rest_client(server_factory, demo_models, kserve_python):
    server = server_factory([f"iris={demo_models['iris']}", "--workers", "1"])
    seen = run(kserve_python, str(HERE / "kserve_client.py"), server.url)
    assert seen["live"] is True and seen["ready"] is True and seen["model_ready"] is True
    assert seen["json"]["id"] == "json-1"
    assert seen["json"]["outputs"]["label"] == SETOSA_VIRGINICA
    assert len(seen["json"]["outputs"]["probabilities"]) == 2
    assert seen["binary"] == {"labels": SETOSA_VIRGINICA, "probabilities_shape": [2, 3]}
    assert seen["input_0"] == ["setosa"]
    assert seen["wrong_shape"]["status"] == 400 and "expected [rows, 4]" in seen["wrong_shape"]["message"]
    assert seen["server_metadata"] == seen["server_metadata_slash"]
    assert seen["server_metadata"]["extensions"] == ["binary_tensor_data"]
    assert seen["model_metadata"]["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 4]}]
    assert seen["models"] == {
        "live": {"live": True},
        "ready": {"ready": True},
        "model_ready": {"name": "iris", "ready": True},
    }
    assert seen["infer_response"]["outputs"][0]["data"] == ["setosa"]


@pytest.fixture(scope="module")
def mlflow_models(mlflow_python, tmp_path_factory) -> Path:
    """Two iris models saved by MLflow: named (with a signature) and unnamed (trained on an array)."""
    folder = tmp_path_factory.mktemp("mlflow-models")
    result = subprocess.run(
        [str(mlflow_python), str(HERE / "mlflow_client.py"), "save", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def dockml_args(models: Path) -> list[str]:
    # unnamed first, so that /invocations serves it: the client's pd.DataFrame(X) has columns 0..3.
    return [
        f"unnamed={models / 'unnamed' / 'model.pkl'}",
        f"named={models / 'named' / 'model.pkl'}",
        "--trust-pickle",
        "--workers",
        "1",
    ]


def test_mlflow_scoring_server_client(server_factory, mlflow_python, mlflow_models):
    server = server_factory(dockml_args(mlflow_models))
    seen = run(mlflow_python, str(HERE / "mlflow_client.py"), "client", server.url)
    assert seen["version"] == "0.1.0"
    assert seen["dataframe"] == seen["numpy"] == [0, 2, 1]
    assert seen["named_dict"] == seen["named_list"] == seen["named_dataframe"] == [0, 2, 1]
    assert seen["missing_model_ready"] is False  # /models/nothing/ping is 404: the wait gives up


class MlflowServer:
    def __init__(self, python: Path, model: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        bin_folder = str(python.parent)
        # --env-manager local: the model runs in this venv, nothing is downloaded. mlflow starts
        # uvicorn by name, hence the venv's bin first on PATH.
        self.process = subprocess.Popen(
            [
                str(python.parent / "mlflow"),
                "models",
                "serve",
                "-m",
                str(model),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PATH": f"{bin_folder}:{os.environ.get('PATH', '')}"},
        )

    def wait(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mlflow models serve exited:\n{self.process.stdout.read()}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError("mlflow models serve not ready in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


@pytest.mark.parametrize("kind", ["named", "unnamed"])
def test_mlflow_payloads_side_by_side_with_mlflow_models_serve(server_factory, mlflow_python, mlflow_models, kind):
    """Every payload that `mlflow models serve` answers, dockml answers with the same predictions."""
    mlflow = MlflowServer(mlflow_python, mlflow_models / kind)
    try:
        dockml = server_factory(dockml_args(mlflow_models))
        mlflow.wait()
        script = str(HERE / "mlflow_client.py")
        theirs = run(mlflow_python, script, "payloads", f"{mlflow.url}/invocations", kind)
        ours = run(mlflow_python, script, "payloads", f"{dockml.url}/models/{kind}/invocations", kind)
    finally:
        mlflow.stop()
    answered = sorted(name for name, seen in theirs.items() if seen["status"] == 200)
    # MLflow's documented formats work on both (a model with a signature refuses bare rows).
    documented = {"dataframe_split", "dataframe_records", "csv", "parquet", "numbers as text"}
    assert documented <= set(answered), theirs
    for name in answered:
        assert ours[name] == theirs[name], (name, ours[name], theirs[name])
    # Where MLflow fails on its own model (bare rows against a signature, an index or extra column
    # given to a model without one), dockml still answers, as its input rules allow.
    assert all(seen["status"] == 200 for seen in ours.values()), ours
