"""Pinned requirements for the served image: exactly the installed versions of what the runtime
imports, and nothing it does not (no converters, no scikit-learn when every model compiled)."""

from __future__ import annotations

import importlib.metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# What `dockml serve` imports to serve ONNX models.
SERVING = (
    "numpy",
    "onnxruntime",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "orjson",
    "python-multipart",
    "prometheus-client",
    "swagger-ui-py",
    "msgspec",  # side files and config tables (side_file.py)
)
PICTURES = ("pillow",)
"""Only for a model that takes uploaded pictures (a side file's [image] table)."""
SKLEARN = ("scikit-learn", "skops", "joblib", "pandas")
NOT_FOLLOWED = {"swagger-ui-py", "onnxruntime"}
"""Installed without their declared dependencies: swagger-ui-py is used only for its static files
(its template engine stays out), and onnxruntime's inference imports none of its own (protobuf,
flatbuffers and packaging serve its converters and tools; numpy is in SERVING)."""
IMAGE_DISTRIBUTIONS = {"xgboost": "xgboost-cpu"}
"""Installed here -> what the image installs instead, at the same version: xgboost-cpu is XGBoost
without its CUDA build and the ~300 MB NCCL library a CPU server never loads."""
LEFT_OUT = {"nvidia-nccl-cu12"}


def _closure(names: tuple[str, ...]) -> dict[str, str]:
    pinned: dict[str, str] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if IMAGE_DISTRIBUTIONS.get(name, name) in pinned:
            continue
        if name in LEFT_OUT:
            continue
        distribution = importlib.metadata.distribution(name)
        pinned[IMAGE_DISTRIBUTIONS.get(name, name)] = distribution.version
        if name in NOT_FOLLOWED:
            continue
        for line in distribution.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return pinned


def pinned_requirements(*, sklearn: bool, pictures: bool = False, libraries: tuple[str, ...] = ()) -> str:
    """requirements.txt text: every package the image needs, pinned (installed with --no-deps).
    ``pictures``: a model takes uploaded pictures. ``libraries``: the boosting libraries the models
    served by their own library need."""
    pinned = _closure(SERVING + (PICTURES if pictures else ()) + (SKLEARN if sklearn else ()) + libraries)
    return "".join(f"{name}=={version}\n" for name, version in sorted(pinned.items()))
