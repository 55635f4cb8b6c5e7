"""docs/models.md is the battery's result: each model kind, the runtime `--runtime auto` gave it
(and why a fallback fell back), and what its inputs accept, as the running server describes them.
After a deliberate change: DOCKML_UPDATE_SNAPSHOTS=1 pytest tests/conformance/test_models_doc.py"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from checks import Trained
from zoo import KINDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"

HEAD = """# Model kinds dockml serves

Generated from the conformance battery (`tests/conformance`): every kind below is trained at test
time on data with the features shown, served by a real `dockml serve` with `--runtime auto` and with
`--runtime sklearn`, and checked on held-out rows through JSON records, instances, columns/data,
`?proba=true`, CSV upload (JSON and CSV answers), Open Inference Protocol v2 and `/invocations`:
labels identical to the model's own `predict`, probabilities and values within 1e-5 relative (1e-6
absolute), and the documented 4xx for bad input. Regenerate with
`DOCKML_UPDATE_SNAPSHOTS=1 pytest tests/conformance/test_models_doc.py`.

**Runtime** is what `--runtime auto` chose: `onnx` when the compiled model passed the parity check,
else `sklearn` (the model's own library: scikit-learn, XGBoost, LightGBM or CatBoost), with the
check's reason (abridged). The *boosting* family is served from the libraries' scikit-learn
wrappers saved alone and in pipelines (`.joblib`, `.skops`) and from their native files
(`_native`: XGBoost `.json`/`.ubj`, LightGBM `.txt`, CatBoost `.cbm`). **Inputs** says what the served model takes
beyond plain numbers: *missing* (null, an empty cell: the inputs that allow one), *unknown* (string
inputs that take categories the model never saw), *categories*, *text*, *boolean*. The same kinds
served with `--runtime sklearn` take missing values wherever scikit-learn's `predict` answers for
them; a compiled model may refuse a missing value its graph cannot answer as scikit-learn does.

| model kind | family | task | outputs | runtime (`auto`) | inputs |
|---|---|---|---|---|---|
"""

TAIL = """
## Why a model falls back to its own library

Answers are the same either way; only speed differs (a compiled model answers a one-row request in
about 1 ms; scikit-learn and the boosting libraries take 2 to 30 ms).

- **Tree ensembles whose inputs are scaled or come from an imputer beside string columns**
  (`ordinal_unknown_value`, `mixed_frame_imputed`): ONNX Runtime sums tree votes in float32, so a
  tie (15 of 30 trees) can tip the other way, and a scaled value near a split threshold can round
  across it. The parity check's rows sit on split thresholds and on the short decimals real data
  has, so such a model fails the check and keeps scikit-learn.
- **Multi-output classifiers** and **boolean inputs**: dockml does not compile them yet.
- **Text vectorizers**: the converted tokenizer needs a locale the machine lacks, and its answers
  must match scikit-learn's tokenizer on real text before dockml would use it.
- **CatBoost with categorical features**: CatBoost's ONNX export does not take them (CatBoost
  hashes categories inside the model); such a model is served by CatBoost, and its categorical
  inputs take any string (listed as *text* above: CatBoost records no closed set of categories).
- **Beyond the battery**, found in a review and left to the parity check, which refuses them:
  LightGBM objectives with a link function (poisson, gamma, tweedie), LightGBM's random-forest
  mode, rankers and `zero_as_missing`; XGBoost's `multi:softmax`, `binary:logitraw`,
  `reg:logistic`, `survival:cox`, dart and multi-output models; CatBoost's Poisson and Tweedie.
  Each is served by its own library. (CatBoost models with several targets are refused at start.)

Gradient-boosted trees compile as follows: XGBoost and LightGBM with onnxmltools' converters
(their categorical features coded by a LabelEncoder in the graph, from the categories each model
records), LightGBM in double precision (it compares doubles with double thresholds), CatBoost with
its own ONNX export. XGBoost has no defined answer for a category it never saw (3.2 answers for
some as for a neighbour in sorted order and fails for others), so dockml refuses one with 422;
LightGBM and HistGradientBoosting take it as missing, as they do themselves.

Two things a native file does not record, which dockml therefore cannot know:

- **XGBoost's `missing=` value.** A model trained with `missing=-999` and saved as `.json`/`.ubj`
  takes NaN as missing once loaded (the file keeps no sentinel): send `null` for a missing value,
  never the sentinel (or serve the pickled wrapper, which keeps it).
- **Which LightGBM inputs were pandas `category` columns.** A `.txt` file records the categories
  of its pandas `category` columns in column order, not the columns' names: dockml gives them to
  the model's categorical features in order, which is right for `categorical_feature="auto"` (the
  default), and refuses the model when the counts differ. A model trained with an explicit
  `categorical_feature` list as long as its pandas `category` columns but naming other columns
  cannot be told apart: train such a model with `category` dtype for exactly its categorical
  columns.

`GET /models/NAME` (`details.onnx.reason`) and the log at start say why for any model.
"""


def _inputs(signature: dict[str, Any]) -> str:
    inputs = signature["inputs"]
    notes = []
    kinds = {item["type"] for item in inputs}
    if "string" in kinds:
        texts = [i["name"] for i in inputs if i["type"] == "string" and "categories" not in i]
        if texts:
            notes.append("text: " + ", ".join(texts))
        if any("categories" in i for i in inputs):
            notes.append("categories")
    if "boolean" in kinds:
        notes.append("boolean")
    missing = [i["name"] for i in inputs if i["allows_missing"]]
    if missing:
        notes.append("missing: all" if len(missing) == len(inputs) else "missing: " + ", ".join(missing))
    unknown = [i["name"] for i in inputs if i.get("allows_unknown")]
    if unknown:
        notes.append("unknown: " + ", ".join(unknown))
    return "; ".join(notes) or "numbers"


def _runtime(described: dict[str, Any]) -> str:
    if described["runtime"] == "onnx":
        return "onnx"
    reason = described["details"].get("onnx", {}).get("reason", "")
    first = reason.split(";")[0].split(":", 1)[-1].strip()
    return f"sklearn ({first[:70]})" if first else "sklearn"


def _outputs(signature: dict[str, Any]) -> str:
    output = signature["output"]
    shape = f"{len(output['targets'])} targets" if output.get("targets") else "one"
    return shape + (", probabilities" if output["probabilities"] else "")


def render(described: dict[str, dict[str, Any]]) -> str:
    lines = []
    for kind in KINDS:
        model = described[kind.name]
        signature = model["signature"]
        cells = [kind.name, kind.family, signature["output"]["task"], _outputs(signature), _runtime(model)]
        cells.append(_inputs(signature))
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return HEAD + "\n".join(lines) + "\n" + TAIL


def test_docs_models_md_is_the_batterys_result(zoo: dict[str, Trained], servers: dict[str, Any]) -> None:
    auto = servers["auto"]
    described = {kind.name: auto.session(zoo[kind.name]).describe().json() for kind in KINDS}
    text = render(described)
    if os.environ.get("DOCKML_UPDATE_SNAPSHOTS"):
        DOC.write_text(text)
    assert DOC.read_text() == text, "docs/models.md differs from the battery: regenerate it (see the docstring)"
