"""The conformance checks, shared by the battery (test_battery.py) and the survey (survey.py).

Every check sends the held-out rows of one trained zoo model to a running `dockml serve` by one route
and compares the answer with what the model itself gives on the same rows (``predict`` and
``predict_proba``, computed in this process). A check returns an ``Outcome``; the battery asserts on
it and the survey tabulates it.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from zoo import Data, Kind, as_model_input

from dockml.config import Settings

RTOL, ATOL = 1e-5, 1e-6
# Probabilities in dockml's JSON answers are rounded (V2 tensors are not): half a unit of the last place more.
ROUNDED_ATOL = ATOL + 0.5 * 10.0 ** -Settings().probability_decimals
TIMEOUT_S = 30.0


# ------------------------------------------------------------------------------------- trained models


@dataclass(eq=False)
class Trained:
    """A zoo model trained in this process, saved for dockml, with its own answers on the held-out rows."""

    kind: Kind
    model: Any
    data: Data
    path: Path
    labels: list[Any]
    """``model.predict(held_out).tolist()``: one entry per row (a list per row for several outputs)."""
    answers_missing: frozenset[str]
    """The inputs for which the model itself answers when the value is missing (NaN)."""
    probabilities: np.ndarray | list[np.ndarray] | None
    """``model.predict_proba(held_out)``: a matrix, or one matrix per target for several outputs."""

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def classes(self) -> list[Any] | list[list[Any]] | None:
        """classes_ of the estimator (a list per target for several outputs), None for non-classifiers."""
        if self.kind.task != "classification":
            return None
        classes = self.model.classes_
        if self.kind.multi_output:
            return [np.asarray(c).tolist() for c in classes]
        return np.asarray(classes).tolist()

    @property
    def targets(self) -> list[str]:
        """dockml's default target names of a model with several outputs: "0", "1", ..."""
        return [str(i) for i in range(len(self.labels[0]))] if self.kind.multi_output else []


