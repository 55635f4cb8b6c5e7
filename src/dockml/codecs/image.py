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
MAX_DECODED_BYTES = 64 * 1024 * 1024
"""The most memory a picture may take once decoded (RGBA: 4 bytes a pixel), JPEG's draft scale applied."""
WORKING_SIDE = 1024
PROCESSING_SIDE = 256
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
    """Ink as values 0..1 on a zero background.

    A photo's paper is not one grey: light falls off across it. So the paper is modelled as a
    smooth surface fitted to the picture without its ink, and taken away; what stands out of it by
    more than the picture's own threshold (Otsu's, on the histogram of what is left) is ink."""
    border = np.concatenate([grey[0, :], grey[-1, :], grey[:, 0], grey[:, -1]])
    if invert == "true" or (invert == "auto" and float(np.median(border)) > 0.5):
        grey = 1.0 - grey
    paper, noise = _paper(grey)
    ink = np.clip(grey - paper, 0.0, None)
    # Half Otsu's threshold keeps the faint edges of clean strokes; a noisy photo's grain, measured
    # around the fitted paper, sets a floor under it.
    ink = np.where(ink > max(0.5 * _otsu(ink), 5.0 * noise), ink, 0.0)
    strokes = ink[ink > 0]
    if strokes.size == 0:
        return ink
    return np.clip(ink / float(np.percentile(strokes, 99)), 0.0, 1.0)  # a few bright specks set no scale


def _paper(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """The paper under the ink, and its grain (a standard deviation around it).

    Fitted where paper is sure to be: a band along the picture's edges, which a digit, however
    large, crosses only here and there. A quadratic surface (light falling off across the page)
    is fitted to it by least squares, three times, each time without the pixels that stood out of
    the last fit (the ink is bright by now). The grain is read from the darker half of what the
    fit leaves, where there is no ink."""
    height, width = grey.shape
    step = max(1, max(height, width) // 96)
    sample = grey[::step, ::step]
    rows, cols = np.mgrid[0 : sample.shape[0], 0 : sample.shape[1]]
    y, x = rows / sample.shape[0], cols / sample.shape[1]
    band = (np.minimum(y, 1 - y) < 0.08) | (np.minimum(x, 1 - x) < 0.08)
    terms, values = _surface_terms(y[band], x[band]), sample[band]
    keep = np.ones(values.size, dtype=bool)
    coefficients = np.zeros(terms.shape[1])
    for _ in range(3):
        if keep.sum() < 2 * terms.shape[1]:
            break
        coefficients = np.linalg.lstsq(terms[keep], values[keep], rcond=None)[0]
        residual = values - terms @ coefficients
        middle = np.median(residual[keep])
        keep = residual <= middle + 2.5 * (np.median(np.abs(residual[keep] - middle)) * 1.4826 + 1e-3)
    level = float(np.median(values))
    flat_grain, fitted_grain = _grain(values - level), _grain(values - terms @ coefficients)
    if flat_grain <= 1.5 * fitted_grain:  # even paper (a scan, a drawing): the surface would only add error
        return np.full_like(grey, level), flat_grain
    a, b, c, d, e, f = coefficients
    full_y, full_x = (np.arange(height) / height)[:, None], (np.arange(width) / width)[None, :]
    paper = a + b * full_x + c * full_y + d * full_x * full_x + e * full_y * full_y + f * full_x * full_y
    return paper, fitted_grain


def _grain(residual: np.ndarray) -> float:
    """A standard deviation read from the darker half of ``residual``, where no ink is."""
    return max(0.0, float(np.median(residual) - np.percentile(residual, 16)))


def _surface_terms(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    y, x = y.ravel(), x.ravel()
    return np.column_stack([np.ones_like(x), x, y, x * x, y * y, x * y])


def _otsu(values: np.ndarray) -> float:
    """The threshold that best splits ``values`` (0..1) into two classes (Otsu, 1979)."""
    counts, edges = np.histogram(values, bins=128, range=(0.0, max(float(values.max()), 1e-6)))
    weights = np.cumsum(counts).astype(np.float64)
    total = weights[-1]
    centres = (edges[:-1] + edges[1:]) / 2
    sums = np.cumsum(counts * centres)
    below, above = weights, total - weights
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (sums[-1] * below - total * sums) ** 2 / (below * above)
    between[~np.isfinite(between)] = 0
    return float(edges[int(np.argmax(between)) + 1])


def _crop_to_square(ink: np.ndarray) -> np.ndarray:
    # The box holding all but the outer half percent of the ink on each side: a speck of noise in
    # a corner does not stretch it.
    mass = ink.sum()
    if mass <= 0:
        return ink
    rows = _span(ink.sum(axis=1) / mass)
    cols = _span(ink.sum(axis=0) / mass)
    ink = ink[rows[0] : rows[1] + 1, cols[0] : cols[1] + 1]
    height, width = ink.shape
    side = max(height, width)
    square = np.zeros((side, side))
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = ink
    return square


def _span(share: np.ndarray) -> tuple[int, int]:
    cumulative = np.cumsum(share)
    return int(np.searchsorted(cumulative, 0.005)), int(np.searchsorted(cumulative, 0.995))


def decode_image(data: bytes, spec: ImageSpec, *, max_pixels: int) -> np.ndarray:
    """PNG/JPEG bytes -> a (1, width*height) float64 table for the model."""
    picture = open_image(data, max_pixels=max_pixels)
    if not spec.grayscale:
        raise MalformedInput("only greyscale image models are supported")
    # The steps below need a few times the model's pixels, not a photo's millions.
    side = max(PROCESSING_SIDE, 4 * max(spec.width, spec.height))
    if max(picture.size) > side:
        picture = picture.copy()
        picture.thumbnail((side, side), Image.Resampling.BOX)
    ink = _ink(_grey_on_white(picture), spec.invert)
    if spec.crop:
        ink = _crop_to_square(ink)
    small = Image.fromarray((ink * 255.0).astype(np.float32), mode="F").resize(
        (spec.width, spec.height), Image.Resampling.BOX
    )
    pixels = np.asarray(small, dtype=np.float64) / 255.0 * spec.scale_max
    return pixels.reshape(1, -1)
