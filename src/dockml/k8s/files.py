"""Writing rendered files: to a folder, or as one multi-document YAML stream."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dockml.errors import ConfigError


def write_files(folder: Path, files: Mapping[str, str]) -> list[Path]:
    """Write ``files`` (relative path -> text) under ``folder``; returns the paths written."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file; give a folder to write into")
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def yaml_stream(files: Mapping[str, str]) -> str:
    """The files as one YAML stream (``kubectl apply -f -`` reads it), each document after ``---``."""
    return "".join(f"---\n# {name}\n{text}" for name, text in files.items())
