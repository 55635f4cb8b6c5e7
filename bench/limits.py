"""What overload and hostile bodies cost dockml, measured against a baseline in the same run.

    python bench/limits.py [--duration 10] [--out FILE]

Two parts, each against a fresh `dockml serve IRIS` on a free 127.0.0.1 port (see bench/README.md):

overload   wrk sends single-row POSTs at the bench's nominal load (c64) and then at ten times it
           (c640), while a probe of its own sends requests one after another and times those
           admitted (200). Target: the probe's p99 at 10x within 3x of its p99 at nominal load.
bodies     one 16 MiB body of each shape a client could send, to one worker, while /health/live is
           polled on another connection. Targets per body: the worker's peak RSS grows by less than
           200 MB, the answer (200, or 400, 413 or 422 for a body it refuses) comes in under 2 s,
           and /health/live answers every poll in under 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from run import (
    HOST,
    ROW,
    Budget,
    Deadline,
    Scenario,
    ServerSpec,
    rss_bytes,
    run_wrk,
    serving,
    source_version,
    stop_all,
    worker_pids,
)

from dockml.codecs.json_budget import VALUES_PER_REQUEST
from dockml.config import Settings

SIXTEEN_MIB = 16 * 2**20
NOMINAL = 64
OVERLOAD = 10 * NOMINAL
PROBE_THREADS = 2
POLL_EVERY_S = 0.02
BOUNDARY = "dockmlbenchboundary"


# --- overload ---------------------------------------------------------------------------------


@dataclass
class Probe:
    """Requests sent one after another on keep-alive connections, timed by the client."""

    port: int
    admitted_ms: list[float] = field(default_factory=list)
    refused: int = 0
    failed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        body = json.dumps(ROW).encode()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                self.failed += 1
                connection.close()
                continue
            if response.status == 200:
                self.admitted_ms.append((time.perf_counter() - started) * 1000)
            elif response.status == 503:
                self.refused += 1
            else:
                self.failed += 1

    def percentile(self, q: float) -> float:
        ordered = sorted(self.admitted_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def probed_load(port: int, connections: int, budget: Budget) -> tuple[Probe, float, float]:
    """wrk at ``connections`` with the probe alongside: the probe, wrk's req/s and its share of 503s."""
    with suppress(PermissionError):
        # The probe stands for a client on another machine: on these two cores, without priority,
        # its own wait for a CPU behind wrk and the workers would dominate what it measures.
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    body = json.dumps(ROW).encode()
    scenario = Scenario(f"post_c{connections}", "", "POST", "/predict", body, 2, connections)
    probe = Probe(port)
    threads = [threading.Thread(target=probe.run) for _ in range(PROBE_THREADS)]
    for thread in threads:
        thread.start()
    try:
        result = run_wrk(port, scenario, budget.duration_s, budget.workdir, budget.deadline)
    finally:
        probe.stop.set()
        for thread in threads:
            thread.join()
    return probe, result.per_second, result.errors / max(1, result.requests)


def overload(iris: Path, budget: Budget, serve_args: list[str]) -> tuple[list[str], bool]:
    argv = [sys.executable, "-m", "dockml", "serve", str(iris), "--workers", "2", *serve_args]
    spec = ServerSpec("dockml", argv, "/health/ready", [])
    rows, p99 = [], {}
    with serving(spec, budget.deadline, budget.workdir) as server:
        for connections in (NOMINAL, OVERLOAD):
            probe, per_second, refused_share = probed_load(server.port, connections, budget)
            p99[connections] = probe.percentile(99)
            rows.append(
                f"| c{connections} | {per_second:,.0f} | {refused_share:.0%} | {len(probe.admitted_ms):,} | "
                f"{probe.refused:,} | {probe.failed} | {probe.percentile(50):.2f} | {p99[connections]:.2f} |"
            )
            print(f"  overload: c{connections}: " + rows[-1], flush=True)
    factor = p99[OVERLOAD] / p99[NOMINAL]
    passed = factor <= 3.0
    lines = [
        "| wrk load | wrk req/s | wrk answers >= 400 | probe admitted | probe 503 | probe failed "
        "| probe p50 ms | probe p99 ms |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"- admitted p99 at 10x load / at nominal load: {factor:.2f}x (target <= 3x): {'PASS' if passed else 'FAIL'}",
    ]
    return lines, passed


# --- 16 MiB bodies ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Body:
    label: str
    path: str
    content_type: str
    make: Callable[[], bytes]


def fill(unit: bytes, start: bytes = b"", end: bytes = b"", separator: bytes = b"") -> bytes:
    count = (SIXTEEN_MIB - len(start) - len(end)) // (len(unit) + len(separator))
    return start + separator.join([unit] * count) + end


def png_of_pixels() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (16000, 16000), 255).save(out, "PNG")  # highly compressible: tiny file, many pixels
    return out.getvalue()


def v2_tensor() -> bytes:
    rows = (SIXTEEN_MIB - 200) // len(b"5.1,3.5,1.4,0.2,")
    data = b",".join([b"5.1,3.5,1.4,0.2"] * rows)
    head = b'{"inputs":[{"name":"input","datatype":"FP64","shape":[%d,4],"data":[' % rows
    return head + data + b"]}]}"


