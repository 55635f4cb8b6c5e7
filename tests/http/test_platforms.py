"""What cloud platforms tell a container in its environment (platforms.py), and the routes they
choose (http/platform_routes.py), in process."""

from __future__ import annotations

import pytest

from dockml.config import load_settings
from servers import make_client

SETOSA = [5.1, 3.5, 1.4, 0.2]
PREDICT = "/v1/endpoints/1/deployedModels/2:predict"
HEALTH = "/v1/endpoints/1/deployedModels/2"


def settings(environ: dict[str, str], **flags: object):
    return load_settings(config_file=None, model_arguments=[], flags=flags, environ=environ)


@pytest.mark.parametrize(
    ("environ", "port"),
    [
        ({}, 5000),
        ({"PORT": "8081"}, 8081),
        ({"DOCKML_PORT": "5000", "PORT": "8081"}, 8081),  # an image's DOCKML_PORT yields to Cloud Run's PORT
        ({"PORT": "8081", "AIP_HTTP_PORT": "8082"}, 8082),
    ],
)
def test_the_platforms_port(environ, port):
    assert settings(environ).port == port


def test_a_flag_wins_over_the_platform():
    assert settings({"PORT": "8081"}, port=9000).port == 9000


def test_a_port_that_is_not_a_number_is_a_config_error():
    from dockml.errors import ConfigError

    with pytest.raises(ConfigError, match="port"):
        settings({"PORT": "eighty"})


def test_vertex_routes(demo_models):
    with make_client([f"iris={demo_models['iris']}"], predict_route=PREDICT, health_route=HEALTH) as vertex:
        assert vertex.get(HEALTH).status_code == 200
        answer = vertex.post(PREDICT, json={"instances": [SETOSA], "parameters": {"confidence": 0.5}})
        assert answer.json() == {"predictions": ["setosa"]}
        assert vertex.get(PREDICT).status_code in (404, 405)
        paths = vertex.get("/openapi.json").json()["paths"]
        assert PREDICT in paths and HEALTH in paths


def test_vertex_health_route_stays_open_under_an_api_key(demo_models):
    flags = {"predict_route": PREDICT, "health_route": HEALTH, "api_key": "secret"}
    with make_client([f"iris={demo_models['iris']}"], **flags) as vertex:
        assert vertex.get(HEALTH).status_code == 200
        assert vertex.post(PREDICT, json={"instances": [SETOSA]}).status_code == 401
