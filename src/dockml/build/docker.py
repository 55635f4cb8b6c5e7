"""Running `docker build`: argv lists, never a shell string; their output streams through.

The image is built in two steps: first its install stage alone, under a name of its own
(``dockml-install-stage:<hash of what it is made from>``), then the whole image. Docker's classic
builder (engines without buildx) would otherwise keep that stage as an untagged 334 MB image
after every build, which nothing names or removes. Named, it is the cache that makes the next
build with the same requirements take seconds; a stage that saw a ``--ca-cert`` is removed after
the build unless kept on purpose, so the certificate stays in no image on the machine.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from dockml.build.dockerfile import DEFAULT_BASE_IMAGE, FINAL_STAGE_MARKER
from dockml.errors import ConfigError

INSTALL_STAGE = "install"
INSTALL_STAGE_REPOSITORY = "dockml-install-stage"


class DockerFailed(ConfigError):
    pass


def install_stage_tag(context: Path, base_image: str) -> str:
    """A name for the install stage that changes whenever anything it is built from does."""
    digest = hashlib.sha256(base_image.encode())
    dockerfile = (context / "Dockerfile").read_text()
    digest.update(dockerfile.split(FINAL_STAGE_MARKER, 1)[0].encode())
    for name in ("requirements.txt", "ca.crt"):
        if (context / name).is_file():
            digest.update(name.encode() + (context / name).read_bytes())
    return f"{INSTALL_STAGE_REPOSITORY}:{digest.hexdigest()[:12]}"


def docker_build(
    context: Path,
    tag: str,
    *,
    base_image: str | None = None,
    network: str | None = None,
    quiet: bool = False,
    keep_install_stage: bool = False,
) -> None:
    """Build ``context`` as ``tag``. The install stage is kept (named) for the next build, unless
    it holds a CA certificate and ``keep_install_stage`` is false."""
    docker = shutil.which("docker")
    if docker is None:
        raise DockerFailed(
            "docker is not installed or not on PATH; write the context with --context-only DIR and build it elsewhere"
        )
    base = base_image or DEFAULT_BASE_IMAGE
    # Where images cannot be pulled (an air-gapped machine, a registry behind a firewall), the
    # missing base image is the usual cause of a failed build: say so, and what to do.
    local_base = subprocess.run([docker, "image", "inspect", base], capture_output=True, check=False).returncode == 0
    options: list[str] = []
    if base_image:
        options += ["--build-arg", f"BASE_IMAGE={base_image}"]
    if network:
        options += ["--network", network]
    if quiet:
        options.append("--quiet")
    stage = install_stage_tag(context, base)
    try:
        for argv in (
            [docker, "build", "--target", INSTALL_STAGE, "--tag", stage, *options, str(context)],
            [docker, "build", "--tag", tag, *options, str(context)],
        ):
            result = subprocess.run(argv, check=False)
            if result.returncode != 0:
                raise DockerFailed(_failure(result.returncode, base, local_base))
    finally:
        if (context / "ca.crt").is_file() and not keep_install_stage:
            subprocess.run([docker, "image", "rm", stage], capture_output=True, check=False)


def _failure(code: int, base: str, local_base: bool) -> str:
    hint = (
        ""
        if local_base
        else f". The base image {base} is not on this machine: where it cannot be pulled, build one from "
        "Debian packages with scripts/build-base-image.sh (in dockml's repository) and pass "
        "--base-image dockml-base:bookworm (docs/tutorial.md, section 0)"
    )
    return f"docker build failed (exit {code}); its output above says why{hint}"
