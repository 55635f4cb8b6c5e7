"""Uploaded pictures -> the feature vector an image model was trained on.

The steps follow how scikit-learn's digits were made: grey levels, ink made bright on a dark
background (whatever the picture's polarity), cut to the ink's bounding box and centred in a
square, shrunk by area averaging, scaled to the training range (0..16 for digits).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dockml.config import ImageSpec
from dockml.errors import MalformedInput, PayloadTooLarge

ALLOWED_FORMATS = ("PNG", "JPEG")
# dockml checks its own, configurable pixel limit right after the header is read and before
# any decoding; Pillow's fixed global limit would otherwise cap it at about 89 million pixels.
Image.MAX_IMAGE_PIXELS = None
_INK_THRESHOLD = 0.2
MAX_DECODED_BYTES = 64 * 1024 * 1024
"""The most memory a picture may take once decoded (RGBA: 4 bytes a pixel), JPEG's draft scale applied."""
WORKING_SIDE = 1024
"""Pictures are shrunk to at most this many pixels a side right after decoding: the model needs a
few, and the float steps below would otherwise cost 8 bytes and more per pixel of a photo."""


def open_image(data: bytes, *, max_pixels: int) -> Image.Image:
    """Open PNG or JPEG bytes, refusing other formats and oversized pictures before decoding."""
    if not data:
        raise MalformedInput("the image file is empty")
    try:
        picture = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise MalformedInput(f"the file is not an image in an accepted format ({', '.join(ALLOWED_FORMATS)})") from None
    except Exception:  # noqa: BLE001 - Pillow's parsers raise many types on corrupt headers (OSError, AttributeError...)
        raise MalformedInput("the image's header is damaged; send a whole PNG or JPEG file") from None
    width, height = picture.size
    if width * height > max_pixels:
        raise PayloadTooLarge(f"the image is {width}x{height} pixels; at most {max_pixels} pixels are accepted")
    # JPEG decodes at 1/2, 1/4 or 1/8 scale when asked first: a 40-megapixel photo never exists whole.
    picture.draft("RGB" if picture.mode not in ("L", "1") else "L", (WORKING_SIDE, WORKING_SIDE))
    decoded = picture.size[0] * picture.size[1] * len(picture.getbands())
    if decoded > MAX_DECODED_BYTES:
        raise PayloadTooLarge(
            f"the image is {width}x{height} pixels in {picture.mode}, {decoded / 2**20:.0f} MiB once decoded; at most "
            f"{MAX_DECODED_BYTES // 2**20} MiB are accepted: send a smaller picture, or a JPEG"
        )
    try:
        picture.load()
        if max(picture.size) > WORKING_SIDE:
            picture.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BOX, reducing_gap=2.0)
    except Exception:  # noqa: BLE001 - as above: a corrupt body can fail in any of Pillow's decoders
        # Pillow's messages name its internals ("broken data stream", OSError): say what to do instead.
        raise MalformedInput("the image's data is damaged or cut short; send a whole PNG or JPEG file") from None
    return picture


def _grey_on_white(picture: Image.Image) -> np.ndarray:
    """Grey levels 0..1; transparent areas (a drawing canvas) count as white paper."""
    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(paper, rgba)
    return np.asarray(ImageOps.grayscale(picture), dtype=np.float64) / 255.0


def _ink(grey: np.ndarray, invert: str) -> np.ndarray:
    """Ink as bright values on a zero background."""
    border = np.concatenate([grey[0, :], grey[-1, :], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if invert == "true" or (invert == "auto" and background > 0.5):
        grey, background = 1.0 - grey, 1.0 - background
    ink = np.clip(grey - background, 0.0, None)
    peak = ink.max()
    return ink / peak if peak > 0 else ink


def _crop_to_square(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero((ink > _INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > _INK_THRESHOLD).any(axis=0))
    if rows.size == 0:
        return ink
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = ink.shape
    side = max(height, width)
    square = np.zeros((side, side))
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = ink
    return square


def decode_image(data: bytes, spec: ImageSpec, *, max_pixels: int) -> np.ndarray:
    """PNG/JPEG bytes -> a (1, width*height) float64 table for the model."""
    picture = open_image(data, max_pixels=max_pixels)
    if not spec.grayscale:
        raise MalformedInput("only greyscale image models are supported")
    ink = _ink(_grey_on_white(picture), spec.invert)
    if spec.crop:
        ink = _crop_to_square(ink)
    small = Image.fromarray((ink * 255.0).astype(np.float32), mode="F").resize(
        (spec.width, spec.height), Image.Resampling.BOX
    )
    pixels = np.asarray(small, dtype=np.float64) / 255.0 * spec.scale_max
    return pixels.reshape(1, -1)
