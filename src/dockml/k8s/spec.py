"""What a Kubernetes deployment of a dockml image depends on, checked once when it is made."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from dockml.constants import (
    K8S_CPU,
    K8S_DRAIN_S,
    K8S_GRACE_S,
    K8S_MAX_REPLICAS,
    K8S_MEMORY,
    K8S_REPLICAS,
    K8S_SECRET_KEY,
    K8S_TARGET_CPU_PERCENT,
    K8S_TMP_SIZE,
    KILL_MARGIN_S,
    PORT,
)
from dockml.errors import ConfigError

_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
_QUANTITY = re.compile(r"(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
_FACTORS: dict[str, Decimal | int] = {
    "": 1,
    "m": Decimal("0.001"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


@dataclass(frozen=True, slots=True)
class K8sSpec:
    """A dockml image on Kubernetes: ``K8sSpec(name="rf-api", image="registry.example.org/rf-api:1.0")``.

    Construct it with :func:`k8s_spec`, which checks every field and says how to fix a bad one.
    """

    name: str
    """The Deployment, Service, HPA, PDB (or InferenceService) name; a DNS label."""
    image: str
    replicas: int = K8S_REPLICAS
    """Pods to run; with autoscaling, the fewest."""
    max_replicas: int = K8S_MAX_REPLICAS
    """The most pods the autoscaler may run; equal to replicas: no autoscaler."""
    target_cpu_percent: int = K8S_TARGET_CPU_PERCENT
    """The autoscaler adds pods when average CPU use passes this share of the CPU request."""
    cpu: str = K8S_CPU
    """CPU request (a Kubernetes quantity)."""
    cpu_limit: str = K8S_CPU
    """CPU limit; dockml runs one worker process per CPU of it (rounded up)."""
    memory: str = K8S_MEMORY
    memory_limit: str = K8S_MEMORY
    port: int = PORT
    """The container's port (DOCKML_PORT); the Service listens on 80."""
    api_key_secret: str | None = None
    """A Secret holding the API key, passed to dockml as DOCKML_API_KEY."""
    api_key_secret_key: str = K8S_SECRET_KEY
    drain_s: int = K8S_DRAIN_S
    """After SIGTERM, dockml keeps serving this long with /health/ready at 503 (DOCKML_SHUTDOWN_DRAIN_S)."""
    grace_s: int = K8S_GRACE_S
    """dockml exits at most this long after SIGTERM, drain included (DOCKML_SHUTDOWN_GRACE_S)."""
    workers: int | None = None
    """Worker processes per pod (DOCKML_WORKERS); None: one per CPU of the limit."""
    tmp_size: str = K8S_TMP_SIZE
    """Size of the in-memory /tmp (it counts towards the memory limit)."""
    kserve: bool = False
    """A KServe InferenceService instead of a Deployment, Service, HPA and PDB."""

    @property
    def autoscaling(self) -> bool:
        return self.max_replicas > self.replicas

    @property
    def termination_grace_s(self) -> int:
        return self.grace_s + KILL_MARGIN_S

    @property
    def image_repository(self) -> str:
        return self.image.rpartition(":")[0] if _has_tag(self.image) else self.image

    @property
    def image_tag(self) -> str:
        return self.image.rpartition(":")[2] if _has_tag(self.image) else ""


def _has_tag(image: str) -> bool:
    # "host:5000/name" has a registry port, not a tag; "name@sha256:..." is a digest.
    return "@" not in image and ":" in image.rpartition("/")[2]


