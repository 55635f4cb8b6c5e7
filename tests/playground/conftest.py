"""Fixtures for the playground's browser tests: Debian's Chromium driven by Playwright.

Playwright is only the driver here: it never downloads a browser; it launches the system's
Chromium (`apt-get install -y chromium`, or DOCKML_CHROMIUM=/path). Without Chromium or the
playwright package these tests skip; with DOCKML_REQUIRE_BROWSER=1, as in CI, they fail instead.
Screenshots go to artifacts/playground/ (DOCKML_UPDATE_SCREENSHOTS=1 also refreshes
docs/playground.png, the README's picture).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from servers import RunningServer, start_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "playground"
# Without the background-networking flags Chromium calls home at start, which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail where DOCKML_REQUIRE_BROWSER=1 says the browser must be there."""
    if os.environ.get("DOCKML_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (DOCKML_REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> Path | None:
    found = os.environ.get("DOCKML_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return Path(found) if Path(found).is_file() else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the browser tests need the playwright package: pip install -e '.[test]'")
    executable = chromium_path()
    if executable is None:
        unavailable("the browser tests need Chromium: apt-get install -y chromium (or set DOCKML_CHROMIUM)")
    # Module scope: Playwright's sync API holds an event loop while it runs, which other tests' loops must not meet.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _stop(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.communicate()


@pytest.fixture(scope="module")
def demo_server(demo_models: dict[str, Path]) -> Iterator[RunningServer]:
    """`dockml serve` with both demos on 127.0.0.1, as a user runs it."""
    server = start_server([f"{name}={path}" for name, path in demo_models.items()] + ["--workers", "1"])
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def keyed_server(demo_models: dict[str, Path]) -> Iterator[RunningServer]:
    server = start_server([f"iris={demo_models['iris']}", "--workers", "1"], env={"DOCKML_API_KEY": "s3cret-key"})
    yield server
    _stop(server)


@pytest.fixture()
def screenshot() -> Any:
    """Save a screenshot of a page as artifacts/playground/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page: Any, name: str, **options: Any) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), **options)
        return path

    return save
