"""`dockml serve`: models (or the demo services) over HTTP."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockml import __version__
from dockml.cli.options import add_serving_options, configure_logging, settings_or_demos
from dockml.config import side_file_for
from dockml.errors import ConfigError

if TYPE_CHECKING:
    from dockml.config import Settings
    from dockml.service import Registry

DESCRIPTION = """\
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

EPILOG = """\
examples:
  dockml serve                                  the demo services on http://127.0.0.1:5000
  dockml serve model.skops                      one model; routes at /predict, /predict_file
  dockml serve rf=model.joblib --trust-pickle   a pickle you made yourself, named 'rf'
  dockml serve a.onnx b.onnx --port 8080        several models, under /models/NAME/...
  dockml serve model.skops --workers 1 --batch-max-rows 1 --runtime sklearn
                                                the naive way: scikit-learn per request
"""


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve models (or the demo services) over HTTP",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("models", nargs="*", metavar="MODEL", help="model files, each PATH or NAME=PATH")
    serve.add_argument(
        "--host",
        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 listens on every interface)",
    )
    serve.add_argument("--port", type=int, help="TCP port (default: 5000)")
    add_serving_options(serve)
    serve.add_argument(
        "--log-level", choices=["critical", "error", "warning", "info", "debug"], help="log level (default: info)"
    )
    limits = serve.add_argument_group("limits and shutdown")
    limits.add_argument(
        "--request-timeout-s",
        type=float,
        metavar="S",
        help="answer 504 to a request still running after S seconds (default: 30)",
    )
    limits.add_argument(
        "--max-in-flight",
        type=int,
        metavar="N",
        help="requests in progress per worker; beyond, a fast 503 with Retry-After (default: 256)",
    )
    limits.add_argument(
        "--take-turns-above",
        type=int,
        metavar="N",
        help="above N requests in progress per worker, connections take turns: one just answered is read "
        "again only when a request ends, so the requests taken stay fast under overload (default: 48; 0: never)",
    )
    limits.add_argument(
        "--max-turn-wait-ms",
        type=float,
        metavar="MS",
        help="a request that waited longer than MS for its connection's turn gets a fast 503 with Retry-After "
        "(default: 20)",
    )
    limits.add_argument(
        "--head-timeout-s",
        type=float,
        metavar="S",
        help="answer 408 and close a connection whose request head is not complete S seconds after it began "
        "(default: 10)",
    )
    limits.add_argument(
        "--keep-alive-timeout-s",
        type=float,
        metavar="S",
        help="close idle kept-alive connections after S seconds (default: 5)",
    )
    limits.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="open connections per worker; at the limit, the oldest still sending its request head is closed "
        "to make room (default: 900)",
    )
    limits.add_argument(
        "--max-headers", type=int, metavar="N", help="most header fields in a request, else 431 (default: 100)"
    )
    limits.add_argument(
        "--max-header-bytes",
        type=int,
        metavar="N",
        help="most bytes of header names and values in a request, else 431 (default: 65536)",
    )
    limits.add_argument(
        "--max-csv-rows",
        type=int,
        metavar="N",
        help="most rows in one CSV or Parquet body, else 413 (default: 50000; score larger files offline with "
        "`dockml score`)",
    )
    limits.add_argument(
        "--max-image-pixels",
        type=int,
        metavar="N",
        help="most pixels in one uploaded image, else 413 (default: 40000000)",
    )
    limits.add_argument(
        "--shutdown-drain-s",
        type=float,
        metavar="S",
        help="after SIGTERM, keep serving S seconds with /health/ready at 503 (default: 0; in "
        "Kubernetes a preStop sleep does this)",
    )
    limits.add_argument(
        "--shutdown-grace-s",
        type=float,
        metavar="S",
        help="after SIGTERM, the longest wait for requests in progress; a second signal exits at once (default: 10)",
    )
    security = serve.add_argument_group("security and operations")
    security.add_argument(
        "--api-key",
        metavar="KEY",
        help="require this key (Authorization: Bearer KEY, or X-API-Key: KEY) on every route but "
        "the health checks; prefer DOCKML_API_KEY or --api-key-file, which ps cannot show (default: none)",
    )
    security.add_argument("--api-key-file", metavar="FILE", help="read the API key from the first line of FILE")
    security.add_argument(
        "--cors-origins",
        metavar="ORIGINS",
        help="comma-separated origins allowed to call from a browser, or * (default: none, CORS off)",
    )
    security.add_argument(
        "--model-sha256",
        action="append",
        metavar="[NAME=]HEX",
        help="refuse to start unless the model file has this sha256; repeat per model",
    )
    security.add_argument(
        "--access-log",
        choices=["off", "text", "json"],
        help="one log line per request with its id, as text or JSON (default: off)",
    )

    serve.set_defaults(run=run)


