"""The OpenAPI 3.1 document, generated from the served models' signatures.

Every model gets its own explicit paths (``/models/iris/predict``) because every model takes
different parameters; the root routes (``/predict``) are documented with the model they serve.
"""

from __future__ import annotations

from typing import Any

from dockml import __version__
from dockml.config import Settings
from dockml.http.openapi_protocols import SCHEMAS, mlflow_paths, v2_paths
from dockml.http.route_table import documented_paths, first_offering, root_routes
from dockml.service import ModelService, Registry
from dockml.signature import Feature, Signature

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _feature_schema(feature: Feature, *, in_json: bool = True) -> dict[str, Any]:
    """A feature's JSON schema; in JSON a missing value is null (a query sends it empty)."""
    kind = feature.kind
    nullable = feature.allows_missing and in_json
    schema: dict[str, Any] = {"type": [kind, "null"] if nullable else kind}
    if feature.categories is not None and not feature.allows_unknown:
        schema["enum"] = list(feature.categories) + ([None] if nullable else [])
    elif feature.categories is not None:
        schema["description"] = "Known values: " + ", ".join(map(str, feature.categories[:20]))
    if feature.description:
        schema["description"] = feature.description
    schema["examples"] = [feature.example]
    return schema


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema["type"]
    return kind if isinstance(kind, list) else [kind]


def _component(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _model_schemas(service: ModelService) -> dict[str, Any]:
    signature = service.signature
    base = _component(service.name)
    record = {
        "type": "object",
        "description": f"One row for '{service.name}', by feature name.",
        "properties": {f.name: _feature_schema(f) for f in signature.features},
        "required": list(signature.names),
        "additionalProperties": False,
    }
    row = {
        "type": "array",
        "description": f"One row for '{service.name}', values in the order {signature.expected()}.",
        "prefixItems": [_feature_schema(f) for f in signature.features],
        "minItems": len(signature.features),
        "maxItems": len(signature.features),
    }

    def ref(suffix: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{base}{suffix}"}

    width = len(signature.features)
    kinds = sorted({kind for f in signature.features for kind in _types(_feature_schema(f))})
    cell = {"type": kinds[0] if len(kinds) == 1 else kinds}
    return {
        f"{base}Record": record,
        f"{base}Row": row,
        f"{base}Input": {
            "oneOf": [
                ref("Record"),
                {"type": "array", "items": ref("Record"), "minItems": 1, "description": "A list of records."},
                {
                    "type": "object",
                    "properties": {"instances": {"type": "array", "items": ref("Row"), "minItems": 1}},
                    "required": ["instances"],
                    "additionalProperties": False,
                    "description": "Rows in signature order.",
                },
                {
                    "type": "object",
                    "properties": {
                        "columns": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(signature.names)},
                            "minItems": width,
                            "maxItems": width,
                            "uniqueItems": True,
                        },
                        "data": {
                            "type": "array",
                            "items": {"type": "array", "items": cell, "minItems": width, "maxItems": width},
                            "minItems": 1,
                        },
                        "index": {"type": "array", "description": "Ignored (pandas writes it)."},
                    },
                    "required": ["columns", "data"],
                    "additionalProperties": False,
                    "description": (
                        "pandas' split orientation: every feature once, in any order, and rows in that order."
                    ),
                },
            ]
        },
        f"{base}Predictions": _predictions_schema(signature),
    }


def _predictions_schema(signature: Signature) -> dict[str, Any]:
    label: dict[str, Any]
    if signature.task == "classification":
        label = {"description": "The predicted class label."}
        if signature.classes:
            label["enum"] = list(signature.classes)
    elif signature.task == "clustering":
        label = {"type": "integer", "description": "The cluster."}
    elif signature.task == "outlier_detection":
        label = {"type": "integer", "enum": [1, -1], "description": "1 for an inlier, -1 for an outlier."}
    else:
        label = {"type": "number", "description": "The predicted value."}
    if signature.multi_output:
        count = len(signature.targets)
        label = {
            "type": "array",
            "items": label,
            "minItems": count,
            "maxItems": count,
            "description": "One per target: " + ", ".join(signature.targets),
        }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"predictions": {"type": "array", "items": label}},
        "required": ["predictions"],
    }
    if signature.probabilities:
        schema["properties"]["probabilities"] = {
            "type": "array",
            "description": "With ?proba=true: per row, the probability of each class label.",
            "items": {"type": "object", "additionalProperties": {"type": "number"}},
        }
    return schema


