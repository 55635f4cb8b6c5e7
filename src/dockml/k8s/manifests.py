"""Kubernetes manifests for a dockml image: pure dicts from a K8sSpec, rendered as YAML files.

Each setting mirrors one of dockml's behaviours (docs/kubernetes.md has the table): probes on
/health/live and /health/ready; a termination grace period longer than dockml's own graceful
shutdown, whose drain phase (DOCKML_SHUTDOWN_DRAIN_S) keeps serving while the endpoints drop
the pod, so no preStop hook is needed; a CPU limit that sets the worker count; and a pod that
passes the "restricted" Pod Security Standard, with /tmp as the only writable path.
"""

from __future__ import annotations

from typing import Any

from dockml.constants import APP_USER_ID
from dockml.k8s.spec import K8sSpec
from dockml.k8s.yamltext import dump

SERVICE_PORT = 80
KSERVE_CONTAINER = "kserve-container"  # the name KServe requires for a custom predictor's container


def labels(spec: K8sSpec) -> dict[str, str]:
    return {**selector(spec), "app.kubernetes.io/managed-by": "dockml"}


def selector(spec: K8sSpec) -> dict[str, str]:
    return {"app.kubernetes.io/name": spec.name}


def env(spec: K8sSpec) -> list[dict[str, Any]]:
    """The container's environment: dockml reads DOCKML_* over the image's dockml.toml."""
    variables: list[dict[str, Any]] = [
        {"name": "DOCKML_PORT", "value": str(spec.port)},
        {"name": "DOCKML_SHUTDOWN_DRAIN_S", "value": str(spec.drain_s)},
        {"name": "DOCKML_SHUTDOWN_GRACE_S", "value": str(spec.grace_s)},
    ]
    if spec.workers is not None:
        variables.append({"name": "DOCKML_WORKERS", "value": str(spec.workers)})
    if spec.api_key_secret is not None:
        reference = {"name": spec.api_key_secret, "key": spec.api_key_secret_key}
        variables.append({"name": "DOCKML_API_KEY", "valueFrom": {"secretKeyRef": reference}})
    return variables


def _probes(port: int | str) -> dict[str, Any]:
    def get(path: str) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": port}}

    return {
        # Until the models are loaded nothing listens; the startup probe holds liveness off meanwhile.
        "startupProbe": {**get("/health/live"), "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 60},
        "livenessProbe": {**get("/health/live"), "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3},
        "readinessProbe": {**get("/health/ready"), "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2},
    }


def container(spec: K8sSpec, *, kserve: bool = False) -> dict[str, Any]:
    # KServe requires its container's name, and reads the protocol from PROTOCOL; its Knative
    # mode also takes only unnamed (or http1/h2c) ports, so the probes name the port by number.
    port: dict[str, Any] = {"containerPort": spec.port, "protocol": "TCP"}
    if not kserve:
        port = {"name": "http", **port}
    protocol = [{"name": "PROTOCOL", "value": "v2"}] if kserve else []
    return {
        "name": KSERVE_CONTAINER if kserve else "dockml",
        "image": spec.image,
        "ports": [port],
        "env": protocol + env(spec),
        "resources": {
            "requests": {"cpu": spec.cpu, "memory": spec.memory},
            "limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
        },
        **_probes(spec.port if kserve else "http"),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def pod_spec(spec: K8sSpec, *, kserve: bool = False) -> dict[str, Any]:
    """The pod: restricted security, /tmp in memory, and time to shut down gracefully."""
    return {
        "automountServiceAccountToken": False,  # dockml never talks to the Kubernetes API
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": spec.termination_grace_s,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": APP_USER_ID,
            "runAsGroup": APP_USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container(spec, kserve=kserve)],
        "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": spec.tmp_size}}],
    }


def deployment(spec: K8sSpec) -> dict[str, Any]:
    deployment_spec: dict[str, Any] = {}
    if not spec.autoscaling:
        # With an autoscaler, replicas stays out: every `kubectl apply` would otherwise reset it.
        deployment_spec["replicas"] = spec.replicas
    pod = pod_spec(spec)
    pod["topologySpreadConstraints"] = [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector(spec)},
        }
    ]
    deployment_spec |= {
        "selector": {"matchLabels": selector(spec)},
        # A new pod must be ready before an old one goes: capacity never drops during a rollout.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {"metadata": {"labels": selector(spec)}, "spec": pod},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": spec.name, "labels": labels(spec)},
        "spec": deployment_spec,
    }


def service(spec: K8sSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": spec.name, "labels": labels(spec)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(spec),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def horizontal_pod_autoscaler(spec: K8sSpec) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": spec.target_cpu_percent}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": spec.name, "labels": labels(spec)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": spec.replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
        },
    }


def pod_disruption_budget(spec: K8sSpec) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": spec.name, "labels": labels(spec)},
        "spec": {
            # One pod at a time during node drains; a pod that is not ready may always go.
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(spec)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def inference_service(spec: K8sSpec) -> dict[str, Any]:
    """A KServe InferenceService running the image as a custom predictor that speaks the Open
    Inference Protocol (PROTOCOL=v2), in KServe's Standard mode (a Deployment and an HPA)."""
    predictor = {
        "minReplicas": spec.replicas,
        "maxReplicas": spec.max_replicas,
        "scaleMetric": "cpu",
        "scaleTarget": spec.target_cpu_percent,
        **pod_spec(spec, kserve=True),
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": spec.name,
            "labels": labels(spec),
            "annotations": {"serving.kserve.io/deploymentMode": "Standard"},
        },
        "spec": {"predictor": predictor},
    }


def manifests(spec: K8sSpec) -> dict[str, dict[str, Any]]:
    """The objects, by file name, in the order to apply them."""
    if spec.kserve:
        return {"inferenceservice.yaml": inference_service(spec)}
    objects = {"deployment.yaml": deployment(spec), "service.yaml": service(spec)}
    if spec.autoscaling:
        objects["hpa.yaml"] = horizontal_pod_autoscaler(spec)
    objects["pdb.yaml"] = pod_disruption_budget(spec)
    return objects


def render_manifests(spec: K8sSpec) -> dict[str, str]:
    """The manifests as YAML files, by name. Deterministic: the same spec gives the same text.

    >>> from dockml.k8s import k8s_spec, render_manifests
    >>> sorted(render_manifests(k8s_spec("rf-api", "rf-api:1.0")))
    ['deployment.yaml', 'hpa.yaml', 'pdb.yaml', 'service.yaml']
    """
    header = "# Generated by dockml k8s; see docs/kubernetes.md for what each setting does.\n"
    return {file: header + dump(obj) for file, obj in manifests(spec).items()}
