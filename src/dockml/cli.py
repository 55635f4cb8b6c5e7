"""The command line; the only place that exits the process."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from dockml import __version__
from dockml.errors import DockmlError

SERVE_DESCRIPTION = """\
Serve models as a documented web service.

MODEL is a .onnx, .skops, .joblib or .pkl file, optionally written NAME=PATH (the name is
the file's stem otherwise). A side file MODEL_STEM.dockml.toml beside it can name and describe
inputs, map classes to labels, give examples and declare image preprocessing.

With no MODEL (and none in --config), dockml serves its demo services: 'iris' (the
tutorial's random-forest rf-api) and 'digits' (a handwritten-digit classifier), trained on
first use from datasets scikit-learn ships and cached in ~/.cache/dockml (or $DOCKML_HOME).

Every option can also be set in the [server] table of --config or as DOCKML_<OPTION>
(for example DOCKML_PORT=8080); flags win over variables, variables over the file.
"""

SERVE_EPILOG = """\
examples:
  dockml serve                                  the demo services on http://127.0.0.1:5000
  dockml serve model.skops                      one model; routes at /predict, /predict_file
  dockml serve rf=model.joblib --trust-pickle   a pickle you made yourself, named 'rf'
  dockml serve a.onnx b.onnx --port 8080        several models, under /models/NAME/...
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockml",
        description="Deploy scikit-learn and ONNX models as fast, safe web services.",
    )
    parser.add_argument("--version", action="version", version=f"dockml {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve models (or the demo services) over HTTP",
        description=SERVE_DESCRIPTION,
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("models", nargs="*", metavar="MODEL", help="model files, each PATH or NAME=PATH")
    serve.add_argument("--host", help="address to listen on (default: 127.0.0.1, this machine only; "
                       "0.0.0.0 listens on every interface)")
    serve.add_argument("--port", type=int, help="TCP port (default: 5000)")
    serve.add_argument("--workers", type=int, help="server processes, each with its own copy of the models (default: 1)")
    serve.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file with [server] and [models.NAME] tables")
    serve.add_argument("--max-body-bytes", type=int, metavar="N", help="largest request body accepted, else 413 (default: 16777216, 16 MiB)")
    serve.add_argument("--trust-pickle", action="store_const", const=True,
                       help="load .joblib/.pkl files, which run code from the file while loading; only for files "
                       "you made or trust (default: refuse them; also DOCKML_TRUST_PICKLE=1)")
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"], help="log level (default: info)")
    return parser


def _announce(settings, registry) -> None:  # noqa: ANN001 - Settings, Registry
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = f"http://{host}:{settings.port}"
    print(f"dockml {__version__} serving {len(registry)} model(s) on {base}", flush=True)
    print(f"  Swagger UI:  {base}/apidocs", flush=True)
    print(f"  OpenAPI:     {base}/openapi.json", flush=True)
    print(f"  health:      {base}/health/live  {base}/health/ready   metrics: {base}/metrics", flush=True)
    for route in ("predict", "predict_file", "predict_image"):
        default = registry.default_for(route)
        if default is not None and len(registry) > 1:
            print(f"  /{route} serves '{default.name}'", flush=True)
    for service in registry:
        signature = service.signature
        print(f"  model '{service.name}' ({service.loaded.runtime.name}, {signature.task}; inputs: {signature.expected()[:80]})", flush=True)
        prefix = "" if len(registry) == 1 else f"/models/{service.name}"
        for route in service.routes():
            method = "GET|POST" if route == "predict" else "POST"
            print(f"    {method:8} {base}{prefix}/{route}", flush=True)


def serve(args: argparse.Namespace) -> int:
    from dockml.config import load_settings
    from dockml.server import Invocation, run
    from dockml.service import load_registry

    logging.basicConfig(level=(args.log_level or "info").upper(), format="%(levelname)s:     %(message)s")
    flags = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "max_body_bytes": args.max_body_bytes,
        "trust_pickle": args.trust_pickle,
        "log_level": args.log_level,
    }
    models = list(args.models)
    settings = load_settings(config_file=args.config, model_arguments=models, flags=flags)
    if not settings.models:
        from dockml.demos import demo_paths

        print("No model given: serving the demo services 'iris' and 'digits'.", flush=True)
        models = [f"{name}={path}" for name, path in demo_paths().items()]
        settings = load_settings(config_file=args.config, model_arguments=models, flags=flags)
    # Load here, before binding the port, so a bad model stops the start with a clear message.
    registry = load_registry(settings.models, trust_pickle=settings.trust_pickle)
    _announce(settings, registry)
    invocation = Invocation(
        config_file=str(args.config) if args.config else None, model_arguments=models, flags=flags
    )
    run(settings, registry, invocation)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"serve": serve}[args.command](args)
    except DockmlError as error:
        print(f"dockml: error: {error.detail}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