def _errors(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "Malformed body (not JSON, CSV or an image)",
        404: "Unknown model or route",
        413: "Body over the size limit",
        415: "Wrong Content-Type",
        422: "Well-formed, but not what the model takes",
        500: "The model failed",
    }
    return {
        str(status): {
            "description": descriptions[status],
            "content": {"application/problem+json": {"schema": PROBLEM_REF}},
        }
        for status in statuses
    }


_PROBA_PARAM = {
    "name": "proba",
    "in": "query",
    "required": False,
    "description": "Also return the probability of each class.",
    "schema": {"type": "boolean", "default": False},
}

_INPUT_PARAM = {
    "name": "input",
    "in": "query",
    "required": False,
    "description": "Also return the picture as the model saw it (grey levels after preprocessing).",
    "schema": {"type": "boolean", "default": False},
}


def _predict_paths(service: ModelService, prefix: str, tag: str) -> dict[str, Any]:
    signature = service.signature
    base = _component(service.name)
    ok = {
        "description": "Predictions, one per row",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{base}Predictions"}}},
    }
    example = signature.example_record()
    first_values = list(example.values())
    query = [
        {
            "name": f.name,
            "in": "query",
            "required": not f.allows_missing,  # where the model takes a missing value: left out or `name=`
            "allowEmptyValue": f.allows_missing,
            "description": f.description or f"Feature '{f.name}'",
            "schema": _feature_schema(f, in_json=False),
            "example": f.example,
        }
        for f in signature.features
    ]
    params = [_PROBA_PARAM] if signature.probabilities else []
    csv_header = ",".join(signature.names)
    csv_example = csv_header + "\n" + ",".join(str(v) for v in first_values) + "\n"
    file_schema = {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary", "contentMediaType": "text/csv"}},
        "required": ["file"],
    }
    paths: dict[str, Any] = {
        f"{prefix}/predict": {
            "get": {
                "tags": [tag],
                "summary": f"Predict one row of '{service.name}' from query parameters",
                "operationId": f"{service.name}_predict_get{'_root' if not prefix else ''}",
                "parameters": query + params,
                "responses": {"200": ok, **_errors(400, 422)},
            },
            "post": {
                "tags": [tag],
                "summary": f"Predict rows of '{service.name}' sent as JSON",
                "operationId": f"{service.name}_predict_post{'_root' if not prefix else ''}",
                "parameters": params,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{base}Input"},
                            "examples": {
                                "record": {"summary": "One record", "value": example},
                                "records": {"summary": "A list of records", "value": [example, example]},
                                "instances": {
                                    "summary": "Rows in signature order",
                                    "value": {"instances": [first_values]},
                                },
                                "split": {
                                    "summary": "Columns and data",
                                    "value": {"columns": list(signature.names), "data": [first_values]},
                                },
                            },
                        }
                    },
                },
                "responses": {"200": ok, **_errors(400, 413, 415, 422)},
            },
        },
        f"{prefix}/predict_file": {
            "post": {
                "tags": [tag],
                "summary": f"Predict every row of an uploaded CSV file with '{service.name}'",
                "description": (
                    f"The CSV starts with a header naming the features ({csv_header}), in any order, or has no "
                    "header and gives them in that order. Send `Accept: text/csv` to get the rows back with "
                    f"a prediction column.\n\nExample file:\n\n```\n{csv_example}```"
                ),
                "operationId": f"{service.name}_predict_file{'_root' if not prefix else ''}",
                "parameters": params,
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": file_schema}}},
                "responses": {
                    "200": {
                        "description": "Predictions, one per row (JSON), or the rows with a prediction column (CSV)",
                        "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/{base}Predictions"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 413, 415, 422),
                },
            }
        },
    }
    if signature.image is not None:
        image_schema = {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary", "contentMediaType": "image/png"}},
            "required": ["file"],
        }
        image = signature.image
        grid = {
            "type": "array",
            "description": (
                f"With ?input=true: the picture as the model saw it, {image.height} rows of {image.width} grey "
                f"levels (0 paper .. {image.scale_max:g} ink)."
            ),
            "items": {"type": "array", "items": {"type": "number"}, "minItems": image.width, "maxItems": image.width},
            "minItems": image.height,
            "maxItems": image.height,
        }
        seen = {
            "description": "Predictions, one per row; with ?input=true also the model's input",
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            {"$ref": f"#/components/schemas/{base}Predictions"},
                            {"type": "object", "properties": {"input": grid}},
                        ]
                    }
                }
            },
        }
        paths[f"{prefix}/predict_image"] = {
            "post": {
                "tags": [tag],
                "summary": f"Predict from an uploaded PNG or JPEG picture with '{service.name}'",
                "description": (
                    f"Any size, dark-on-light or light-on-dark; it is turned into the model's "
                    f"{image.width}x{image.height} grey levels."
                ),
                "operationId": f"{service.name}_predict_image{'_root' if not prefix else ''}",
                "parameters": [*params, _INPUT_PARAM],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": image_schema}}},
                "responses": {"200": seen, **_errors(400, 413, 415, 422)},
            }
        }
    return paths