def multipart(filename: str, content: bytes) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'.encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def bodies() -> list[Body]:
    row = json.dumps(ROW).encode()
    header = b"s_length,s_width,p_length,p_width\n"
    form = f"multipart/form-data; boundary={BOUNDARY}"
    return [
        Body("JSON records", "/predict", "application/json", lambda: fill(row, b"[", b"]", b",")),
        Body("JSON records, all empty", "/predict", "application/json", lambda: fill(b"{}", b"[", b"]", b",")),
        Body(
            "JSON instances",
            "/predict",
            "application/json",
            lambda: fill(b"[5.1,3.5,1.4,0.2]", b'{"instances":[', b"]}", b","),
        ),
        Body("JSON, one long string", "/predict", "application/json", lambda: fill(b"x", b'{"s_length":"', b'"}')),
        Body("JSON, deep nesting", "/predict", "application/json", lambda: fill(b"[", end=b"]")),
        Body(
            "CSV upload, rows",
            "/predict_file",
            form,
            lambda: multipart("rows.csv", fill(b"5.1,3.5,1.4,0.2", header, b"\n", b"\n")[: SIXTEEN_MIB - 300]),
        ),
        Body("CSV, one row of columns", "/invocations", "text/csv", lambda: fill(b"c", separator=b",")),
        Body("V2 tensor", "/v2/models/iris/infer", "application/json", v2_tensor),
        Body(
            "MLflow split",
            "/invocations",
            "application/json",
            lambda: fill(
                b"[5.1,3.5,1.4,0.2]",
                b'{"dataframe_split":{"columns":["s_length","s_width","p_length","p_width"],"data":[',
                b"]}}",
                b",",
            ),
        ),
        # The largest bodies accepted, for the cost of a request that is served.
        Body(
            "JSON records, just under the value budget",
            "/predict",
            "application/json",
            lambda: b"[" + b",".join([row] * (VALUES_PER_REQUEST // 9 - 1000)) + b"]",
        ),
        Body(
            "CSV upload, at the row limit",
            "/predict_file",
            form,
            lambda: multipart("rows.csv", header + b"5.1,3.5,1.4,0.2\n" * Settings().max_csv_rows),
        ),
        Body("PNG of 256 M pixels", "/models/digits/predict_image", form, lambda: multipart("a.png", png_of_pixels())),
    ]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak RSS starts again from the current RSS


class LivenessPoller:
    """/health/live on a connection of its own every POLL_EVERY_S; the slowest answer."""

    def __init__(self, port: int) -> None:
        self.port, self.slowest_ms, self.stop = port, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        while not self.stop.is_set():
            started = time.perf_counter()
            connection.request("GET", "/health/live")
            connection.getresponse().read()
            self.slowest_ms = max(self.slowest_ms, (time.perf_counter() - started) * 1000)
            time.sleep(POLL_EVERY_S)

    def __enter__(self) -> LivenessPoller:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def send(port: int, body: Body, payload: bytes) -> tuple[int, float, int]:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    started = time.perf_counter()
    connection.request("POST", body.path, payload, {"Content-Type": body.content_type})
    response = connection.getresponse()
    answer = response.read()
    return response.status, time.perf_counter() - started, len(answer)


def large_bodies(iris: Path, digits: Path, budget: Budget) -> tuple[list[str], bool]:
    argv = [sys.executable, "-m", "dockml", "serve", str(iris), str(digits), "--workers", "1"]
    spec = ServerSpec("dockml", argv, "/health/ready", [])
    rows, passed = [], True
    with serving(spec, budget.deadline, budget.workdir) as server:
        worker = worker_pids(server.pid)[0]
        for body in bodies():
            payload = body.make()
            before = rss_bytes(worker) / 2**20
            reset_peak(worker)
            with LivenessPoller(server.port) as poller:
                status, seconds, answer_bytes = send(server.port, body, payload)
            grew = peak_rss_mb(worker) - before
            ok = status in (200, 400, 413, 422) and grew < 200 and seconds < 2 and poller.slowest_ms < 100
            passed &= ok
            rows.append(
                f"| {body.label} | {len(payload) / 2**20:.1f} MiB | {status} | {answer_bytes:,} B | {seconds:.2f} | "
                f"{grew:.0f} | {poller.slowest_ms:.0f} | {'PASS' if ok else 'FAIL'} |"
            )
            print("  bodies: " + rows[-1], flush=True)
    lines = [
        "| body | size | status | answer | seconds | peak RSS growth MB | slowest /health/live ms | |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    return lines, passed


# --- the run ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--duration", type=int, default=10, metavar="SECONDS", help="length of each wrk run (default: 10)"
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="also write the report to this markdown file")
    parser.add_argument("--part", choices=["overload", "bodies"], help="run only this part")
    parser.add_argument(
        "--serve-args", default="", metavar="ARGS", help="more `dockml serve` options for the overload part, to compare"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from dockml.demos import demo_paths

    demos = demo_paths()
    with tempfile.TemporaryDirectory(prefix="dockml-limits-") as workdir:
        budget = Budget(args.duration, Deadline(20 * args.duration + 300), Path(workdir))
        try:
            overload_lines, overload_ok = (
                overload(demos["iris"], budget, shlex.split(args.serve_args)) if args.part != "bodies" else ([], True)
            )
            body_lines, bodies_ok = (
                large_bodies(demos["iris"], demos["digits"], budget) if args.part != "overload" else ([], True)
            )
        finally:
            stop_all()
    text = "\n".join(
        [
            f"# dockml limits, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, source {source_version()}",
            "",
            f"Command: `python bench/limits.py --duration {args.duration}`",
            "",
            f"## Overload: 2 workers, wrk POST 1 row, {PROBE_THREADS} probe clients",
            "",
            *overload_lines,
            "",
            "## 16 MiB bodies: 1 worker",
            "",
            *body_lines,
            "",
        ]
    )
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
    return 0 if overload_ok and bodies_ok else 1


if __name__ == "__main__":
    sys.exit(main())
