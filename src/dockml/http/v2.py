"""The Open Inference Protocol v2 over REST (KServe, Triton), with the binary tensor data extension.

    GET  /v2, /v2/                             server metadata
    GET  /v2/health/live   /v2/health/ready    {"live": true}, {"ready": ...}: 200, or 400 while the models load
    GET  /v2/models/NAME[/versions/1]          model metadata: input and output tensors
    GET  /v2/models/NAME[/versions/1]/ready    {"name": NAME, "ready": ...}: 200, or 400 while the model loads
    POST /v2/models/NAME[/versions/1]/infer    inference, in JSON or JSON + binary tensors

Every model has one version, "1". Errors are the protocol's {"error": "..."}, never a problem
document: 400 for a request the model cannot take, 404 for an unknown model, version or route,
405, 413 over the body limit, 500 when the model fails (the cause stays in the server log).
"""

from __future__ import annotations

import uuid

import orjson
from starlette.requests import Request
from starlette.responses import Response

from dockml import __version__
from dockml.codecs.records import decode_records
from dockml.codecs.tensor_layout import TensorLayout
from dockml.codecs.tensors import RequestedOutput, decode_infer_request, encode_infer_response
from dockml.errors import FieldError, InvalidInput, MalformedInput, ModelNotFound, RouteNotFound
from dockml.http.error_renderer import Handler
from dockml.service import ModelService, Registry

VERSION = "1"
EXTENSIONS = ["binary_tensor_data"]


def platform(service: ModelService) -> str:
    """The protocol's "<project>_<format>" name of the runtime serving the model."""
    if service.loaded.runtime.name == "onnx":
        return "onnx_onnxv1"
    return f"sklearn_{service.spec.path.suffix.lower().lstrip('.') or 'model'}"


def v2_endpoints(registry: Registry) -> dict[str, Handler]:
    """The protocol's endpoints by name (route_table.py gives their paths and methods)."""
    layouts: dict[str, TensorLayout] = {}

    def layout(service: ModelService) -> TensorLayout:
        # Built on first use from one prediction on the example record (what the warm-up runs),
        # so the output datatypes are the ones the runtime really gives.
        if service.name not in layouts:
            signature = service.signature
            sample = service.loaded.runtime.predict(decode_records([signature.example_record()], signature))
            layouts[service.name] = TensorLayout(signature, service.encoder, sample)
        return layouts[service.name]

    def model(request: Request, route: str) -> ModelService:
        service = registry.get(request.path_params["name"])
        version = request.path_params.get("version")
        if version is not None and version != VERSION:
            raise ModelNotFound(f"model '{service.name}' has no version '{version}'; its only version is '{VERSION}'")
        request.scope["dockml.labels"] = (service.name, route)
        return service

    def json_answer(body: dict[str, object], status: int = 200) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")

    # The protocol's current text gives the health answers JSON bodies (KServe's client parses
    # them); "not ready" keeps the 400 that older clients read from the status alone.
    async def server_metadata(request: Request) -> Response:
        return json_answer({"name": "dockml", "version": __version__, "extensions": EXTENSIONS})

    async def server_live(request: Request) -> Response:
        return json_answer({"live": True})

    async def server_ready(request: Request) -> Response:
        ready = registry.ready
        return json_answer({"ready": ready}, 200 if ready else 400)

    async def model_ready(request: Request) -> Response:
        service = model(request, "v2_ready")
        ready = registry.ready or service.warmed
        return json_answer({"name": service.name, "ready": ready}, 200 if ready else 400)

    async def model_metadata(request: Request) -> Response:
        service = model(request, "v2_metadata")
        tensors = layout(service)
        body = {
            "name": service.name,
            "versions": [VERSION],
            "platform": platform(service),
            "inputs": [spec.to_dict() for spec in tensors.inputs()],
            "outputs": [spec.to_dict() for spec in tensors.outputs()],
        }
        return Response(orjson.dumps(body), media_type="application/json")

    async def infer(request: Request) -> Response:
        service = model(request, "v2_infer")
        tensors = layout(service)
        body = await request.body()
        inference = decode_infer_request(body, _header_length(request))
        wanted = _wanted_outputs(inference.outputs, tensors.output_names(), service.name)
        outputs = await service.predict(tensors.table(inference.inputs))
        head = {"model_name": service.name, "model_version": VERSION, "id": inference.id or str(uuid.uuid4())}
        encoded = tensors.encode(outputs, [name for name, _ in wanted])
        pairs = [(tensor, inference.binary(asked)) for tensor, (_, asked) in zip(encoded, wanted, strict=True)]
        content, json_length = encode_infer_response(head, pairs)
        if json_length is None:
            return Response(content, media_type="application/json")
        return Response(
            content,
            media_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(json_length)},
        )

    async def no_route(request: Request) -> Response:
        raise RouteNotFound(f"no such route {request.url.path}; see GET /v2 and /v2/models/NAME")

    return {
        "v2_server": server_metadata,
        "v2_live": server_live,
        "v2_ready": server_ready,
        "v2_metadata": model_metadata,
        "v2_model_ready": model_ready,
        "v2_infer": infer,
        "v2_no_route": no_route,
    }


def _header_length(request: Request) -> int | None:
    raw = request.headers.get("inference-header-content-length")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise MalformedInput(f"Inference-Header-Content-Length must be a whole number of bytes, got {raw[:40]!r}")
    return int(raw)


def _wanted_outputs(
    asked: tuple[RequestedOutput, ...] | None, names: list[str], model_name: str
) -> list[tuple[str, RequestedOutput | None]]:
    """The outputs to send, each with its entry in the request (None when the request named none)."""
    if asked is None:
        return [(name, None) for name in names]
    seen: set[str] = set()
    for output in asked:
        if output.name not in names:
            raise InvalidInput(
                f"unknown output '{output.name}'; model '{model_name}' gives {', '.join(names)}",
                [FieldError(output.name, "unknown output")],
            )
        if output.name in seen:
            raise InvalidInput(f"output '{output.name}' is asked for twice", [FieldError(output.name, "asked twice")])
        seen.add(output.name)
    return [(output.name, output) for output in asked]
