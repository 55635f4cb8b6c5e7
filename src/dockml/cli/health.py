"""`dockml health`: the image's HEALTHCHECK, with Python alone (no curl in the image).

The image runs it as `python3 -m dockml.cli.health`, every 10 s for the container's life: that
way it loads this module alone, not every command's (0.07 s of CPU a check instead of 0.13).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from dockml.constants import PORT, SAGEMAKER_PORT

HELP = "exit 0 when a dockml server answers ready (the image's HEALTHCHECK)"
DESCRIPTION = (
    "GET /health/ready and exit 0 on 200, 1 otherwise. Used by the Docker HEALTHCHECK, so the image needs no curl."
)


def register(commands: Any) -> None:
    health = commands.add_parser("health", help=HELP, description=DESCRIPTION)
    add_arguments(health)
    health.set_defaults(run=run_health)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help="the readiness URL (default: http://127.0.0.1:PORT/health/ready, PORT as `dockml serve` takes it "
        f"from AIP_HTTP_PORT, PORT or DOCKML_PORT, else {PORT}; then SageMaker's {SAGEMAKER_PORT})",
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the answer (default: 2)")


def run_health(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    from dockml.platforms import platform_settings

    if args.url:
        urls = [args.url]
    else:
        # The port `dockml serve` chose, then the one the image's `serve` (SageMaker's) listens on.
        port = platform_settings(os.environ).get("port") or os.environ.get("DOCKML_PORT", str(PORT))
        ports = dict.fromkeys([port, os.environ.get("SAGEMAKER_BIND_TO_PORT", str(SAGEMAKER_PORT))])
        urls = [f"http://127.0.0.1:{p}/health/ready" for p in ports]
    failure: OSError | None = None
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=args.timeout) as response:  # noqa: S310 - a local URL
                return 0 if response.status == 200 else 1
        except (urllib.error.URLError, OSError) as error:
            failure = error
    print(f"dockml: not ready: {failure}", file=sys.stderr)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="dockml health", description=DESCRIPTION)
    add_arguments(parser)
    return run_health(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
