"""The bundled demo services, trained from datasets scikit-learn ships (nothing is downloaded).

``iris``: the tutorial's rf-api, a random forest on the four flower measurements.
``digits``: a handwritten-digit classifier for 8x8 pictures, which also takes uploaded images.

They are trained the first time ``dockml serve`` runs without a model (about half a minute) and
saved as .skops files with side files in ``$DOCKML_HOME/demos/v<N>-sklearn-<version>/`` (by default
``~/.cache/dockml/demos/...``); later starts load them from there.
"""

from __future__ import annotations

import importlib.metadata
import io
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dockml.config import ImageSpec, cache_home, write_toml
from dockml.errors import ConfigError

IRIS_FEATURES = ("s_length", "s_width", "p_length", "p_width")
IRIS_DESCRIPTIONS = ("Sepal length (cm)", "Sepal width (cm)", "Petal length (cm)", "Petal width (cm)")
IRIS_EXAMPLE = (5.1, 3.5, 1.4, 0.2)
IRIS_CLASSES = ("setosa", "versicolor", "virginica")
TREE_TYPES = ["sklearn.tree._tree.Tree"]  # we made these files ourselves, so we trust their trees
DIGITS_HELD_OUT = 1500
"""The digits model learns from the first 1,500 of scikit-learn's 1,797 scans; the rest are the
tests' pictures (tests/digit_pictures.py), so its accuracy on them is measured, not remembered."""
DEMOS_VERSION = 2  # part of the cache folder's name: a change in how the demos are trained retrains them

log = logging.getLogger("dockml.demos")


def _save(model: Any, side: Mapping[str, Any], folder: Path, name: str) -> None:
    import skops.io as sio

    # Write to temporary names and rename, so that concurrent starts never see half a file.
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        sio.dump(model, Path(scratch) / f"{name}.skops")
        (Path(scratch) / f"{name}.dockml.toml").write_text(write_toml(side))
        os.replace(Path(scratch) / f"{name}.dockml.toml", folder / f"{name}.dockml.toml")
        os.replace(Path(scratch) / f"{name}.skops", folder / f"{name}.skops")


def train_iris() -> tuple[Any, dict[str, Any]]:
    import pandas as pd
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    data = load_iris()
    frame = pd.DataFrame(data.data, columns=list(IRIS_FEATURES))
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(frame, data.target)
    side: dict[str, Any] = {
        "description": "Iris species from four flower measurements (the tutorial's random-forest rf-api).",
        "class_names": list(IRIS_CLASSES),
        "trusted_types": TREE_TYPES,
    }
    for name, description, example in zip(IRIS_FEATURES, IRIS_DESCRIPTIONS, IRIS_EXAMPLE, strict=True):
        side[f"inputs.{name}"] = {"description": description, "example": example}
    return model, side


def render_digit(pixels: np.ndarray, *, size: int = 64, dark_on_light: bool = False) -> bytes:
    """A PNG of one 8x8 digits sample (0..16 grey levels) scaled up to size x size."""
    from PIL import Image

    grey = (np.asarray(pixels, dtype=np.float64).reshape(8, 8) / 16.0 * 255.0).astype(np.uint8)
    if dark_on_light:
        grey = 255 - grey
    picture = Image.fromarray(grey, mode="L").resize((size, size), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def _varied_digit(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """One 8x8 sample drawn again at a random size, angle and place on a larger page, softened."""
    from PIL import Image, ImageFilter

    grey = (np.asarray(pixels, dtype=np.float64).reshape(8, 8) / 16.0 * 255.0).astype(np.uint8)
    size = int(rng.integers(40, 90))
    digit = Image.fromarray(grey, mode="L").resize((size, size), Image.Resampling.BICUBIC)
    digit = digit.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BICUBIC)
    page = Image.new("L", (128, 128), 0)
    left, top = (int(v) for v in rng.integers(0, 128 - size, size=2))
    page.paste(digit, (left, top))
    page = page.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
    if rng.random() < 0.5:
        page = Image.eval(page, lambda value: 255 - value)
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def train_digits() -> tuple[Any, dict[str, Any]]:
    import pandas as pd
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    from dockml.codecs.image import decode_image

    data = load_digits()
    names = [str(n) for n in data.feature_names]
    pixels, target = data.data[:DIGITS_HELD_OUT], data.target[:DIGITS_HELD_OUT]
    spec = ImageSpec()
    # Train on the raw 8x8 scans and on the same scans as they look after the image path
    # (scaled up, then cropped, centred and shrunk again), so uploaded pictures meet the
    # distribution the model learned.
    seen = [decode_image(render_digit(x), spec, max_pixels=10**6) for x in pixels]
    # And as a camera or a hand would give them: smaller or larger, turned, off-centre, blurred,
    # either polarity, so that a picture that is not a clean scan still meets familiar features.
    rng = np.random.default_rng(0)
    moved = [decode_image(_varied_digit(x, rng), spec, max_pixels=10**6) for x in pixels for _ in range(3)]
    features = pd.DataFrame(np.vstack([pixels, *seen, *moved]), columns=names)
    labels = np.concatenate([target, target, np.repeat(target, 3)])
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(features, labels)
    side = {
        "description": "Handwritten digits 0-9 from an 8x8 grey picture; upload a PNG or JPEG of any size.",
        "trusted_types": TREE_TYPES,
        "examples": [dict(zip(names, data.data[0].tolist(), strict=True))],
        "image": {
            "width": spec.width,
            "height": spec.height,
            "grayscale": spec.grayscale,
            "invert": spec.invert,
            "scale_max": spec.scale_max,
            "crop": spec.crop,
        },
    }
    return model, side


DEMOS = {"iris": train_iris, "digits": train_digits}


def demo_paths(home: Path | None = None) -> dict[str, Path]:
    """Paths of the demo models, training and saving any that are missing."""
    # The version from the package metadata: importing scikit-learn (and SciPy) here would cost
    # the demos' start from the compiled cache 2.1 s and 670 MB instead of 0.75 s and 375 MB.
    try:
        sklearn_version = importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(
            "no model named, and the demo services need scikit-learn: name a model to serve, "
            "or pip install 'dockml[sklearn]'"
        ) from None
    folder = (home or cache_home()) / "demos" / f"v{DEMOS_VERSION}-sklearn-{sklearn_version}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, train in DEMOS.items():
        path = folder / f"{name}.skops"
        if not path.is_file() or not (folder / f"{name}.dockml.toml").is_file():
            log.info("training the demo model %r (first start only: up to half a minute)", name)
            model, side = train()
            _save(model, side, folder, name)
        paths[name] = path
    return paths
