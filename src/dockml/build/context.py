"""Writing the build context: the folder `docker build` reads."""

from __future__ import annotations

import shutil
from pathlib import Path

from dockml.build.dockerfile import BuildSpec, render_dockerfile
from dockml.build.platforms import SERVE_COMMAND, render_serve_script
from dockml.config import write_toml

DOCKERIGNORE = "**/__pycache__\n**/*.pyc\n"


def dockml_source() -> Path:
    """The installed dockml package, copied into the image as it is."""
    import dockml

    return Path(dockml.__file__).parent


def write_context(
    spec: BuildSpec,
    folder: Path,
    *,
    artifacts: dict[str, Path],
    side_files: dict[str, Path],
    requirements: str,
    server_settings: dict[str, object],
    ca_cert: Path | None = None,
) -> Path:
    """Fill ``folder`` with the Dockerfile, requirements, dockml, the models and their settings."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(render_dockerfile(spec))
    (folder / ".dockerignore").write_text(DOCKERIGNORE)
    (folder / "requirements.txt").write_text(requirements)
    serve = folder / SERVE_COMMAND
    serve.write_text(render_serve_script("/app/dockml.toml"))
    serve.chmod(0o755)  # COPY keeps the mode: the image runs it as `serve`
    lib = folder / "lib"
    if lib.exists():
        shutil.rmtree(lib)
    shutil.copytree(dockml_source(), lib / "dockml", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    models = folder / "models"
    if models.exists():
        shutil.rmtree(models)
    models.mkdir()
    config: dict[str, object] = {}
    if server_settings:
        config["server"] = server_settings
    for model in spec.models:
        shutil.copyfile(artifacts[model.name], models / model.file)
        if model.name in side_files:
            shutil.copyfile(side_files[model.name], models / Path(model.file).with_suffix(".dockml.toml").name)
        config[f"models.{model.name}"] = {"path": f"models/{model.file}"}
    (folder / "dockml.toml").write_text(write_toml(config))
    if spec.ca_cert:
        assert ca_cert is not None
        shutil.copyfile(ca_cert, folder / "ca.crt")
    return folder
