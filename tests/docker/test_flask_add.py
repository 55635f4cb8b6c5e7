"""examples/flask-add, the tutorial's first service, built on the base image and run in a container."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:  # conftest modules are not importable at run time
    from conftest import Docker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask-add"


@pytest.fixture(scope="module")
def flask_add_image(
    docker: Docker,
    base_image: str,
    copy_ca_bundle: Callable[..., Path | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    # A copy, so that the CA bundle never lands in the example folder.
    context = tmp_path_factory.mktemp("flask-add")
    shutil.copytree(EXAMPLE, context, dirs_exist_ok=True)
    copy_ca_bundle(context)
    image = docker.build(context, build_args={"BASE_IMAGE": base_image})
    yield image
    docker.remove_image(image)


def test_get_adds_a_and_b(docker: Docker, flask_add_image: str) -> None:
    container = docker.run_container(flask_add_image)

    response = httpx.get(container.url + "/", params={"a": 10, "b": 20}, timeout=5.0)

    assert response.status_code == 200
    assert response.text == "30"


def test_container_is_removed_once_stopped(docker: Docker, flask_add_image: str) -> None:
    container = docker.run_container(flask_add_image)

    docker.stop(container)

    assert not docker.container_exists(container.name)
