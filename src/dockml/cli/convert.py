"""`dockml convert`: compile a scikit-learn model to ONNX once, or a pickle to .skops."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dockml.cli.options import configure_logging


def register(commands: Any) -> None:
    convert = commands.add_parser(
        "convert",
        help="compile a scikit-learn model to ONNX (checked against scikit-learn), or a pickle to .skops",
        description="Convert MODEL once, as `dockml serve` would at load: to .onnx with skl2onnx, checked on "
        "inputs generated from its signature (labels identical, values within 1e-5 relative), with the "
        "signature stored in the file; or a pickle to the safe .skops format. A side file beside MODEL is "
        "copied beside OUTPUT.",
    )
    convert.add_argument("model", metavar="MODEL", help="a .skops, .joblib or .pkl scikit-learn model")
    convert.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUTPUT", help="the .onnx or .skops file to write"
    )
    convert.add_argument(
        "--trust-pickle", action="store_true", help="allow reading a .joblib/.pkl MODEL (it runs code from the file)"
    )
    convert.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dockml.convert import convert_model

    configure_logging("info")
    for line in convert_model(Path(args.model), args.output, trust_pickle=args.trust_pickle):
        print(line, flush=True)
    return 0
