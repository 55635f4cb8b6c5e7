"""Values that several layers must agree on, spelled once.

A server setting's own default sits beside its help text in ``config.Settings``; these are the
values that cross layers: the runtimes (settings, loading, the commands), the port the tutorial,
the image and the pod share, the image's user (``build/`` creates it, ``k8s/`` runs the pod as
it) and what ``dockml k8s`` gives a pod unless told otherwise (``K8sSpec``, its checker and the
command's flags).
"""

from __future__ import annotations

RUNTIMES = ("auto", "onnx", "sklearn")
"""How scikit-learn models run: auto (ONNX Runtime when the compiled model agrees), onnx or sklearn."""

PORT = 5000
"""The tutorial's port: `dockml serve`'s default, the image's and the pod's."""

SAGEMAKER_PORT = 8080
"""Where AWS SageMaker calls a container (the image's `serve` command listens there)."""

APP_USER_ID = 10001
"""The image's non-root user and group: `dockml build` creates it, `dockml k8s` runs the pod as it."""

# `dockml k8s`: a pod's defaults.
K8S_REPLICAS = 2
K8S_MAX_REPLICAS = 10  # or the replicas, when they are more
K8S_TARGET_CPU_PERCENT = 70
K8S_CPU = "1"
K8S_MEMORY = "512Mi"
K8S_DRAIN_S = 5
K8S_GRACE_S = 25
K8S_TMP_SIZE = "64Mi"
K8S_SECRET_KEY = "api-key"
"""The key of the API key's Secret when --api-key-secret names none."""
KILL_MARGIN_S = 5
"""Kubernetes waits this much longer than dockml's own grace period before it kills the pod, so
the process always exits on its own (flushing logs and metrics) rather than by SIGKILL."""
