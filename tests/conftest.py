"""Shared fixtures: the demo models (trained once per run), small test models, real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from dockml.config import load_settings
from dockml.http import create_app
from dockml.service import load_registry


@pytest.fixture(scope="session")
def dockml_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private DOCKML_HOME, so tests never touch the user's cache and always train the demos."""
    home = tmp_path_factory.mktemp("dockml-home")
    os.environ["DOCKML_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def demo_models(dockml_home: Path) -> dict[str, Path]:
    from dockml.demos import demo_paths

    return demo_paths(dockml_home)


def make_client(model_arguments: list[str], **flags: object) -> TestClient:
    flags = {"workers": 1, **flags}
    settings = load_settings(config_file=None, model_arguments=model_arguments, flags=flags, environ={})
    registry = load_registry(settings)
    return TestClient(create_app(registry, settings), raise_server_exceptions=False)


@pytest.fixture(scope="session")
def demo_client(demo_models: dict[str, Path]) -> Iterator[TestClient]:
    """Both demos in process, as `dockml serve` with no model serves them."""
    with make_client([f"{name}={path}" for name, path in demo_models.items()]) as client:
        yield client


@pytest.fixture(scope="session")
def iris_client(demo_models: dict[str, Path]) -> Iterator[TestClient]:
    """The iris model alone: the tutorial's rf-api, routes at the root."""
    with make_client([f"iris={demo_models['iris']}"]) as client:
        yield client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[str]

    def output(self) -> str:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=15)
        return out


def start_server(args: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 60.0) -> RunningServer:
    """`python -m dockml serve ARGS` on a free loopback port, returned once /health/ready says 200."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dockml", "serve", *args, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=1.0).status_code == 200:
                return RunningServer(url, process)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"server not ready within {timeout_s} s:\n{process.communicate()[0]}")


@pytest.fixture()
def server_factory() -> Iterator:
    started: list[RunningServer] = []

    def start(args: list[str], **kwargs: object) -> RunningServer:
        server = start_server(args, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.terminate()
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
        if server.process.stdout:
            server.process.stdout.close()
