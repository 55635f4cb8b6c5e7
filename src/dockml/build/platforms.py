"""What a dockml image does for the cloud platforms that run containers, beyond `docker run IMAGE`.

AWS SageMaker (bring your own container)   runs `docker run IMAGE serve` and calls port 8080:
    GET /ping, POST /invocations (CSV or JSON; Accept: text/csv or application/json). The image
    has a `serve` command (below) that starts dockml on 8080 (SAGEMAKER_BIND_TO_PORT if set).
Google Vertex AI custom containers        sets AIP_HTTP_PORT, AIP_PREDICT_ROUTE, AIP_HEALTH_ROUTE
    and POSTs {"instances": [...]}: the server reads them (platforms.py), no flag needed.
Cloud Run, Knative, App Runner, ...       set PORT: the server listens there (platforms.py).
"""

from __future__ import annotations

from dockml.constants import SAGEMAKER_PORT

SERVE_COMMAND = "serve"
SERVE_PATH = f"/usr/local/bin/{SERVE_COMMAND}"


def render_serve_script(config: str) -> str:
    """The image's `serve` command, for SageMaker. Pure text, like the Dockerfile."""
    port = f"${{SAGEMAKER_BIND_TO_PORT:-{SAGEMAKER_PORT}}}"
    return f"""\
#!/bin/sh
# AWS SageMaker starts the container as `docker run IMAGE serve` and sends /ping and /invocations
# to port {SAGEMAKER_PORT} (or to SAGEMAKER_BIND_TO_PORT, in a multi-container endpoint). Arguments after
# `serve` go to `dockml serve`.
exec python3 -m dockml serve --config {config} --host 0.0.0.0 --port "{port}" "$@"
"""
