"""scikit-learn estimators and pipelines from .skops (safe) or .joblib/.pkl (only when trusted)."""

from __future__ import annotations

import json
import logging
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from dockml.config import ModelMeta, ModelSpec
from dockml.errors import ConfigError, DockmlError, MissingDependency, UnsafeModelFile
from dockml.models import boosting, probes
from dockml.models.base import LoadedModel, Outputs
from dockml.models.details import Estimator, FeatureNamesFrom, ModelDetails, SklearnFacts, Source
from dockml.models.sklearn_structure import TEXT_INPUT, InputFacts, input_facts, takes_text_only
from dockml.signature import ModelFacts, Signature, Task, build_signature, positional_names

log = logging.getLogger("dockml.models")

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def _require_sklearn() -> Any:
    try:
        import sklearn
    except ImportError:
        raise MissingDependency("scikit-learn models need scikit-learn: pip install 'dockml[sklearn]'") from None
    return sklearn


@dataclass(frozen=True)
class InputAdapter:
    """How a table in signature order becomes what the estimator was trained on: the bare array
    (no feature names), a DataFrame with the training dtypes, or a list of texts (a pipeline
    that starts with a vectorizer)."""

    mode: Literal["array", "frame", "text"]
    names: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    booleans: tuple[str, ...] = ()
    pandas_categories: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    none_is_missing: tuple[str, ...] = ()
    """Columns whose missing value the model learned as None rather than NaN."""

    def __call__(self, table: np.ndarray) -> Any:
        if self.mode == "array":
            return table
        if self.mode == "text":
            return [value if isinstance(value, str) else np.nan for value in table[:, 0].tolist()]
        import pandas as pd

        frame = pd.DataFrame(table, columns=list(self.names))
        if table.dtype == object:
            if self.numeric:
                frame[list(self.numeric)] = frame[list(self.numeric)].astype(np.float64)
            for name in self.booleans:
                if not frame[name].isna().any():
                    frame[name] = frame[name].astype(bool)
            for name in self.none_is_missing:
                column = frame[name].astype(object)
                frame[name] = column.where(column.notna(), None)
        for name, categories in self.pandas_categories.items():
            column = frame[name]
            # Values outside the categories become missing first: pandas will refuse them in the cast.
            frame[name] = column.where(column.isin(categories)).astype(pd.CategoricalDtype(list(categories)))
        return frame


class SklearnRuntime:
    name = "sklearn"

    def __init__(self, estimator: Any, adapter: InputAdapter, *, probabilities: bool) -> None:
        self.estimator = estimator  # public: what base.SklearnBacked promises compile.py
        self.adapter_ = adapter
        self.has_proba_ = probabilities
        self.one_label_column_ = boosting.labels_in_a_column(estimator)

    def predict(self, table: np.ndarray) -> Outputs:
        features = self.adapter_(table)
        labels = np.asarray(self.estimator.predict(features))
        if labels.ndim == 2 and labels.shape[1] == 1 and self.one_label_column_:
            labels = labels[:, 0]
        probabilities = self.estimator.predict_proba(features) if self.has_proba_ else None
        return Outputs(labels=labels, probabilities=probabilities)


def _load_skops(path: Path, trusted: tuple[str, ...]) -> Any:
    try:
        import skops.io as sio
    except ImportError:
        raise MissingDependency(".skops models need skops: pip install 'dockml[sklearn]'") from None
    check_unpacked_size(path)
    try:
        return sio.load(path, trusted=list(trusted))
    except sio.exceptions.UntrustedTypesFoundException:
        # Only the types dockml's configuration names are trusted, never what the file lists.
        untrusted = sio.get_untrusted_types(file=path)
        raise UnsafeModelFile(
            f"{path} contains types that skops does not trust by default: {', '.join(untrusted)}. "
            "If you made this file or trust its source, list the types you reviewed in its side file "
            f"({path.stem}.dockml.toml): trusted_types = {json.dumps(untrusted)}"
        ) from None
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
        raise ConfigError(f"{path} is not a readable .skops file: {error}") from None


MAX_PACKING_RATIO = 200
"""How much smaller than its contents a .skops file may be: model arrays pack 2-20 times, zip bombs 1000."""
MIN_SUSPECT_BYTES = 64 * 1024 * 1024


