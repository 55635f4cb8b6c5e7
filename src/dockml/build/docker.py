"""Running `docker build`: an argv list, never a shell string; its output streams through."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dockml.build.dockerfile import DEFAULT_BASE_IMAGE
from dockml.errors import ConfigError


class DockerFailed(ConfigError):
    pass


def docker_build(
    context: Path, tag: str, *, base_image: str | None = None, network: str | None = None, quiet: bool = False
) -> None:
    docker = shutil.which("docker")
    if docker is None:
        raise DockerFailed(
            "docker is not installed or not on PATH; write the context with --context-only DIR and build it elsewhere"
        )
    base = base_image or DEFAULT_BASE_IMAGE
    # Where images cannot be pulled (an air-gapped machine, a registry behind a firewall), the
    # missing base image is the usual cause of a failed build: say so, and what to do.
    local_base = subprocess.run([docker, "image", "inspect", base], capture_output=True, check=False).returncode == 0
    argv = [docker, "build", "--tag", tag]
    if base_image:
        argv += ["--build-arg", f"BASE_IMAGE={base_image}"]
    if network:
        argv += ["--network", network]
    if quiet:
        argv.append("--quiet")
    argv.append(str(context))
    result = subprocess.run(argv, check=False)
    if result.returncode != 0:
        hint = (
            ""
            if local_base
            else f". The base image {base} is not on this machine: where it cannot be pulled, build one from "
            "Debian packages with scripts/build-base-image.sh (in dockml's repository) and pass "
            "--base-image dockml-base:bookworm (docs/tutorial.md, section 7)"
        )
        raise DockerFailed(f"docker build failed (exit {result.returncode}); its output above says why{hint}")
