"""`dockml build`: a Docker image that serves models exactly as `dockml serve` does."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from dockml.build.dockerfile import DEFAULT_BASE_IMAGE
from dockml.cli.options import add_serving_options, configure_logging, settings_or_demos

DESCRIPTION = """\
Build a Docker image that serves MODEL(s) exactly as `dockml serve` does, listening on
0.0.0.0:5000 inside the container.

scikit-learn models are compiled to ONNX first (checked against scikit-learn, as at serve
time), so the image needs neither scikit-learn nor SciPy. The image has two stages (install,
then run), pinned requirements, a non-root user, a HEALTHCHECK on /health/ready and OCI
labels with each model's sha256. It works with --read-only --tmpfs /tmp --cap-drop ALL.
"""

EPILOG = """\
examples:
  dockml build model.skops -t rf-api && docker run -p 5000:5000 rf-api
  dockml build model.skops -t rf-api --base-image mirror.local/python:3.11-slim
  dockml build model.skops --context-only build/     then: docker build -t rf-api build/
  dockml build model.skops -t rf-api --ca-cert /etc/ssl/certs/ca-certificates.crt   behind a TLS proxy
"""


def register(commands: Any) -> None:
    build = commands.add_parser(
        "build",
        help="build a small, hardened Docker image serving models (or the demo services)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "models", nargs="*", metavar="MODEL", help="model files, each PATH or NAME=PATH (none: the demos)"
    )
    build.add_argument("-t", "--tag", help="image name, e.g. rf-api (required unless --context-only)")
    build.add_argument(
        "--base-image", metavar="IMAGE", help=f"Python base image for both stages (default: {DEFAULT_BASE_IMAGE})"
    )
    build.add_argument(
        "--context-only", type=Path, metavar="DIR", help="write the build context to DIR and stop, to build elsewhere"
    )
    build.add_argument(
        "--ca-cert",
        type=Path,
        metavar="FILE",
        help="a CA certificate (PEM) that pip trusts while installing, for a TLS-inspecting proxy; "
        "only the install stage sees it, and that stage is removed after the build (see --keep-install-stage): "
        "the final image does not contain it",
    )
    build.add_argument(
        "--keep-install-stage",
        action="store_true",
        help="keep the install stage of a --ca-cert build (it holds the certificate) as the cache that makes "
        "the next build take seconds; without --ca-cert it is always kept, as dockml-install-stage:HASH",
    )
    build.add_argument(
        "--network", metavar="NAME", help="network for the RUN steps, passed to docker build (e.g. host)"
    )
    add_serving_options(build)
    build.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    from dockml.build.context import write_context
    from dockml.build.docker import docker_build
    from dockml.build.plan import plan_build
    from dockml.errors import ConfigError

    configure_logging("info")
    if not args.tag and not args.context_only:
        raise ConfigError("name the image with -t TAG, or write the context with --context-only DIR")
    if args.ca_cert and not args.ca_cert.is_file():
        raise ConfigError(f"--ca-cert: no such file: {args.ca_cert}")
    settings = settings_or_demos(args, environ={})
    plan = plan_build(
        settings,
        title=args.tag or "dockml",
        base_image=args.base_image,
        ca_cert=args.ca_cert is not None,
        workers_given=args.workers is not None,
    )
    for model in plan.spec.models:
        print(f"model '{model.name}': ships as {model.file} ({model.runtime})", flush=True)

    def write(folder: Path) -> Path:
        return write_context(
            plan.spec,
            folder,
            artifacts=plan.artifacts,
            side_files=plan.side_files,
            requirements=plan.requirements,
            server_settings=plan.server_settings,
            ca_cert=args.ca_cert,
        )

    if args.context_only:
        write(args.context_only)
        print(
            f"wrote the build context to {args.context_only}; build it with: docker build -t IMAGE {args.context_only}"
        )
        return 0
    with tempfile.TemporaryDirectory(prefix="dockml-build-") as folder:
        docker_build(
            write(Path(folder)),
            args.tag,
            base_image=args.base_image,
            network=args.network,
            keep_install_stage=args.keep_install_stage,
        )
    print(f"built {args.tag}; run it with: docker run -p 5000:5000 {args.tag}", flush=True)
    return 0
