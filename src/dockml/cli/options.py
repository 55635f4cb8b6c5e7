"""What serve and build share: the options that decide how models are served, and turning
parsed arguments into settings (with the demo services when no model is named)."""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields
from pathlib import Path
from typing import Any

from dockml.config import Settings, load_settings

SETTING_NAMES = tuple(f.name for f in fields(Settings) if f.name != "models")
RUNTIMES = ["auto", "onnx", "sklearn"]


def add_serving_options(parser: argparse.ArgumentParser) -> None:
    """How the models are loaded and batched, the same for `dockml serve` and the image `dockml build` makes."""
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="TOML settings file with [server] and [models.NAME] tables"
    )
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        help="auto: compile scikit-learn models to ONNX Runtime when their predictions match, else "
        "serve them with scikit-learn and log why (an image then ships scikit-learn); onnx: fail if "
        "they do not compile; sklearn: never compile (default: auto)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="server processes, forked after the models are loaded; each has its own listening socket "
        "(default: 0, one per CPU core, or per CPU of a container's limit)",
    )
    parser.add_argument(
        "--batch-max-rows",
        type=int,
        metavar="N",
        help="most rows merged from concurrent requests into one model call; 1 turns micro-batching off (default: 64)",
    )
    parser.add_argument(
        "--batch-max-delay-ms",
        type=float,
        metavar="MS",
        help="under load, how long a batch may wait to fill; a lone request never waits (default: 0, "
        "merge only requests that arrived together)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        metavar="N",
        help="largest request body accepted, else 413 (default: 16777216, 16 MiB)",
    )
    parser.add_argument(
        "--probability-decimals",
        type=int,
        metavar="N",
        help="decimal places of class probabilities in JSON and CSV answers; -1 keeps every digit the model "
        "gives (default: 5, enough to undo float32 noise: 0.99, not 0.98999935)",
    )
    parser.add_argument(
        "--sample",
        action="append",
        metavar="[NAME=]FILE",
        help="a CSV of typical rows (with a header) that the check of a compiled model also runs, "
        "beside the rows dockml derives from the model; repeat per model (default: the side file's sample)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_const",
        const=True,
        help="load .joblib/.pkl files, which run code from the file while loading; only for files "
        "you made or trust (default: refuse them; also DOCKML_TRUST_PICKLE=1)",
    )


def settings_flags(args: argparse.Namespace) -> dict[str, Any]:
    """Every setting given on the command line: an option is named after its setting."""
    return {name: getattr(args, name) for name in SETTING_NAMES if getattr(args, name, None) is not None}


def settings_or_demos(args: argparse.Namespace, **kwargs: Any) -> Settings:
    """The settings for MODEL arguments, or for the demo services when no model is named."""
    flags = settings_flags(args)
    kwargs.setdefault("model_samples", getattr(args, "sample", None) or [])
    settings = load_settings(config_file=args.config, model_arguments=list(args.models), flags=flags, **kwargs)
    if settings.models:
        return settings
    from dockml.demos import demo_paths

    models = [f"{name}={path}" for name, path in demo_paths().items()]
    return load_settings(config_file=args.config, model_arguments=models, flags=flags, **kwargs)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(levelname)s:     %(message)s")
