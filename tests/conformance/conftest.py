"""The battery's fixtures: every zoo model trained once, and served by two real `dockml serve` processes,
one with `--runtime auto` (ONNX where the parity check passes) and one with `--runtime sklearn`.

A model that fails to load stops the whole server, so a failed start drops the models its log names and
starts again (or, when the log names none, tries each model alone); the dropped models' tests then
report why they did not start instead of taking the battery down with them.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from checks import Session, Trained, train
from zoo import KINDS, RUNTIMES

from servers import RunningServer, start_server

START_TIMEOUT_S = 300.0


@dataclass
class Served:
    """The models one `dockml serve` process serves, and why the others are not served."""

    runtime: str
    server: RunningServer | None = None
    client: httpx.Client | None = None
    not_started: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)

    def session(self, trained: Trained) -> Session:
        if trained.name in self.not_started:
            pytest.skip(f"{trained.name} did not start with --runtime {self.runtime} (test_model_starts says why)")
        assert self.client is not None
        if trained.name not in self.sessions:
            self.sessions[trained.name] = Session(self.client, trained, self.runtime)
        return self.sessions[trained.name]


@pytest.fixture(scope="session")
def zoo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zoo")


@pytest.fixture(scope="session")
def zoo(zoo_folder: Path) -> dict[str, Trained]:
    models = zoo_folder / "models"
    models.mkdir()
    return {kind.name: train(kind, models) for kind in KINDS}


def _args(models: list[Trained], runtime: str) -> list[str]:
    return [*(f"{t.name}={t.path}" for t in models), "--runtime", runtime, "--workers", "1", "--trust-pickle"]


def _tail(log: str, lines: int = 6) -> str:
    return "\n".join([line for line in log.splitlines() if line.strip()][-lines:])


def _start_alone(trained: Trained, runtime: str, env: dict[str, str]) -> str | None:
    """None if the model starts on its own, else the end of the failed start's log."""
    try:
        server = start_server(_args([trained], runtime), env=env, timeout_s=START_TIMEOUT_S)
    except AssertionError as error:
        return _tail(str(error))
    server.stop()
    return None


def serve(models: list[Trained], runtime: str, home: Path) -> Served:
    """Start one server with every model that loads; record why each of the others did not."""
    served = Served(runtime)
    env = {"DOCKML_HOME": str(home)}
    remaining = list(models)
    while remaining:
        try:
            served.server = start_server(_args(remaining, runtime), env=env, timeout_s=START_TIMEOUT_S)
            break
        except AssertionError as error:
            log = str(error)
            errors = "\n".join(line for line in log.splitlines() if "error" in line.lower())
            named = [t for t in remaining if re.search(rf"[/=]{re.escape(t.path.name)}\b", errors)]
            if not named:  # the log names no model: learn from each alone
                with ThreadPoolExecutor(2) as pool:
                    alone = list(pool.map(lambda t: _start_alone(t, runtime, env), remaining))
                named = [t for t, failure in zip(remaining, alone, strict=True) if failure is not None]
                for trained, failure in zip(remaining, alone, strict=True):
                    if failure is not None:
                        served.not_started[trained.name] = failure
                if not named:
                    raise AssertionError(f"every model starts alone, but not together:\n{_tail(log, 20)}") from None
            else:
                for trained in named:
                    served.not_started[trained.name] = _tail(log)
            dropped = {t.name for t in named}
            remaining = [t for t in remaining if t.name not in dropped]
    if served.server is not None:
        _drain(served.server)
        served.client = httpx.Client(base_url=served.server.url, timeout=60)
    return served


def _drain(server: RunningServer) -> None:
    """Read the server's output as it comes: a full pipe would block its logging, and with it the server."""
    stdout = server.process.stdout

    def read() -> None:
        with contextlib.suppress(ValueError, OSError):  # closed when the server stops
            for _ in iter(stdout.readline, ""):
                pass

    if stdout is not None:
        threading.Thread(target=read, daemon=True).start()


@pytest.fixture(scope="session")
def servers(zoo: dict[str, Trained], zoo_folder: Path) -> Iterator[dict[str, Served]]:
    began = time.monotonic()
    home = zoo_folder / "dockml-home"
    with ThreadPoolExecutor(len(RUNTIMES)) as pool:
        started = dict(zip(RUNTIMES, pool.map(lambda r: serve(list(zoo.values()), r, home / r), RUNTIMES), strict=True))
    print(f"\nconformance servers ready in {time.monotonic() - began:.1f} s")
    yield started
    for served in started.values():
        if served.client is not None:
            served.client.close()
        if served.server is not None:
            served.server.stop()
