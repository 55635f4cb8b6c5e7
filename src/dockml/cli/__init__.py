"""The command line; the only place that exits the process (with health.py's own entry point,
which the image's HEALTHCHECK runs).

Each command lives in its own module, whose ``register(commands)`` adds its parser and sets
``run``: the function that carries the command out and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from dockml import __version__


def parser() -> argparse.ArgumentParser:
    # The commands are imported here rather than with the package, which the image's HEALTHCHECK
    # (`python3 -m dockml.cli.health`, health.py) imports every 10 s.
    from dockml.cli import build, convert, health, k8s, predict, score, serve

    top = argparse.ArgumentParser(
        prog="dockml", description="Deploy scikit-learn and ONNX models as fast, safe web services."
    )
    top.add_argument("--version", action="version", version=f"dockml {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    for module in (serve, convert, build, health, predict, score, k8s):
        module.register(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    from dockml.errors import DockmlError  # (with the commands: see parser)

    arguments = parser()
    args = arguments.parse_args(argv)
    if args.command is None:
        arguments.print_help()
        return 2
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except DockmlError as error:
        print(f"dockml: error: {error.detail}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
