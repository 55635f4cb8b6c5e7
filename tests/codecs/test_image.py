"""Uploaded pictures -> the 8x8 feature vector of scikit-learn's digits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from sklearn.datasets import load_digits

from dockml.codecs.image import decode_image, open_image
from dockml.config import ImageSpec
from dockml.demos import render_digit
from dockml.errors import DockmlError, MalformedInput, PayloadTooLarge
from payloads import white_png

DIGITS = load_digits()
MAX_PIXELS = 40_000_000


def decode(data: bytes) -> np.ndarray:
    return decode_image(data, ImageSpec(), max_pixels=MAX_PIXELS)


def encode(picture: Image.Image, image_format: str = "PNG") -> bytes:
    out = io.BytesIO()
    picture.save(out, format=image_format)
    return out.getvalue()


def first_sample(digit: int) -> np.ndarray:
    return DIGITS.data[np.flatnonzero(DIGITS.target == digit)[0]]


# Measured: 0.96 to 2.09 grey levels (of 16) for these ten samples, in either polarity. The image
# path crops to the ink and centres it, which moves strokes the raw scans have off-centre; the
# first samples of two different digits are 3.4 to 5.2 apart, so 2.5 still tells digits apart.
MAX_MEAN_DIFFERENCE = 2.5


@pytest.mark.parametrize("dark_on_light", [False, True], ids=["light-on-dark", "dark-on-light"])
@pytest.mark.parametrize("digit", range(10))
def test_rendered_digit_decodes_close_to_its_scan(digit: int, dark_on_light: bool) -> None:
    scan = first_sample(digit)

    features = decode(render_digit(scan, size=64, dark_on_light=dark_on_light))

    assert np.abs(features[0] - scan).mean() < MAX_MEAN_DIFFERENCE


def test_polarity_does_not_change_the_features() -> None:
    scan = first_sample(5)

    light, dark = (decode(render_digit(scan, dark_on_light=flag)) for flag in (False, True))

    np.testing.assert_allclose(light, dark, atol=0.1)  # of 16: rounding in the 8-bit renders differs by polarity


def test_features_are_one_row_within_zero_to_sixteen() -> None:
    features = decode(render_digit(first_sample(3)))

    assert (features.shape, features.min() >= 0.0, features.max() <= 16.0) == ((1, 64), True, True)


def test_jpeg_is_accepted() -> None:
    scan = first_sample(2)
    picture = Image.open(io.BytesIO(render_digit(scan, size=64)))

    features = decode(encode(picture, "JPEG"))

    assert np.abs(features[0] - scan).mean() < MAX_MEAN_DIFFERENCE


def stroke(picture: Image.Image, ink: tuple[int, ...]) -> Image.Image:
    ImageDraw.Draw(picture).line([(20, 10), (40, 50)], fill=ink, width=6)
    return picture


def test_transparent_canvas_counts_as_white_paper() -> None:
    # A drawing app's canvas: transparent black everywhere but the stroke.
    drawing = stroke(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), (0, 0, 0, 255))
    on_paper = stroke(Image.new("RGB", (64, 64), (255, 255, 255)), (0, 0, 0))

    assert decode(encode(drawing)).tolist() == decode(encode(on_paper)).tolist()


def test_blank_picture_gives_zeros() -> None:
    assert decode(encode(Image.new("L", (32, 32), 255))).tolist() == [[0.0] * 64]


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_formats_other_than_png_and_jpeg_are_refused(image_format: str) -> None:
    data = encode(Image.open(io.BytesIO(render_digit(first_sample(1)))), image_format)

    with pytest.raises(MalformedInput, match=r"not an image in an accepted format \(PNG, JPEG\)"):
        decode(data)


def test_bytes_that_are_no_image_are_malformed() -> None:
    with pytest.raises(MalformedInput, match="not an image"):
        decode(b"GIF? no, just some text that is not a picture")


def test_empty_file_is_malformed() -> None:
    with pytest.raises(MalformedInput, match="the image file is empty"):
        decode(b"")


def test_truncated_png_is_malformed() -> None:
    data = render_digit(first_sample(8), size=256)

    with pytest.raises(MalformedInput, match="damaged or cut short"):
        decode(data[: len(data) // 2])


def test_colour_model_is_refused() -> None:
    with pytest.raises(MalformedInput, match="only greyscale"):
        decode_image(render_digit(first_sample(0)), ImageSpec(grayscale=False), max_pixels=MAX_PIXELS)


def test_huge_png_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        decode(white_png(20_000, 20_000))


def test_size_is_checked_before_decoding() -> None:
    # 64 Mpx: over our limit but under Pillow's own bomb check. The pixel data is cut off, so
    # decoding would fail as malformed; too large proves the header alone was read.
    data = white_png(8_000, 8_000)[:200]

    with pytest.raises(PayloadTooLarge, match="the image is 8000x8000 pixels; at most 40000000 pixels are accepted"):
        decode(data)


def test_limit_may_be_raised_beyond_pillows_own() -> None:
    # 9500x9500 is 90 Mpx, past Pillow's fixed 89 Mpx warning: dockml's own limits alone decide,
    # here its budget for the decoded picture.
    with pytest.raises(PayloadTooLarge, match="MiB once decoded"):
        open_image(white_png(9_500, 9_500), max_pixels=100_000_000)
    assert open_image(white_png(6_000, 6_000), max_pixels=100_000_000).size == (1024, 1024)


def test_message_gives_the_real_size() -> None:
    with pytest.raises(PayloadTooLarge, match="the image is 20000x20000 pixels"):
        decode(white_png(20_000, 20_000))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=512) | st.builds(lambda tail: b"\x89PNG\r\n\x1a\n" + tail, st.binary(max_size=512)))
def test_any_bytes_give_features_or_a_dockml_error(data: bytes) -> None:
    try:
        features = decode_image(data, ImageSpec(), max_pixels=MAX_PIXELS)
    except DockmlError:
        return
    assert features.shape == (1, 64)
