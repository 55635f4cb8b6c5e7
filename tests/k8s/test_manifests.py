"""What the manifests promise, one behaviour per test."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from dockml.errors import ConfigError
from dockml.k8s import k8s_spec, render_manifests
from k8s_cases import CASES, objects


def by_kind(spec_name: str) -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in objects(CASES[spec_name])}


def pod(spec_name: str) -> dict[str, Any]:
    kinds = by_kind(spec_name)
    if "InferenceService" in kinds:
        return kinds["InferenceService"]["spec"]["predictor"]
    return kinds["Deployment"]["spec"]["template"]["spec"]


def container(spec_name: str) -> dict[str, Any]:
    (only,) = pod(spec_name)["containers"]
    return only


def env(spec_name: str) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container(spec_name)["env"]}


def test_the_default_set_of_objects():
    assert list(render_manifests(CASES["default"])) == ["deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"]
    assert [obj["kind"] for obj in objects(CASES["default"])] == [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]


@pytest.mark.parametrize("case", CASES)
def test_probes_use_dockmls_health_routes(case):
    probes = container(case)
    port = probes["ports"][0].get("name", probes["ports"][0]["containerPort"])
    assert probes["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": port}
    assert probes["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": port}
    assert probes["startupProbe"]["httpGet"] == {"path": "/health/live", "port": port}
    startup = probes["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60  # time to load the models


@pytest.mark.parametrize("case", CASES)
def test_the_pod_outlives_dockmls_graceful_shutdown(case):
    spec = CASES[case]
    variables = env(case)
    assert variables["DOCKML_SHUTDOWN_DRAIN_S"] == str(spec.drain_s)
    assert variables["DOCKML_SHUTDOWN_GRACE_S"] == str(spec.grace_s)
    # dockml exits within grace_s of SIGTERM (the drain included); no preStop hook adds to it.
    assert "lifecycle" not in container(case)
    assert pod(case)["terminationGracePeriodSeconds"] > spec.grace_s > spec.drain_s


def test_the_container_listens_on_the_given_port():
    assert container("fixed")["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert env("fixed")["DOCKML_PORT"] == "8080"


@pytest.mark.parametrize("case", CASES)
def test_requests_and_limits(case):
    spec = CASES[case]
    assert container(case)["resources"] == {
        "requests": {"cpu": spec.cpu, "memory": spec.memory},
        "limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
    }


def test_limits_default_to_the_requests():
    spec = k8s_spec("rf-api", "rf-api:1.0", cpu="250m", memory="300Mi")
    assert (spec.cpu_limit, spec.memory_limit) == ("250m", "300Mi")


@pytest.mark.parametrize("case", CASES)
def test_workers_follow_the_cpu_limit_unless_given(case):
    expected = CASES[case].workers
    assert env(case).get("DOCKML_WORKERS") == (str(expected) if expected else None)


@pytest.mark.parametrize("case", CASES)
def test_tmp_is_the_only_writable_path(case):
    assert container(case)["securityContext"]["readOnlyRootFilesystem"] is True
    assert container(case)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod(case)["volumes"] == [
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": CASES[case].tmp_size}}
    ]


@pytest.mark.parametrize("case", ["fixed", "large", "kserve"])
def test_the_api_key_comes_from_the_secret(case):
    spec = CASES[case]
    assert env(case)["DOCKML_API_KEY"] == {
        "secretKeyRef": {"name": spec.api_key_secret, "key": spec.api_key_secret_key}
    }


def test_no_api_key_without_a_secret():
    assert "DOCKML_API_KEY" not in env("default")


def test_the_secret_key_defaults_to_api_key():
    assert k8s_spec("a", "a:1", api_key_secret="s").api_key_secret_key == "api-key"
    assert k8s_spec("a", "a:1", api_key_secret="s:token").api_key_secret_key == "token"


def test_the_autoscaler_owns_the_replica_count():
    kinds = by_kind("large")
    assert "replicas" not in kinds["Deployment"]["spec"]  # `kubectl apply` would reset what the HPA chose
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "digits-api"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 30)
    assert hpa["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}


def test_a_fixed_size_has_replicas_and_no_autoscaler():
    kinds = by_kind("fixed")
    assert kinds["Deployment"]["spec"]["replicas"] == 3
    assert "HorizontalPodAutoscaler" not in kinds


def test_rolling_updates_never_lower_capacity():
    strategy = by_kind("default")["Deployment"]["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}


@pytest.mark.parametrize("case", ["default", "fixed", "large"])
def test_service_and_budget_select_the_pods(case):
    kinds = by_kind(case)
    pod_labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert kinds["Deployment"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert kinds["Service"]["spec"]["selector"].items() <= pod_labels.items()
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert kinds["Service"]["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


def test_the_budget_lets_one_pod_go_at_a_time():
    budget = by_kind("default")["PodDisruptionBudget"]["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_kserve_writes_one_inference_service():
    assert list(render_manifests(CASES["kserve"])) == ["inferenceservice.yaml"]
    service = by_kind("kserve")["InferenceService"]
    assert service["apiVersion"] == "serving.kserve.io/v1beta1"
    assert service["metadata"]["annotations"] == {"serving.kserve.io/deploymentMode": "Standard"}
    predictor = service["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"], predictor["scaleMetric"], predictor["scaleTarget"]) == (
        2,
        5,
        "cpu",
        70,
    )


def test_kserve_runs_a_custom_predictor_speaking_the_open_inference_protocol():
    assert container("kserve")["name"] == "kserve-container"
    assert env("kserve")["PROTOCOL"] == "v2"


def test_image_references():
    assert CASES["fixed"].image_repository == "registry.example.org:5000/ml/rf-api"
    assert CASES["fixed"].image_tag == "2.3"
    assert CASES["large"].image_repository == CASES["large"].image and CASES["large"].image_tag == ""
    assert container("large")["image"] == CASES["large"].image


@pytest.mark.parametrize("case", CASES)
def test_rendering_is_deterministic(case):
    assert render_manifests(CASES[case]) == render_manifests(CASES[case])


@pytest.mark.parametrize("case", CASES)
def test_files_are_single_yaml_documents(case):
    for text in render_manifests(CASES[case]).values():
        assert len(list(yaml.safe_load_all(text))) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "RF_API"}, "DNS labels"),
        ({"image": "rf api"}, "image reference"),
        ({"replicas": 0}, "at least 1 pod"),
        ({"replicas": 4, "max_replicas": 3}, "set it to 4 or more"),
        ({"cpu": "2", "cpu_limit": "1"}, "--cpu-limit 1 is below --cpu 2"),
        ({"memory": "1Gi", "memory_limit": "512Mi"}, "--memory-limit 512Mi is below --memory 1Gi"),
        ({"cpu": "lots"}, "e.g. 500m or 2 for CPU"),
        ({"port": 80}, "cannot listen below 1024"),
        ({"api_key_secret": "Bad_Secret"}, "name a Secret"),
        ({"drain_s": 10, "grace_s": 10}, "--grace-s 10 must exceed --drain-s 10"),
        ({"workers": 0}, "give 1 or more"),
    ],
)
def test_bad_options_say_how_to_fix_them(options, message):
    arguments = {"name": "rf-api", "image": "rf-api:1.0", **options}
    with pytest.raises(ConfigError, match=message):
        k8s_spec(arguments.pop("name"), arguments.pop("image"), **arguments)
