"""Survey the zoo against today's dockml: which model kinds start, on which runtime, and which routes agree
with the model's own predictions. Each model is served alone (one `dockml serve` process per model and
runtime), since one model that fails to load stops the whole server.

    .venv/bin/python tests/conformance/survey.py [--out /tmp/zoo-survey.md] [--jobs 3] [--only NAME ...]

Writes a Markdown table (model kind x runtime) and, below it, the first message of every failing check.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import httpx  # noqa: E402
from checks import CHECKS, Outcome, Session, Trained, run_check, train  # noqa: E402
from zoo import KINDS, RUNTIMES  # noqa: E402

from servers import start_server  # noqa: E402

COLUMNS = (
    "records",
    "instances",
    "split",
    "proba",
    "csv",
    "csv_text",
    "v2",
    "v2_input",
    "invocations",
    "signature_inputs",
    "signature_output",
    "null_refused",
    "unknown_refused",
    "example",
)
LEGEND = (
    "`match`: the answer equals the model's (labels identical, numbers within 1e-5 rel + 1e-6 abs); "
    "`mismatch`: answered 200 but differs; a number: the HTTP status (expected 200, or 422 for a refusal check); "
    "`-`: not applicable. `proba`: with `?proba=true`, probabilities equal, or 422 when the estimator has no "
    "predict_proba. `csv`: predict_file JSON; `csv_text`: predict_file with Accept: text/csv. `v2`: a tensor per "
    "feature, `v2_input`: the one tensor `input` (all-numeric models), rows without missing values only. `example`: "
    "the signature's examples as a record answer 200. `signature_*`: GET /models/NAME against the contract of "
    "issue 11. `null_refused`: null for a number the model cannot take missing -> 422 naming it. `unknown_refused`: "
    'handle_unknown="error" -> 422 naming the value.'
)


@dataclass
class Row:
    name: str
    family: str
    runtime_flag: str
    started: bool = False
    runtime: str = ""
    start_error: str = ""
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    seconds: float = 0.0


def runtime_in_use(description: dict) -> str:
    runtime = description.get("runtime")
    if isinstance(runtime, dict):
        return str(runtime.get("name") or runtime.get("runtime") or runtime)
    return str(runtime)


def survey_one(trained: Trained, flag: str, home: Path) -> Row:
    row = Row(trained.name, trained.kind.family, flag)
    began = time.monotonic()
    args = [f"{trained.name}={trained.path}", "--runtime", flag, "--workers", "1", "--trust-pickle"]
    try:
        server = start_server(args, env={"DOCKML_HOME": str(home)}, timeout_s=120)
    except AssertionError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        row.start_error = " | ".join(lines[-3:])[:600]
        row.seconds = time.monotonic() - began
        return row
    row.started = True
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            session = Session(client, trained, flag)
            described = session.describe()
            row.runtime = (
                runtime_in_use(described.json()) if described.status_code == 200 else f"({described.status_code})"
            )
            for name in CHECKS:
                row.outcomes[name] = run_check(name, session)
    finally:
        server.process.terminate()
        try:
            server.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
    row.seconds = time.monotonic() - began
    return row


def cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return ""
    return {"match": "match", "skip": "-", "mismatch": "**mismatch**"}.get(outcome.status, f"**{outcome.status}**")


def render(rows: list[Row], seconds: float) -> str:
    lines = [
        "# dockml conformance survey",
        "",
        (
            f"{len({r.name for r in rows})} model kinds x {len(RUNTIMES)} runtimes, each model served alone "
            f"(`dockml serve NAME=PATH --runtime R --workers 1 --trust-pickle`), checked on 40 held-out rows against "
            f"the model's own predict / predict_proba. Written by tests/conformance/survey.py in {seconds:.0f} s, "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}."
        ),
        "",
        LEGEND,
        "",
        "| model kind | family | --runtime | started | runtime used | " + " | ".join(COLUMNS) + " |",
        "|---|---|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        started = "yes" if row.started else "**no**"
        cells = [cell(row.outcomes.get(c)) for c in COLUMNS] if row.started else [""] * len(COLUMNS)
        lines.append(
            f"| {row.name} | {row.family} | {row.runtime_flag} | {started} | {row.runtime} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", "## Totals", ""]
    for flag in RUNTIMES:
        mine = [r for r in rows if r.runtime_flag == flag]
        started = sum(r.started for r in mine)
        counts = ", ".join(
            f"{c} {sum(1 for r in mine if r.started and r.outcomes.get(c, Outcome('skip')).status == 'match')}"
            f"/{sum(1 for r in mine if r.started and r.outcomes.get(c, Outcome('skip')).status != 'skip')}"
            for c in COLUMNS
        )
        onnx = sum(1 for r in mine if "onnx" in r.runtime)
        lines.append(f"- `--runtime {flag}`: {started}/{len(mine)} started, {onnx} on ONNX; matches: {counts}")
    lines += ["", "## Why", ""]
    for row in rows:
        if not row.started:
            lines.append(f"- **{row.name}** `--runtime {row.runtime_flag}` did not start: `{row.start_error}`")
            continue
        for name, outcome in row.outcomes.items():
            if not outcome.ok:
                lines.append(f"- **{row.name}** `{row.runtime_flag}` {name}: {outcome.message[:500]}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/zoo-survey.md")
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None)
    options = parser.parse_args()
    began = time.monotonic()
    kinds = [k for k in KINDS if not options.only or k.name in options.only]
    with tempfile.TemporaryDirectory(prefix="dockml-survey-") as scratch:
        folder = Path(scratch)
        (folder / "models").mkdir()
        trained = [train(kind, folder / "models") for kind in kinds]
        print(f"trained {len(trained)} models in {time.monotonic() - began:.1f} s", flush=True)
        jobs = [(t, flag) for flag in RUNTIMES for t in trained]
        with ThreadPoolExecutor(options.jobs) as pool:
            futures = [pool.submit(survey_one, t, flag, folder / f"home-{flag}") for t, flag in jobs]
            rows = []
            for future in futures:
                row = future.result()
                bad = [n for n, o in row.outcomes.items() if not o.ok]
                print(
                    f"{row.name:40s} {row.runtime_flag:8s} started={row.started} runtime={row.runtime} "
                    f"{row.seconds:5.1f}s failing={bad}",
                    flush=True,
                )
                rows.append(row)
    rows.sort(key=lambda r: ([k.name for k in KINDS].index(r.name), RUNTIMES.index(r.runtime_flag)))
    Path(options.out).write_text(render(rows, time.monotonic() - began))
    print(f"wrote {options.out} in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
