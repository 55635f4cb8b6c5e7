"""`dockml k8s`: one YAML stream on stdout, a folder of files, or a Helm chart."""

from __future__ import annotations

from pathlib import Path

import yaml

from dockml.cli import main
from dockml.k8s import k8s_spec, render_chart, render_manifests


def test_prints_one_yaml_stream(capsys):
    assert main(["k8s", "registry.example.org/ml/rf-api:1.0"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [doc["kind"] for doc in documents] == [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]
    assert {doc["metadata"]["name"] for doc in documents} == {"rf-api"}  # named after the image


def test_options_reach_the_manifests(capsys):
    argv = [
        "k8s",
        "rf-api:1.0",
        "--name",
        "iris",
        "--replicas",
        "3",
        "--max-replicas",
        "3",
        "--cpu",
        "2",
        "--memory",
        "1Gi",
        "--workers",
        "4",
        "--port",
        "8080",
        "--api-key-secret",
        "keys:iris",
        "--drain-s",
        "10",
        "--grace-s",
        "40",
        "--tmp-size",
        "128Mi",
    ]
    assert main(argv) == 0
    expected = k8s_spec(
        "iris",
        "rf-api:1.0",
        replicas=3,
        max_replicas=3,
        cpu="2",
        memory="1Gi",
        workers=4,
        port=8080,
        api_key_secret="keys:iris",
        drain_s=10,
        grace_s=40,
        tmp_size="128Mi",
    )
    assert capsys.readouterr().out == "".join(
        f"---\n# {name}\n{text}" for name, text in render_manifests(expected).items()
    )


def test_writes_a_folder(tmp_path: Path, capsys):
    assert main(["k8s", "rf-api:1.0", "-o", str(tmp_path / "deploy")]) == 0
    written = {path.name: path.read_text() for path in (tmp_path / "deploy").iterdir()}
    assert written == render_manifests(k8s_spec("rf-api", "rf-api:1.0"))
    assert "kubectl apply -f" in capsys.readouterr().err


def test_writes_a_helm_chart(tmp_path: Path, capsys):
    assert main(["k8s", "rf-api:1.0", "--kserve", "--helm", str(tmp_path / "chart")]) == 0
    written = {
        str(path.relative_to(tmp_path / "chart")): path.read_text()
        for path in (tmp_path / "chart").rglob("*")
        if path.is_file()
    }
    assert written == render_chart(k8s_spec("rf-api", "rf-api:1.0", kserve=True))
    assert "helm install rf-api" in capsys.readouterr().err


def test_kserve_prints_an_inference_service(capsys):
    assert main(["k8s", "rf-api:1.0", "--kserve"]) == 0
    (document,) = yaml.safe_load_all(capsys.readouterr().out)
    assert document["kind"] == "InferenceService"


def test_a_bad_option_exits_2_with_the_fix(capsys):
    assert main(["k8s", "rf-api:1.0", "--port", "80"]) == 2
    assert "cannot listen below 1024" in capsys.readouterr().err


def test_a_name_that_is_no_dns_label_is_refused(capsys):
    assert main(["k8s", "registry.example.org/ML_Models:1"]) == 2
    assert "give one with --name" in capsys.readouterr().err
