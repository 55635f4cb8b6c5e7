"""`dockml health`: the image's HEALTHCHECK, with Python alone (no curl in the image)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from dockml.constants import PORT, SAGEMAKER_PORT


def register(commands: Any) -> None:
    health = commands.add_parser(
        "health",
        help="exit 0 when a dockml server answers ready (the image's HEALTHCHECK)",
        description="GET /health/ready and exit 0 on 200, 1 otherwise. Used by the Docker HEALTHCHECK, so the "
        "image needs no curl.",
    )
    health.add_argument(
        "--url",
        help="the readiness URL (default: http://127.0.0.1:PORT/health/ready, PORT as `dockml serve` takes it "
        f"from AIP_HTTP_PORT, PORT or DOCKML_PORT, else {PORT}; then SageMaker's {SAGEMAKER_PORT})",
    )
    health.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the answer (default: 2)")
    health.set_defaults(run=run_health)


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
