"""`dockml serve`: models (or the demo services) over HTTP."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockml import __version__
from dockml.cli.options import (
    SERVING_SETTINGS,
    add_serving_options,
    add_setting_options,
    settings_or_demos,
)
from dockml.config import SECURITY, setting_options, side_file_for
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


# Flags added before the rest, in this order, so the help opens with them.
SERVE_FIRST = ("host", "port", *SERVING_SETTINGS)


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve models (or the demo services) over HTTP",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("models", nargs="*", metavar="MODEL", help="model files, each PATH or NAME=PATH")
    add_setting_options(serve, ["host", "port"])
    add_serving_options(serve)
    others = [name for name, option in setting_options().items() if option.flag and name not in SERVE_FIRST]
    groups = add_setting_options(serve, others)
    groups[SECURITY].add_argument(
        "--model-sha256",
        action="append",
        metavar="[NAME=]HEX",
        help="refuse to start unless the model file has this sha256; repeat per model",
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
        if service.loaded.details.source.feature_names_from == "position":
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
    settings = settings_or_demos(args, model_sha256=args.model_sha256 or [])  # logging at its log_level
    if not args.models and not args.config:
        print("No model given: serving the demo services 'iris' and 'digits'.", flush=True)
    with _metrics_folder(settings.workers):
        # Imported only now: the metrics module must see PROMETHEUS_MULTIPROC_DIR when it loads.
        # Importing makes next to no cyclic garbage but sets off ~70 collections (~15 ms of a
        # start); what it loads lives as long as the process, so it is frozen out of later ones.
        gc.disable()
        from dockml.server import listen
        from dockml.server import run as run_server
        from dockml.service import load_registry

        gc.freeze()
        gc.enable()

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
