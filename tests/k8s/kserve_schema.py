"""Generate schemas/kserve-v1beta1.json: the InferenceService schema, from KServe's Python SDK.

KServe publishes its API as generated models in the `kserve` package on PyPI
(kserve/models/v1beta1_*.py: each class lists its fields' types in `openapi_types` and their
JSON names in `attribute_map`, and its setters refuse None for required fields). The package
itself is too heavy to install for the tests (grpcio, fastapi, the Kubernetes client...), so
this script reads those files from the wheel, without importing them, and writes a JSON schema
whose Kubernetes types refer to the official Kubernetes definitions (io.k8s.api.core.v1.Container
...), which kube_schemas.py takes from kubernetes-validate. Run it again for a new KServe release:

    pip download --no-deps -d /tmp/kserve kserve==0.21.0
    python tests/k8s/kserve_schema.py /tmp/kserve/kserve-0.21.0-py3-none-any.whl > tests/k8s/schemas/kserve-v1beta1.json
"""

from __future__ import annotations

import ast
import json
import re
import sys
import zipfile
from typing import Any

ROOT = "V1beta1InferenceService"
# Kubernetes types as the SDK names them -> their names in Kubernetes' OpenAPI document.
_KUBERNETES_PREFIXES = {
    "K8sIoApiAppsV1": "io.k8s.api.apps.v1.",
    "K8sIoApiAutoscalingV2": "io.k8s.api.autoscaling.v2.",
    "V1": "io.k8s.api.core.v1.",
}
_META = {"V1ObjectMeta", "V1Time"}
_SCALARS = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "float": {"type": "number"},
    "datetime": {"type": "string"},
    "object": {},
}


def models(wheel: str) -> tuple[str, dict[str, tuple[dict[str, str], dict[str, str], set[str]]]]:
    found = {}
    version = "?"
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith("/METADATA"):
                version = re.search(r"^Version: (.+)$", archive.read(name).decode(), re.MULTILINE).group(1)
            if not re.fullmatch(r"kserve/models/\w+\.py", name):
                continue
            source = archive.read(name).decode()
            for node in ast.parse(source).body:
                if not isinstance(node, ast.ClassDef):
                    continue
                assigned = {
                    statement.targets[0].id: ast.literal_eval(statement.value)
                    for statement in node.body
                    if isinstance(statement, ast.Assign)
                    and isinstance(statement.targets[0], ast.Name)
                    and statement.targets[0].id in ("openapi_types", "attribute_map")
                }
                required = set(
                    re.findall(r"Invalid value for `(\w+)`, must not be `None`", ast.get_source_segment(source, node))
                )
                if "openapi_types" in assigned:
                    found[node.name] = (assigned["openapi_types"], assigned["attribute_map"], required)
    return version, found


def definition_name(sdk_name: str) -> str | None:
    if sdk_name in _META:
        return "io.k8s.apimachinery.pkg.apis.meta.v1." + sdk_name[2:]
    if sdk_name == "ResourceQuantity":
        return "io.k8s.apimachinery.pkg.api.resource.Quantity"
    if sdk_name.startswith("V1beta1"):
        return "io.kserve.serving.v1beta1." + sdk_name[len("V1beta1") :]
    for prefix, namespace in _KUBERNETES_PREFIXES.items():
        if sdk_name.startswith(prefix):
            return namespace + sdk_name[len(prefix) :]
    return None


def schema_for(type_name: str, classes: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    if match := re.fullmatch(r"list\[(.+)\]", type_name):
        return {"type": "array", "items": schema_for(match.group(1), classes, wanted)}
    if match := re.fullmatch(r"dict\(str, (.+)\)", type_name):
        return {"type": "object", "additionalProperties": schema_for(match.group(1), classes, wanted)}
    if type_name in _SCALARS:
        return dict(_SCALARS[type_name])
    if type_name in classes and type_name.startswith("V1beta1"):
        wanted.append(type_name)
    name = definition_name(type_name)
    # Types outside Kubernetes and KServe's v1beta1 API (Knative's status types) are only in status.
    return {"$ref": f"#/$defs/{name}"} if name and (type_name in classes or not type_name.startswith("V1beta1")) else {}


def generate(wheel: str) -> dict[str, Any]:
    version, classes = models(wheel)
    defs: dict[str, Any] = {}
    wanted = [ROOT]
    while wanted:
        sdk_name = wanted.pop()
        name = definition_name(sdk_name)
        if name in defs:
            continue
        types, json_names, required = classes[sdk_name]
        properties = {json_names[field]: schema_for(kind, classes, wanted) for field, kind in types.items()}
        if sdk_name == ROOT:
            properties["apiVersion"] = {"type": "string", "enum": ["serving.kserve.io/v1beta1"]}
            properties["kind"] = {"type": "string", "enum": ["InferenceService"]}
        defs[name] = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            defs[name]["required"] = sorted(json_names[field] for field in required)
    return {
        "$comment": f"Generated by tests/k8s/kserve_schema.py from kserve {version} (kserve/models/*.py on PyPI). "
        "References to io.k8s.* resolve to the official Kubernetes definitions.",
        "$defs": dict(sorted(defs.items())),
    }


if __name__ == "__main__":
    json.dump(generate(sys.argv[1]), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