def _announce(settings: Settings, registry: Registry) -> None:
    from dockml.http import route_table  # only now: it imports the service layer, and so the metrics

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = f"http://{host}:{settings.port}"
    urls = {label: "  ".join(base + path for path in paths) for label, paths in route_table.banner_urls().items()}
    print(f"dockml {__version__} serving {len(registry)} model(s) on {base}", flush=True)
    for label in ("Playground", "Swagger UI", "OpenAPI"):
        print(f"  {label + ':':<13}{urls[label]}", flush=True)
    print(f"  health:      {urls['health']}   metrics: {urls['metrics']}", flush=True)
    for route in route_table.root_routes():
        default = route_table.first_offering(route, registry)
        if default is not None and len(registry) > 1:
            print(f"  {route.path} serves '{default.name}'", flush=True)
    for service in registry:
        signature = service.signature
        print(
            f"  model '{service.name}' ({service.loaded.runtime.name}, {signature.task}; "
            f"inputs: {_shortened(signature.names)})",
            flush=True,
        )
        if service.loaded.info.get("feature_names_from") == "position":
            side_file = side_file_for(Path(service.spec.path))
            print(
                f"    trained without feature names, so its inputs are named by position; name them with "
                f"feature_names = [...] in {side_file.name} beside the model, or train on a pandas DataFrame",
                flush=True,
            )
        for methods, path in route_table.model_routes(service, at_root=len(registry) == 1):
            print(f"    {methods:8} {base}{path}", flush=True)


def _shortened(names: tuple[str, ...], width: int = 80) -> str:
    """The names, comma-separated, cut at a name boundary with a count of the rest."""
    shown: list[str] = []
    for name in names:
        if len(", ".join([*shown, name])) > width and shown:
            return ", ".join(shown) + f", ... ({len(names) - len(shown)} more)"
        shown.append(name)
    return ", ".join(shown)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "info")
    settings = settings_or_demos(args, model_sha256=args.model_sha256 or [])
    if not args.models and not args.config:
        print("No model given: serving the demo services 'iris' and 'digits'.", flush=True)
    with _metrics_folder(settings.workers):
        # Imported only now: the metrics module must see PROMETHEUS_MULTIPROC_DIR when it loads.
        from dockml.server import listen
        from dockml.server import run as run_server
        from dockml.service import load_registry

        # Load before binding the port, so a bad model stops the start with a clear message; bind
        # before announcing, so nothing says "serving" on a port that is taken.
        registry = load_registry(settings)
        sockets = listen(settings)
        _announce(settings, registry)
        run_server(settings, registry, sockets)
    return 0


SHARED_MEMORY = "/dev/shm"


@contextlib.contextmanager
def _metrics_folder(workers: int) -> Iterator[None]:
    """Several workers add up their metrics through files in a private folder."""
    if workers == 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        yield
        return
    # Shared memory first: a tmpfs even in a read-only container, outside what `docker commit`
    # saves, and no disk write per request.
    where = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) and os.access(SHARED_MEMORY, os.W_OK) else None
    try:
        metrics_folder = tempfile.TemporaryDirectory(prefix="dockml-metrics-", dir=where)
    except OSError as error:  # a read-only root without a /tmp: tempfile finds no usable folder
        raise ConfigError(
            f"no writable temporary folder for the workers' metrics ({error.strerror or error}): give the "
            "container one with --tmpfs /tmp (docker run --read-only --tmpfs /tmp ...), or run --workers 1"
        ) from None
    with metrics_folder as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
