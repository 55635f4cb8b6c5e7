"""The Pod Security Standards' "restricted" profile (which includes "baseline"), as a checker.

It follows the controls listed at kubernetes.io/docs/concepts/security/pod-security-standards,
as the PodSecurity admission controller enforces them on a pod spec: `violations(pod_spec)`
returns one message per broken rule, empty when the pod would be admitted to a namespace
labelled pod-security.kubernetes.io/enforce=restricted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Baseline: capabilities a container may add.
_BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
_SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
}
# Restricted: the only volume types allowed.
_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
_SECCOMP_OK = {"RuntimeDefault", "Localhost"}


def containers(pod: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod.get(field) or []:
            yield f"{field}[{container.get('name')}]", container


def violations(pod: dict[str, Any]) -> list[str]:
    """Every rule of the restricted profile that ``pod`` (a PodSpec as a dict) breaks."""
    found: list[str] = []
    pod_context = pod.get("securityContext") or {}
    # Baseline: host namespaces, host ports, hostPath, privileged, capabilities, SELinux, /proc, sysctls, AppArmor.
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            found.append(f"{field} must be unset or false")
    if (pod_context.get("windowsOptions") or {}).get("hostProcess"):
        found.append("securityContext.windowsOptions.hostProcess must not be true")
    for sysctl in pod_context.get("sysctls") or []:
        if sysctl.get("name") not in _SAFE_SYSCTLS:
            found.append(f"sysctl {sysctl.get('name')} is not in the safe set")
    found += _selinux("securityContext", pod_context)
    found += _apparmor("securityContext", pod_context)
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            found.append(f"volume {volume.get('name')}: hostPath volumes are forbidden")
        if not kinds <= _VOLUME_TYPES:
            found.append(f"volume {volume.get('name')}: type {sorted(kinds - _VOLUME_TYPES)} is not allowed")
    # Restricted: non-root, seccomp, at pod level or in every container.
    pod_non_root = pod_context.get("runAsNonRoot") is True
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    if pod_context.get("runAsUser") == 0:
        found.append("securityContext.runAsUser must not be 0")
    if pod_seccomp is not None and pod_seccomp not in _SECCOMP_OK:
        found.append(f"securityContext.seccompProfile.type {pod_seccomp} is not RuntimeDefault or Localhost")
    for where, container in containers(pod):
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            found.append(f"{where}: privileged must be unset or false")
        if (context.get("windowsOptions") or {}).get("hostProcess"):
            found.append(f"{where}: windowsOptions.hostProcess must not be true")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                found.append(f"{where}: hostPort must be unset or 0")
        if context.get("procMount", "Default") != "Default":
            found.append(f"{where}: procMount must be Default")
        found += _selinux(where, context)
        found += _apparmor(where, context)
        capabilities = context.get("capabilities") or {}
        added = set(capabilities.get("add") or [])
        if added - _BASELINE_CAPABILITIES:
            found.append(f"{where}: capabilities {sorted(added - _BASELINE_CAPABILITIES)} may not be added (baseline)")
        if added - {"NET_BIND_SERVICE"}:
            found.append(f"{where}: only NET_BIND_SERVICE may be added (restricted)")
        if "ALL" not in (capabilities.get("drop") or []):
            found.append(f"{where}: capabilities.drop must include ALL")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation must be false")
        non_root = context.get("runAsNonRoot")
        if non_root is False or not (non_root is True or pod_non_root):
            found.append(f"{where}: runAsNonRoot must be true (in the container or the pod)")
        if context.get("runAsUser") == 0:
            found.append(f"{where}: runAsUser must not be 0")
        seccomp = (context.get("seccompProfile") or {}).get("type")
        if seccomp is not None and seccomp not in _SECCOMP_OK:
            found.append(f"{where}: seccompProfile.type {seccomp} is not RuntimeDefault or Localhost")
        if seccomp is None and pod_seccomp is None:
            found.append(
                f"{where}: seccompProfile.type must be RuntimeDefault or Localhost (in the container or the pod)"
            )
    return found


def _selinux(where: str, context: dict[str, Any]) -> list[str]:
    options = context.get("seLinuxOptions") or {}
    found = []
    if options.get("type", "") not in _SELINUX_TYPES:
        found.append(f"{where}: seLinuxOptions.type {options['type']} is not allowed")
    if options.get("user") or options.get("role"):
        found.append(f"{where}: seLinuxOptions.user and role must be unset")
    return found


def _apparmor(where: str, context: dict[str, Any]) -> list[str]:
    kind = (context.get("appArmorProfile") or {}).get("type")
    return [f"{where}: appArmorProfile.type must not be Unconfined"] if kind == "Unconfined" else []


def pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs inside a manifest: a workload's template, a KServe component's inline pod."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return [spec]
    if "template" in spec:
        return [spec["template"]["spec"]]
    if obj["kind"] == "InferenceService":
        return [spec[component] for component in ("predictor", "transformer", "explainer") if component in spec]
    return []
