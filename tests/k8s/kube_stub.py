"""A stand-in API server on 127.0.0.1 that lets `kubectl apply --dry-run=client` run without a cluster.

kubectl needs a server even for a client-side dry run: it maps each kind to a resource through
discovery, downloads the server's OpenAPI document to validate the objects against
(--validate=strict: types, required and unknown fields), and asks for the live object to plan
its change. This server answers exactly those requests: discovery for the kinds dockml writes,
an OpenAPI v2 document (in the protobuf encoding kubectl asks for) built from the official
schemas in kube_schemas.py, Kubernetes' own and KServe's, as an API server with KServe's CRD
installed publishes them; and 404 for every object, so kubectl plans a create. It stores
nothing and accepts no writes.

The JSON schemas go back to OpenAPI v2 schemas: `type: [T, "null"]` becomes `type: T`, `$ref`s
point into definitions, and int-or-string and quantity become what Kubernetes' OpenAPI document
says of them. The document has no paths, so kubectl sees no server-side field validation and
validates on its own side.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from kube_schemas import kserve_definitions, kubernetes_definitions

# (group, version, kind, resource); group "" is the core API.
RESOURCES = [
    ("", "v1", "Service", "services"),
    ("", "v1", "Secret", "secrets"),
    ("apps", "v1", "Deployment", "deployments"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    ("serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices"),
]
_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
}
_KSERVE_GVK = {"group": "serving.kserve.io", "version": "v1beta1", "kind": "InferenceService"}


# Protocol buffers, as much as gnostic's openapi_v2.Document (OpenAPIv2.proto) needs here.
def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _bytes(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _text(field: int, text: str) -> bytes:
    return _bytes(field, text.encode())


def _named(field: int, name: str, value: bytes) -> bytes:  # NamedSchema, NamedAny: name = 1, value = 2
    return _bytes(field, _text(1, name) + _bytes(2, value))


def _schema(node: dict[str, Any]) -> bytes:
    """An openapi_v2.Schema message from a JSON schema."""
    if isinstance(node.get("$ref"), str):
        return _text(1, node["$ref"].replace("#/$defs/", "#/definitions/"))
    out = b""
    if isinstance(node.get("format"), str):
        out += _text(2, node["format"])
    for name in node.get("required", []):
        out += _text(19, name)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out += _bytes(21, _bytes(1, _schema(extra)))  # AdditionalPropertiesItem.schema
    kinds = node.get("type")
    for kind in [kinds] if isinstance(kinds, str) else kinds or []:
        if kind != "null":
            out += _bytes(22, _text(1, kind))  # TypeItem.value
    if isinstance(node.get("items"), dict):
        out += _bytes(23, _bytes(1, _schema(node["items"])))  # ItemsItem.schema
    for part in node.get("allOf", []):
        out += _bytes(24, _schema(part))
    if isinstance(node.get("properties"), dict):
        out += _bytes(25, b"".join(_named(1, name, _schema(sub)) for name, sub in node["properties"].items()))
    for key, value in node.items():
        if key == "x-kubernetes-group-version-kind":
            out += _named(31, key, _text(2, json.dumps(value)))  # NamedAny -> Any.yaml
    return out


def openapi_v2() -> bytes:
    """The openapi_v2.Document: swagger, info, empty paths, and every definition."""
    definitions = dict(kubernetes_definitions(strict=False))
    definitions.update(_SPECIAL)
    definitions.update(kserve_definitions())
    root = definitions["io.kserve.serving.v1beta1.InferenceService"]
    definitions["io.kserve.serving.v1beta1.InferenceService"] = {
        **root,
        "x-kubernetes-group-version-kind": [_KSERVE_GVK],
    }
    named = b"".join(_named(1, name, _schema(schema)) for name, schema in definitions.items())
    info = _text(1, "Kubernetes") + _text(2, "v1.37.0")
    return _text(1, "2.0") + _bytes(2, info) + _bytes(8, b"") + _bytes(9, named)


def _path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


class _Handler(BaseHTTPRequestHandler):
    documents: ClassVar[dict[str, Any]] = {}

    def do_GET(self) -> None:  # the http.server API
        path = self.path.partition("?")[0].strip("/")
        body = self.documents.get(path)
        if body is None:
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
            return self._send(404, status)
        self._send(200, body)

    def _send(self, code: int, body: Any) -> None:
        protobuf = isinstance(body, bytes)
        data = body if protobuf else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream" if protobuf else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # a client-side dry run never writes
        self._send(405, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 405})

    do_PUT = do_PATCH = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@cache
def _documents() -> dict[str, Any]:
    documents: dict[str, Any] = {
        "api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    }
    groups: dict[str, list[str]] = {}
    by_group_version: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for group, version, kind, resource in RESOURCES:
        if group and version not in groups.setdefault(group, []):
            groups[group].append(version)
        by_group_version.setdefault((group, version), []).append(
            {
                "name": resource,
                "singularName": kind.lower(),
                "namespaced": True,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
        )
    documents["apis"] = {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]},
            }
            for group, versions in groups.items()
        ],
    }
    for (group, version), resources in by_group_version.items():
        path = _path(group, version)
        documents[path] = {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }
    documents["openapi/v2"] = openapi_v2()
    return documents


@contextmanager
def kube_stub(folder: Path) -> Iterator[Path]:
    """Serve on 127.0.0.1 for the duration; yields a kubeconfig file that points kubectl at it."""
    handler = type("Handler", (_Handler,), {"documents": _documents()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "stub", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
                "users": [{"name": "stub", "user": {}}],
                "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "stub", "namespace": "default"}}],
                "current-context": "stub",
            }
        )
    )
    try:
        yield kubeconfig
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
