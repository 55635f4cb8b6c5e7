"""Benchmark dockml on a gradient-boosting model against the same model predicted in-process,
measured in the same run on the same cores, and check the target.

    python bench/boosting.py [--duration 10] [--out FILE]

The model: XGBClassifier(n_estimators=500, max_depth=8) on 30 features with some values missing,
trained at the start in a temporary folder. dockml serves it with its default settings on a free
127.0.0.1 port, and wrk sends it one-row POSTs at c64 and 1,000-row POSTs at c4. With the server
stopped, the same 1,000 rows go to xgboost's own predict_proba, to ONNX Runtime (on the ONNX file
dockml compiled, else on onnxmltools' conversion) and, when installed, to tl2cgen, each in this
process with as many threads as cores. Target: dockml's 1,000-row rows/s at least 80% of the
fastest in-process runtime's. See bench/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import copy
import datetime
import json
import math
import os
import platform
import resource
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from run import (
    BATCH_ROWS,
    HOST,
    BenchError,
    Deadline,
    Scenario,
    ServerSpec,
    TimeLimit,
    WrkResult,
    cpu_model,
    cpu_seconds,
    describe_run,
    in_process_session,
    markdown_table,
    on_alarm,
    on_sigterm,
    request,
    run_wrk,
    serving,
    session_feeds,
    source_version,
    stop_all,
    worker_pids,
)

MODEL_FORMAT = "json"  # XGBoost's own format, as `model.save_model("model.json")` writes it
MODEL_NAME = "model"  # dockml names a model after its file's stem
TREES, DEPTH, FEATURES = 500, 8, 30
TRAIN_ROWS = 20_000
MISSING_FRACTION = 0.02
TARGET_RATIO = 0.80
MAX_DISAGREEING = 0.01  # more labels than this unlike xgboost's: dockml answers another model


def cores() -> int:
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True, slots=True)
class CpuClock:
    """Busy CPU seconds of the whole machine and of this run (this process, its waited-for
    children such as wrk, and the server's processes given), so that what others took can be told."""

    wall_s: float
    machine_s: float
    own_s: float

    @classmethod
    def now(cls, pids: Sequence[int] = ()) -> CpuClock:
        # /proc/stat's first line: user nice system idle iowait irq softirq steal, in clock ticks.
        ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        busy = sum(ticks) - ticks[3] - ticks[4]
        mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        own = mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime + sum(map(cpu_seconds, pids))
        return cls(time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), own)

    def others_share(self, since: CpuClock) -> float:
        """The part of the machine's CPUs that other processes used since ``since``."""
        others = (self.machine_s - since.machine_s) - (self.own_s - since.own_s)
        return max(0.0, others / ((self.wall_s - since.wall_s) * cores()))


# --- the model --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    model: Any  # the fitted XGBClassifier
    path: Path  # the file dockml serves
    batch: np.ndarray  # BATCH_ROWS x FEATURES float32 rows not trained on, NaN included
    proba: np.ndarray  # xgboost's probabilities for the batch: every runtime is compared with them
    labels: np.ndarray
    fit_s: float


def train(folder: Path) -> Workload:
    import xgboost
    from sklearn.datasets import make_classification

    data, target = make_classification(
        n_samples=TRAIN_ROWS + BATCH_ROWS, n_features=FEATURES, n_informative=15, random_state=0
    )
    data = data.astype(np.float32)
    data[np.random.default_rng(0).random(data.shape) < MISSING_FRACTION] = np.nan
    model = xgboost.XGBClassifier(n_estimators=TREES, max_depth=DEPTH, n_jobs=1, random_state=0)
    started = time.perf_counter()
    model.fit(data[:TRAIN_ROWS], target[:TRAIN_ROWS])
    fit_s = time.perf_counter() - started
    # Saved as trained with the defaults: predictions on every core, as a user's model would be.
    model.set_params(n_jobs=None)
    path = folder / f"{MODEL_NAME}.{MODEL_FORMAT}"
    model.save_model(path)
    batch = data[TRAIN_ROWS:]
    return Workload(model, path, batch, model.predict_proba(batch), model.predict(batch), fit_s)


def json_rows(batch: np.ndarray) -> list[list[float | None]]:
    # JSON has no NaN: a missing value is null. float32 values print exactly as Python floats.
    return [[None if math.isnan(value) else value for value in row] for row in batch.tolist()]