def _service_paths() -> dict[str, Any]:
    def plain(summary: str, description: str) -> dict[str, Any]:
        return {"get": {"tags": ["service"], "summary": summary, "responses": {"200": {"description": description}}}}

    return {
        "/health/live": plain("Liveness: the process is up", "Alive"),
        "/health/ready": {
            "get": {
                "tags": ["service"],
                "summary": "Readiness: every model is loaded and warmed",
                "responses": {
                    "200": {"description": "Ready"},
                    "503": {
                        "description": "Not ready yet",
                        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "tags": ["service"],
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "Metrics in the Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/models": plain("Every served model with its signature and endpoints", "The models"),
        "/models/{name}": {
            "get": {
                "tags": ["service"],
                "summary": "One model with its signature, runtime and endpoints",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The model"}, **_errors(404)},
            }
        },
    }


def build_openapi(registry: Registry, settings: Settings | None = None) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "description": "An RFC 9457 problem document.",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                        "required": ["field", "message"],
                    },
                },
            },
            "required": ["type", "title", "status", "detail"],
        }
    }
    tags = []
    for route in root_routes():
        default = first_offering(route, registry)
        if default is not None:
            operations[route.path] = _predict_paths(default, "", "default model")[route.path]
    if operations:
        tags.append(
            {"name": "default model", "description": "The root routes; each serves the first model that offers it."}
        )
    for service in registry:
        operations.update(_predict_paths(service, f"/models/{service.name}", service.name))
        schemas.update(_model_schemas(service))
        tags.append({"name": service.name, "description": service.spec.meta.description or f"Model '{service.name}'"})
    operations.update(_service_paths())
    tags.append({"name": "service", "description": "Health, metrics and model metadata"})
    settings = settings or Settings()
    operations.update(v2_paths(registry))
    operations.update(mlflow_paths(registry, settings.predict_route, settings.health_route))
    # The route table decides which paths the document lists; the builders describe each.
    paths = {served.path: operations[served.path] for served in documented_paths(registry, settings)}
    schemas.update(SCHEMAS)
    tags.append({"name": "Open Inference Protocol v2", "description": "KServe, Triton and MLServer clients"})
    tags.append({"name": "MLflow scoring and SageMaker", "description": "Clients of `mlflow models serve`; SageMaker"})
    if settings.predict_route or settings.health_route:
        tags.append({"name": "platform", "description": "The routes a cloud platform chose (Vertex AI)"})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dockml",
            "version": __version__,
            "description": "Predictions from " + ", ".join(f"'{s.name}'" for s in registry) + ", served by dockml.",
        },
        "tags": tags,
        "paths": paths,
        "components": {"schemas": schemas},
    }