def check_unpacked_size(path: Path) -> None:
    """Refuse a .skops file (a zip) that unpacks to far more than it holds, before unpacking it.
    The sizes come from the zip's directory, and Python's zipfile never reads past them."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except zipfile.BadZipFile as error:
        raise ConfigError(f"{path} is not a readable .skops file: {error}") from None
    packed = max(1, path.stat().st_size)
    if unpacked > MIN_SUSPECT_BYTES and unpacked > MAX_PACKING_RATIO * packed:
        raise UnsafeModelFile(
            f"{path} unpacks to {unpacked / 2**20:.0f} MiB from {packed / 2**20:.1f} MiB, over {MAX_PACKING_RATIO} "
            "times its size: refusing to load what looks like a zip bomb; save the model again with skops"
        )


def _skops_sklearn_version(path: Path) -> str | None:
    try:
        schema = json.loads(zipfile.ZipFile(path).read("schema.json"))
        node = schema["content"]["content"].get("_sklearn_version")
        return json.loads(node["content"]) if node else None
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return None


def check_pickle_trust(path: Path, trust_pickle: bool) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES and not trust_pickle:
        raise UnsafeModelFile(
            f"{path} is a pickle: loading it runs any code the file contains. Serve it only if you made it "
            "or trust who did, with --trust-pickle (or DOCKML_TRUST_PICKLE=1). Better, convert it once to a "
            f"safe format: dockml convert {path} -o {path.with_suffix('.onnx')} --trust-pickle "
            f"(or -o {path.with_suffix('.skops')})"
        )


def _load_pickle(path: Path, trust_pickle: bool) -> Any:
    check_pickle_trust(path, trust_pickle)
    import joblib

    try:
        return joblib.load(path)
    except ModuleNotFoundError as error:
        library = (error.name or "").split(".")[0]
        if library in boosting.LIBRARIES:
            raise MissingDependency(f"{path} holds a {library} model: pip install 'dockml[{library}]'") from None
        raise


def load_sklearn(spec: ModelSpec, *, trust_pickle: bool) -> LoadedModel[SklearnRuntime]:
    sklearn = _require_sklearn()
    path, meta = spec.path, spec.meta
    saved_with = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if path.suffix.lower() == ".skops":
            estimator = _load_skops(path, meta.trusted_types)
            saved_with = _skops_sklearn_version(path)
        elif path.suffix.lower() in boosting.NATIVE_SUFFIXES:
            estimator = boosting.load_native(path)
        else:
            estimator = _load_pickle(path, trust_pickle)
    for warning in caught:
        saved_with = getattr(warning.message, "original_sklearn_version", saved_with)
    if saved_with and saved_with != sklearn.__version__:
        log.warning(
            "%s was saved with scikit-learn %s but %s is installed; predictions may differ or fail. "
            "Install scikit-learn==%s to match.",
            path,
            saved_with,
            sklearn.__version__,
            saved_with,
        )
    # One thread until a worker serves it (library_threads.py): a thread pool started here would
    # hang the workers forked from this process.
    boosting.use_threads(estimator, 1)
    if not hasattr(estimator, "predict"):
        raise ConfigError(f"{path} holds a {type(estimator).__name__}, not a fitted model with predict()")
    names, names_from = _input_names(estimator, meta, path)
    inputs = input_facts(estimator, names)
    facts = ModelFacts(
        names=names,
        task=_task(estimator),
        kinds=dict.fromkeys([*inputs.categories, *inputs.text, *inputs.open_strings], "string"),
        categories={name: values for name, values in inputs.categories.items() if name not in inputs.text},
        typical=inputs.typical,
    )
    # The side file's class and target names are checked against the outputs once they are known.
    draft = build_signature(facts, replace(meta, class_names=None, target_names=None))
    adapter = _adapter(estimator, names, names_from, draft, inputs)
    facts = _with_outputs(facts, estimator, adapter, draft, path)
    runtime = SklearnRuntime(estimator, adapter, probabilities=facts.probabilities)
    signature = _with_probes(facts, runtime, meta, inputs.unseen_refused)
    libraries = sorted(boosting.libraries_in(estimator))
    details = ModelDetails(
        source=Source(
            format=path.suffix.lower().lstrip("."),
            feature_names_from=names_from,
            estimator=Estimator(
                type(estimator).__name__,
                libraries={name: boosting.installed_version(name) for name in libraries},
                objective=boosting.objective(estimator) if libraries else None,
            ),
        ),
        runtime=SklearnFacts(sklearn_version=sklearn.__version__, saved_with_sklearn=saved_with),
        probabilities=facts.probabilities,
    )
    return LoadedModel(
        runtime=runtime, signature=signature, details=details, ranges=inputs.ranges, boundaries=inputs.boundaries
    )


def _input_names(estimator: Any, meta: ModelMeta, path: Path) -> tuple[list[str], FeatureNamesFrom]:
    """The input names and where they came from: the model, the side file, or their position."""
    feature_names = getattr(estimator, "feature_names_in_", None)
    if feature_names is None:
        feature_names = boosting.feature_names(estimator)
    if feature_names is not None:
        return [str(n) for n in feature_names], "model"
    if takes_text_only(estimator):
        if meta.feature_names is None:
            return [TEXT_INPUT], "text"
        if len(meta.feature_names) != 1:
            raise ConfigError(f"{path} takes one text per row; feature_names must name exactly one input")
        return list(meta.feature_names), "side file"
    count = boosting.feature_count(estimator) or getattr(estimator, "n_features_in_", None)
    if count:
        return positional_names(int(count), meta), "side file" if meta.feature_names else "position"
    if meta.feature_names:
        return list(meta.feature_names), "side file"
    raise ConfigError(f"{path}: cannot tell the model's inputs; list them as feature_names in its side file")


def _task(estimator: Any) -> Task:
    from sklearn.base import is_classifier, is_clusterer, is_outlier_detector

    if is_classifier(estimator):
        return "classification"
    if is_clusterer(estimator):
        return "clustering"
    if is_outlier_detector(estimator):
        return "outlier_detection"
    return "regression"


def _adapter(
    estimator: Any, names: list[str], names_from: FeatureNamesFrom, signature: Signature, inputs: InputFacts
) -> InputAdapter:
    if takes_text_only(estimator):
        return InputAdapter("text")
    if names_from != "model":
        return InputAdapter("array")
    return InputAdapter(
        "frame",
        names=tuple(names),
        numeric=tuple(f.name for f in signature.features if f.kind in ("number", "integer")),
        booleans=tuple(f.name for f in signature.features if f.kind == "boolean"),
        pandas_categories=inputs.pandas_categories,
        none_is_missing=tuple(sorted(inputs.none_is_missing)),
    )


def _with_outputs(
    facts: ModelFacts, estimator: Any, adapter: InputAdapter, signature: Signature, path: Path
) -> ModelFacts:
    """The output shape, classes and probabilities, read from one prediction on the example row."""
    from dockml.codecs.records import decode_records

    try:
        table = decode_records([signature.example_record()], signature)
    except DockmlError as error:
        raise ConfigError(
            f"{path}: its example row is not valid: {error.detail}; fix the examples in its side file"
        ) from None
    features = adapter(table)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labels = np.asarray(estimator.predict(features))
    except Exception as error:
        raise ConfigError(
            f"{path}: the model fails on its own example row ({type(error).__name__}: {_first_line(error)}); "
            "give typical values as [inputs.NAME] example in its side file"
        ) from error
    if labels.ndim == 2 and labels.shape[1] == 1 and boosting.labels_in_a_column(estimator):
        labels = labels[:, 0]
    targets = labels.shape[1] if labels.ndim == 2 else 0
    classes = getattr(estimator, "classes_", None) if facts.task == "classification" else None
    raw_classes: list[Any] = []
    target_classes: list[list[Any]] = []
    if targets and isinstance(classes, list) and len(classes) == targets:
        target_classes = [list(c) for c in classes]
    elif not targets and classes is not None:
        raw_classes = list(classes)
    probabilities = facts.task == "classification" and hasattr(estimator, "predict_proba")
    if probabilities and targets:
        # Multi-output classifiers give one matrix per target; a single matrix would be guessed at.
        probabilities = bool(target_classes)
    return replace(
        facts, raw_classes=raw_classes, targets=targets, target_classes=target_classes, probabilities=probabilities
    )


def _with_probes(facts: ModelFacts, runtime: SklearnRuntime, meta: ModelMeta, unseen_refused: set[str]) -> Signature:
    from dockml.codecs.values import example_table

    signature = build_signature(facts, meta)
    base = example_table(signature)
    missing = probes.missing_allowed(runtime.predict, base, signature.features)
    unknown = probes.unknown_allowed(runtime.predict, base, signature.features) - unseen_refused
    return build_signature(replace(facts, allows_missing=frozenset(missing), allows_unknown=frozenset(unknown)), meta)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:200]