# --- dockml over HTTP -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Served:
    command: str
    workers: int
    ready_s: float
    runtime: str
    onnx: dict[str, Any] | None  # details.onnx: compiled or why not
    compiled: Path | None  # the ONNX file dockml compiled, from its cache
    threads: object  # details.threads: ONNX Runtime's threads per worker
    differing: int  # labels of the 1,000-row answer unlike xgboost's
    one_row: WrkResult
    batch: WrkResult
    others_share: float  # of the CPUs, during the wrk runs


def serve_argv(path: Path) -> list[str]:
    return [sys.executable, "-m", "dockml", "serve", str(path)]


def describe_model(port: int) -> dict[str, Any]:
    status, body = request(port, "GET", f"/models/{MODEL_NAME}")
    if status != 200:
        raise BenchError(f"GET /models/{MODEL_NAME} answered {status}: {body[:300]!r}")
    described: dict[str, Any] = json.loads(body)
    return described


def scenarios(workload: Workload, names: Sequence[str]) -> tuple[Scenario, Scenario, int]:
    """One row (one with a missing value) as a record, and the whole batch as instances."""
    index = int(np.isnan(workload.batch).any(axis=1).argmax())
    record = dict(zip(names, json_rows(workload.batch[index : index + 1])[0], strict=True))
    one_row = Scenario("post_c64", "POST 1 row, c64", "POST", "/predict", json.dumps(record).encode(), 2, 64)
    body = json.dumps({"instances": json_rows(workload.batch)}).encode()
    batch = Scenario("rows1000_c4", f"POST {BATCH_ROWS} rows, c4", "POST", "/predict", body, 2, 4, BATCH_ROWS)
    return one_row, batch, index


def verify(port: int, scenario: Scenario, expected: np.ndarray) -> int:
    """One request before the load: 200, one label per row, and xgboost's labels (how many differ)."""
    status, body = request(port, scenario.method, scenario.target, scenario.body, timeout_s=30.0)
    predictions = json.loads(body).get("predictions") if status == 200 else None
    if not isinstance(predictions, list) or len(predictions) != scenario.rows:
        raise BenchError(f"{scenario.label} answered {status}: {body[:300]!r}")
    differing = sum(str(got) != str(want) for got, want in zip(predictions, expected.tolist(), strict=True))
    if differing > MAX_DISAGREEING * scenario.rows:
        raise BenchError(f"{scenario.label}: {differing} of {scenario.rows} labels differ from xgboost's")
    return differing


def compiled_file(home: Path, onnx: dict[str, Any] | None) -> Path | None:
    """dockml's compiled model, if it compiled one: DOCKML_HOME is this run's, so the only one."""
    found = sorted(home.rglob("*.onnx")) if onnx and onnx.get("compiled") else []
    return found[0] if len(found) == 1 else None


def bench_dockml(workload: Workload, duration_s: int, deadline: Deadline, workdir: Path, home: Path) -> Served:
    spec = ServerSpec("dockml", serve_argv(workload.path), "/health/ready", [], f"/models/{MODEL_NAME}")
    print(f"dockml: starting: {shlex.join(spec.argv)}", flush=True)
    with serving(spec, deadline, workdir) as server:
        print(f"  dockml: ready in {server.ready_s:.2f} s on port {server.port}", flush=True)
        described = describe_model(server.port)
        onnx = described.get("details", {}).get("onnx")
        print(f"  dockml: runtime {described.get('runtime')}, onnx {json.dumps(onnx)}", flush=True)
        names = [feature["name"] for feature in described["signature"]["inputs"]]
        one_row, batch, index = scenarios(workload, names)
        verify(server.port, one_row, workload.labels[index : index + 1])
        differing = verify(server.port, batch, workload.labels)
        runs = {}
        server_pids = [server.pid, *worker_pids(server.pid)]
        started = CpuClock.now(server_pids)
        for scenario in (one_row, batch):
            runs[scenario.key] = run_wrk(server.port, scenario, duration_s, workdir, deadline)
            print(describe_run("dockml", scenario, runs[scenario.key]), flush=True)
        others_share = CpuClock.now(server_pids).others_share(started)
        workers = len(server_pids) - 1
    return Served(
        shlex.join(spec.argv),
        workers,
        server.ready_s,
        str(described.get("runtime")),
        onnx,
        compiled_file(home, onnx),
        described.get("details", {}).get("threads"),
        differing,
        runs[one_row.key],
        runs[batch.key],
        others_share,
    )


