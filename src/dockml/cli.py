"""The command line; the only place that exits the process."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
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
  dockml serve model.skops --workers 1 --batch-max-rows 1 --runtime sklearn
                                                the naive way: scikit-learn per request
"""


BUILD_DESCRIPTION = """\
Build a Docker image that serves MODEL(s) exactly as `dockml serve` does, listening on
0.0.0.0:5000 inside the container.

scikit-learn models are compiled to ONNX first (checked against scikit-learn, as at serve
time), so the image needs neither scikit-learn nor SciPy. The image has two stages (install,
then run), pinned requirements, a non-root user, a HEALTHCHECK on /health/ready and OCI
labels with each model's sha256. It works with --read-only --tmpfs /tmp --cap-drop ALL.
"""

BUILD_EPILOG = """\
examples:
  dockml build model.skops -t rf-api && docker run -p 5000:5000 rf-api
  dockml build model.skops -t rf-api --base-image mirror.local/python:3.11-slim
  dockml build model.skops --context-only build/     then: docker build -t rf-api build/
  dockml build model.skops -t rf-api --ca-cert /etc/ssl/certs/ca-certificates.crt   behind a TLS proxy
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
    serve.add_argument("--workers", type=int, help="server processes, forked after the models are loaded; each "
                       "has its own listening socket (default: 0, one per CPU core)")
    serve.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file with [server] and [models.NAME] tables")
    serve.add_argument("--max-body-bytes", type=int, metavar="N", help="largest request body accepted, else 413 (default: 16777216, 16 MiB)")
    serve.add_argument("--trust-pickle", action="store_const", const=True,
                       help="load .joblib/.pkl files, which run code from the file while loading; only for files "
                       "you made or trust (default: refuse them; also DOCKML_TRUST_PICKLE=1)")
    serve.add_argument("--runtime", choices=["auto", "onnx", "sklearn"],
                       help="auto: compile scikit-learn models to ONNX Runtime when their predictions match, else "
                       "serve them with scikit-learn and log why; onnx: fail if they do not compile; sklearn: never "
                       "compile (default: auto)")
    serve.add_argument("--batch-max-rows", type=int, metavar="N",
                       help="most rows merged from concurrent requests into one model call; 1 turns micro-batching "
                       "off (default: 64)")
    serve.add_argument("--batch-max-delay-ms", type=float, metavar="MS",
                       help="under load, how long a batch may wait to fill; a lone request never waits (default: 0, "
                       "merge only requests that arrived together)")
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"],
                       help="log level (default: info)")
    limits = serve.add_argument_group("limits and shutdown")
    limits.add_argument("--request-timeout-s", type=float, metavar="S", help="answer 504 to a request still running after S seconds (default: 30)")
    limits.add_argument("--max-in-flight", type=int, metavar="N",
                        help="requests in progress per worker; beyond, a fast 503 with Retry-After (default: 256)")
    limits.add_argument("--max-csv-rows", type=int, metavar="N", help="most rows in one uploaded CSV, else 413 (default: 1000000)")
    limits.add_argument("--max-image-pixels", type=int, metavar="N", help="most pixels in one uploaded image, else 413 (default: 40000000)")
    limits.add_argument("--shutdown-drain-s", type=float, metavar="S",
                        help="after SIGTERM, keep serving S seconds with /health/ready at 503 (default: 0; in "
                        "Kubernetes a preStop sleep does this)")
    limits.add_argument("--shutdown-grace-s", type=float, metavar="S",
                        help="after SIGTERM, the longest wait for requests in progress; a second signal exits at once (default: 10)")
    security = serve.add_argument_group("security and operations")
    security.add_argument("--api-key", metavar="KEY",
                          help="require this key (Authorization: Bearer KEY, or X-API-Key: KEY) on every route but "
                          "the health checks; prefer DOCKML_API_KEY or --api-key-file, which ps cannot show (default: none)")
    security.add_argument("--api-key-file", metavar="FILE", help="read the API key from the first line of FILE")
    security.add_argument("--cors-origins", metavar="ORIGINS",
                          help="comma-separated origins allowed to call from a browser, or * (default: none, CORS off)")
    security.add_argument("--model-sha256", action="append", metavar="[NAME=]HEX",
                          help="refuse to start unless the model file has this sha256; repeat per model")
    security.add_argument("--access-log", choices=["off", "text", "json"],
                          help="one log line per request with its id, as text or JSON (default: off)")

    convert = commands.add_parser(
        "convert",
        help="compile a scikit-learn model to ONNX (checked against scikit-learn), or a pickle to .skops",
        description="Convert MODEL once, as `dockml serve` would at load: to .onnx with skl2onnx, checked on "
        "inputs generated from its signature (labels identical, values within 1e-5 relative), with the "
        "signature stored in the file; or a pickle to the safe .skops format. A side file beside MODEL is "
        "copied beside OUTPUT.",
    )
    convert.add_argument("model", metavar="MODEL", help="a .skops, .joblib or .pkl scikit-learn model")
    convert.add_argument("-o", "--output", required=True, type=Path, metavar="OUTPUT", help="the .onnx or .skops file to write")
    convert.add_argument("--trust-pickle", action="store_true", help="allow reading a .joblib/.pkl MODEL (it runs code from the file)")

    build = commands.add_parser(
        "build",
        help="build a small, hardened Docker image serving models (or the demo services)",
        description=BUILD_DESCRIPTION,
        epilog=BUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("models", nargs="*", metavar="MODEL", help="model files, each PATH or NAME=PATH (none: the demos)")
    build.add_argument("-t", "--tag", help="image name, e.g. rf-api (required unless --context-only)")
    build.add_argument("--base-image", metavar="IMAGE", help="Python base image for both stages (default: python:3.11-slim)")
    build.add_argument("--context-only", type=Path, metavar="DIR", help="write the build context to DIR and stop, to build elsewhere")
    build.add_argument("--ca-cert", type=Path, metavar="FILE",
                       help="a CA certificate (PEM) that pip trusts while installing, for a TLS-inspecting proxy; "
                       "only the install stage sees it, the final image does not contain it")
    build.add_argument("--network", metavar="NAME", help="network for the RUN steps, passed to docker build (e.g. host)")
    build.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file, as for serve")
    build.add_argument("--runtime", choices=["auto", "onnx", "sklearn"],
                       help="auto: ship models compiled to ONNX when their predictions match (scikit-learn then stays "
                       "out of the image); onnx: fail otherwise; sklearn: ship the scikit-learn models (default: auto)")
    build.add_argument("--workers", type=int, help="server processes in the container (default: one per CPU core it sees)")
    build.add_argument("--batch-max-rows", type=int, metavar="N", help="as for serve (default: 64)")
    build.add_argument("--batch-max-delay-ms", type=float, metavar="MS", help="as for serve (default: 0)")
    build.add_argument("--max-body-bytes", type=int, metavar="N", help="as for serve (default: 16777216)")
    build.add_argument("--trust-pickle", action="store_const", const=True,
                       help="read .joblib/.pkl models (they run code when loaded); a pickle that does not compile to "
                       "ONNX is then shipped and trusted in the image too")

    health = commands.add_parser(
        "health",
        help="exit 0 when a dockml server answers ready (the image's HEALTHCHECK)",
        description="GET /health/ready and exit 0 on 200, 1 otherwise. Used by the Docker HEALTHCHECK, so the "
        "image needs no curl.",
    )
    health.add_argument("--url", help="the readiness URL (default: http://127.0.0.1:$DOCKML_PORT/health/ready, port 5000)")
    health.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the answer (default: 2)")

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
    given.add_argument("--data", metavar="JSON", help="rows as JSON (a record, a list of records, {\"instances\": ...}); - reads stdin")
    given.add_argument("--file", type=Path, metavar="CSV", help="a CSV file, sent to predict_file")
    given.add_argument("--image", type=Path, metavar="PICTURE", help="a PNG or JPEG picture, sent to predict_image")
    predict.add_argument("--model", metavar="NAME", help="the model, on a server with several (default: the root routes)")
    predict.add_argument("--proba", action="store_true", help="add per-class probabilities")
    predict.add_argument("--timeout-s", type=float, default=30.0, metavar="S", help="seconds to wait for each answer (default: 30)")
    predict.add_argument("--retries", type=int, default=3, metavar="N", help="retries on connection errors and 503 (default: 3)")
    predict.add_argument("--api-key", metavar="KEY", help="the server's API key (default: $DOCKML_API_KEY, if set)")

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
    score.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="a .csv or .parquet file, or - for CSV on stdout")
    score.add_argument("--proba", action="store_true", help="add a proba_<class> column per class")
    score.add_argument("--chunk-rows", type=int, default=10_000, metavar="N", help="rows per chunk (default: 10000)")
    score.add_argument("--progress", action=argparse.BooleanOptionalAction,
                       help="a progress line on stderr (default: when stderr is a terminal)")
    score.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file, as for serve")
    score.add_argument("--runtime", choices=["auto", "onnx", "sklearn"], help="as for serve (default: auto)")
    score.add_argument("--trust-pickle", action="store_const", const=True, help="read a .joblib/.pkl MODEL (it runs code from the file)")

    k8s = commands.add_parser(
        "k8s",
        help="write Kubernetes manifests (or a Helm chart, or a KServe InferenceService) for an image",
        description=K8S_DESCRIPTION,
        epilog=K8S_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    k8s.add_argument("image", metavar="IMAGE", help="the image built by `dockml build`, as the cluster pulls it")
    k8s.add_argument("--name", help="name of the objects, a DNS label (default: the image's name, e.g. rf-api)")
    output = k8s.add_mutually_exclusive_group()
    output.add_argument("-o", "--output", type=Path, metavar="DIR", help="write one file per object to DIR (default: one YAML stream on stdout)")
    output.add_argument("--helm", type=Path, metavar="DIR", help="write a Helm chart to DIR instead, with these options as its values.yaml")
    k8s.add_argument("--kserve", action="store_true",
                     help="a KServe InferenceService (custom predictor, Open Inference Protocol) instead of a Deployment, "
                     "Service, HorizontalPodAutoscaler and PodDisruptionBudget")
    scaling = k8s.add_argument_group("scaling and resources")
    scaling.add_argument("--replicas", type=int, default=2, metavar="N", help="pods to run; with autoscaling, the fewest (default: 2)")
    scaling.add_argument("--max-replicas", type=int, metavar="N",
                         help="the most pods the autoscaler may run; equal to --replicas: no autoscaler (default: 10)")
    scaling.add_argument("--target-cpu-percent", type=int, default=70, metavar="P",
                         help="add pods when their average CPU use passes P%% of the request (default: 70)")
    scaling.add_argument("--cpu", default="1", metavar="Q", help="CPU request per pod (default: 1)")
    scaling.add_argument("--cpu-limit", metavar="Q", help="CPU limit per pod; dockml runs one worker per CPU of it (default: --cpu)")
    scaling.add_argument("--memory", default="512Mi", metavar="Q", help="memory request per pod (default: 512Mi)")
    scaling.add_argument("--memory-limit", metavar="Q", help="memory limit per pod (default: --memory)")
    scaling.add_argument("--workers", type=int, metavar="N", help="worker processes per pod (default: one per CPU of the limit)")
    serving = k8s.add_argument_group("serving")
    serving.add_argument("--port", type=int, default=5000, help="the container's port, 1024 or more (default: 5000; the Service listens on 80)")
    serving.add_argument("--api-key-secret", metavar="NAME[:KEY]",
                         help="a Secret holding the API key, passed to dockml as DOCKML_API_KEY (default key: api-key)")
    serving.add_argument("--drain-s", type=int, default=5, metavar="S",
                         help="after SIGTERM, keep serving S seconds with /health/ready at 503 while endpoints drop the pod (default: 5)")
    serving.add_argument("--grace-s", type=int, default=25, metavar="S",
                         help="exit at most S seconds after SIGTERM, drain included; the pod's termination grace period is "
                         "S + 5 (default: 25)")
    serving.add_argument("--tmp-size", default="64Mi", metavar="Q", help="size of the in-memory /tmp (default: 64Mi)")
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

    logging.basicConfig(level=(args.log_level or "info").upper(), format="%(levelname)s:     %(message)s")
    flags = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "max_body_bytes": args.max_body_bytes,
        "trust_pickle": args.trust_pickle,
        "log_level": args.log_level,
        "runtime": args.runtime,
        "batch_max_rows": args.batch_max_rows,
        "batch_max_delay_ms": args.batch_max_delay_ms,
        "request_timeout_s": args.request_timeout_s,
        "max_in_flight": args.max_in_flight,
        "max_csv_rows": args.max_csv_rows,
        "max_image_pixels": args.max_image_pixels,
        "shutdown_drain_s": args.shutdown_drain_s,
        "shutdown_grace_s": args.shutdown_grace_s,
        "api_key": args.api_key,
        "api_key_file": args.api_key_file,
        "cors_origins": args.cors_origins,
        "access_log": args.access_log,
    }
    pins = args.model_sha256 or []
    settings = load_settings(config_file=args.config, model_arguments=list(args.models), flags=flags, model_sha256=pins)
    if not settings.models:
        from dockml.demos import demo_paths

        print("No model given: serving the demo services 'iris' and 'digits'.", flush=True)
        models = [f"{name}={path}" for name, path in demo_paths().items()]
        settings = load_settings(config_file=args.config, model_arguments=models, flags=flags, model_sha256=pins)
    with _metrics_folder(settings.workers):
        # Imported only now: the metrics module must see PROMETHEUS_MULTIPROC_DIR when it loads.
        from dockml.server import run
        from dockml.service import load_registry

        # Load before binding the port, so a bad model stops the start with a clear message.
        registry = load_registry(settings)
        _announce(settings, registry)
        run(settings, registry)
    return 0


@contextlib.contextmanager
def _metrics_folder(workers: int) -> Iterator[None]:
    """Several workers add up their metrics through files in a private folder."""
    if workers == 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="dockml-metrics-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def convert(args: argparse.Namespace) -> int:
    from dockml.convert import convert_model

    logging.basicConfig(level="INFO", format="%(levelname)s:     %(message)s")
    for line in convert_model(Path(args.model), args.output, trust_pickle=args.trust_pickle):
        print(line, flush=True)
    return 0


def build(args: argparse.Namespace) -> int:
    from dockml.build.context import write_context
    from dockml.build.docker import docker_build
    from dockml.build.plan import plan_build
    from dockml.config import load_settings
    from dockml.errors import ConfigError

    logging.basicConfig(level="INFO", format="%(levelname)s:     %(message)s")
    if not args.tag and not args.context_only:
        raise ConfigError("name the image with -t TAG, or write the context with --context-only DIR")
    if args.ca_cert and not args.ca_cert.is_file():
        raise ConfigError(f"--ca-cert: no such file: {args.ca_cert}")
    flags = {
        "workers": args.workers,
        "runtime": args.runtime,
        "batch_max_rows": args.batch_max_rows,
        "batch_max_delay_ms": args.batch_max_delay_ms,
        "max_body_bytes": args.max_body_bytes,
        "trust_pickle": args.trust_pickle,
    }
    models = list(args.models)
    settings = load_settings(config_file=args.config, model_arguments=models, flags=flags, environ={})
    if not settings.models:
        from dockml.demos import demo_paths

        models = [f"{name}={path}" for name, path in demo_paths().items()]
        settings = load_settings(config_file=args.config, model_arguments=models, flags=flags, environ={})
    plan = plan_build(
        settings,
        title=args.tag or "dockml",
        base_image=args.base_image,
        ca_cert=args.ca_cert is not None,
        workers_given=args.workers is not None,
    )
    for model in plan.spec.models:
        print(f"model '{model.name}': ships as {model.file} ({model.runtime})", flush=True)
    write = lambda folder: write_context(  # noqa: E731
        plan.spec,
        folder,
        artifacts=plan.artifacts,
        side_files=plan.side_files,
        requirements=plan.requirements,
        server_settings=plan.server_settings,
        ca_cert=args.ca_cert,
    )
    if args.context_only:
        write(args.context_only)
        print(f"wrote the build context to {args.context_only}; build it with: docker build -t IMAGE {args.context_only}")
        return 0
    with tempfile.TemporaryDirectory(prefix="dockml-build-") as folder:
        docker_build(write(Path(folder)), args.tag, base_image=args.base_image, network=args.network)
    print(f"built {args.tag}; run it with: docker run -p 5000:5000 {args.tag}", flush=True)
    return 0


def health(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    url = args.url or f"http://127.0.0.1:{os.environ.get('DOCKML_PORT', '5000')}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:  # noqa: S310 - a local URL
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"dockml: not ready: {error}", file=sys.stderr)
        return 1


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


def predict(args: argparse.Namespace) -> int:
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
        with Client(args.url, model=args.model, timeout_s=args.timeout_s, retries=args.retries, api_key=api_key) as client:
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


def score(args: argparse.Namespace) -> int:
    from dockml.config import load_settings
    from dockml.score import ProgressLine, score_file
    from dockml.service import load_registry

    logging.basicConfig(level="WARNING", format="%(levelname)s:     %(message)s")
    flags = {"workers": 1, "runtime": args.runtime, "trust_pickle": args.trust_pickle}
    settings = load_settings(config_file=args.config, model_arguments=[args.model], flags=flags)
    (service,) = load_registry(settings)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    progress = ProgressLine(sys.stderr) if show else None
    report = score_file(service, args.input, args.output, proba=args.proba, chunk_rows=args.chunk_rows, on_progress=progress)
    if progress is not None:
        progress.done(report.rows)
    if args.output != "-":
        print(f"scored {report.rows:,} rows in {report.seconds:.1f} s -> {args.output}", file=sys.stderr)
    return 0


K8S_DESCRIPTION = """\
Write what runs IMAGE (built by `dockml build`) on Kubernetes: a Deployment with probes on
/health/live and /health/ready, a termination grace period that fits dockml's graceful shutdown,
resource requests and limits and a restricted security context (non-root, read-only root
filesystem with an in-memory /tmp, no capabilities, seccomp RuntimeDefault); a Service; a
HorizontalPodAutoscaler; and a PodDisruptionBudget. Each pod runs one dockml worker per CPU of its
limit, so load is spread by adding pods. docs/kubernetes.md explains every setting.
"""

K8S_EPILOG = """\
examples:
  dockml k8s registry.example.org/rf-api:1.0 | kubectl apply -f -
  dockml k8s registry.example.org/rf-api:1.0 --cpu 2 --memory 1Gi --max-replicas 20 -o deploy/
  dockml k8s registry.example.org/rf-api:1.0 --api-key-secret rf-api-key --helm charts/rf-api
  dockml k8s registry.example.org/rf-api:1.0 --kserve | kubectl apply -f -
