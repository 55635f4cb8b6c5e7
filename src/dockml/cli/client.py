"""`dockml predict` (ask a running server) and `dockml score` (a file, offline, as the server would)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from dockml.cli.options import configure_logging

PREDICT_EPILOG = """\
examples:
  dockml predict http://127.0.0.1:5000 --data '{"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}'
  dockml predict http://127.0.0.1:5000 --file flowers.csv --proba
  dockml predict http://127.0.0.1:5000 --image my_digit.png --model digits
"""

SCORE_EPILOG = """\
examples:
  dockml score iris.skops flowers.csv -o scored.csv --proba
  dockml score model.onnx big.parquet -o scored.parquet --chunk-rows 50000
"""


def register(commands: Any) -> None:
    predict = commands.add_parser(
        "predict",
        help="ask a running dockml server for predictions",
        description="Send rows, a CSV file or a picture to a running server and print its JSON answer. "
        "Connection errors and 503 answers are retried with backoff.",
        epilog=PREDICT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("url", metavar="URL", help="the server, e.g. http://127.0.0.1:5000")
    given = predict.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "--data", metavar="JSON", help='rows as JSON (a record, a list of records, {"instances": ...}); - reads stdin'
    )
    given.add_argument("--file", type=Path, metavar="CSV", help="a CSV file, sent to predict_file")
    given.add_argument("--image", type=Path, metavar="PICTURE", help="a PNG or JPEG picture, sent to predict_image")
    predict.add_argument(
        "--model", metavar="NAME", help="the model, on a server with several (default: the root routes)"
    )
    predict.add_argument("--proba", action="store_true", help="add per-class probabilities")
    predict.add_argument(
        "--timeout-s", type=float, default=30.0, metavar="S", help="seconds to wait for each answer (default: 30)"
    )
    predict.add_argument(
        "--retries", type=int, default=3, metavar="N", help="retries on connection errors and 503 (default: 3)"
    )
    predict.add_argument("--api-key", metavar="KEY", help="the server's API key (default: $DOCKML_API_KEY, if set)")
    predict.set_defaults(run=run_predict)

    score = commands.add_parser(
        "score",
        help="score a CSV or Parquet file offline, in chunks, with the server's runtime and checks",
        description="Predict every row of INPUT with MODEL, loaded as `dockml serve` loads it, and write the "
        "input columns, a 'prediction' column and (with --proba) 'proba_<class>' columns to OUTPUT, as "
        "/predict_file answers in CSV. Rows are read, checked, predicted and written in chunks, so memory "
        "stays flat however large the file. .parquet files are read and written with pyarrow "
        "(dockml[parquet]); - is CSV on stdin or stdout.",
        epilog=SCORE_EPILOG,
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
    score.add_argument("--runtime", choices=["auto", "onnx", "sklearn"], help="as for serve (default: auto)")
    score.add_argument(
        "--trust-pickle",
        action="store_const",
        const=True,
        help="read a .joblib/.pkl MODEL (it runs code from the file)",
    )
    score.set_defaults(run=run_score)


def run_predict(args: argparse.Namespace) -> int:
    import json

    from dockml.errors import MissingDependency

    try:
        from dockml.client import Client, ClientError
    except ImportError as error:  # a served image leaves httpx out
        raise MissingDependency(f"dockml predict needs httpx: pip install httpx ({error})") from None

    try:
        data = json.loads(sys.stdin.read() if args.data == "-" else args.data) if args.data is not None else None
    except json.JSONDecodeError as error:
        print(f"dockml: error: --data is not valid JSON: {error}", file=sys.stderr)
        return 2
    api_key = args.api_key or os.environ.get("DOCKML_API_KEY") or None
    try:
        with Client(
            args.url, model=args.model, timeout_s=args.timeout_s, retries=args.retries, api_key=api_key
        ) as client:
            if args.file is not None:
                answer = client.predict_file(args.file, proba=args.proba)
            elif args.image is not None:
                answer = client.predict_image(args.image, proba=args.proba)
            else:
                answer = client.predict(data, proba=args.proba)
    except ClientError as error:
        print(f"dockml: error: {error}", file=sys.stderr)
        return 1
    body = {"predictions": answer.predictions}
    if answer.probabilities is not None:
        body["probabilities"] = answer.probabilities
    print(json.dumps(body))
    return 0


def run_score(args: argparse.Namespace) -> int:
    from dockml.config import load_settings
    from dockml.score import ProgressLine, score_file
    from dockml.service import load_registry

    configure_logging("warning")
    flags = {"workers": 1, "runtime": args.runtime, "trust_pickle": args.trust_pickle}
    settings = load_settings(config_file=args.config, model_arguments=[args.model], flags=flags)
    (service,) = load_registry(settings)
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
