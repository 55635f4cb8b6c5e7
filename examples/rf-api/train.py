"""Train the tutorial's random forest on iris and save it for dockml.

python train.py            writes iris_rf.skops and its side file iris_rf.dockml.toml
"""

from pathlib import Path

import pandas as pd
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

# The tutorial's feature names: sepal length and width, petal length and width.
FEATURES = ["s_length", "s_width", "p_length", "p_width"]

iris = load_iris()
X = pd.DataFrame(iris.data, columns=FEATURES)
model = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, iris.target)

here = Path(__file__).parent
# .skops rather than pickle: loading a pickle runs code from the file, loading .skops does not.
sio.dump(model, here / "iris_rf.skops")
# The side file says what the model file cannot: class names, descriptions, examples, and that
# we trust the tree type inside the file (we made it ourselves).
(here / "iris_rf.dockml.toml").write_text(
    """description = "Iris species from four flower measurements (the tutorial's rf-api)."
class_names = ["setosa", "versicolor", "virginica"]
trusted_types = ["sklearn.tree._tree.Tree"]

[inputs.s_length]
description = "Sepal length (cm)"
example = 5.1

[inputs.s_width]
description = "Sepal width (cm)"
example = 3.5

[inputs.p_length]
description = "Petal length (cm)"
example = 1.4

[inputs.p_width]
description = "Petal width (cm)"
example = 0.2
"""
)
print(f"accuracy on the training data: {model.score(X, iris.target):.3f}")
print("wrote iris_rf.skops and iris_rf.dockml.toml")