# --- in-process runtimes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Baseline:
    label: str
    threads: str
    rows_per_s: float | None = None  # None: not measured, and `note` says why
    max_error: float | None = None  # largest |probability - xgboost's| on the batch
    note: str = ""


def rows_per_second(predict: Callable[[], object], duration_s: float) -> float:
    predict()  # the first call sets up thread pools and caches
    calls, started = 0, time.perf_counter()
    while True:
        predict()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= duration_s:
            return calls * BATCH_ROWS / elapsed


def max_error(output: object, proba: np.ndarray) -> float | None:
    values = np.asarray(output, dtype=np.float64).reshape(len(proba), -1)
    if values.shape[1] == 1:  # the positive class only
        return float(np.abs(values[:, 0] - proba[:, 1]).max())
    return float(np.abs(values - proba).max()) if values.shape == proba.shape else None


def measure(label: str, threads: str, predict: Callable[[], object], workload: Workload, duration_s: int) -> Baseline:
    error = max_error(predict(), workload.proba)
    baseline = Baseline(label, threads, rows_per_second(predict, duration_s), error)
    print(f"  in-process: {label}: {baseline.rows_per_s:,.0f} rows/s", flush=True)
    return baseline


def xgboost_baseline(workload: Workload, duration_s: int) -> Baseline:
    return measure(
        "xgboost `predict_proba`",
        "default (all cores)",
        lambda: workload.model.predict_proba(workload.batch),
        workload,
        duration_s,
    )


def onnx_model(workload: Workload, compiled: Path | None) -> tuple[bytes | str, str]:
    if compiled is not None:
        return str(compiled), "dockml's compiled model"
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    # The converter reads features as f0, f1, ...: names given to the booster break it.
    model = copy.deepcopy(workload.model)
    booster = model.get_booster()
    booster.feature_names = None
    booster.feature_types = None
    converted = convert_xgboost(model, initial_types=[("input", FloatTensorType([None, FEATURES]))])
    return converted.SerializeToString(), "onnxmltools' conversion"


def onnx_baseline(workload: Workload, compiled: Path | None, duration_s: int) -> Baseline:
    label = "ONNX Runtime"
    try:
        import onnxruntime  # noqa: F401 - only to say it is missing

        model, source = onnx_model(workload, compiled)
    except ImportError as error:
        return Baseline(label, "-", note=f"not measured: {error} (pip install onnxruntime onnxmltools)")
    session = in_process_session(model, cores())
    feeds = session_feeds(session, workload.batch)
    outputs = [o.name for o in session.get_outputs()]
    proba = next((name for name in outputs if "prob" in name.lower()), outputs[-1])
    return measure(
        f"{label} ({source})",
        f"intra-op {cores()}",
        lambda: session.run([proba], feeds)[0],
        workload,
        duration_s,
    )


def tl2cgen_baseline(workload: Workload, workdir: Path, duration_s: int) -> Baseline:
    label = "tl2cgen (compiled C)"
    try:
        import tl2cgen
        import treelite
    except ImportError as error:
        return Baseline(label, "-", note=f"not measured: {error} (optional: pip install treelite tl2cgen)")
    if shutil.which("gcc") is None:
        return Baseline(label, "-", note="not measured: no gcc to compile the model with")
    started = time.perf_counter()
    library = workdir / "tl2cgen-model.so"
    tl2cgen.export_lib(
        treelite.frontend.from_xgboost(workload.model.get_booster()),
        toolchain="gcc",
        libpath=str(library),
        params={"parallel_comp": cores()},
        nthread=cores(),
    )
    compile_s = time.perf_counter() - started
    predictor = tl2cgen.Predictor(str(library), nthread=cores())
    baseline = measure(
        label,
        str(cores()),
        lambda: predictor.predict(tl2cgen.DMatrix(workload.batch)),
        workload,
        duration_s,
    )
    return Baseline(
        baseline.label, baseline.threads, baseline.rows_per_s, baseline.max_error, f"compiled in {compile_s:.0f} s"
    )


