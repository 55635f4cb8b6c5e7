"""Benchmark dockml against two constant apps (a bare ASGI callable and a Starlette endpoint, the
ceilings), a naive scikit-learn server (the floor) and ONNX Runtime in-process, measured in the
same run on the same machine, and check the targets.

    python bench/run.py [--duration 10] [--workers 2] [--rounds 1] [--out bench/results.md]

Each server runs alone on a free 127.0.0.1 port and is stopped before the next one starts; with
--rounds N the servers take turns N times, in a rotated order, and the medians are reported.
Load comes from wrk. See bench/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
ROW = {"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}
GET_TARGET = "/predict?" + "&".join(f"{name}={value}" for name, value in ROW.items())
EXPECTED = {"predictions": ["setosa"]}
IRIS_CLASSES = {"setosa", "versicolor", "virginica"}
BATCH_ROWS = 1000
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
WRK_GRACE_S = 15.0  # wrk's own start-up and shutdown, beyond --duration
WRK_TIMEOUT_S = 10  # wrk's default of 2 s would drop the naive server's slow answers from its latencies
SERVERS = ("dockml", "bare", "starlette", "naive")
CEILINGS = ("bare", "starlette")  # the constant apps
CPU_SCENARIO = "post_c64"

# wrk calls `done` once, in its main thread, with the statistics of every thread merged.
# Latencies are in microseconds; status errors are responses with a status of 400 or more.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %.1f, "p99_us": %.1f, '
    .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


class BenchError(Exception):
    """A failure with a message for the user: the server it concerns is left out of the table."""


class TimeLimit(BenchError):
    """The run's time budget is spent: the whole run stops."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def require(self, seconds: float) -> None:
        if time.monotonic() + seconds > self.end:
            raise TimeLimit(
                f"the time limit of {self.seconds:.0f} s would be exceeded; raise --time-limit or lower --duration"
            )

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())


# --- what is measured -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    label: str
    method: str
    target: str
    body: bytes | None
    threads: int
    connections: int
    rows: int = 1


@dataclass(frozen=True, slots=True)
class ServerSpec:
    key: str
    argv: list[str]  # --host and --port are appended
    ready_path: str
    scenarios: list[Scenario]
    models_path: str | None = None  # where the server describes the models it runs


def single_row_scenarios() -> list[Scenario]:
    body = json.dumps(ROW).encode()
    return [
        Scenario("get_c1", "GET 1 row, c1", "GET", GET_TARGET, None, 1, 1),
        Scenario("get_c64", "GET 1 row, c64", "GET", GET_TARGET, None, 2, 64),
        Scenario("post_c1", "POST 1 row, c1", "POST", "/predict", body, 1, 1),
        Scenario("post_c64", "POST 1 row, c64", "POST", "/predict", body, 2, 64),
    ]


def batch_rows() -> list[list[float]]:
    import numpy as np
    from sklearn.datasets import load_iris

    # Rows drawn from the dataset, so a cache or a constant-folding shortcut cannot flatter the result.
    data = load_iris().data
    picks = np.random.default_rng(0).integers(0, len(data), BATCH_ROWS)
    rows: list[list[float]] = data[picks].tolist()
    return rows


def batch_scenario() -> Scenario:
    body = json.dumps({"instances": batch_rows()}).encode()
    return Scenario("rows1000_c4", f"POST {BATCH_ROWS} rows, c4", "POST", "/predict", body, 2, 4, BATCH_ROWS)


