"""Train a handwritten-digit classifier that takes pictures, and save it for dockml.

    python train.py            writes digits_rf.skops and its side file digits_rf.dockml.toml

scikit-learn's digits are 8x8 grey levels from 0 (paper) to 16 (ink). dockml turns an uploaded
picture of any size into the same 8x8 grid (the [image] table of the side file says how), so the
model is trained on the scans and on the scans as they look after that path.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier

from dockml.codecs.image import decode_image
from dockml.config import ImageSpec
from dockml.demos import render_digit

digits = load_digits()
names = [str(name) for name in digits.feature_names]
spec = ImageSpec(width=8, height=8, grayscale=True, invert="auto", scale_max=16.0, crop=True)
as_uploaded = np.vstack([decode_image(render_digit(x), spec, max_pixels=10**6) for x in digits.data])
X = pd.DataFrame(np.vstack([digits.data, as_uploaded]), columns=names)
y = np.concatenate([digits.target, digits.target])
model = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)

here = Path(__file__).parent
sio.dump(model, here / "digits_rf.skops")
(here / "digits_rf.dockml.toml").write_text(
    """description = "Handwritten digits 0-9: upload a PNG or JPEG picture of one digit."
trusted_types = ["sklearn.tree._tree.Tree"]

[image]
width = 8
height = 8
grayscale = true
invert = "auto"      # dark ink on light paper, or light on dark: either works
scale_max = 16.0     # the digits scans use grey levels 0..16
crop = true          # cut to the ink and centre it, as the scans were
"""
)
# A sample picture to upload: the first "7" of the dataset, dark on light, 128x128.
seven = digits.data[np.flatnonzero(digits.target == 7)[0]]
(here / "seven.png").write_bytes(render_digit(seven, size=128, dark_on_light=True))
print("wrote digits_rf.skops, digits_rf.dockml.toml and seven.png")
