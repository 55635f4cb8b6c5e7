"""The whole API fuzzed from its own OpenAPI document with schemathesis, against a real server:
no 5xx, every response as documented, schema-valid requests accepted, invalid ones refused."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
UPLOADS = "predict_(file|image)"
PROTOCOLS = "^/(v2|invocations|ping|health$|version|models/[^/]+/(invocations|ping))"


def run_schemathesis(url: str, *args: str) -> str:
    result = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "40",
            "--suppress-health-check",
            "all",
            "--seed",
            "1",
            "--no-color",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = re.search(r"(\d+) generated, .*", result.stdout)
    print(f"\nschemathesis {' '.join(args)}: {summary.group(0) if summary else 'no summary'}")
    assert result.returncode == 0, result.stdout[-5000:]
    return result.stdout


def test_json_and_query_routes(server_factory, demo_models):
    server = server_factory([], env={})
    run_schemathesis(server.url, "--exclude-path-regex", f"{UPLOADS}|{PROTOCOLS}")


def test_protocol_routes(server_factory, demo_models):
    # V2 and MLflow: a schema cannot say that a tensor's data must fill its shape, nor that a row
    # must hold values the model takes, so "schema-valid requests are accepted" does not apply;
    # every other check does: no 5xx, answers as documented, schema-violating requests refused.
    server = server_factory([], env={})
    output = run_schemathesis(
        server.url, "--include-path-regex", PROTOCOLS, "--exclude-checks", "positive_data_acceptance"
    )
    # V2: /v2, two health routes, and metadata, ready, infer for iris and digits; MLflow: /ping,
    # /health, /version, /invocations, and invocations and ping for each model.
    assert re.search(r"Tested: 17\b", output), output[-2000:]


def test_upload_routes(server_factory, demo_models):
    # A schema cannot say which bytes make a valid CSV or picture, so "schema-valid requests are
    # accepted" does not apply to uploads; every other check does.
    server = server_factory([])
    run_schemathesis(server.url, "--include-path-regex", UPLOADS, "--exclude-checks", "positive_data_acceptance")