def constant_app_argv(app: str, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"constant_apps:{app}",
        "--app-dir",
        str(BENCH_DIR),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def server_specs(iris: Path, workers: int) -> list[ServerSpec]:
    singles, batch = single_row_scenarios(), batch_scenario()
    dockml = [sys.executable, "-m", "dockml", "serve", str(iris), "--workers", str(workers)]
    return [
        ServerSpec("dockml", dockml, "/health/ready", [*singles, batch], "/models"),
        ServerSpec("bare", constant_app_argv("bare", workers), "/", singles),
        ServerSpec("starlette", constant_app_argv("starlette", workers), "/", singles),
        ServerSpec(
            "naive",
            [*dockml, "--runtime", "sklearn", "--batch-max-rows", "1"],
            "/health/ready",
            [*singles, batch],
            "/models",
        ),
    ]


def naive_flags_missing() -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "dockml", "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    return [flag for flag in ("--runtime", "--batch-max-rows") if flag not in completed.stdout]


# --- servers ----------------------------------------------------------------------------------

_RUNNING: set[subprocess.Popen[bytes]] = set()


@dataclass(frozen=True, slots=True)
class Running:
    pid: int
    port: int
    ready_s: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def log_tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join("    " + line for line in text) or "    (the server printed nothing)"


# Python writes its bytecode caches as it normally does, so that "warm" starts read them: an
# environment with PYTHONDONTWRITEBYTECODE (some CI images set it) would otherwise compile dockml's
# own modules from source at every start, about 0.1 s here, which no installed copy pays.
SERVER_ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


@contextmanager
def serving(spec: ServerSpec, deadline: Deadline, logs: Path) -> Iterator[Running]:
    """Start the server, wait until it answers its readiness path, and always stop it."""
    port = free_port()
    log_path = logs / f"{spec.key}-{port}.log"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        # A session of its own, so that uvicorn's workers can be killed with their supervisor.
        process = subprocess.Popen(
            [*spec.argv, "--host", HOST, "--port", str(port)],
            env=SERVER_ENVIRONMENT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _RUNNING.add(process)
        try:
            timeout_s = min(READY_TIMEOUT_S, deadline.remaining())
            ready_s = wait_ready(process, port, spec.ready_path, started, timeout_s, log_path)
            yield Running(process.pid, port, ready_s)
        finally:
            stop(process)


def wait_ready(
    process: subprocess.Popen[bytes], port: int, path: str, started: float, timeout_s: float, log: Path
) -> float:
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise BenchError(f"the server exited with code {process.returncode} before it was ready:\n{log_tail(log)}")
        with suppress(OSError, http.client.HTTPException):
            if request(port, "GET", path, timeout_s=2.0)[0] == 200:
                return time.perf_counter() - started
        time.sleep(0.01)
    raise BenchError(f"the server was not ready after {timeout_s:.0f} s:\n{log_tail(log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    _RUNNING.discard(process)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            print(f"  server {process.pid} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s; killing its process group")
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop_all() -> None:
    for process in list(_RUNNING):
        stop(process)


# --- HTTP checks ------------------------------------------------------------------------------


def request(
    port: int, method: str, target: str, body: bytes | None = None, timeout_s: float = 10.0
) -> tuple[int, bytes]:
    # http.client rather than urllib: no proxy from the environment can get between us and 127.0.0.1.
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def answer_is_right(body: bytes, rows: int) -> bool:
    try:
        answer: object = json.loads(body)
    except ValueError:
        return False
    if rows == 1:
        return answer == EXPECTED
    predictions = answer.get("predictions") if isinstance(answer, dict) else None
    return isinstance(predictions, list) and len(predictions) == rows and set(predictions) <= IRIS_CLASSES


def served_models(port: int, path: str | None) -> str:
    """What the server says it runs, so that the report shows which runtime was measured."""
    if path is None:
        return "no model"
    try:
        models = json.loads(request(port, "GET", path)[1])["models"]
        return "; ".join(
            f"{m['name']}: runtime {m.get('runtime', '?')}, batching {json.dumps(m.get('batching'))}" for m in models
        )
    except (OSError, http.client.HTTPException, ValueError, LookupError, TypeError) as error:
        return f"unknown ({error!r})"


def verify(port: int, scenario: Scenario) -> None:
    """One request before the load, so that a server answering errors is never benchmarked."""
    status, body = request(port, scenario.method, scenario.target, scenario.body)
    if status != 200 or not answer_is_right(body, scenario.rows):
        raise BenchError(f"{scenario.method} {scenario.target[:60]} answered {status}: {body[:300]!r}")


# --- wrk --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.duration_s


def lua_long_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def lua_script(scenario: Scenario) -> str:
    lines = [f'wrk.method = "{scenario.method}"']
    if scenario.body is not None:
        lines += [
            f"wrk.body = {lua_long_string(scenario.body.decode())}",
            'wrk.headers["Content-Type"] = "application/json"',
        ]
    return "\n".join(lines) + "\n" + LUA_DONE


def parse_wrk(output: str) -> WrkResult:
    line = next((line for line in output.splitlines() if line.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise BenchError(f"wrk printed no result:\n{output[-1500:]}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    return WrkResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        errors=sum(data["errors"].values()),
    )


def run_wrk(port: int, scenario: Scenario, duration_s: int, scripts: Path, deadline: Deadline) -> WrkResult:
    script = scripts / f"{scenario.key}.lua"
    script.write_text(lua_script(scenario))
    argv = [
        "wrk",
        f"-t{scenario.threads}",
        f"-c{scenario.connections}",
        f"-d{duration_s}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "--latency",
        "-s",
        str(script),
        f"http://{HOST}:{port}{scenario.target}",
    ]
    timeout_s = duration_s + WRK_GRACE_S
    deadline.require(timeout_s)
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    if completed.returncode != 0:
        raise BenchError(f"wrk failed with code {completed.returncode}: {completed.stderr.strip()[-1500:]}")
    return parse_wrk(completed.stdout)


# --- processes: memory and CPU, from /proc ----------------------------------------------------


def proc_stat(pid: int) -> list[str]:
    # The fields after the command name, which may itself hold spaces and parentheses; [0] is field 3.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError):
                if int(proc_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return found


def worker_pids(pid: int) -> list[int]:
    """uvicorn's supervisor spawns one child per worker, and multiprocessing adds a resource
    tracker; with one worker the server process is the worker."""
    workers = []
    for child in children(pid):
        with suppress(OSError):
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
    return workers or [pid]


def cpu_seconds(pid: int) -> float:
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    return int(proc_stat(pid)[21]) * os.sysconf("SC_PAGE_SIZE")


def private_bytes(pid: int) -> tuple[int, int] | None:
    """USS and PSS: what the worker alone holds, and its share of what it holds with others
    (forked workers share the models they inherit, which RSS counts in full for each)."""
    try:
        import psutil
    except ImportError:
        return None
    info = psutil.Process(pid).memory_full_info()
    return int(info.uss), int(info.pss)


def descendants(pid: int) -> list[int]:
    found = children(pid)
    for child in list(found):
        found += descendants(child)
    return found


@dataclass(frozen=True, slots=True)
class Memory:
    rss_mb: float  # per worker, mean
    uss_mb: float | None
    pss_mb: float | None
    total_rss_mb: float  # the server's every process: supervisor, workers and helpers


def measure_memory(server_pid: int) -> Memory:
    def mean_mb(values: Sequence[int]) -> float:
        return sum(values) / len(values) / 2**20

    pids = worker_pids(server_pid)
    total_mb = sum(rss_bytes(pid) for pid in {server_pid, *descendants(server_pid)}) / 2**20
    private = [private_bytes(pid) for pid in pids]
    if any(p is None for p in private):
        return Memory(mean_mb([rss_bytes(pid) for pid in pids]), None, None, total_mb)
    uss, pss = zip(*(p for p in private if p is not None), strict=True)
    return Memory(mean_mb([rss_bytes(pid) for pid in pids]), mean_mb(uss), mean_mb(pss), total_mb)


@dataclass(frozen=True, slots=True)
class CpuSplit:
    shares: list[float]  # each worker's part of the CPU time the workers used
    cores: float  # CPU seconds used per second of wall time, all workers together


def cpu_split(before: dict[int, float], after: dict[int, float], wall_s: float) -> CpuSplit:
    used = [after[pid] - before[pid] for pid in before if pid in after]
    total = sum(used) or 1e-9
    return CpuSplit([u / total for u in used], sum(used) / wall_s)


# --- one server -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerResult:
    command: str
    models: str
    runs: dict[str, WrkResult]
    ready_s: float
    memory: Memory
    cpu: CpuSplit | None


@dataclass(frozen=True, slots=True)
class Budget:
    duration_s: int
    deadline: Deadline
    workdir: Path


def describe_run(key: str, scenario: Scenario, result: WrkResult) -> str:
    return (
        f"  {key}: {scenario.label}: {result.per_second:,.0f} req/s, p50 {result.p50_ms:.3f} ms, "
        f"p99 {result.p99_ms:.3f} ms, {result.errors} errors"
    )


def load(spec: ServerSpec, server: Running, budget: Budget) -> tuple[dict[str, WrkResult], CpuSplit | None]:
    runs: dict[str, WrkResult] = {}
    cpu = None
    for scenario in spec.scenarios:
        workers = worker_pids(server.pid) if scenario.key == CPU_SCENARIO else []
        before, started = {pid: cpu_seconds(pid) for pid in workers}, time.perf_counter()
        runs[scenario.key] = run_wrk(server.port, scenario, budget.duration_s, budget.workdir, budget.deadline)
        if workers:
            after = {pid: cpu_seconds(pid) for pid in workers}
            cpu = cpu_split(before, after, time.perf_counter() - started)
        print(describe_run(spec.key, scenario, runs[scenario.key]), flush=True)
    return runs, cpu


def bench_server(spec: ServerSpec, budget: Budget) -> ServerResult:
    print(f"{spec.key}: starting: {shlex.join(spec.argv)}", flush=True)
    with serving(spec, budget.deadline, budget.workdir) as server:
        print(f"  {spec.key}: ready in {server.ready_s:.2f} s on port {server.port}", flush=True)
        for scenario in spec.scenarios:
            verify(server.port, scenario)
        models = served_models(server.port, spec.models_path)
        print(f"  {spec.key}: {models}", flush=True)
        runs, cpu = load(spec, server, budget)
        memory = measure_memory(server.pid)
    return ServerResult(shlex.join(spec.argv), models, runs, server.ready_s, memory, cpu)


def warm_start_seconds(spec: ServerSpec, budget: Budget) -> float:
    """Start to ready once more: the model files and Python's caches are warm by now."""
    with serving(spec, budget.deadline, budget.workdir) as server:
        print(f"  {spec.key}: second start ready in {server.ready_s:.3f} s", flush=True)
        return server.ready_s


# --- ONNX Runtime in-process: what the 1,000-row POST is measured against -------------------


@dataclass(frozen=True, slots=True)
class InProcess:
    rows_per_s: float | None  # None: not measured, and `note` says why
    note: str


def onnx_in_process(iris: Path, workdir: Path, duration_s: int) -> InProcess:
    """ONNX Runtime's own rows/s on the model dockml serves (`dockml convert` writes the very
    graph `dockml serve` compiles), on the same 1,000 rows, in this process with a thread per core."""
    target = workdir / "iris.onnx"
    completed = subprocess.run(
        [sys.executable, "-m", "dockml", "convert", str(iris), "--output", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        return InProcess(None, f"`dockml convert` failed: {completed.stderr.strip()[-300:]}")
    import numpy as np

    cores = len(os.sched_getaffinity(0))
    session = in_process_session(str(target), cores)
    feeds = session_feeds(session, np.asarray(batch_rows()))
    labels = [session.get_outputs()[0].name]  # the labels: what the 1,000-row POST answers
    session.run(labels, feeds)  # the first call sets up thread pools
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < duration_s:
        session.run(labels, feeds)
        calls += 1
    rows_per_s = calls * BATCH_ROWS / elapsed
    print(f"in-process: ONNX Runtime, intra-op {cores}: {rows_per_s:,.0f} rows/s", flush=True)
    return InProcess(
        rows_per_s, f"ONNX Runtime {version('onnxruntime')}, `session.run` on dockml's graph, intra-op {cores}"
    )


def in_process_session(model: bytes | str, threads: int) -> Any:
    """An ONNX Runtime session in this process, set up as dockml sets up its own (sequential,
    ``threads`` intra-op threads): the baseline differs from dockml only in what surrounds it."""
    from dockml.models.onnx import session

    return session(model, threads)


def session_feeds(session: Any, batch: Any) -> dict[str, Any]:
    """``batch`` (rows x features) as the session takes it: one tensor of all features, or one
    [N, 1] tensor per feature, in the graph's float type."""
    import numpy as np

    inputs = session.get_inputs()
    rows = batch.astype(np.float64 if inputs[0].type == "tensor(double)" else np.float32)
    if len(inputs) == 1:
        return {inputs[0].name: rows}
    return {i.name: rows[:, [column]] for column, i in enumerate(inputs)}


# --- rounds: the servers take turns, and the medians are reported -----------------------------

Results = dict[str, ServerResult | None]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def median_run(runs: Sequence[WrkResult]) -> WrkResult:
    """Requests/s, p50 and p99 each the median over the rounds; errors of every round count."""
    return WrkResult(
        requests=round(median([run.per_second for run in runs]) * 1000),
        duration_s=1000.0,
        p50_ms=median([run.p50_ms for run in runs]),
        p99_ms=median([run.p99_ms for run in runs]),
        errors=sum(run.errors for run in runs),
    )


def combine(rounds: Sequence[ServerResult]) -> ServerResult:
    last = rounds[-1]
    keys = [key for key in last.runs if all(key in result.runs for result in rounds)]
    runs = {key: median_run([result.runs[key] for result in rounds]) for key in keys}
    memory = Memory(
        median([r.memory.rss_mb for r in rounds]),
        last.memory.uss_mb,
        last.memory.pss_mb,
        median([r.memory.total_rss_mb for r in rounds]),
    )
    return ServerResult(last.command, last.models, runs, median([r.ready_s for r in rounds]), memory, last.cpu)


def rotated(specs: Sequence[ServerSpec], round_index: int) -> list[ServerSpec]:
    # Each server takes another place in each round, so no one always runs on a machine just warmed
    # (or just disturbed) by the same neighbour.
    shift = round_index % len(specs)
    return [*specs[shift:], *specs[:shift]]


# --- report -----------------------------------------------------------------------------------


def run_of(results: Results, server: str, key: str) -> WrkResult | None:
    result = results.get(server)
    return result.runs.get(key) if result else None


def cell(results: Results, server: str, key: str, value: str) -> str:
    if results.get(server) is None:
        return "n/a"
    run = run_of(results, server, key)
    if run is None:
        return "-"
    if value == "rps":
        text = f"{run.per_second:,.0f}"
        return text + (f" ({run.errors} errors)" if run.errors else "")
    if value == "rows":
        return f"{run.per_second * BATCH_ROWS:,.0f}"
    return f"{getattr(run, value):.3f}"


def scenario_rows(results: Results, scenarios: Sequence[Scenario]) -> list[list[str]]:
    rows = []
    for scenario in scenarios:
        metrics = [("req/s", "rps")] + ([("rows/s", "rows")] if scenario.rows > 1 else [])
        metrics += [("p50 (ms)", "p50_ms"), ("p99 (ms)", "p99_ms")]
        for name, value in metrics:
            rows.append([f"{scenario.label}: {name}"] + [cell(results, s, scenario.key, value) for s in SERVERS])
    return rows


def server_value(results: Results, server: str, text: str | None) -> str:
    return "n/a" if results.get(server) is None or text is None else text


def process_rows(results: Results, dockml_ready_s: float | None) -> list[list[str]]:
    def memory(server: str, kind: str) -> str | None:
        result = results[server]
        value = None if result is None else getattr(result.memory, f"{kind}_mb")
        return None if value is None else f"{value:.1f}"

    def ready(server: str) -> str | None:
        result = results[server]
        seconds = dockml_ready_s if server == "dockml" else (result.ready_s if result else None)
        return None if seconds is None else f"{seconds:.3f}"

    def errors(server: str) -> str | None:
        result = results[server]
        return None if result is None else str(sum(run.errors for run in result.runs.values()))

    return [
        ["errors (non-2xx, socket), all runs"] + [server_value(results, s, errors(s)) for s in SERVERS],
        ["RSS, all processes (MB)"] + [server_value(results, s, memory(s, "total_rss")) for s in SERVERS],
        ["RSS per worker (MB)"] + [server_value(results, s, memory(s, "rss")) for s in SERVERS],
        ["USS per worker (MB)"] + [server_value(results, s, memory(s, "uss")) for s in SERVERS],
        ["PSS per worker (MB)"] + [server_value(results, s, memory(s, "pss")) for s in SERVERS],
        ["start to ready (s; dockml: its second start)"] + [server_value(results, s, ready(s)) for s in SERVERS],
    ]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


RATIO_SERVERS = ("bare", "starlette", "naive")


def ratio(results: Results, other: str, key: str) -> float | None:
    mine, theirs = run_of(results, "dockml", key), run_of(results, other, key)
    return None if mine is None or theirs is None else mine.per_second / theirs.per_second


def ratio_rows(results: Results, scenarios: Sequence[Scenario]) -> list[list[str]]:
    def text(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3g}x"

    return [[s.label, *(text(ratio(results, other, s.key)) for other in RATIO_SERVERS)] for s in scenarios]


@dataclass(frozen=True, slots=True)
class Check:
    target: str
    measured: str
    passed: bool | None  # None: could not be measured


def verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[passed]


def clean(results: Results, *keys: str) -> bool:
    # A run with errors measured something other than serving predictions: it cannot pass.
    return all((run := run_of(results, "dockml", key)) is not None and run.errors == 0 for key in keys)


def ratio_check(results: Results, other: str, factor: float) -> Check:
    target = f"POST 1 row c64 >= {factor:g}x {other} req/s"
    value = ratio(results, other, "post_c64")
    if value is None:
        return Check(target, "n/a", None)
    return Check(target, f"{value:.3g}x", value >= factor and clean(results, "post_c64"))


@dataclass(frozen=True, slots=True)
class BareMultiple:
    """A limit issue 17 set in seconds on its machine, checked as the multiple of the bare
    constant's figure there, against the bare constant measured in the same run: every speed
    target here is a ratio, and these machines differ about 2x in speed."""

    what: str
    limit: float  # on the machine
    bare: float  # the bare constant's figure there
    unit: str

    @property
    def factor(self) -> float:
        return self.limit / self.bare

    @property
    def target(self) -> str:
        return f"{self.what} <= {self.factor:.2g}x bare's ({self.limit:g} {self.unit} where bare took {self.bare:g})"


C1_P50 = BareMultiple("1 row c1: p50", 0.15, 0.045, "ms")
START = BareMultiple("start to ready (warm cache)", 0.5, 0.25, "s")


def bare_multiple_check(results: Results, key: str, multiple: BareMultiple) -> Check:
    mine, bare = run_of(results, "dockml", key), run_of(results, "bare", key)
    method = "GET" if key.startswith("get") else "POST"
    check = multiple_check(multiple, mine.p50_ms if mine else None, bare.p50_ms if bare else None, "ms")
    return replace(check, target=f"{method} {check.target}", passed=check.passed and clean(results, key))


def multiple_check(multiple: BareMultiple, value: float | None, bare: float | None, unit: str) -> Check:
    if value is None or not bare:
        return Check(multiple.target, "n/a", None)
    measured = f"{value:.3g} {unit}: {value / bare:.2f}x bare's {bare:.3g}"
    return Check(multiple.target, measured, value <= multiple.factor * bare)


def latency_check(results: Results, key: str, attribute: str, limit_ms: float, target: str) -> Check:
    run = run_of(results, "dockml", key)
    if run is None:
        return Check(target, "n/a", None)
    value = getattr(run, attribute)
    constants = {server: run_of(results, server, key) for server in CONSTANTS}
    figures = {server: f"{getattr(other, attribute):.3f}" for server, other in constants.items() if other is not None}
    return Check(target, beside_the_constants(f"{value:.3f} ms", figures), value <= limit_ms and clean(results, key))


CONSTANTS = ("bare", "starlette")


def beside_the_constants(measured: str, figures: dict[str, str]) -> str:
    """The constant apps' own figures beside dockml's: whether a limit is within the machine's reach at all."""
    shown = ", ".join(f"{server} {figure}" for server, figure in figures.items())
    return f"{measured} ({shown})" if shown else measured


def limit_check(target: str, value: float | None, limit: float, unit: str, *, at_least: bool = False) -> Check:
    if value is None:
        return Check(target, "n/a", None)
    measured = f"{value:,.3g}x" if unit == "x" else f"{value:,.3g} {unit}"
    return Check(target, measured, value >= limit if at_least else value <= limit)


def checks(results: Results, dockml_ready_s: float | None, onnx: InProcess | None) -> list[Check]:
    starlette = run_of(results, "starlette", "post_c64")
    found = [
        ratio_check(results, "starlette", 1.10),
        ratio_check(results, "bare", 0.80),
        ratio_check(results, "naive", 20.0),
        latency_check(
            results,
            "post_c64",
            "p99_ms",
            starlette.p99_ms if starlette is not None else -1.0,
            "POST 1 row c64: p99 <= the starlette constant's"
            + (f" ({starlette.p99_ms:.3f} ms)" if starlette is not None else ""),
        ),
        *(bare_multiple_check(results, key, C1_P50) for key in ("get_c1", "post_c1")),
    ]
    batch = run_of(results, "dockml", "rows1000_c4")
    share = None
    if batch is not None and onnx is not None and onnx.rows_per_s and clean(results, "rows1000_c4"):
        share = batch.per_second * BATCH_ROWS / onnx.rows_per_s
    found.append(
        limit_check(f"POST {BATCH_ROWS} rows c4 >= 0.8x ONNX Runtime in-process rows/s", share, 0.8, "x", at_least=True)
    )
    dockml = results.get("dockml")
    total = None if dockml is None else dockml.memory.total_rss_mb
    found.append(limit_check("RSS of all processes <= 200 MiB", total, 200.0, "MiB"))
    bare = results.get("bare")
    found.append(multiple_check(START, dockml_ready_s, bare.ready_s if bare is not None else None, "s"))
    return found


def cpu_lines(results: Results) -> list[str]:
    lines = []
    for server in SERVERS:
        result = results.get(server)
        if result is not None and result.cpu is not None:
            shares = " / ".join(f"{share:.0%}" for share in result.cpu.shares)
            lines.append(f"- {server}: {shares} of the workers' CPU time ({result.cpu.cores:.2f} cores busy)")
    return lines


def served_lines(results: Results) -> list[str]:
    return [
        f"- {server}: `{result.command}` ({result.models})" for server, result in results.items() if result is not None
    ]


def cpu_model() -> str:
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def source_version() -> str:
    with suppress(OSError, subprocess.SubprocessError):
        completed = subprocess.run(
            ["git", "-C", str(BENCH_DIR.parent), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if completed.returncode == 0:
            return completed.stdout.strip()
    return "unknown"


def preamble(args: argparse.Namespace, load_average: float) -> list[str]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rounds = f", {args.rounds} rounds (medians)" if args.rounds > 1 else ""
    return [
        "# dockml benchmark",
        "",
        f"- date: {now}",
        f"- machine: {len(os.sched_getaffinity(0))} CPUs ({cpu_model()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"- source: {source_version()}",
        f"- command: `{shlex.join([sys.executable, *sys.argv])}`",
        f"- {args.workers} worker(s) per server, {args.duration} s per wrk run{rounds}, all on {HOST}",
        # Other work on the machine takes CPU from the servers and from wrk: a high load spoils a run.
        f"- load average before the run: {load_average:.2f} (1 min)",
        "",
    ]


@dataclass(frozen=True, slots=True)
class Measured:
    results: Results
    dockml_ready_s: float | None
    onnx: InProcess | None
    notes: list[str]


def report(args: argparse.Namespace, load_average: float, measured: Measured, scenarios: Sequence[Scenario]) -> str:
    results, onnx = measured.results, measured.onnx
    lines = preamble(args, load_average)
    rows = scenario_rows(results, scenarios) + process_rows(results, measured.dockml_ready_s)
    lines += markdown_table(["scenario", *SERVERS], rows)
    if onnx is not None and onnx.rows_per_s is not None:
        lines += ["", f"In-process: {onnx.note}: {onnx.rows_per_s:,.0f} rows/s on the same {BATCH_ROWS} rows."]
    lines += ["", "## Ratios (requests/s)", ""]
    header = ["scenario", *(f"dockml/{other}" for other in RATIO_SERVERS)]
    lines += markdown_table(header, ratio_rows(results, scenarios))
    lines += ["", "## Targets", ""]
    lines += markdown_table(
        ["target", "dockml", "result"],
        [[c.target, c.measured, verdict(c.passed)] for c in checks(results, measured.dockml_ready_s, onnx)],
    )
    lines += ["", "## CPU per worker during POST 1 row, c64", "", *(cpu_lines(results) or ["- not measured"])]
    lines += ["", "## Servers (each with --host 127.0.0.1 --port on a free port)", "", *served_lines(results)]
    unmeasured = [f"ONNX Runtime in-process not measured: {onnx.note}"] if onnx and onnx.rows_per_s is None else []
    notes = [*measured.notes, *unmeasured]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--duration", type=int, default=10, metavar="SECONDS", help="length of each wrk run (default: 10)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server (default: 2)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="run every server N times, taking turns in a rotated order, and report the medians (default: 1)",
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="also write the report to this markdown file")
    parser.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="stop everything after this long (default: rounds x 30 x duration + 300)",
    )
    args = parser.parse_args(argv)
    if args.duration < 1 or args.workers < 1 or args.rounds < 1:
        parser.error("--duration, --workers and --rounds must be at least 1")
    args.time_limit = args.time_limit or args.rounds * 30 * args.duration + 300
    return args


def on_sigterm(signum: int, frame: object) -> None:
    # SystemExit unwinds through every `finally`, so the servers are stopped as on Ctrl-C.
    raise SystemExit(128 + signum)


def on_alarm(signum: int, frame: object) -> None:
    # The backstop behind Deadline.require: whatever hangs, the run ends at the time limit.
    raise TimeLimit("the time limit was reached; raise --time-limit or lower --duration")


def bench_all(specs: Sequence[ServerSpec], budget: Budget, skipped: dict[str, str], rounds: int) -> Measured:
    measured: dict[str, list[ServerResult]] = {spec.key: [] for spec in specs}
    failed: dict[str, str] = {}
    ready: list[float] = []
    for round_index in range(rounds):
        if rounds > 1:
            print(f"round {round_index + 1} of {rounds}", flush=True)
        for spec in rotated(specs, round_index):
            if spec.key in skipped or spec.key in failed:
                continue
            try:
                measured[spec.key].append(bench_server(spec, budget))
                if spec.key == "dockml":
                    ready.append(warm_start_seconds(spec, budget))
            except TimeLimit:
                raise
            except (BenchError, OSError, subprocess.SubprocessError) as error:
                print(f"  {spec.key}: FAILED: {error}", flush=True)
                failed[spec.key] = str(error).splitlines()[0]
    for key, reason in skipped.items():
        print(f"{key}: skipped: {reason}", flush=True)
    results: Results = {
        spec.key: combine(measured[spec.key]) if measured[spec.key] and spec.key not in failed else None
        for spec in specs
    }
    notes = [f"{key} not measured: {reason}" for key, reason in skipped.items()]
    notes += [f"{key} failed: {reason}" for key, reason in failed.items()]
    return Measured(results, median(ready) if ready else None, None, notes)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "bench: wrk is not installed; on Debian or Ubuntu: sudo apt-get install -y wrk (macOS: brew install wrk)",
            file=sys.stderr,
        )
        return 2
    load_average = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGALRM, on_alarm)
    atexit.register(stop_all)
    from dockml.demos import demo_paths

    iris = demo_paths()["iris"]  # trains and caches the demo the first time, before any clock runs
    specs = server_specs(iris, args.workers)
    missing = naive_flags_missing()
    skipped = {"naive": f"`dockml serve` has no {', '.join(missing)} yet"} if missing else {}
    with tempfile.TemporaryDirectory(prefix="dockml-bench-") as workdir:
        budget = Budget(args.duration, Deadline(args.time_limit), Path(workdir))
        signal.alarm(int(args.time_limit) + 1)
        try:
            measured = bench_all(specs, budget, skipped, args.rounds)
            # With every server stopped, so that it has the cores to itself as each server had.
            measured = replace(measured, onnx=onnx_in_process(iris, Path(workdir), args.duration))
        except TimeLimit as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
        finally:
            signal.alarm(0)
            stop_all()
    text = report(args, load_average, measured, specs[0].scenarios)
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
        print(f"written to {args.out}")
    return 1 if any(measured.results[key] is None and key not in skipped for key in measured.results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
