"""Rendering a chart with Helm's own template engine, offline.

helm-python-sdk (PyPI) embeds Helm v4's Go SDK as a shared library and calls it through ctypes:
`Chart.render` is what `helm template` does, and `lint` what `helm lint` does, with no helm
binary and no cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml


def render(
    chart: Path, values: dict[str, Any] | None = None, *, release: str, namespace: str = "default"
) -> dict[str, str]:
    """The rendered templates, by path (``rf-api/templates/deployment.yaml``)."""
    with helm.Chart.load(str(chart)) as loaded:
        return loaded.render(values or {}, name=release, namespace=namespace)


def render_objects(chart: Path, values: dict[str, Any] | None = None, *, release: str) -> list[dict[str, Any]]:
    """The rendered Kubernetes objects, in template order (templates that render empty are left out)."""
    found = []
    for path, text in sorted(render(chart, values, release=release).items()):
        if path.endswith(".yaml"):
            found += [obj for obj in yaml.safe_load_all(text) if obj]
    return found


def lint(chart: Path) -> dict[str, Any]:
    return helm.lint(str(chart))


HelmRenderError = helm.HelmRenderError
