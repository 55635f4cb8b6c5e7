"""Running the app on uvicorn (uvloop + httptools), in one process or several."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from dockml.config import Settings, load_settings
from dockml.service import Registry, load_registry

INVOCATION_VARIABLE = "DOCKML_WORKER_INVOCATION"


@dataclass(frozen=True, slots=True)
class Invocation:
    """What a worker needs to rebuild the parent's settings: the same inputs, merged the same way."""

    config_file: str | None
    model_arguments: list[str]
    flags: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> Settings:
        return load_settings(
            config_file=Path(self.config_file) if self.config_file else None,
            model_arguments=self.model_arguments,
            flags=self.flags,
        )


def app_from_environment() -> Any:
    """The uvicorn factory each worker process calls."""
    from dockml.http import create_app

    invocation = Invocation(**json.loads(os.environ[INVOCATION_VARIABLE]))
    settings = invocation.settings()
    return create_app(load_registry(settings.models, trust_pickle=settings.trust_pickle), settings)


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "log_level": settings.log_level,
        "lifespan": "on",
        "server_header": False,
    }


def run(settings: Settings, registry: Registry, invocation: Invocation) -> None:
    """Serve until stopped. One worker serves the registry already loaded here; more workers
    each load their own copy."""
    if settings.workers == 1:
        from dockml.http import create_app

        uvicorn.Server(uvicorn.Config(create_app(registry, settings), **_uvicorn_options(settings))).run()
        return
    os.environ[INVOCATION_VARIABLE] = json.dumps(asdict(invocation))
    with tempfile.TemporaryDirectory(prefix="dockml-metrics-") as metrics_dir:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", metrics_dir)
        uvicorn.run(
            "dockml.server:app_from_environment",
            factory=True,
            workers=settings.workers,
            **_uvicorn_options(settings),
        )