def train(kind: Kind, folder: Path) -> Trained:
    """Fit ``kind``, save it as .joblib (or .skops with a side file trusting its types) and ask it for answers."""
    model, data = kind.fit()
    held_out = as_model_input(kind, data.test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. LocalOutlierFactor warns about feature names on its own frame
        labels = np.asarray(model.predict(held_out)).tolist()
        probabilities = model.predict_proba(held_out) if hasattr(model, "predict_proba") else None
    assert hasattr(model, "predict_proba") == kind.has_proba, f"zoo entry {kind.name}: has_proba is wrong"
    path = save(kind.name, model, kind.save_as, folder, kind.side_file, kind.native_suffix)
    return Trained(kind, model, data, path, labels, _answers_missing(kind, model, data), probabilities)


def _answers_missing(kind: Kind, model: Any, data: Data) -> frozenset[str]:
    """Ask the model: a held-out row with one input missing at a time, does predict answer?"""
    if kind.text_only:
        return frozenset()
    test = data.test if isinstance(data.test, pd.DataFrame) else pd.DataFrame(data.test)
    names = list(test.columns) if isinstance(data.test, pd.DataFrame) else [f"x{i}" for i in range(test.shape[1])]
    answered = set()
    for position, name in enumerate(names):
        row = test.iloc[:1].copy()
        if pd.api.types.is_bool_dtype(row.iloc[:, position]):  # a bool column holds no NaN
            row[row.columns[position]] = row.iloc[:, position].astype(object)
        row.iloc[0, position] = np.nan
        rows = row if isinstance(data.test, pd.DataFrame) else row.to_numpy()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                answer = np.asarray(model.predict(rows))
        except Exception:  # noqa: BLE001 - ValueError from scikit-learn, CatBoostError from CatBoost, ...
            continue
        if answer.dtype.kind != "f" or np.isfinite(answer).all():
            answered.add(name)
    return frozenset(answered)


def save(name: str, model: Any, fmt: str, folder: Path, side_file: str = "", native_suffix: str = "") -> Path:
    if fmt == "native":
        path = folder / f"{name}{native_suffix}"
        # LightGBM's wrapper saves nothing itself: its booster writes the text file.
        getattr(model, "booster_", model).save_model(str(path))
    elif fmt == "skops":
        import skops.io as sio

        path = folder / f"{name}.skops"
        sio.dump(model, path)
        trusted = sio.get_untrusted_types(file=path)
        listed = ", ".join(f'"{t}"' for t in trusted)
        side_file = f"trusted_types = [{listed}]\n" + side_file
    else:
        import joblib

        path = folder / f"{name}.joblib"
        joblib.dump(model, path)
    if side_file:
        (folder / f"{name}.dockml.toml").write_text(side_file)
    return path


# ------------------------------------------------------------------------------------- wire formats


def wire_frame(trained: Trained, signature: dict[str, Any] | None) -> pd.DataFrame:
    """The held-out rows as a client sends them: named columns (x0..x{n-1} for a bare array; for a
    text-only pipeline, the one input the signature names)."""
    test = trained.data.test
    if isinstance(test, np.ndarray):
        return pd.DataFrame(test, columns=[f"x{i}" for i in range(test.shape[1])])
    if trained.kind.text_only:
        names = [item.get("name") for item in (signature or {}).get("inputs", [])]
        assert len(names) == 1, f"a text-only pipeline should have exactly one input; the signature lists {names}"
        return test.set_axis([names[0]], axis=1)
    return test


def json_value(value: Any) -> Any:
    """A cell as JSON: null for a missing value, true/false for booleans, plain numbers and strings."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if math.isnan(value) else float(value)
    return str(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(frame.columns)
    return [
        {c: json_value(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.astype(object).itertuples(index=False)
    ]


def rows(frame: pd.DataFrame, columns: list[str]) -> list[list[Any]]:
    return [[json_value(v) for v in row] for row in frame[columns].astype(object).itertuples(index=False)]


def signature_order(frame: pd.DataFrame, signature: dict[str, Any] | None) -> list[str]:
    """The feature order the server declares (its "instances" order), else the frame's."""
    names = [item.get("name") for item in (signature or {}).get("inputs", [])]
    return names if sorted(names) == sorted(frame.columns) else list(frame.columns)


def is_number_column(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def is_string_column(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


# ---------------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Outcome:
    """What one check found. ``status`` is "match", "mismatch", "skip" or the HTTP status that came back."""

    status: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("match", "skip")


def _match() -> Outcome:
    return Outcome("match")


def _unexpected(response: httpx.Response, wanted: int, what: str) -> Outcome:
    return Outcome(
        str(response.status_code), f"{what}: HTTP {response.status_code} (wanted {wanted}): {_body(response)}"
    )


def _body(response: httpx.Response, limit: int = 400) -> str:
    text = response.text
    return text if len(text) <= limit else text[:limit] + "..."


def same_label(got: Any, want: Any) -> bool:
    """Labels are equal and of the same JSON kind (a string is not a number, 1.0 is not 1, true is not 1)."""
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, str) or isinstance(got, str):
        return isinstance(got, str) and isinstance(want, str) and got == want
    if isinstance(want, float) != isinstance(got, float):
        return False
    return got == want


def close(got: Any, want: float, atol: float = ATOL) -> bool:
    if isinstance(got, bool) or not isinstance(got, int | float):
        return False
    return bool(np.isclose(got, want, rtol=RTOL, atol=atol))


def same_value(trained: Trained, got: Any, want: Any) -> bool:
    return close(got, want) if trained.kind.task == "regression" else same_label(got, want)


def compare_predictions(trained: Trained, got: Any, what: str, *, rows_sent: list[int] | None = None) -> Outcome:
    """``got`` against the model's own predictions on the held-out rows (or the rows ``rows_sent``)."""
    want_all = trained.labels
    want = want_all if rows_sent is None else [want_all[i] for i in rows_sent]
    if not isinstance(got, list):
        return Outcome("mismatch", f"{what}: predictions is {type(got).__name__}, not a list: {str(got)[:200]}")
    if len(got) != len(want):
        return Outcome("mismatch", f"{what}: {len(got)} predictions for {len(want)} rows; first: {got[:3]}")
    differ = []
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if trained.kind.multi_output:
            equal = (
                isinstance(g, list)
                and len(g) == len(w)
                and all(same_value(trained, a, b) for a, b in zip(g, w, strict=True))
            )
        else:
            equal = same_value(trained, g, w)
        if not equal:
            differ.append(i)
    if differ:
        i = differ[0]
        return Outcome(
            "mismatch",
            f"{what}: {len(differ)} of {len(want)} rows differ; first at row {i}: got {got[i]!r}, "
            f"the model gives {want[i]!r}",
        )
    return _match()


def expected_probabilities(trained: Trained) -> list[dict[str, Any]]:
    """Per row {str(class): p}, or for several outputs {target: {str(class): p}}."""
    classes = trained.classes
    if trained.kind.multi_output:
        assert isinstance(trained.probabilities, list)
        out = []
        for row in range(len(trained.labels)):
            out.append(
                {
                    target: {str(c): float(p) for c, p in zip(classes[t], trained.probabilities[t][row], strict=True)}
                    for t, target in enumerate(trained.targets)
                }
            )
        return out
    assert trained.probabilities is not None
    return [{str(c): float(p) for c, p in zip(classes, row, strict=True)} for row in trained.probabilities]


def _same_distribution(got: Any, want: dict[str, float]) -> bool:
    return (
        isinstance(got, dict)
        and sorted(got) == sorted(want)
        and all(close(got[key], value, ROUNDED_ATOL) for key, value in want.items())
    )


def compare_probabilities(trained: Trained, got: Any, what: str) -> Outcome:
    want = expected_probabilities(trained)
    if not isinstance(got, list) or len(got) != len(want):
        return Outcome("mismatch", f"{what}: probabilities should be a list of {len(want)} rows; got {str(got)[:200]}")
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if trained.kind.multi_output:
            equal = isinstance(g, dict) and sorted(g) == sorted(w) and all(_same_distribution(g[t], w[t]) for t in w)
        else:
            equal = _same_distribution(g, w)
        if not equal:
            return Outcome(
                "mismatch", f"{what}: probabilities differ first at row {i}: got {g!r}, the model gives {w!r}"
            )
    return _match()


# ------------------------------------------------------------------------------------------- checks


class Session:
    """One model on one running server: its base URL, its signature as the server describes it."""

    def __init__(self, client: httpx.Client, trained: Trained, runtime: str) -> None:
        self.client = client
        self.trained = trained
        self.runtime = runtime
        self.base = f"/models/{trained.name}"
        self._described: httpx.Response | None = None

    def describe(self) -> httpx.Response:
        if self._described is None:
            self._described = self.client.get(self.base)
        return self._described

    @property
    def signature(self) -> dict[str, Any] | None:
        response = self.describe()
        if response.status_code != 200:
            return None
        signature = response.json().get("signature")
        return signature if isinstance(signature, dict) else None

    def frame(self) -> pd.DataFrame:
        return wire_frame(self.trained, self.signature)

    def label(self, route: str) -> str:
        return f"{self.trained.name} [--runtime {self.runtime}] {route}"

    def post_predict(self, body: Any, *, proba: bool = False) -> httpx.Response:
        return self.client.post(f"{self.base}/predict", params={"proba": "true"} if proba else None, json=body)


def _predictions(session: Session, response: httpx.Response, what: str, **kwargs: Any) -> Outcome:
    if response.status_code != 200:
        return _unexpected(response, 200, what)
    return compare_predictions(session.trained, response.json().get("predictions"), what, **kwargs)


def check_records(session: Session) -> Outcome:
    return _predictions(session, session.post_predict(records(session.frame())), session.label("POST predict records"))


def check_instances(session: Session) -> Outcome:
    frame = session.frame()
    body = {"instances": rows(frame, signature_order(frame, session.signature))}
    return _predictions(session, session.post_predict(body), session.label("POST predict instances"))


def check_split(session: Session) -> Outcome:
    frame = session.frame()
    columns = list(reversed(frame.columns))  # any order, the names say which is which
    body = {"columns": columns, "data": rows(frame, columns)}
    return _predictions(session, session.post_predict(body), session.label("POST predict columns/data"))


def check_proba(session: Session) -> Outcome:
    what = session.label("POST predict?proba=true")
    response = session.post_predict(records(session.frame()), proba=True)
    if not session.trained.kind.has_proba:
        if response.status_code == 422:
            return _match()
        return _unexpected(response, 422, f"{what} (the estimator has no predict_proba)")
    if response.status_code != 200:
        return _unexpected(response, 200, what)
    body = response.json()
    outcome = compare_predictions(session.trained, body.get("predictions"), what)
    if not outcome.ok:
        return outcome
    return compare_probabilities(session.trained, body.get("probabilities"), what)


def csv_upload(session: Session) -> tuple[bytes, pd.DataFrame]:
    """The held-out rows as a CSV file with a header, as pandas writes it (0,1,2... for a bare array)."""
    test = session.trained.data.test
    frame = pd.DataFrame(test) if isinstance(test, np.ndarray) else session.frame()
    return frame.to_csv(index=False).encode(), frame


def check_csv(session: Session) -> Outcome:
    content, _ = csv_upload(session)
    response = session.client.post(f"{session.base}/predict_file", files={"file": ("rows.csv", content, "text/csv")})
    return _predictions(session, response, session.label("POST predict_file (JSON answer)"))


def _cell_matches(trained: Trained, cell: str, want: Any) -> bool:
    if isinstance(want, bool):
        return cell.lower() == str(want).lower()
    if isinstance(want, float):
        try:
            return close(float(cell), want)
        except ValueError:
            return False
    return cell == str(want)


def check_csv_text(session: Session) -> Outcome:
    what = session.label("POST predict_file (Accept: text/csv)")
    content, frame = csv_upload(session)
    response = session.client.post(
        f"{session.base}/predict_file",
        files={"file": ("rows.csv", content, "text/csv")},
        headers={"Accept": "text/csv"},
    )
    if response.status_code != 200:
        return _unexpected(response, 200, what)
    table = list(csv.reader(io.StringIO(response.text, newline="")))
    header, body = table[0], [row for row in table[1:] if row]
    trained = session.trained
    outputs = [f"prediction_{t}" for t in trained.targets] if trained.kind.multi_output else ["prediction"]
    inputs = [str(c) for c in frame.columns]
    if header[: len(inputs)] not in (inputs, list(session.frame().columns)) or header[len(inputs) :] != outputs:
        return Outcome("mismatch", f"{what}: header {header[:8]}... should be the input columns, then {outputs}")
    if len(body) != len(trained.labels):
        return Outcome("mismatch", f"{what}: {len(body)} rows answered for {len(trained.labels)} rows sent")
    for i, (row, want) in enumerate(zip(body, trained.labels, strict=True)):
        cells = row[len(inputs) :]
        wants = want if trained.kind.multi_output else [want]
        if len(cells) != len(wants) or not all(_cell_matches(trained, c, w) for c, w in zip(cells, wants, strict=True)):
            return Outcome("mismatch", f"{what}: row {i}: prediction cells {cells}, the model gives {wants}")
    return _match()


def _v2_tensor(name: str, series: pd.Series) -> dict[str, Any]:
    values = [[json_value(v)] for v in series.astype(object)]
    if pd.api.types.is_bool_dtype(series):
        datatype = "BOOL"
    elif is_number_column(series):
        datatype = "FP64"
        values = [[None if v is None else float(v)] for (v,) in values]
    else:
        datatype = "BYTES"
    return {"name": name, "shape": [len(values), 1], "datatype": datatype, "data": values}


def complete_rows(frame: pd.DataFrame) -> list[int]:
    return [i for i, missing in enumerate(frame.isna().any(axis=1)) if not missing]


def all_numeric(frame: pd.DataFrame) -> bool:
    return all(is_number_column(frame[c]) for c in frame.columns)


def check_v2(session: Session) -> Outcome:
    """One tensor per feature, [rows, 1]: BYTES for strings, BOOL for booleans, FP64 for numbers."""
    frame = session.frame()
    return _v2(session, "POST v2 infer, a tensor per feature", [_v2_tensor(c, frame[c]) for c in frame.columns])


def check_v2_input(session: Session) -> Outcome:
    """All-numeric models: the one tensor "input", [rows, n_features] in signature order."""
    frame = session.frame()
    if not all_numeric(frame):
        return Outcome("skip", "not every feature is a number")
    order = signature_order(frame, session.signature)
    tensor = {"name": "input", "shape": [len(frame), len(order)], "datatype": "FP64", "data": rows(frame, order)}
    return _v2(session, "POST v2 infer, the tensor 'input'", [tensor])


def _v2(session: Session, route: str, tensors: list[dict[str, Any]]) -> Outcome:
    what = session.label(route)
    trained = session.trained
    keep = complete_rows(session.frame())  # JSON tensors cannot carry NaN: the rows without a missing value
    inputs = [t | {"shape": [len(keep), t["shape"][1]], "data": [t["data"][i] for i in keep]} for t in tensors]
    response = session.client.post(f"/v2/models/{trained.name}/infer", json={"inputs": inputs})
    if response.status_code != 200:
        return _unexpected(response, 200, what)
    outputs = {item.get("name"): item for item in response.json().get("outputs", [])}
    name = "value" if trained.kind.task == "regression" else "label"
    if name not in outputs:
        return Outcome("mismatch", f"{what}: no output '{name}' among {sorted(outputs)}")
    tensor = outputs[name]
    width = len(trained.targets)
    shape = [len(keep), width] if trained.kind.multi_output else [len(keep)]
    if list(tensor.get("shape", [])) != shape:
        return Outcome("mismatch", f"{what}: output '{name}' has shape {tensor.get('shape')}, expected {shape}")
    data = list(tensor["data"])
    got = [data[i * width : (i + 1) * width] for i in range(len(keep))] if trained.kind.multi_output else data
    outcome = compare_predictions(trained, got, f"{what} (the {len(keep)} rows without missing values)", rows_sent=keep)
    if not outcome.ok or not trained.kind.has_proba or trained.kind.multi_output:
        return outcome
    if "probabilities" not in outputs:
        return Outcome("mismatch", f"{what}: no output 'probabilities' among {sorted(outputs)}")
    matrix = outputs["probabilities"]
    want = np.asarray(trained.probabilities)[keep]
    if list(matrix.get("shape", [])) != list(want.shape):
        return Outcome(
            "mismatch", f"{what}: probabilities have shape {matrix.get('shape')}, expected {list(want.shape)}"
        )
    got_matrix = np.asarray(matrix["data"], dtype=float).reshape(want.shape)
    if not np.allclose(got_matrix, want, rtol=RTOL, atol=ATOL):
        row = int(np.argwhere(~np.isclose(got_matrix, want, rtol=RTOL, atol=ATOL))[0][0])
        return Outcome(
            "mismatch",
            f"{what}: probabilities differ first at row {keep[row]}: got {got_matrix[row].tolist()}, "
            f"the model gives {want[row].tolist()}",
        )
    return _match()


def check_invocations(session: Session) -> Outcome:
    frame = session.frame()
    columns = list(frame.columns)
    body = {"dataframe_split": {"columns": columns, "data": rows(frame, columns)}}
    response = session.client.post(f"{session.base}/invocations", json=body)
    return _predictions(session, response, session.label("POST invocations dataframe_split"))


# ------------------------------------------------------------------------------------ the signature


def _expected_type(series: pd.Series) -> set[str]:
    if pd.api.types.is_bool_dtype(series):
        return {"boolean"}
    if pd.api.types.is_integer_dtype(series):
        return {"integer", "number"}
    if is_number_column(series):
        return {"number"}
    return {"string"}


def check_signature_inputs(session: Session) -> Outcome:
    what = session.label("GET models/NAME signature.inputs")
    response = session.describe()
    if response.status_code != 200:
        return _unexpected(response, 200, what)
    signature = session.signature
    if signature is None or not isinstance(signature.get("inputs"), list):
        return Outcome("mismatch", f"{what}: no signature.inputs in {_body(response)}")
    trained, kind = session.trained, session.trained.kind
    frame = session.frame()
    names = [item.get("name") for item in signature["inputs"]]
    if names != list(frame.columns):
        return Outcome("mismatch", f"{what}: inputs {names}, the model takes {list(frame.columns)}")
    problems = []
    train = trained.data.train
    for item in signature["inputs"]:
        name = item["name"]
        series = frame[name]
        if item.get("type") not in _expected_type(series):
            problems.append(
                f"{name}: type {item.get('type')!r}, expected {' or '.join(sorted(_expected_type(series)))}"
            )
        if "example" not in item:
            problems.append(f"{name}: no example")
        if not isinstance(item.get("allows_missing"), bool):
            problems.append(f"{name}: allows_missing is {item.get('allows_missing')!r}, not a boolean")
        elif kind.takes_missing and not item["allows_missing"]:
            problems.append(f"{name}: allows_missing is false but the model is built for missing values")
        elif item["allows_missing"] and name not in trained.answers_missing:
            problems.append(f"{name}: allows_missing is true, but the model cannot take a missing {name}")
        elif session.runtime == "sklearn" and not item["allows_missing"] and name in trained.answers_missing:
            # Compiled to ONNX, a model may refuse what its graph cannot answer as scikit-learn does.
            problems.append(f"{name}: allows_missing is false, but scikit-learn's model takes a missing {name}")
        if name in kind.categories:
            known = sorted({str(v) for v in pd.Series(train[name]).dropna()})
            got = item.get("categories")
            # a model trained on None has None among its encoder's categories: that is allows_missing's to say
            if not isinstance(got, list) or sorted(str(c) for c in got if c is not None) != known:
                problems.append(f"{name}: categories {got!r}, the model knows {known}")
        if "categories" in item and not isinstance(item.get("allows_unknown"), bool):
            problems.append(f"{name}: has categories but allows_unknown is {item.get('allows_unknown')!r}")
        elif name in kind.unknown_ok and item.get("allows_unknown") is not kind.unknown_ok[name]:
            problems.append(
                f"{name}: allows_unknown is {item.get('allows_unknown')!r}, expected {kind.unknown_ok[name]}"
            )
    if problems:
        return Outcome("mismatch", f"{what}: " + "; ".join(problems[:6]) + (" ..." if len(problems) > 6 else ""))
    return _match()


def check_signature_output(session: Session) -> Outcome:
    what = session.label("GET models/NAME signature.output")
    response = session.describe()
    if response.status_code != 200:
        return _unexpected(response, 200, what)
    output = (session.signature or {}).get("output")
    if not isinstance(output, dict):
        return Outcome("mismatch", f"{what}: no signature.output in {_body(response)}")
    trained, kind = session.trained, session.trained.kind
    problems = []
    if output.get("task") != kind.task:
        problems.append(f"task {output.get('task')!r}, expected {kind.task!r}")
    if kind.task == "classification" and not kind.multi_output and output.get("classes") != trained.classes:
        problems.append(f"classes {output.get('classes')!r}, the model has {trained.classes!r}")
    if kind.multi_output and output.get("targets") != trained.targets:
        problems.append(f"targets {output.get('targets')!r}, expected {trained.targets!r}")
    if output.get("probabilities") is not kind.has_proba:
        problems.append(
            f"probabilities {output.get('probabilities')!r}, the estimator's predict_proba: {kind.has_proba}"
        )
    if problems:
        return Outcome("mismatch", f"{what}: " + "; ".join(problems))
    return _match()


def check_example(session: Session) -> Outcome:
    """The example the signature shows is a record the model answers."""
    what = session.label("POST predict with the signature's examples")
    signature = session.signature
    if signature is None:
        return _unexpected(session.describe(), 200, what)
    record = {item["name"]: item.get("example") for item in signature.get("inputs", [])}
    response = session.post_predict(record)
    if response.status_code != 200:
        return _unexpected(response, 200, what)
    got = response.json().get("predictions")
    if not isinstance(got, list) or len(got) != 1:
        return Outcome("mismatch", f"{what}: predictions {str(got)[:200]}, expected one")
    return _match()


# ------------------------------------------------------------------------------------ refused input


def _number_column(frame: pd.DataFrame) -> str | None:
    return next((c for c in frame.columns if is_number_column(frame[c])), None)


def _refused(session: Session, record: dict[str, Any], name: str, what: str) -> Outcome:
    response = session.post_predict([record])
    if response.status_code != 422:
        return _unexpected(response, 422, what)
    detail = response.json().get("detail", "") if response.headers.get("content-type", "").endswith("json") else ""
    if name not in str(detail):
        return Outcome("mismatch", f"{what}: 422, but its detail does not name {name!r}: {detail!r}")
    return _match()


def check_null_refused(session: Session) -> Outcome:
    """null for a number the served model does not take missing is 422 naming the feature."""
    frame = session.frame()
    refusing = {
        item["name"] for item in (session.signature or {}).get("inputs", []) if item.get("allows_missing") is False
    }
    column = next((c for c in frame.columns if c in refusing and is_number_column(frame[c])), None)
    if column is None:
        return Outcome("skip", "every number input takes a missing value (checked with the held-out rows)")
    record = records(frame.iloc[:1])[0] | {column: None}
    return _refused(session, record, column, session.label(f"POST predict with {column}=null"))


def check_unknown_refused(session: Session) -> Outcome:
    """A category the encoder refuses (handle_unknown="error") is 422 naming the value."""
    if session.trained.kind.unknown_value is None:
        return Outcome("skip", "no encoder here refuses unknown categories")
    column, value = session.trained.kind.unknown_value
    record = records(session.frame().iloc[:1])[0] | {column: value}
    return _refused(session, record, value, session.label(f"POST predict with {column}={value!r}"))


def check_null_category_refused(session: Session) -> Outcome:
    """null for a category whose encoder refuses what it never saw (NaN included) is 422 naming the feature."""
    if session.trained.kind.unknown_value is None or session.trained.kind.takes_missing:
        return Outcome("skip", "no encoder here refuses unknown categories")
    column, _ = session.trained.kind.unknown_value
    record = records(session.frame().iloc[:1])[0] | {column: None}
    return _refused(session, record, column, session.label(f"POST predict with {column}=null"))


def check_missing_feature(session: Session) -> Outcome:
    frame = session.frame()
    column = frame.columns[0]
    record = {k: v for k, v in records(frame.iloc[:1])[0].items() if k != column}
    return _refused(session, record, column, session.label(f"POST predict without {column}"))


def check_non_number(session: Session) -> Outcome:
    frame = session.frame()
    column = _number_column(frame)
    if column is None:
        return Outcome("skip", "the model takes no number")
    record = records(frame.iloc[:1])[0] | {column: "lots"}
    return _refused(session, record, column, session.label(f"POST predict with {column}='lots'"))


CHECKS: dict[str, Callable[[Session], Outcome]] = {
    "signature_inputs": check_signature_inputs,
    "signature_output": check_signature_output,
    "example": check_example,
    "records": check_records,
    "instances": check_instances,
    "split": check_split,
    "proba": check_proba,
    "csv": check_csv,
    "csv_text": check_csv_text,
    "v2": check_v2,
    "v2_input": check_v2_input,
    "invocations": check_invocations,
    "null_refused": check_null_refused,
    "unknown_refused": check_unknown_refused,
    "null_category_refused": check_null_category_refused,
    "missing_feature": check_missing_feature,
    "non_number": check_non_number,
}


def run_check(name: str, session: Session) -> Outcome:
    """One check, with a broken exchange (a closed connection, a body that is not JSON) reported as such."""
    try:
        return CHECKS[name](session)
    except httpx.HTTPError as error:
        return Outcome("no answer", f"{session.label(name)}: {type(error).__name__}: {error}")
    except ValueError as error:  # a body that is not JSON
        return Outcome("bad body", f"{session.label(name)}: {type(error).__name__}: {error}")