"""


def k8s(args: argparse.Namespace) -> int:
    from dockml.k8s import k8s_spec, render_chart, render_manifests, write_files, yaml_stream

    name = args.name or args.image.rpartition("/")[2].partition("@")[0].partition(":")[0]
    spec = k8s_spec(
        name,
        args.image,
        replicas=args.replicas,
        max_replicas=args.max_replicas,
        target_cpu_percent=args.target_cpu_percent,
        cpu=args.cpu,
        cpu_limit=args.cpu_limit,
        memory=args.memory,
        memory_limit=args.memory_limit,
        port=args.port,
        api_key_secret=args.api_key_secret,
        drain_s=args.drain_s,
        grace_s=args.grace_s,
        workers=args.workers,
        tmp_size=args.tmp_size,
        kserve=args.kserve,
    )
    if args.helm is not None:
        write_files(args.helm, render_chart(spec))
        print(f"wrote the Helm chart to {args.helm}; install it with: helm install {spec.name} {args.helm}", file=sys.stderr)
    elif args.output is not None:
        written = write_files(args.output, render_manifests(spec))
        print(f"wrote {', '.join(path.name for path in written)} to {args.output}; apply them with: kubectl apply -f {args.output}",
              file=sys.stderr)
    else:
        sys.stdout.write(yaml_stream(render_manifests(spec)))
    return 0

def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        commands = {
            "serve": serve, "convert": convert, "build": build, "health": health, "predict": predict, "score": score,
            "k8s": k8s,
        }
        return commands[args.command](args)
    except DockmlError as error:
        print(f"dockml: error: {error.detail}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
