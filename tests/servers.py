"""Servers for the tests: the app in process (make_client) or `dockml serve` as a real process
(start_server). A module, not conftest.py, so tests can import it by a name no other file takes."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
from starlette.testclient import TestClient

from dockml.config import load_settings
from dockml.http import create_app
from dockml.service import load_registry


def make_client(model_arguments: list[str], **flags: object) -> TestClient:
    flags = {"workers": 1, **flags}
    settings = load_settings(config_file=None, model_arguments=model_arguments, flags=flags, environ={})
    registry = load_registry(settings)
    return TestClient(create_app(registry, settings), raise_server_exceptions=False)


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

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s; the output pipe closed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process.stdout:
            self.process.stdout.close()


def start_server(
    args: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 60.0, fd_limit: int | None = None
) -> RunningServer:
    """`python -m dockml serve ARGS` on a free loopback port, returned once /health/ready says 200.
    ``fd_limit`` caps the files the server may open (RLIMIT_NOFILE), as a common 1,024 does."""
    port = free_port()

    def limit_files() -> None:
        if fd_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

    process = subprocess.Popen(
        [sys.executable, "-m", "dockml", "serve", *args, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=limit_files,
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
