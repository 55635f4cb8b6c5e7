"""`dockml score`: a file, offline and in chunks, as the server would answer it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dockml.cli.options import add_setting_options, configure_logging

EPILOG = """\
examples:
  dockml score iris.skops flowers.csv -o scored.csv --proba
  dockml score model.onnx big.parquet -o scored.parquet --chunk-rows 50000
"""


def register(commands: Any) -> None:
    score = commands.add_parser(
        "score",
        help="score a CSV or Parquet file offline, in chunks, with the server's runtime and checks",
        description="Predict every row of INPUT with MODEL, loaded as `dockml serve` loads it, and write the "
        "input columns, a 'prediction' column and (with --proba) 'proba_<class>' columns to OUTPUT, as "
        "/predict_file answers in CSV. Rows are read, checked, predicted and written in chunks, so memory "
        "stays flat however large the file. .parquet files are read and written with pyarrow "
        "(dockml[parquet]); - is CSV on stdin or stdout.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("model", metavar="MODEL", help="a model file, PATH or NAME=PATH, as for serve")
    score.add_argument("input", metavar="INPUT", help="a .csv or .parquet file, or - for CSV on stdin")
    score.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT", help="a .csv or .parquet file, or - for CSV on stdout"
    )
    score.add_argument("--proba", action="store_true", help="add a proba_<class> column per class")
    score.add_argument("--chunk-rows", type=int, default=10_000, metavar="N", help="rows per chunk (default: 10000)")
    score.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="a progress line on stderr (default: when stderr is a terminal)",
    )
    score.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file, as for serve")
    add_setting_options(score, ["runtime", "trust_pickle"])
    score.set_defaults(run=run_score)


def run_score(args: argparse.Namespace) -> int:
    from dockml.config import load_settings
    from dockml.score import ProgressLine, score_file
    from dockml.service import load_registry

    configure_logging("warning")
    flags = {"workers": 1, "runtime": args.runtime, "trust_pickle": args.trust_pickle}
    settings = load_settings(config_file=args.config, model_arguments=[args.model], flags=flags)
    registry = load_registry(settings)
    registry.use_threads()  # the models' libraries ran on one thread while loading: every core now
    (service,) = registry
    show = sys.stderr.isatty() if args.progress is None else args.progress
    progress = ProgressLine(sys.stderr) if show else None
    report = score_file(
        service, args.input, args.output, proba=args.proba, chunk_rows=args.chunk_rows, on_progress=progress
    )
    if progress is not None:
        progress.done(report.rows)
    if args.output != "-":
        print(f"scored {report.rows:,} rows in {report.seconds:.1f} s -> {args.output}", file=sys.stderr)
    return 0
