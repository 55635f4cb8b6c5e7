"""Digit pictures as people take them, generated from scikit-learn's 8x8 digits the demo model
did not learn from: drawn (scaled up), photo-like (grey or tinted paper, uneven light, JPEG noise,
a slight rotation, the digit small and off-centre), light-on-dark, and digits drawn with a font."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from dockml.demos import DIGITS_HELD_OUT


def held_out() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data[DIGITS_HELD_OUT:], data.target[DIGITS_HELD_OUT:]


def _encode(picture: Image.Image, format: str = "PNG", quality: int = 90) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=format, quality=quality)
    return out.getvalue()


def _ink_mask(pixels: np.ndarray, size: int) -> Image.Image:
    """The 8x8 sample as ink strength 0..255, scaled up smoothly as a pen stroke would be."""
    grey = (np.asarray(pixels, dtype=np.float64).reshape(8, 8) / 16.0 * 255.0).astype(np.uint8)
    return Image.fromarray(grey, mode="L").resize((size, size), Image.Resampling.BICUBIC)


def drawn(pixels: np.ndarray) -> bytes:
    """Dark ink on white, 200 x 200: a drawing program's export."""
    return _encode(Image.eval(_ink_mask(pixels, 200), lambda v: 255 - v))


def photo_like(pixels: np.ndarray, rng: np.random.Generator, *, light_on_dark: bool = False) -> bytes:
    """A phone photo of a digit on paper: grey or tinted paper lit unevenly, the digit about a third
    of the frame and off-centre, turned a little, with sensor noise, saved as a JPEG."""
    side = 360
    digit = _ink_mask(pixels, int(rng.integers(100, 160))).rotate(float(rng.uniform(-12, 12)), resample=Image.BICUBIC)
    canvas = Image.new("L", (side, side), 0)
    left, top = (int(v) for v in rng.integers(30, side - digit.width - 30, size=2))
    canvas.paste(digit, (left, top))
    ink = np.asarray(canvas.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float64) / 255.0
    y, x = np.mgrid[0:side, 0:side] / side
    angle = rng.uniform(0, 2 * np.pi)
    light = rng.uniform(0.55, 0.85) + rng.uniform(0.15, 0.3) * ((x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle))
    contrast = rng.uniform(0.35, 0.6)
    grey = light * (1 - contrast * ink) if not light_on_dark else 0.25 * light + contrast * ink
    grey = grey + rng.normal(0, 0.03, grey.shape)
    tint = rng.uniform(0.85, 1.0, size=3)
    rgb = np.clip(grey[..., None] * tint * 255.0, 0, 255).astype(np.uint8)
    return _encode(Image.fromarray(rgb, mode="RGB"), "JPEG", quality=int(rng.integers(60, 85)))


def font_drawn(digit: int, size: int = 160) -> bytes:
    """The digit in Pillow's own font, dark on white."""
    picture = Image.new("L", (size, size), 255)
    font = ImageFont.load_default(size=int(size * 0.7))
    ImageDraw.Draw(picture).text((size / 2, size / 2), str(digit), fill=0, font=font, anchor="mm")
    return _encode(picture)


def corpus(kind: str, seed: int = 0) -> Iterator[tuple[bytes, int]]:
    """(picture, the digit it shows) for every held-out sample, or the ten font digits."""
    if kind == "font":
        for digit in range(10):
            yield font_drawn(digit), digit
        return
    rng = np.random.default_rng(seed)
    for pixels, digit in zip(*held_out(), strict=True):
        if kind == "drawn":
            yield drawn(pixels), int(digit)
        elif kind == "photo":  # two photos of each: one per digit would leave the figure to chance
            yield photo_like(pixels, rng), int(digit)
            yield photo_like(pixels, rng), int(digit)
        elif kind == "light-on-dark":
            yield photo_like(pixels, rng, light_on_dark=True), int(digit)
        else:
            raise ValueError(kind)