def in_process(workload: Workload, compiled: Path | None, workdir: Path, duration_s: int) -> list[Baseline]:
    """Each runtime alone on the machine (dockml is stopped), called on the batch in a loop."""
    found = [xgboost_baseline(workload, duration_s)]
    others: list[tuple[str, Callable[[], Baseline]]] = [
        ("ONNX Runtime", lambda: onnx_baseline(workload, compiled, duration_s)),
        ("tl2cgen", lambda: tl2cgen_baseline(workload, workdir, duration_s)),
    ]
    for label, run in others:
        try:
            found.append(run())
        except Exception as error:  # noqa: BLE001 - converters and compilers raise many untyped errors
            message = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
            print(f"  in-process: {label}: FAILED: {message}", flush=True)
            found.append(Baseline(label, "-", note=f"failed: {message}"))
    return found


# --- report -----------------------------------------------------------------------------------


def share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def runtime_line(served: Served) -> str:
    onnx = served.onnx or {}
    if onnx.get("compiled"):
        parity = onnx.get("parity") or {}
        checked = (
            f"parity checked on {parity.get('rows')} rows ({parity.get('missing_rows')} with missing values), "
            f"max abs difference {parity.get('max_abs_difference', float('nan')):.2g}"
            if parity
            else "no parity report"
        )
        file = served.compiled.name if served.compiled else "file not found in DOCKML_HOME"
        return (
            f"runtime `{served.runtime}`, {served.threads} thread(s) per worker; compiled to ONNX, {checked}, "
            f"cache {onnx.get('cache', '?')}: `{file}`"
        )
    return f"runtime `{served.runtime}`; not compiled to ONNX: {onnx.get('reason', 'no details.onnx')}"


def batch_rows(served: Served | None, baselines: Sequence[Baseline]) -> list[list[str]]:
    def number(value: float | None, form: str) -> str:
        return "n/a" if value is None else format(value, form)

    rows = [
        [b.label, "in-process", b.threads, number(b.rows_per_s, ",.0f"), number(b.max_error, ".2g"), b.note]
        for b in baselines
    ]
    if served is not None:
        run = served.batch
        rows.append(
            [
                '**dockml** POST `{"instances": [...]}`, wrk -t2 -c4',
                "HTTP, 127.0.0.1",
                f"{served.workers} workers",
                f"**{run.per_second * BATCH_ROWS:,.0f}**",
                f"{served.differing} of {BATCH_ROWS:,} labels differ",
                f"p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, {run.errors} errors",
            ]
        )
    return rows


def target_rows(served: Served | None, baselines: Sequence[Baseline]) -> list[list[str]]:
    measured = [b for b in baselines if b.rows_per_s is not None]
    if served is None or not measured:
        return [[f"dockml {BATCH_ROWS:,}-row rows/s >= {TARGET_RATIO:.2f} x the fastest in-process", "n/a", "n/a"]]
    fastest = max(measured, key=lambda b: b.rows_per_s or 0.0)
    assert fastest.rows_per_s is not None
    ratio = served.batch.per_second * BATCH_ROWS / fastest.rows_per_s
    passed = ratio >= TARGET_RATIO and served.batch.errors == 0
    rows = [
        [
            f"dockml {BATCH_ROWS:,}-row rows/s >= {TARGET_RATIO:.2f} x the fastest in-process ({fastest.label})",
            f"{ratio:.2f}",
            "PASS" if passed else "MISS",
        ]
    ]
    onnx = next((b for b in measured if b.label.startswith("ONNX Runtime")), None)
    if onnx is not None and onnx.rows_per_s:
        # What dockml adds to the runtime it serves with (HTTP, JSON, batching), apart from the runtime's speed.
        served_ratio = served.batch.per_second * BATCH_ROWS / onnx.rows_per_s
        rows.append(
            [
                "for information: dockml / ONNX Runtime in-process (the runtime dockml serves with)",
                f"{served_ratio:.2f}",
                "",
            ]
        )
    return rows


