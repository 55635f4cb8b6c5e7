"""A `dockml build` image run the way the cloud platforms run containers (build/platforms.py):
AWS SageMaker (`docker run IMAGE serve`, port 8080, /ping and /invocations with CSV and JSON),
Google Vertex AI (AIP_* variables, {"instances": [...]} in, {"predictions": [...]} out) and
Cloud Run (PORT)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servers import free_port

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]
IRIS = ["s_length", "s_width", "p_length", "p_width"]

# Run inside the SageMaker container, in its own network namespace, so that port 8080 is the
# container's own and SageMaker's calls are made exactly as it makes them.
SAGEMAKER_CALLS = """
import json, time, urllib.request

def call(path, body=None, content_type=None, accept=None):
    request = urllib.request.Request("http://127.0.0.1:8080" + path, data=body)
    if content_type:
        request.add_header("Content-Type", content_type)
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return {"status": answer.status, "type": answer.headers["Content-Type"], "body": answer.read().decode()}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "type": error.headers["Content-Type"], "body": error.read().decode()}

for _ in range(300):
    try:
        if call("/ping")["status"] == 200:
            break
    except OSError:
        pass
    time.sleep(0.1)
csv = b"5.1,3.5,1.4,0.2\\n6.7,3.0,5.2,2.3\\n"
one = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}).encode()
print(json.dumps({
    "ping": call("/ping"),
    "csv_to_csv": call("/invocations", csv, "text/csv", "text/csv"),
    "csv_to_json": call("/invocations", csv, "text/csv", "application/json"),
    "json_to_json": call("/invocations", one, "application/json"),
    "bad": call("/invocations", b"1,2\\n", "text/csv"),
}))
"""


def docker(*args: str, timeout_s: float = 120.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout_s)
    if check:
        assert result.returncode == 0, f"docker {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def iris_image(base_image: str, demo_models: dict[str, Path]) -> Iterator[str]:
    tag = f"dockml-test-platforms-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, "-m", "dockml", "build", f"iris={demo_models['iris']}", "-t", tag]
    argv += ["--base-image", base_image, "--network", "host"]
    if HOST_CA_BUNDLE.is_file():
        argv += ["--ca-cert", str(HOST_CA_BUNDLE)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    yield tag
    docker("image", "rm", "--force", tag, check=False)


@pytest.fixture()
def containers(docker_engine: str) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        docker("rm", "--force", name, check=False)


def start(names: list[str], *args: str) -> str:
    name = f"dockml-test-{uuid.uuid4().hex[:12]}"
    names.append(name)
    docker("run", "-d", "--name", name, *args)
    return name


def wait_for(url: str, name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    logs = docker("logs", name, check=False)
    raise AssertionError(f"{url} not ready in 60 s:\n{logs.stdout}\n{logs.stderr}")


def test_sagemaker_runs_it_as_serve_on_port_8080(iris_image, containers):
    name = start(containers, "--network", "none", iris_image, "serve")
    result = docker("exec", name, "python3", "-c", SAGEMAKER_CALLS, timeout_s=90)
    seen = json.loads(result.stdout)
    assert seen["ping"]["status"] == 200
    assert seen["csv_to_csv"] == {"status": 200, "type": "text/csv; charset=utf-8", "body": "setosa\nvirginica\n"}
    assert seen["csv_to_json"]["status"] == 200
    assert json.loads(seen["csv_to_json"]["body"]) == {"predictions": ["setosa", "virginica"]}
    assert json.loads(seen["json_to_json"]["body"]) == {"predictions": ["setosa"]}
    assert seen["bad"]["status"] == 400 and "expected a header naming" in json.loads(seen["bad"]["body"])["message"]
    # The image's HEALTHCHECK finds the server on SageMaker's port too.
    assert docker("exec", name, "python3", "-m", "dockml", "health", check=False).returncode == 0


def test_vertex_ai_variables(iris_image, containers):
    port = free_port()
    predict_route = "/v1/endpoints/123/deployedModels/456:predict"
    health_route = "/v1/endpoints/123/deployedModels/456"
    env = [f"AIP_HTTP_PORT={port}", f"AIP_PREDICT_ROUTE={predict_route}", f"AIP_HEALTH_ROUTE={health_route}"]
    name = start(containers, "--network", "host", *(arg for item in env for arg in ("-e", item)), iris_image)
    url = f"http://127.0.0.1:{port}"
    wait_for(url + health_route, name)
    rows = httpx.post(url + predict_route, json={"instances": [SETOSA, VIRGINICA], "parameters": {}})
    assert rows.status_code == 200 and rows.json() == {"predictions": ["setosa", "virginica"]}
    records = [dict(zip(IRIS, SETOSA, strict=True))]
    assert httpx.post(url + predict_route, json={"instances": records}).json() == {"predictions": ["setosa"]}
    bad = httpx.post(url + predict_route, json={"instances": [[1, 2]]})
    assert bad.status_code == 400 and "expected 4 values" in bad.json()["message"]
    assert docker("exec", name, "python3", "-m", "dockml", "health", check=False).returncode == 0
    document = httpx.get(f"{url}/openapi.json").json()
    assert predict_route in document["paths"] and health_route in document["paths"]


def test_cloud_run_port(iris_image, containers):
    port = free_port()
    name = start(containers, "--network", "host", "-e", f"PORT={port}", iris_image)
    wait_for(f"http://127.0.0.1:{port}/health/ready", name)
    query = "s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2"
    assert httpx.get(f"http://127.0.0.1:{port}/predict?{query}").json() == {"predictions": ["setosa"]}
