"""The OpenAPI paths of the protocol routes: the Open Inference Protocol v2, MLflow's scoring
server (which SageMaker calls too) and a platform's own routes (Vertex AI's), each model's with
a working example, so the API document covers every route a client (or a fuzzer) can call."""

from __future__ import annotations

from typing import Any

from dockml import __version__
from dockml.codecs.mlflow import FORMATS
from dockml.codecs.tensor_layout import COMBINED, input_specs
from dockml.codecs.tensors import NUMERIC_TYPES
from dockml.http.route_table import platform_path, root_model
from dockml.service import ModelService, Registry

V2_ERROR_REF = {"$ref": "#/components/schemas/V2Error"}
MLFLOW_ERROR_REF = {"$ref": "#/components/schemas/MlflowError"}
PARQUET = "application/vnd.apache.parquet"

SCHEMAS: dict[str, Any] = {
    "V2Error": {
        "type": "object",
        "description": "An Open Inference Protocol error.",
        "properties": {"error": {"type": "string"}},
        "required": ["error"],
    },
    "MlflowError": {
        "type": "object",
        "description": "An error in the form of MLflow's scoring server.",
        "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["error_code", "message"],
    },
    "V2Tensor": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string", "enum": sorted(NUMERIC_TYPES | {"BYTES", "BOOL"})},
            "parameters": {"type": ["object", "null"]},
            "data": {"type": "array", "description": "Nested or flat, row-major; prod(shape) elements."},
        },
        "required": ["name", "shape", "datatype"],
    },
    "V2InferRequest": {
        "type": "object",
        "properties": {
            "id": {"type": ["string", "null"]},
            "parameters": {
                "type": ["object", "null"],
                "properties": {"binary_data_output": {"type": "boolean"}},
            },
            "inputs": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/V2Tensor"}},
            "outputs": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}},
                    "required": ["name"],
                },
            },
        },
        "required": ["inputs"],
    },
    "V2InferResponse": {
        "type": "object",
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"}},
        },
        "required": ["model_name", "outputs"],
    },
    "MlflowInput": {
        "type": "object",
        "description": (
            "Exactly one of the keys dataframe_split, dataframe_records, instances, inputs (params and other "
            "keys are ignored). Column labels 0, 1, ... name the features of a model without names; columns "
            "the model does not take are ignored; numbers may be sent as text."
        ),
        "properties": {
            "dataframe_split": {
                "type": "object",
                "properties": {"columns": {"type": "array"}, "data": {"type": "array", "items": {"type": "array"}}},
                "required": ["data"],
            },
            "dataframe_records": {"type": "array", "items": {"type": "object"}, "minItems": 1},
            "instances": {"type": "array", "minItems": 1},
            "inputs": {"type": ["array", "object"]},
            "params": {"description": "Ignored, as are keys other than the format key."},
        },
        # Exactly one of the format keys.
        "oneOf": [
            {"required": [key], "not": {"anyOf": [{"required": [other]} for other in FORMATS if other != key]}}
            for key in FORMATS
        ],
    },
    "MlflowPredictions": {
        "type": "object",
        "properties": {"predictions": {"type": "array"}},
        "required": ["predictions"],
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _v2_errors(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "A request the model cannot take, or not ready (health)",
        404: "Unknown model or version",
        413: "Body over the size limit",
        415: "Content-Encoding other than gzip or deflate",
        500: "The model failed",
    }
    return {str(status): _json(V2_ERROR_REF, descriptions[status]) for status in statuses}


def _mlflow_errors(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "A body the model cannot take",
        404: "Unknown model",
        413: "Body over the size limit",
        415: "Wrong Content-Type or Content-Encoding",
        500: "The model failed",
        503: "Not ready yet",
    }
    return {str(status): _json(MLFLOW_ERROR_REF, descriptions[status]) for status in statuses}


def _get(tag: str, summary: str, responses: dict[str, Any], operation: str) -> dict[str, Any]:
    return {"get": {"tags": [tag], "summary": summary, "operationId": operation, "responses": responses}}


def _v2_example(service: ModelService) -> dict[str, Any]:
    signature = service.signature
    record = signature.example_record()
    specs = input_specs(signature)
    if len(specs) == 1 and specs[0].name == COMBINED:
        values = [float(record[name]) for name in signature.names]
        tensor = {"name": COMBINED, "shape": [1, len(values)], "datatype": "FP64", "data": [values]}
        return {"id": "example", "inputs": [tensor]}
    tensors = []
    for feature in signature.features:
        value = record[feature.name]
        datatype = {"string": "BYTES", "boolean": "BOOL"}.get(feature.kind, "FP64")
        tensors.append({"name": feature.name, "shape": [1], "datatype": datatype, "data": [value]})
    return {"id": "example", "inputs": tensors}


def v2_paths(registry: Registry) -> dict[str, Any]:
    tag = "Open Inference Protocol v2"
    ready = {"200": _json({"type": "object"}, "Ready"), **_v2_errors(400)}
    server = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "extensions": {"type": "array"}},
        "required": ["name", "version", "extensions"],
    }
    paths: dict[str, Any] = {
        "/v2": _get(tag, "Server metadata", {"200": _json(server, "The server")}, "v2_server_metadata"),
        "/v2/health/live": _get(
            tag,
            'Liveness: {"live": true}',
            {"200": _json({"type": "object", "properties": {"live": {"type": "boolean"}}}, "Live")},
            "v2_live",
        ),
        "/v2/health/ready": _get(tag, 'Readiness: {"ready": true}; 400 before', ready, "v2_ready"),
    }
    for service in registry:
        base = f"/v2/models/{service.name}"
        metadata = {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array"},
                "outputs": {"type": "array"},
            },
            "required": ["name", "platform", "inputs", "outputs"],
        }
        paths[base] = _get(
            tag,
            f"Metadata of '{service.name}': its tensors",
            {"200": _json(metadata, "The model")},
            f"v2_{service.name}_metadata",
        )
        paths[f"{base}/ready"] = _get(
            tag, f'Readiness of \'{service.name}\': {{"name": ..., "ready": true}}', ready, f"v2_{service.name}_ready"
        )
        paths[f"{base}/infer"] = {
            "post": {
                "tags": [tag],
                "summary": f"Inference with '{service.name}' (JSON; the binary tensor extension also works)",
                "description": (
                    "Inputs: "
                    + ", ".join(
                        f"{spec.name} {spec.datatype} {list(spec.shape)}" for spec in input_specs(service.signature)
                    )
                    + ". The body may be compressed (Content-Encoding: gzip or deflate)."
                ),
                "operationId": f"v2_{service.name}_infer",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/V2InferRequest"},
                            "examples": {"one row": {"value": _v2_example(service)}},
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The outputs: JSON, or with binary outputs asked for, the JSON (as long as "
                        "the Inference-Header-Content-Length header says) followed by the raw tensors",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/V2InferResponse"}},
                            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **_v2_errors(400, 413, 415, 500),
                },
            }
        }
    return paths


