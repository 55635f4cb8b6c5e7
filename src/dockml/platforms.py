"""What cloud platforms tell a container in its environment, as dockml settings.

    PORT                Cloud Run, Knative, App Runner, Heroku and the like: the port to listen on
    AIP_HTTP_PORT       Vertex AI custom containers: the port (wins over PORT)
    AIP_PREDICT_ROUTE   Vertex AI: the path it POSTs {"instances": [...]} to -> predict_route
    AIP_HEALTH_ROUTE    Vertex AI: the path it GETs to see the container is ready -> health_route

A platform's word wins over DOCKML_* (an image sets DOCKML_PORT=5000 for a plain `docker run`);
a command-line flag wins over both. AWS SageMaker says nothing in the environment: it runs the
image as `docker run IMAGE serve`, and the image's `serve` command listens on 8080 (build/).
"""

from __future__ import annotations

from collections.abc import Mapping

_VARIABLES = (  # later ones win
    ("PORT", "port"),
    ("AIP_HTTP_PORT", "port"),
    ("AIP_PREDICT_ROUTE", "predict_route"),
    ("AIP_HEALTH_ROUTE", "health_route"),
)


def platform_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings the platform's variables in ``environ`` give, by setting name."""
    values: dict[str, str] = {}
    for variable, setting in _VARIABLES:
        value = environ.get(variable, "").strip()
        if value:
            values[setting] = value
    return values
