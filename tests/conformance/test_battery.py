"""The conformance battery (issue 11): every model kind of the zoo, served by a real `dockml serve` with
`--runtime auto` and with `--runtime sklearn`, answers every route as the model itself answers.

One test per model kind x runtime x check. Expected values always come from the trained model's own
predict / predict_proba on the same held-out rows (see checks.py); nothing is hard-coded here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from checks import is_number_column, run_check
from zoo import KINDS, RUNTIMES, Kind

pytestmark = pytest.mark.slow


def cases(where: Callable[[Kind], bool] = lambda kind: True) -> list:
    return [
        pytest.param(kind.name, runtime, id=f"{kind.name}-{runtime}")
        for kind in KINDS
        if where(kind)
        for runtime in RUNTIMES
    ]


def _verify(check: str, name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    session = servers[runtime].session(zoo[name])
    outcome = run_check(check, session)
    assert outcome.ok, outcome.message


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_model_starts(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    failure = servers[runtime].not_started.get(name)
    assert failure is None, f"{name} [--runtime {runtime}] did not start:\n{failure}"


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_signature_inputs(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("signature_inputs", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_signature_output(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("signature_output", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_signature_example_predicts(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("example", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_records(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("records", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_instances(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("instances", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_columns_and_data(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("split", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_proba(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    """Probabilities equal predict_proba's, or 422 for an estimator without predict_proba."""
    _verify("proba", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_csv_upload(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("csv", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_csv_upload_csv_answer(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("csv_text", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_v2_infer(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("v2", name, runtime, zoo, servers)


def _all_numeric(kind: Kind) -> bool:
    test = kind.data().test
    return isinstance(test, np.ndarray) or all(is_number_column(test[c]) for c in test.columns)


@pytest.mark.parametrize(("name", "runtime"), cases(where=_all_numeric))
def test_v2_infer_input_tensor(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("v2_input", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_mlflow_invocations(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("invocations", name, runtime, zoo, servers)


def _refuses_null(kind: Kind) -> bool:
    """A model not built for missing values may still refuse them (which inputs, the signature says)."""
    return not kind.takes_missing and not kind.text_only


@pytest.mark.parametrize(("name", "runtime"), cases(where=_refuses_null))
def test_null_for_a_number_is_refused(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("null_refused", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases(where=lambda kind: kind.unknown_value is not None))
def test_refused_category_is_named(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("unknown_refused", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases(where=lambda kind: kind.unknown_value is not None))
def test_null_for_a_refusing_category_is_refused(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("null_category_refused", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases())
def test_missing_feature_is_refused(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("missing_feature", name, runtime, zoo, servers)


@pytest.mark.parametrize(("name", "runtime"), cases(where=lambda kind: not kind.text_only))
def test_non_number_is_refused(name: str, runtime: str, zoo: dict, servers: dict[str, Any]) -> None:
    _verify("non_number", name, runtime, zoo, servers)