def quantity(text: str) -> Decimal:
    """A Kubernetes quantity's value: ``quantity("500m") == Decimal("0.5")``, ``quantity("1Ki") == 1024``."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(text)
    try:
        return Decimal(match.group(1)) * _FACTORS[match.group(3) or ""]
    except InvalidOperation:
        raise ValueError(text) from None


def k8s_spec(
    name: str,
    image: str,
    *,
    replicas: int = K8S_REPLICAS,
    max_replicas: int | None = None,
    target_cpu_percent: int = K8S_TARGET_CPU_PERCENT,
    cpu: str = K8S_CPU,
    cpu_limit: str | None = None,
    memory: str = K8S_MEMORY,
    memory_limit: str | None = None,
    port: int = PORT,
    api_key_secret: str | None = None,
    drain_s: int = K8S_DRAIN_S,
    grace_s: int = K8S_GRACE_S,
    workers: int | None = None,
    tmp_size: str = K8S_TMP_SIZE,
    kserve: bool = False,
) -> K8sSpec:
    """A checked K8sSpec. ``api_key_secret`` is ``NAME`` or ``NAME:KEY`` (the key defaults to api-key);
    limits default to the requests (Guaranteed QoS); ``max_replicas`` defaults to K8S_MAX_REPLICAS, or to
    ``replicas`` when that is more."""
    if not _DNS_LABEL.fullmatch(name):
        raise ConfigError(
            f"name {name!r}: Kubernetes names of Services are DNS labels: lowercase letters, digits and '-', "
            "starting with a letter, at most 63 characters; give one with --name (e.g. --name rf-api)"
        )
    if not image or any(c.isspace() for c in image):
        raise ConfigError(f"image {image!r}: give an image reference such as registry.example.org/rf-api:1.0")
    if replicas < 1:
        raise ConfigError(f"--replicas {replicas}: run at least 1 pod")
    max_replicas = max(replicas, K8S_MAX_REPLICAS) if max_replicas is None else max_replicas
    if max_replicas < replicas:
        raise ConfigError(f"--max-replicas {max_replicas} is below --replicas {replicas}; set it to {replicas} or more")
    if not 1 <= target_cpu_percent <= 1000:
        raise ConfigError(f"--target-cpu-percent {target_cpu_percent}: give a share of the CPU request, e.g. 70")
    cpu_limit = cpu if cpu_limit is None else cpu_limit
    memory_limit = memory if memory_limit is None else memory_limit
    for option, request, limit in (("cpu", cpu, cpu_limit), ("memory", memory, memory_limit)):
        _check_quantity(f"--{option}", request)
        _check_quantity(f"--{option}-limit", limit)
        if quantity(limit) < quantity(request):
            raise ConfigError(f"--{option}-limit {limit} is below --{option} {request}; Kubernetes refuses such a pod")
    _check_quantity("--tmp-size", tmp_size)
    if not 1024 <= port <= 65535:
        raise ConfigError(
            f"--port {port}: the container runs without privileges, so it cannot listen below 1024; "
            f"keep {PORT} (the Service listens on 80)"
        )
    secret, key = None, K8S_SECRET_KEY
    if api_key_secret is not None:
        secret, _, given_key = api_key_secret.partition(":")
        key = given_key or key
        if not _DNS_SUBDOMAIN.fullmatch(secret) or len(secret) > 253:
            raise ConfigError(
                f"--api-key-secret {api_key_secret!r}: name a Secret (lowercase DNS name), as NAME or NAME:KEY"
            )
        if not _SECRET_KEY.fullmatch(key):
            raise ConfigError(
                f"--api-key-secret {api_key_secret!r}: the key may hold letters, digits, '-', '_' and '.'"
            )
    if drain_s < 0:
        raise ConfigError(f"--drain-s {drain_s}: give 0 or more seconds")
    if grace_s <= drain_s:
        raise ConfigError(
            f"--grace-s {grace_s} must exceed --drain-s {drain_s}: dockml stops accepting after the drain and "
            "gives requests in progress what is left of the grace period"
        )
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: give 1 or more, or leave it out for one per CPU of the limit")
    return K8sSpec(
        name=name,
        image=image,
        replicas=replicas,
        max_replicas=max_replicas,
        target_cpu_percent=target_cpu_percent,
        cpu=cpu,
        cpu_limit=cpu_limit,
        memory=memory,
        memory_limit=memory_limit,
        port=port,
        api_key_secret=secret,
        api_key_secret_key=key,
        drain_s=drain_s,
        grace_s=grace_s,
        workers=workers,
        tmp_size=tmp_size,
        kserve=kserve,
    )


def _check_quantity(option: str, text: str) -> None:
    try:
        if quantity(text) <= 0:
            raise ValueError(text)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r}: give a positive Kubernetes quantity, e.g. 500m or 2 for CPU, 512Mi for memory"
        ) from None
