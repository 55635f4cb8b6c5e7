"""Shared fixtures: the demo models (trained once per run), small test models, real servers;
the markers each test gets from the fixtures it uses; and the record of which test files the
session collected (tests/test_collection.py).

Markers, from a test's fixtures (those it uses, directly or through other fixtures), so that no
test has to be marked by hand:

- server: a fixture named server, servers, *_server or server_factory starts `dockml serve` as a
  real process on 127.0.0.1 (name any new such fixture that way);
- docker: docker_engine, which every test in tests/docker needs, builds images and runs containers;
- browser: browser, Chromium driven by Playwright (tests/playground).

`slow` is the one set by hand, on a test that takes long even without them. scripts/check runs
what none of them marks.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from servers import RunningServer, make_client, start_server

COLLECTED_FILES = pytest.StashKey[set[Path]]()
SERVER_FIXTURE = re.compile(r"(^|_)servers?(_|$)")


def markers_from_fixtures(fixturenames: list[str]) -> list[str]:
    found = []
    if any(SERVER_FIXTURE.search(name) for name in fixturenames):
        found.append("server")
    if "docker_engine" in fixturenames:
        found.append("docker")
    if "browser" in fixturenames:
        found.append("browser")
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: before -m, -k or --deselect look at the markers or take any item away.
    config.stash[COLLECTED_FILES] = {item.path.resolve() for item in items}
    for item in items:
        for marker in markers_from_fixtures(getattr(item, "fixturenames", [])):
            item.add_marker(marker)


@pytest.fixture()
def collected_test_files(request: pytest.FixtureRequest) -> set[Path] | None:
    """The files this session collected tests from, whatever -m or -k then selected; None when
    paths, --ignore or --lf narrowed the collection, so it says nothing about the whole suite."""
    config = request.config
    narrowed = (
        config.args_source is not pytest.Config.ArgsSource.TESTPATHS
        or config.getoption("lf", False)  # absent under -p no:cacheprovider
        or config.getoption("ignore")
        or config.getoption("ignore_glob")
    )
    return None if narrowed else config.stash[COLLECTED_FILES]


@pytest.fixture(scope="session")
def dockml_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private DOCKML_HOME, so tests never touch the user's cache (and compile every model afresh)."""
    home = tmp_path_factory.mktemp("dockml-home")
    os.environ["DOCKML_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def demo_models(dockml_home: Path, pytestconfig: pytest.Config) -> dict[str, Path]:
    """The demos, trained once per checkout: pytest's cache keeps them between sessions, under
    the hash of demos.py, so a change to how they are trained trains them again. (Training is
    half a minute of a fast run; a fresh clone, as in CI, trains them. The training itself is
    tested by test_the_first_start_says_it_is_training_the_demos.)"""
    import dockml.demos
    from dockml.demos import demo_paths

    cache = getattr(pytestconfig, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        source = hashlib.sha256(Path(dockml.demos.__file__).read_bytes()).hexdigest()[:16]
        trained = cache.mkdir(f"dockml-demos-{source}")
        demo_paths(trained)  # trains only what is missing
        shutil.copytree(trained / "demos", dockml_home / "demos", dirs_exist_ok=True)
    return demo_paths(dockml_home)


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


@pytest.fixture()
def server_factory() -> Iterator:
    started: list[RunningServer] = []

    def start(args: list[str], **kwargs: object) -> RunningServer:
        server = start_server(args, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
