"""Fixtures for tests that build images and run containers on a real Docker engine.

Without an engine, or without a base image named by DOCKML_TEST_BASE_IMAGE, these tests skip;
with DOCKML_REQUIRE_DOCKER=1, as in CI, they fail instead. CI starts the engine and builds the
base image with .ci/docker-engine.sh; by hand:

    bash .ci/docker-engine.sh
    DOCKML_TEST_BASE_IMAGE=dockml-base:bookworm pytest tests/docker

Builds and containers use --network host (the engine has no bridge), and each app listens on a
free port given to it in an environment variable and is reached on 127.0.0.1 only. Every image
and container made here carries a unique dockml-test-* name and is removed at teardown.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NoReturn

import httpx
import pytest

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SESSION_LABEL = f"dockml.test.session={uuid.uuid4().hex[:12]}"


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail where DOCKML_REQUIRE_DOCKER=1 says the engine must be there."""
    hint = "CI runs .ci/docker-engine.sh"
    if os.environ.get("DOCKML_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason} ({hint}; DOCKML_REQUIRE_DOCKER=1 makes this a failure)", pytrace=False)
    pytest.skip(f"{reason} ({hint})")


def run_docker(*args: str, timeout_s: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"docker {' '.join(args)}: no answer within {timeout_s} s") from exc
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited with {result.returncode}:\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Container:
    name: str
    url: str
    process: subprocess.Popen[bytes]  # the attached `docker run`
    log: IO[bytes]

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")