def report(
    args: argparse.Namespace,
    load_average: float,
    workload: Workload,
    served: Served | None,
    baselines: Sequence[Baseline],
    notes: Sequence[str],
    others_share: float | None,
) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# dockml on gradient boosting",
        "",
        f"- date: {now}",
        f"- machine: {cores()} CPUs ({cpu_model()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"- source: {source_version()}",
        f"- command: `{shlex.join([sys.executable, *sys.argv])}`",
        f"- {args.duration} s per wrk run and per in-process runtime, all on {HOST}",
        # Other work on the machine takes CPU from every runtime measured: a high load spoils a run.
        f"- load average (1 min): {load_average:.2f} before the run, {os.getloadavg()[0]:.2f} after",
        f"- CPU taken by other processes: {share(served.others_share if served else None)} of the CPUs during "
        f"dockml's wrk runs, {share(others_share)} during the in-process runs (more than a few % spoils the figures)",
        f"- model: XGBClassifier(n_estimators={TREES}, max_depth={DEPTH}), {FEATURES} features, 2 classes, "
        f"{MISSING_FRACTION:.0%} of values missing, fitted on {TRAIN_ROWS:,} rows in {workload.fit_s:.1f} s "
        f"(one thread); saved as `{workload.path.name}`",
    ]
    if served is not None:
        lines += [
            f"- dockml: `{served.command}` ({served.workers} workers), ready in {served.ready_s:.1f} s",
            f"- dockml picked: {runtime_line(served)}",
        ]
    lines += ["", f"## {BATCH_ROWS:,}-row batches (the same rows everywhere)", ""]
    lines += markdown_table(
        ["runtime", "where", "threads", "rows/s", "max abs error vs xgboost", "notes"], batch_rows(served, baselines)
    )
    lines += ["", "## Target", ""]
    lines += markdown_table(["target", "ratio", "result"], target_rows(served, baselines))
    lines += ["", "## One row, POST at c64 (wrk -t2 -c64)", ""]
    if served is not None:
        run = served.one_row
        lines += markdown_table(
            ["req/s", "p50 (ms)", "p99 (ms)", "errors"],
            [[f"{run.per_second:,.0f}", f"{run.p50_ms:.2f}", f"{run.p99_ms:.2f}", str(run.errors)]],
        )
    else:
        lines += ["- not measured"]
    lines += [
        "",
        "## Notes",
        "",
        "- The in-process runtimes run with dockml stopped and get every core; dockml shares them with wrk "
        "and spends part of them parsing JSON. That is the cost the ratio measures.",
        *[f"- {note}" for note in notes],
    ]
    return "\n".join(lines) + "\n"


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--duration",
        type=int,
        default=10,
        metavar="SECONDS",
        help="length of each wrk run and of each in-process measurement (default: 10)",
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="also write the report to this markdown file")
    parser.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="stop everything after this long (default: 10 x duration + 300)",
    )
    args = parser.parse_args(argv)
    if args.duration < 1:
        parser.error("--duration must be at least 1")
    args.time_limit = args.time_limit or 10 * args.duration + 300
    return args


def missing_tools() -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed; on Debian or Ubuntu: sudo apt-get install -y wrk (macOS: brew install wrk)"
    try:
        import sklearn  # noqa: F401
        import xgboost  # noqa: F401
    except ImportError as error:
        return f"{error}: pip install xgboost scikit-learn"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if (missing := missing_tools()) is not None:
        print(f"bench: {missing}", file=sys.stderr)
        return 2
    load_average = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGALRM, on_alarm)
    atexit.register(stop_all)
    served, baselines, notes, others_share = None, [], [], None
    with tempfile.TemporaryDirectory(prefix="dockml-boosting-") as workdir:
        folder = Path(workdir)
        # A DOCKML_HOME of this run's: dockml compiles afresh, and its compiled file is easy to find.
        home = folder / "home"
        os.environ["DOCKML_HOME"] = str(home)
        deadline = Deadline(args.time_limit)
        signal.alarm(int(args.time_limit) + 1)
        try:
            print(
                f"training: XGBClassifier(n_estimators={TREES}, max_depth={DEPTH}) on {FEATURES} features", flush=True
            )
            workload = train(folder)
            print(f"  fitted in {workload.fit_s:.1f} s; saved as {workload.path.name}", flush=True)
            try:
                served = bench_dockml(workload, args.duration, deadline, folder, home)
            except TimeLimit:
                raise
            except (BenchError, OSError, ValueError) as error:
                print(f"  dockml: FAILED: {error}", flush=True)
                notes.append(f"dockml failed: {str(error).splitlines()[0]}")
            deadline.require(3 * (args.duration + 1) + 60)
            started = CpuClock.now()
            baselines = in_process(workload, served.compiled if served else None, folder, args.duration)
            others_share = CpuClock.now().others_share(started)
        except TimeLimit as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
        finally:
            signal.alarm(0)
            stop_all()
    text = report(args, load_average, workload, served, baselines, notes, others_share)
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
        print(f"written to {args.out}")
    return 0 if served is not None and any(b.rows_per_s is not None for b in baselines) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
