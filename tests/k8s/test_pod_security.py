"""Every rendered pod meets the "restricted" Pod Security Standard; the checker catches each breach."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dockml.k8s import render_chart, write_files
from helm_render import render_objects
from k8s_cases import CASES, objects
from pod_security import pod_specs, violations


@pytest.mark.parametrize("case", CASES)
def test_rendered_pods_are_restricted(case):
    pods = [pod for obj in objects(CASES[case]) for pod in pod_specs(obj)]
    assert len(pods) == 1  # the Deployment's template, or the KServe predictor
    assert violations(pods[0]) == []


@pytest.mark.parametrize("case", CASES)
def test_helm_rendered_pods_are_restricted(case, tmp_path: Path):
    write_files(tmp_path, render_chart(CASES[case]))
    pods = [pod for obj in render_objects(tmp_path, release="rf-api") for pod in pod_specs(obj)]
    assert pods and all(violations(pod) == [] for pod in pods)


def pod() -> dict[str, Any]:
    return copy.deepcopy(pod_specs(objects(CASES["default"])[0])[0])


def container_context(p: dict[str, Any]) -> dict[str, Any]:
    return p["containers"][0]["securityContext"]


BREACHES: dict[str, Callable[[dict[str, Any]], None]] = {
    "root user": lambda p: p["securityContext"].update(runAsUser=0),
    "non-root off": lambda p: container_context(p).update(runAsNonRoot=False),
    "non-root unset": lambda p: (p["securityContext"].pop("runAsNonRoot"), container_context(p).pop("runAsNonRoot")),
    "privilege escalation": lambda p: container_context(p).pop("allowPrivilegeEscalation"),
    "privileged": lambda p: container_context(p).update(privileged=True),
    "capabilities kept": lambda p: container_context(p).pop("capabilities"),
    "capability added": lambda p: container_context(p)["capabilities"].update(add=["SYS_ADMIN"]),
    "seccomp unset": lambda p: p["securityContext"].pop("seccompProfile"),
    "seccomp unconfined": lambda p: container_context(p).update(seccompProfile={"type": "Unconfined"}),
    "host network": lambda p: p.update(hostNetwork=True),
    "host pid": lambda p: p.update(hostPID=True),
    "host port": lambda p: p["containers"][0]["ports"][0].update(hostPort=5000),
    "hostPath volume": lambda p: p["volumes"].append({"name": "host", "hostPath": {"path": "/"}}),
    "other volume type": lambda p: p["volumes"].append({"name": "nfs", "nfs": {"server": "nfs", "path": "/"}}),
    "unsafe sysctl": lambda p: p["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
    "apparmor unconfined": lambda p: container_context(p).update(appArmorProfile={"type": "Unconfined"}),
    "selinux user": lambda p: container_context(p).update(seLinuxOptions={"user": "system_u"}),
    "init container": lambda p: p.update(initContainers=[{"name": "setup", "image": "busybox"}]),
}


@pytest.mark.parametrize("breach", BREACHES)
def test_the_checker_catches(breach):
    broken = pod()
    BREACHES[breach](broken)
    assert violations(broken)


def test_the_only_allowed_capability_is_net_bind_service():
    allowed = pod()
    container_context(allowed)["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert violations(allowed) == []
