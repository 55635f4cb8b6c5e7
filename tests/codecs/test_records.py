"""JSON bodies and query strings -> tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockml.codecs.records import decode_json, decode_query
from dockml.errors import DockmlError, InvalidInput
from dockml.signature import Feature, Signature

IRIS = Signature(
    features=tuple(Feature(name) for name in ("s_length", "s_width", "p_length", "p_width")),
    task="classification",
    classes=(0, 1, 2),
)
MIXED = Signature(
    features=(
        Feature("age", kind="integer"),
        Feature("income"),
        Feature("city", kind="string", categories=("lyon", "nice", "paris")),
    ),
    task="classification",
)
EXPECTED = "expected s_length, s_width, p_length, p_width"
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
RECORDS = [dict(zip(IRIS.names, row, strict=True)) for row in ROWS]


def invalid(payload: Any, signature: Signature = IRIS) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        decode_json(payload, signature)
    return caught.value


SHUFFLED = ["p_width", "s_length", "p_length", "s_width"]


@pytest.mark.parametrize(
    "payload",
    [
        RECORDS,
        {"instances": ROWS},
        {"instances": RECORDS},
        {"columns": SHUFFLED, "data": [[r[IRIS.names.index(c)] for c in SHUFFLED] for r in ROWS]},
    ],
    ids=["records", "instances-rows", "instances-records", "columns-data"],
)
def test_every_shape_gives_the_same_table(payload: Any) -> None:
    table = decode_json(payload, IRIS)

    assert (table.dtype, table.tolist()) == (np.float64, ROWS)


def test_one_record_gives_one_row() -> None:
    assert decode_json(RECORDS[0], IRIS).tolist() == ROWS[:1]


def test_records_may_list_features_in_any_order() -> None:
    assert decode_json(dict(reversed(RECORDS[0].items())), IRIS).tolist() == ROWS[:1]


def test_string_feature_gives_an_object_table() -> None:
    table = decode_json({"age": 30, "income": 52.5, "city": "nice"}, MIXED)

    assert (table.dtype, table.tolist()) == (object, [[30, 52.5, "nice"]])


def test_missing_feature_is_named_with_the_expected_ones() -> None:
    error = invalid({"s_length": 5.1, "s_width": 3.5, "p_length": 1.4})

    assert (str(error), error.errors[0].field) == (f"missing feature 'p_width'; {EXPECTED}", "p_width")


def test_unknown_feature_is_named() -> None:
    error = invalid({**RECORDS[0], "colour": 1.0})

    assert (str(error), error.errors[0].field) == (f"unknown feature 'colour'; {EXPECTED}", "colour")


def test_missing_feature_in_a_list_names_the_record() -> None:
    error = invalid([RECORDS[0], {k: v for k, v in RECORDS[1].items() if k != "s_width"}])

    assert str(error) == f"record 1: missing feature 's_width'; {EXPECTED}"


def test_row_with_the_wrong_count_is_refused() -> None:
    error = invalid({"instances": [ROWS[0], [1.0, 2.0, 3.0]]})

    assert str(error) == "row 1: expected 4 values (s_length, s_width, p_length, p_width), got 3"


@pytest.mark.parametrize("value", [True, "5.1", [5.1], {"cm": 5.1}])
def test_number_feature_refuses_other_json_types(value: Any) -> None:
    error = invalid({**RECORDS[0], "s_width": value})

    assert (error.errors[0].field, str(error)) == ("s_width", f"feature 's_width': expected a number, got {value!r}")


@pytest.mark.parametrize("value", [None, float("nan")])
def test_missing_value_is_refused_by_a_model_that_cannot_take_one(value: Any) -> None:
    error = invalid({**RECORDS[0], "s_width": value})

    assert (error.errors[0].field, str(error)) == (
        "s_width",
        "feature 's_width' is missing; this model cannot take a missing value for 's_width': send a value",
    )


@pytest.mark.parametrize("value", [float("inf"), -float("inf")])
def test_number_feature_refuses_non_finite_numbers(value: float) -> None:
    error = invalid({**RECORDS[0], "p_length": value})

    assert str(error) == f"feature 'p_length': expected a finite number, got {value!r}"


def test_bad_value_in_a_list_names_row_and_feature() -> None:
    error = invalid({"instances": [ROWS[0], [6.7, None, 5.2, 2.3]]})

    assert str(error) == (
        "row 1, feature 's_width' is missing; this model cannot take a missing value for 's_width': send a value"
    )


def test_every_bad_value_is_reported() -> None:
    error = invalid({"s_length": None, "s_width": "x", "p_length": 1.4, "p_width": True})

    assert [e.field for e in error.errors] == ["s_length", "s_width", "p_width"]


def test_integer_feature_accepts_a_whole_float() -> None:
    assert decode_json({"age": 30.0, "income": 52.5, "city": "nice"}, MIXED).tolist() == [[30.0, 52.5, "nice"]]


def test_string_feature_refuses_a_number() -> None:
    error = invalid({"age": 30, "income": 52.5, "city": 3}, MIXED)

    assert str(error) == "feature 'city': expected a string, got 3"


def test_unknown_category_is_refused_listing_the_allowed_ones() -> None:
    error = invalid({"age": 30, "income": 52.5, "city": "rome"}, MIXED)

    assert str(error) == "feature 'city': unknown category 'rome'; expected one of lyon, nice, paris"


@pytest.mark.parametrize("payload, where", [([], "body"), ({"instances": []}, "instances")])
def test_empty_list_is_refused(payload: Any, where: str) -> None:
    assert str(invalid(payload)) == f"'{where}' is empty; send at least one row"


@pytest.mark.parametrize("payload, kind", [(3, "int"), ("5.1", "str"), (None, "NoneType"), (True, "bool")])
def test_payload_that_is_neither_object_nor_list_is_refused(payload: Any, kind: str) -> None:
    assert str(invalid(payload)).endswith(f"; got a JSON {kind}")


def test_list_mixing_rows_and_records_is_refused() -> None:
    assert str(invalid([ROWS[0], RECORDS[1]])) == "'body' must hold only records (objects) or only rows (lists)"


def test_instances_that_are_not_a_list_are_refused() -> None:
    assert str(invalid({"instances": RECORDS[0]})) == "'instances' must be a list of rows or records"


def test_key_beside_instances_is_refused() -> None:
    assert str(invalid({"instances": ROWS, "model": "iris"})).startswith("unexpected key 'model' beside instances")


def test_columns_naming_a_feature_twice_are_refused() -> None:
    columns = [*IRIS.names, "s_length"]

    assert str(invalid({"columns": columns, "data": [[*ROWS[0], 5.1]]})) == "'columns' names a feature twice"


def test_data_row_with_the_wrong_count_is_refused() -> None:
    error = invalid({"columns": list(IRIS.names), "data": [ROWS[0], ROWS[1][:3]]})

    assert str(error) == "row 1: expected 4 values, one per column, got 3"


def query(**values: str) -> list[tuple[str, str]]:
    return list(values.items())


IRIS_QUERY = query(s_length="5.1", s_width="3.5", p_length="1.4", p_width="0.2")


def invalid_query(params: list[tuple[str, str]], signature: Signature = IRIS) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        decode_query(params, signature)
    return caught.value


def test_query_values_are_parsed_to_floats() -> None:
    table = decode_query(IRIS_QUERY, IRIS)

    assert (table.dtype, table.tolist()) == (np.float64, ROWS[:1])


def test_query_keeps_string_features_as_text() -> None:
    assert decode_query(query(age="30", income="52.5", city="lyon"), MIXED).tolist() == [[30.0, 52.5, "lyon"]]


def test_query_refuses_text_for_a_number() -> None:
    error = invalid_query([*IRIS_QUERY[:3], ("p_width", "abc")])

    assert (error.errors[0].field, str(error)) == ("p_width", "feature 'p_width': expected a number, got 'abc'")


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity"])
def test_query_refuses_non_finite_numbers(text: str) -> None:
    error = invalid_query([*IRIS_QUERY[:3], ("p_width", text)])

    assert str(error) == f"feature 'p_width': expected a finite number, got {text!r}"


def test_query_refuses_a_fraction_for_an_integer() -> None:
    error = invalid_query(query(age="30.5", income="52.5", city="lyon"), MIXED)

    assert str(error) == "feature 'age': expected a whole number, got '30.5'"


def test_query_refuses_a_feature_given_twice() -> None:
    assert str(invalid_query([*IRIS_QUERY, ("s_length", "6.0")])) == "feature 's_length' is given twice"


def test_query_names_a_missing_feature() -> None:
    assert str(invalid_query(IRIS_QUERY[:3])) == f"missing feature 'p_width'; {EXPECTED}"


# orjson, which parses request bodies, yields integers of at most 64 bits: bigger ones become floats.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["lyon", "paris", "rome"])
)
json_keys = st.sampled_from([*IRIS.names, *MIXED.names, "instances", "columns", "data", "index"]) | st.text(max_size=6)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(json_keys, inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(payload=json_values, signature=st.sampled_from([IRIS, MIXED]))
def test_any_json_value_gives_a_table_or_a_dockml_error(payload: Any, signature: Signature) -> None:
    try:
        table = decode_json(payload, signature)
    except DockmlError:
        return
    assert table.ndim == 2 and table.shape[1] == len(signature.features)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(finite, min_size=4, max_size=4), min_size=1, max_size=10))
def test_finite_rows_round_trip_exactly(rows: list[list[float]]) -> None:
    records = [dict(zip(IRIS.names, row, strict=True)) for row in rows]

    assert decode_json(records, IRIS).tolist() == rows


AGES = Signature((Feature("age", kind="integer"), Feature("income")), "regression")


def test_integer_feature_refuses_a_fraction_on_the_all_numeric_path() -> None:
    error = invalid({"age": 30.5, "income": 1.0}, AGES)
    assert error.detail == "feature 'age': expected a whole number, got 30.5"


def test_integer_beyond_float64_is_refused_not_crashed() -> None:
    error = invalid({"age": 10**400, "income": 1.0}, AGES)
    assert "feature 'age': expected a finite number" in error.detail


query_items = st.lists(
    st.tuples(st.sampled_from([*IRIS.names, "proba", "other"]) | st.text(max_size=8), st.text(max_size=12)), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(params=query_items, signature=st.sampled_from([IRIS, MIXED]))
def test_any_query_gives_one_row_or_a_dockml_error(params: list[tuple[str, str]], signature: Signature) -> None:
    try:
        table = decode_query(params, signature)
    except DockmlError:
        return
    assert table.shape == (1, len(signature.features))
