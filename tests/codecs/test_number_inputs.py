"""The inputs nearly every client sends, read with little Python: the same table as the general
path (codecs/records.py) whenever they are taken, and anything else left to it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_records import AGES, IRIS, MIXED, finite, json_values

from dockml.codecs.number_inputs import NumberInputs
from dockml.codecs.records import decode_json, decode_query
from dockml.signature import Feature, Signature


def decode_number_body(body: bytes, signature: Signature) -> np.ndarray | None:
    numbers = NumberInputs.of(signature)
    return numbers.decode(body) if numbers is not None else None


number_values = st.integers(-(2**63), 2**64 - 1) | finite | st.none() | st.booleans() | st.text(max_size=3)
number_records = st.dictionaries(st.sampled_from([*IRIS.names, "other"]), number_values, min_size=3, max_size=5)
number_rows = st.lists(st.lists(number_values, min_size=3, max_size=5), max_size=4)
number_inputs = (
    number_records
    | number_rows
    | st.fixed_dictionaries({"instances": number_rows})
    | st.fixed_dictionaries({"instances": number_rows, "other": number_values})
    | st.lists(number_records, max_size=3)
)
INSTANCES = Signature((Feature("instances"), Feature("b")), "regression")


@settings(max_examples=500, deadline=None)
@given(payload=number_inputs | json_values, signature=st.sampled_from([IRIS, MIXED, INSTANCES]))
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
    assert NumberInputs.of(MIXED) is None


def test_a_feature_called_instances_makes_instances_a_record() -> None:
    table = decode_number_body(b'{"instances": 1, "b": 2}', INSTANCES)
    assert table is not None and table.tolist() == [[1.0, 2.0]]
    assert decode_number_body(b'{"instances": [[1, 2]]}', INSTANCES) is None


def decode_number_query(query: bytes, signature: Signature) -> np.ndarray | None:
    numbers = NumberInputs.of(signature)
    return numbers.decode_query(query) if numbers is not None else None


query_names = st.sampled_from([*IRIS.names, "proba", "other", "s_length "]) | st.text(max_size=4)
query_values = (
    finite.map(repr)
    | st.integers(-(10**20), 10**20).map(str)
    | st.sampled_from(["", "nan", "inf", "-inf", "1e400", "1_000", " 5", "5%2E1", "5+", "0x10", "true"])
    | st.text(max_size=4)
)


def query_of(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{name}={value}" for name, value in pairs).encode("utf-8")


iris_queries = st.permutations(IRIS.names).flatmap(
    lambda names: st.tuples(*(st.tuples(st.just(name), query_values) for name in names)).map(list)
)


@settings(max_examples=500, deadline=None)
@given(
    pairs=iris_queries | st.lists(st.tuples(query_names, query_values), max_size=6),
    signature=st.sampled_from([IRIS, MIXED]),
)
def test_the_number_query_path_gives_the_general_paths_row_or_leaves_the_query_to_it(
    pairs: list[tuple[str, str]], signature: Signature
) -> None:
    query = query_of(pairs)
    table = decode_number_query(query, signature)
    if table is not None:
        general = decode_query(parse_qsl(query.decode("latin-1"), keep_blank_values=True), signature)
        assert table.dtype == np.float64 and table.tolist() == general.tolist()


def test_the_number_query_path_takes_a_value_for_each_feature_in_any_order() -> None:
    table = decode_number_query(b"p_width=0.2&s_length=5&p_length=1.4&s_width=3.5", IRIS)
    assert table is not None and table.tolist() == [[5.0, 3.5, 1.4, 0.2]]


@pytest.mark.parametrize(
    "query",
    [
        b"s_length=5.1&s_width=3.5&p_length=1.4",  # missing (a missing value, where the model takes one)
        b"s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2&proba=true",
        b"s_length=5.1&s_length=5.2&s_width=3.5&p_length=1.4&p_width=0.2",
        b"s_length=5.1&s_length=5.2&p_length=1.4&p_width=0.2",  # given twice, one missing
        b"s_length=5%2E1&s_width=3.5&p_length=1.4&p_width=0.2",  # to unquote
        b"s_length=5.1&s_width=3.5&p_length=1.4&p_width=",
        b"s_length=nan&s_width=3.5&p_length=1.4&p_width=0.2",
        b"s_length=1e400&s_width=3.5&p_length=1.4&p_width=0.2",
        b"s_length=x&s_width=3.5&p_length=1.4&p_width=0.2",
        b"s_length&s_width=3.5&p_length=1.4&p_width=0.2",
        b"",
    ],
)
def test_any_other_query_is_left_to_the_general_path(query: bytes) -> None:
    assert decode_number_query(query, IRIS) is None


def test_a_feature_whose_name_is_quoted_in_a_query_leaves_queries_to_the_general_path() -> None:
    spaced = Signature((Feature("sepal length (cm)"), Feature("b")), "regression")
    assert decode_number_query(b"sepal+length+%28cm%29=1&b=2", spaced) is None
