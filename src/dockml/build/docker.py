"""Running `docker build`: an argv list, never a shell string; its output streams through."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
        raise DockerFailed(f"docker build failed (exit {result.returncode}); its output above says why")