def _mlflow_body(service: ModelService) -> dict[str, Any]:
    signature = service.signature
    record = signature.example_record()
    csv = ",".join(signature.names) + "\n" + ",".join(str(v) for v in record.values()) + "\n"
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/MlflowInput"},
                "examples": {
                    "dataframe_split": {
                        "value": {
                            "dataframe_split": {"columns": list(signature.names), "data": [list(record.values())]}
                        }
                    },
                    "dataframe_records": {"value": {"dataframe_records": [record]}},
                    "instances": {"value": {"instances": [list(record.values())]}},
                },
            },
            "text/csv": {"schema": {"type": "string"}, "examples": {"with a header": {"value": csv}}},
            PARQUET: {"schema": {"type": "string", "format": "binary"}},
        },
    }


def _invocations(service: ModelService, summary: str, operation: str, tag: str) -> dict[str, Any]:
    ok = {
        "description": "One prediction per row (Accept: text/csv: one per line)",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/MlflowPredictions"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    return {
        "post": {
            "tags": [tag],
            "summary": summary,
            "description": f"Formats: {', '.join(FORMATS)} (JSON), CSV, Parquet; gzip or deflate compressed too.",
            "operationId": operation,
            "requestBody": _mlflow_body(service),
            "responses": {"200": ok, **_mlflow_errors(400, 413, 415, 500)},
        }
    }


def mlflow_paths(registry: Registry, predict_route: str = "", health_route: str = "") -> dict[str, Any]:
    tag = "MLflow scoring and SageMaker"
    # MLflow answers a bare newline labelled application/json, which no JSON schema can describe.
    pinged = {"200": {"description": "Ready (a newline, as MLflow answers)"}, "503": {"description": "Not ready yet"}}
    paths: dict[str, Any] = {
        "/ping": _get(tag, "200 once every model is ready (MLflow, SageMaker)", pinged, "mlflow_ping"),
        "/health": _get(tag, "The same as /ping (MLflow)", pinged, "mlflow_health"),
        "/version": _get(
            tag,
            "dockml's version, as text (MLflow's client asks)",
            {"200": {"description": __version__, "content": {"text/plain": {"schema": {"type": "string"}}}}},
            "mlflow_version",
        ),
    }
    default = root_model(registry, "invocations")
    if default is not None:
        paths["/invocations"] = _invocations(
            default, f"Predict with '{default.name}' (MLflow, SageMaker)", "mlflow_invocations", tag
        )
    for service in registry:
        paths[f"/models/{service.name}/invocations"] = _invocations(
            service, f"Predict with '{service.name}' (MLflow)", f"mlflow_{service.name}_invocations", tag
        )
        paths[f"/models/{service.name}/ping"] = _get(
            tag, f"200 once '{service.name}' is ready", pinged, f"mlflow_{service.name}_ping"
        )
    if health_route:
        paths[platform_path(health_route)] = _get(
            "platform", "The platform's health route (as /ping)", pinged, "platform_health"
        )
    if predict_route and default is not None:
        paths[platform_path(predict_route)] = _invocations(
            default,
            'The platform\'s predict route (as /invocations): {"instances": [...]}',
            "platform_predict",
            "platform",
        )
    return paths
