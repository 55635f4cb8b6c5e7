"""The digits demo on pictures as people take them, through a real server: drawn, photographed
(uneven light, tinted paper, JPEG noise, turned, small and off-centre), light on dark, and a
font's digits. The figures printed here are the README's."""

from __future__ import annotations

import httpx
import pytest

from digit_pictures import corpus
from servers import start_server

TARGETS = {"drawn": 0.9, "photo": 0.9, "light-on-dark": 0.9}


@pytest.fixture(scope="module")
def digits_server(demo_models):
    server = start_server([str(demo_models["digits"]), "--workers", "1"])
    yield server
    server.stop()


@pytest.mark.parametrize("kind", [*TARGETS, "font"])
def test_uploaded_digits_are_read(digits_server, kind):
    pictures = list(corpus(kind))
    right = 0
    with httpx.Client(base_url=digits_server.url, timeout=30) as client:
        for picture, digit in pictures:
            kind_of_file = "image/jpeg" if picture[:3] == b"\xff\xd8\xff" else "image/png"
            response = client.post("/predict_image", files={"file": ("digit", picture, kind_of_file)})
            assert response.status_code == 200, response.text
            right += response.json()["predictions"] == [digit]
    share = right / len(pictures)
    print(f"\n{kind}: {right} of {len(pictures)} read right ({share:.1%})")
    if kind in TARGETS:
        assert share >= TARGETS[kind]


def test_the_readme_sample_picture_is_a_seven(digits_server):
    from pathlib import Path

    picture = (Path(__file__).parent.parent / "examples" / "my_digit.png").read_bytes()
    response = httpx.post(f"{digits_server.url}/predict_image", files={"file": ("my_digit.png", picture)})
    assert response.json() == {"predictions": [7]}