class Docker:
    """Builds images and runs containers, and removes every one of them in `close`."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._images: list[str] = []
        self._stage_ids: list[str] = []
        self._containers: list[Container] = []

    def build(self, context: Path, *, build_args: Mapping[str, str] = {}, timeout_s: float = 900.0) -> str:
        """`docker build --network host` of CONTEXT under a new dockml-test-* tag, returned."""
        tag = f"dockml-test-{uuid.uuid4().hex[:12]}"
        # --force-rm: the classic builder otherwise keeps the container of a step that failed.
        argv = ["build", "--network", "host", "--force-rm", "--label", SESSION_LABEL, "--tag", tag]
        for name, value in build_args.items():
            argv += ["--build-arg", f"{name}={value}"]
        self._images.append(tag)
        result = run_docker(*argv, str(context), timeout_s=timeout_s, check=False)
        # The classic builder keeps the last image of each earlier stage of a multi-stage build,
        # untagged and unlabelled; its output is the only record of their ids.
        self._stage_ids += re.findall(r"^ ---> ([0-9a-f]{12})$", result.stdout, flags=re.MULTILINE)
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-6000:]
            raise AssertionError(f"docker build of {context} exited with {result.returncode}:\n{output}")
        return tag

    def run_container(
        self,
        image: str,
        *,
        env: Mapping[str, str] = {},
        extra_args: Sequence[str] = (),
        port_env: str = "PORT",
        ready_path: str = "/",
        ready_timeout_s: float = 60.0,
    ) -> Container:
        """`docker run --rm --network host` of IMAGE, returned once it answers HTTP on its port.

        The app gets a free port in the variable PORT_ENV and is reached at http://127.0.0.1:port.
        Any HTTP answer to READY_PATH counts as ready. `docker run` stays attached in the
        background (rather than -d) so that the app's output is kept even if it exits at once.
        """
        port = free_port()
        name = f"dockml-test-{uuid.uuid4().hex[:12]}"
        argv = ["docker", "run", "--rm", "--network", "host", "--name", name, "--label", SESSION_LABEL]
        # --init: a Python app as process 1 ignores SIGTERM, and `docker stop` would wait 10 s.
        argv += ["--init", "--env", f"{port_env}={port}"]
        for key, value in env.items():
            argv += ["--env", f"{key}={value}"]
        argv += [*extra_args, image]
        log = (self._workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        container = Container(name, f"http://127.0.0.1:{port}", process, log)
        self._containers.append(container)

        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{image} exited with {process.returncode}:\n{container.output()}")
            try:
                httpx.get(container.url + ready_path, timeout=1.0)
                return container
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"{image} did not answer on {container.url} in {ready_timeout_s} s:\n{container.output()}")

    def stop(self, container: Container, *, timeout_s: float = 30.0) -> None:
        """`docker stop`, then wait for the attached `docker run` to end."""
        run_docker("stop", "--time", "5", container.name, timeout_s=timeout_s, check=False)
        try:
            container.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            container.process.kill()
            container.process.wait(timeout=10)

    def container_exists(self, name: str) -> bool:
        return run_docker("container", "inspect", name, check=False).returncode == 0

    def remove_image(self, tag: str) -> None:
        run_docker("image", "rm", tag, check=False)

    def close(self) -> None:
        """Remove every container and image made here; report the ones that would not go."""
        leftovers = []
        for container in self._containers:
            if container.process.poll() is None or self.container_exists(container.name):
                run_docker("rm", "--force", container.name, timeout_s=30, check=False)
            try:
                container.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                container.process.kill()
                container.process.wait(timeout=10)
            container.log.close()
            if self.container_exists(container.name):
                leftovers.append(f"container {container.name}")
        for tag in self._images:
            run_docker("image", "rm", "--force", tag, check=False)
            if run_docker("image", "inspect", tag, check=False).returncode == 0:
                leftovers.append(f"image {tag}")
        dangling = run_docker("images", "--quiet", "--filter", "dangling=true", check=False).stdout.split()
        for image_id in reversed(self._stage_ids):  # children before their parents
            if image_id in dangling:
                run_docker("image", "rm", image_id, check=False)
        assert not leftovers, f"could not remove {', '.join(leftovers)}"


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """The engine's version, once `docker info` answers. At the end of the session, no image may be
    left untagged that was not before it (a rebuilt tag, a build stage): the tests once left one."""
    version = _engine_version()
    dangling = set(run_docker("images", "--quiet", "--filter", "dangling=true").stdout.split())
    yield version
    left = set(run_docker("images", "--quiet", "--filter", "dangling=true").stdout.split()) - dangling
    if left:
        run_docker("image", "rm", "--force", *left, check=False)
    assert not left, f"the docker tests left untagged images behind: {sorted(left)}"


def _engine_version() -> str:
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30
        )
    except FileNotFoundError:
        unavailable("no Docker engine: the docker command is not installed")
    except subprocess.TimeoutExpired:
        unavailable("no Docker engine: `docker info` did not answer within 30 s")
    if result.returncode != 0 or not result.stdout.strip():
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        unavailable(f"no Docker engine: `docker info` failed: {detail}")
    return result.stdout.strip()


@pytest.fixture(scope="session")
def base_image(docker_engine: str) -> str:
    """The image the tests build on, named by DOCKML_TEST_BASE_IMAGE (no image can be pulled here)."""
    name = os.environ.get("DOCKML_TEST_BASE_IMAGE", "")
    if not name:
        unavailable("no base image: set DOCKML_TEST_BASE_IMAGE, e.g. to dockml-base:bookworm")
    if run_docker("image", "inspect", name, check=False).returncode != 0:
        unavailable(f"no base image: {name} is not on this engine; build it with scripts/build-base-image.sh {name}")
    return name


@pytest.fixture(scope="session")
def docker(docker_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Docker]:
    """Builds and runs for the whole session; everything it made is removed at the end."""
    engine = Docker(tmp_path_factory.mktemp("docker"))
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="session")
def copy_ca_bundle() -> Callable[..., Path | None]:
    """Copies the host's CA bundle into a build context, so that pip in the build trusts the
    TLS-inspecting proxy this machine reaches PyPI through; None where the host has no bundle."""

    def copy(context: Path, name: str = "extra-ca.crt") -> Path | None:
        if not HOST_CA_BUNDLE.is_file():
            return None
        return Path(shutil.copyfile(HOST_CA_BUNDLE, context / name))

    return copy
