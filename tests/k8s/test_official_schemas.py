"""Every rendered object validates against its kind's official schema, offline and strictly
(an unknown field fails): Kubernetes' JSON schemas from kubernetes-validate, KServe's from its SDK."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from dockml.k8s import render_chart, write_files
from helm_render import render_objects
from k8s_cases import CASES, objects
from kube_schemas import validate

RENDERED = [(case, obj["kind"], obj) for case in CASES for obj in objects(CASES[case])]


@pytest.mark.parametrize(("case", "kind", "obj"), RENDERED, ids=[f"{case}-{kind}" for case, kind, _ in RENDERED])
def test_manifest_validates(case, kind, obj):
    validate(obj)


@pytest.mark.parametrize("case", CASES)
def test_helm_rendered_objects_validate(case, tmp_path: Path):
    write_files(tmp_path, render_chart(CASES[case]))
    for obj in render_objects(tmp_path, release=CASES[case].name):
        validate(obj)


def deployment() -> dict:
    return copy.deepcopy(objects(CASES["default"])[0])


def inference_service() -> dict:
    return copy.deepcopy(objects(CASES["kserve"])[0])


def test_an_unknown_field_fails():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFS"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(obj)


def test_a_wrong_type_fails():
    obj = deployment()
    obj["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "30"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(obj)


def test_an_unknown_predictor_field_fails():
    obj = inference_service()
    obj["spec"]["predictor"]["minReplica"] = 2
    with pytest.raises(jsonschema.ValidationError):
        validate(obj)


def test_the_predictors_containers_are_checked_as_kubernetes_containers():
    obj = inference_service()
    obj["spec"]["predictor"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/health/live"
    with pytest.raises(jsonschema.ValidationError):
        validate(obj)
