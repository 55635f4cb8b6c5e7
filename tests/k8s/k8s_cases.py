"""The option sets every k8s test renders: the defaults, a fixed-size deployment, a large
autoscaled one, and KServe."""

from __future__ import annotations

from typing import Any

import yaml

from dockml.k8s import K8sSpec, k8s_spec, render_manifests

CASES: dict[str, K8sSpec] = {
    "default": k8s_spec("rf-api", "rf-api:1.0"),
    "fixed": k8s_spec(
        "rf-api",
        "registry.example.org:5000/ml/rf-api:2.3",
        replicas=3,
        max_replicas=3,
        cpu="500m",
        memory="256Mi",
        workers=2,
        port=8080,
        api_key_secret="rf-api-key",
    ),
    "large": k8s_spec(
        "digits-api",
        "registry.example.org/ml/digits-api@sha256:" + "ab" * 32,
        replicas=3,
        max_replicas=30,
        target_cpu_percent=60,
        cpu="2",
        cpu_limit="4",
        memory="1Gi",
        memory_limit="2Gi",
        api_key_secret="keys:digits",
        drain_s=10,
        grace_s=40,
        tmp_size="256Mi",
    ),
    "kserve": k8s_spec("rf-api", "rf-api:1.0", kserve=True, api_key_secret="rf-api-key", max_replicas=5),
}


def objects(spec: K8sSpec) -> list[dict[str, Any]]:
    """The rendered manifests, read back from their YAML."""
    return [yaml.safe_load(text) for text in render_manifests(spec).values()]
