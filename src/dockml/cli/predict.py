"""`dockml predict`: ask a running server, and print its JSON answer."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  dockml predict http://127.0.0.1:5000 --data '{"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}'
  dockml predict http://127.0.0.1:5000 --file flowers.csv --proba
  dockml predict http://127.0.0.1:5000 --image my_digit.png --model digits
"""


def register(commands: Any) -> None:
    predict = commands.add_parser(
        "predict",
        help="ask a running dockml server for predictions",
        description="Send rows, a CSV file or a picture to a running server and print its JSON answer. "
        "Connection errors and 503 answers are retried with backoff.",
        epilog=EPILOG,
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
