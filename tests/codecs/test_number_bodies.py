"""The bodies nearly every client sends, read in one C call: the same table as the general path
(codecs/records.py) whenever they are taken, and anything else left to it."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_records import AGES, IRIS, MIXED, finite, json_values

from dockml.codecs.number_bodies import NumberBodies
from dockml.codecs.records import decode_json
from dockml.signature import Feature, Signature


def decode_number_body(body: bytes, signature: Signature) -> np.ndarray | None:
    bodies = NumberBodies.of(signature)
    return bodies.decode(body) if bodies is not None else None


number_values = st.integers(-(2**63), 2**64 - 1) | finite | st.none() | st.booleans() | st.text(max_size=3)
number_records = st.dictionaries(st.sampled_from([*IRIS.names, "other"]), number_values, min_size=3, max_size=5)
number_rows = st.lists(st.lists(number_values, min_size=3, max_size=5), max_size=4)
number_bodies = (
    number_records
    | number_rows
    | st.fixed_dictionaries({"instances": number_rows})
    | st.fixed_dictionaries({"instances": number_rows, "other": number_values})
    | st.lists(number_records, max_size=3)
)
INSTANCES = Signature((Feature("instances"), Feature("b")), "regression")


@settings(max_examples=500, deadline=None)
@given(payload=number_bodies | json_values, signature=st.sampled_from([IRIS, MIXED, INSTANCES]))
def test_the_number_body_path_gives_the_general_paths_table_or_leaves_the_body_to_it(
    payload: Any, signature: Signature
) -> None:
    body = orjson.dumps(payload)
    table = decode_number_body(body, signature)
    if table is not None:
        assert table.dtype == np.float64
        assert table.tolist() == decode_json(orjson.loads(body), signature).tolist()


@pytest.mark.parametrize(
    ("body", "rows"),
    [
        (b'{"p_width": 0.2, "s_length": 5, "p_length": 1.4, "s_width": 3.5}', [[5.0, 3.5, 1.4, 0.2]]),
        (b" [[5.1, 3.5, 1.4, 0.2], [6, 3, 5.2, 2.3]] ", [[5.1, 3.5, 1.4, 0.2], [6.0, 3.0, 5.2, 2.3]]),
        (b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}', [[5.1, 3.5, 1.4, 0.2]]),
    ],
)
def test_the_number_body_path_takes_a_record_rows_or_instances_of_numbers(body: bytes, rows: list[list[float]]) -> None:
    table = decode_number_body(body, IRIS)
    assert table is not None and table.tolist() == rows


@pytest.mark.parametrize(
    "body",
    [
        b'{"s_length": 5.1, "s_width": 3.5, "p_length": 1.4}',  # missing
        b'{"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2, "other": 1}',  # unknown
        b'{"s_length": null, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}',  # a missing value
        b'{"s_length": true, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}',
        b'{"s_length": "5.1", "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}',
        b'{"s_length": 1e999, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}',
        b'{"s_length": 1e308, "s_width": 1e308, "p_length": 1.4, "p_width": 0.2}',  # finite, its sum not
        b'{"s_length": ' + str(10**400).encode() + b', "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}',
        b'{"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2',
        b"[[5.1, 3.5, 1.4]]",  # a row too short
        b"[[5.1, 3.5, 1.4, null]]",
        b"[]",
        b'{"instances": []}',
        b'{"instances": [[5.1, 3.5, 1.4, 0.2]], "parameters": {}}',
        b'{"columns": ["s_length", "s_width", "p_length", "p_width"], "data": [[5.1, 3.5, 1.4, 0.2]]}',
        b"",
    ],
)
def test_any_other_body_is_left_to_the_general_path(body: bytes) -> None:
    assert decode_number_body(body, IRIS) is None


def test_a_model_with_a_whole_number_or_text_feature_has_no_number_body_path() -> None:
    assert decode_number_body(b'{"age": 30, "income": 1.0}', AGES) is None
    assert NumberBodies.of(MIXED) is None


def test_a_feature_called_instances_makes_instances_a_record() -> None:
    table = decode_number_body(b'{"instances": 1, "b": 2}', INSTANCES)
    assert table is not None and table.tolist() == [[1.0, 2.0]]
    assert decode_number_body(b'{"instances": [[1, 2]]}', INSTANCES) is None
