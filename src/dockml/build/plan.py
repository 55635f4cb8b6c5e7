"""Deciding what goes into the image: each model compiled to ONNX where the parity check holds
(so scikit-learn stays out), the requirements that the remaining runtimes need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dockml import __version__
from dockml.build.dockerfile import DEFAULT_BASE_IMAGE, BuildSpec, ModelArtifact
from dockml.build.requirements import pinned_requirements
from dockml.config import Settings, cache_home, side_file_for
from dockml.errors import ConfigError
from dockml.models import load_model
from dockml.models.cache import CompiledCache, file_sha256


@dataclass(frozen=True, slots=True)
class BuildPlan:
    spec: BuildSpec
    artifacts: dict[str, Path]
    side_files: dict[str, Path]
    requirements: str
    server_settings: dict[str, object]


# Settings that travel into the image's dockml.toml when they differ from the defaults.
_SERVE_SETTINGS = (
    "workers",
    "batch_max_rows",
    "batch_max_delay_ms",
    "max_body_bytes",
    "max_csv_rows",
    "max_image_pixels",
    "probability_decimals",
)


def plan_build(
    settings: Settings, *, title: str, base_image: str | None, ca_cert: bool, workers_given: bool
) -> BuildPlan:
    cache_dir = cache_home() / "compiled"
    models, artifacts, side_files = [], {}, {}
    needs_sklearn = pictures = False
    libraries: set[str] = set()
    for spec in settings.models:
        sha = file_sha256(spec.path)
        loaded = load_model(spec, trust_pickle=settings.trust_pickle, runtime=settings.runtime, cache_dir=cache_dir)
        runtime = loaded.runtime.name
        pictures = pictures or loaded.signature.image is not None
        if spec.path.suffix.lower() == ".onnx":
            source, file = spec.path, f"{spec.name}.onnx"
        elif runtime == "onnx":
            source = CompiledCache(cache_dir).path_for(spec, settings.trust_pickle)
            if not source.is_file():
                raise ConfigError(f"the compiled model for '{spec.name}' is not in {cache_dir}; make it writable")
            file = f"{spec.name}.onnx"
        else:
            source, file = spec.path, f"{spec.name}{spec.path.suffix.lower()}"
            needs_sklearn = True
            estimator = loaded.details.source.estimator
            libraries.update(estimator.libraries if estimator is not None else ())
        artifacts[spec.name] = source
        side = side_file_for(spec.path)
        if side.is_file():
            side_files[spec.name] = side
        models.append(ModelArtifact(name=spec.name, file=file, sha256=sha, runtime=runtime))
    defaults = Settings()
    server = {
        key: getattr(settings, key) for key in _SERVE_SETTINGS if getattr(settings, key) != getattr(defaults, key)
    }
    if not workers_given:
        server.pop("workers", None)  # in the container: one worker per core of the machine it runs on
    if needs_sklearn and settings.trust_pickle:
        server["trust_pickle"] = True
    build_spec = BuildSpec(
        models=tuple(models),
        dockml_version=__version__,
        created=datetime.now(UTC).replace(microsecond=0).isoformat(),
        title=title,
        base_image=base_image or DEFAULT_BASE_IMAGE,
        port=settings.port,
        ca_cert=ca_cert,
        pictures=pictures,
    )
    return BuildPlan(
        build_spec,
        artifacts,
        side_files,
        pinned_requirements(sklearn=needs_sklearn, pictures=pictures, libraries=tuple(sorted(libraries))),
        server,
    )
