"""The Helm chart, rendered by Helm's own engine: it gives the same objects as the manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockml.k8s import render_chart, write_files
from helm_render import HelmRenderError, lint, render, render_objects
from k8s_cases import CASES, objects

HELM_LABELS = {"app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "helm.sh/chart"}


def without_release_labels(node: Any) -> Any:
    """Drop the labels that say who manages an object (Helm or dockml), everywhere."""
    if isinstance(node, dict):
        return {key: without_release_labels(value) for key, value in node.items() if key not in HELM_LABELS}
    if isinstance(node, list):
        return [without_release_labels(item) for item in node]
    return node


def ordered(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(found, key=lambda obj: obj["kind"])


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    write_files(tmp_path / "chart", render_chart(CASES[request.param]))
    return request.param, tmp_path / "chart"


def test_renders_the_same_objects_as_the_manifests(case):
    name, chart = case
    rendered = render_objects(chart, release=CASES[name].name)
    assert ordered(without_release_labels(rendered)) == ordered(without_release_labels(objects(CASES[name])))


def test_objects_carry_helms_release_labels(case):
    name, chart = case
    for obj in render_objects(chart, release="prod"):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/instance"] == "prod"
        assert obj["metadata"]["name"] == f"prod-{CASES[name].name}"


def test_lints_without_errors(case):
    _, chart = case
    report = lint(chart)
    assert report["errors"] == []
    assert [message for message in report["messages"] if message["severity"] > 1] == []


def kinds(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in found}


def container_env(obj: dict[str, Any]) -> dict[str, Any]:
    pod = obj["spec"]["predictor"] if obj["kind"] == "InferenceService" else obj["spec"]["template"]["spec"]
    return {item["name"]: item for item in pod["containers"][0]["env"]}


@pytest.fixture()
def chart(tmp_path: Path) -> Path:
    write_files(tmp_path / "chart", render_chart(CASES["default"]))
    return tmp_path / "chart"


def test_values_turn_autoscaling_off(chart):
    found = kinds(render_objects(chart, {"autoscaling": {"enabled": False}, "replicas": 4}, release="rf-api"))
    assert "HorizontalPodAutoscaler" not in found
    assert found["Deployment"]["spec"]["replicas"] == 4


def test_values_set_the_api_key_secret_and_workers(chart):
    values = {"apiKeySecret": {"name": "keys", "key": "rf"}, "workers": 3}
    env = container_env(kinds(render_objects(chart, values, release="rf-api"))["Deployment"])
    assert env["DOCKML_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "keys", "key": "rf"}}
    assert env["DOCKML_WORKERS"]["value"] == "3"


def test_values_set_the_image_and_the_shutdown_times(chart):
    values = {"image": {"tag": "2.0"}, "shutdown": {"drainSeconds": 10, "graceSeconds": 50}}
    deployment = kinds(render_objects(chart, values, release="rf-api"))["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "rf-api:2.0"
    assert pod["terminationGracePeriodSeconds"] == 55
    assert container_env(deployment)["DOCKML_SHUTDOWN_DRAIN_S"]["value"] == "10"


def test_values_switch_to_kserve(chart):
    found = render_objects(chart, {"kserve": {"enabled": True}}, release="rf-api")
    assert [obj["kind"] for obj in found] == ["InferenceService"]
    assert container_env(found[0])["PROTOCOL"]["value"] == "v2"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"autoscaling": {"maxReplicas": 1}}, "autoscaling.maxReplicas must be at least replicas"),
        (
            {"shutdown": {"drainSeconds": 30, "graceSeconds": 30}},
            "shutdown.graceSeconds must exceed shutdown.drainSeconds",
        ),
    ],
)
def test_inconsistent_values_fail_with_a_message(chart, values, message):
    with pytest.raises(HelmRenderError, match=message):
        render(chart, values, release="rf-api")


def test_notes_say_how_to_reach_the_service(chart):
    notes = render(chart, release="rf-api", namespace="ml")["rf-api/templates/NOTES.txt"]
    assert "kubectl port-forward --namespace ml service/rf-api 5000:80" in notes
