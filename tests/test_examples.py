"""The examples work as their READMEs say: train, serve, make the tutorial's calls."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def copy_and_train(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder)
    result = subprocess.run([sys.executable, "train.py"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return folder


def test_rf_api_readme_calls(tmp_path, server_factory):
    folder = copy_and_train("rf-api", tmp_path)
    server = server_factory([str(folder / "iris_rf.skops")])
    query = "s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2"
    assert httpx.get(f"{server.url}/predict?{query}").json() == {"predictions": ["setosa"]}
    upload = {"file": ("flowers.csv", (folder / "flowers.csv").read_bytes(), "text/csv")}
    assert httpx.post(f"{server.url}/predict_file", files=upload).json() == {
        "predictions": ["setosa", "versicolor", "virginica"]
    }
    as_csv = httpx.post(f"{server.url}/predict_file", files=upload, headers={"Accept": "text/csv"}).text
    assert as_csv.splitlines()[0] == "s_length,s_width,p_length,p_width,prediction"
    assert httpx.get(f"{server.url}/apidocs").status_code == 200


def test_digits_api_readme_calls(tmp_path, server_factory):
    folder = copy_and_train("digits-api", tmp_path)
    server = server_factory([str(folder / "digits_rf.skops")])
    upload = {"file": ("seven.png", (folder / "seven.png").read_bytes(), "image/png")}
    assert httpx.post(f"{server.url}/predict_image", files=upload).json() == {"predictions": [7]}
