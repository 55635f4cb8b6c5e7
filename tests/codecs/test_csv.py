"""CSV uploads -> tables, and tables with predictions -> CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockml.codecs.csv import decode_csv, encode_csv
from dockml.errors import DockmlError, InvalidInput, MalformedInput, PayloadTooLarge
from dockml.signature import Feature, Signature

IRIS = Signature(
    features=tuple(Feature(name) for name in ("s_length", "s_width", "p_length", "p_width")),
    task="classification",
)
MIXED = Signature(
    features=(Feature("age", kind="integer"), Feature("city", kind="string", categories=("lyon", "nice", "paris"))),
    task="classification",
)
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
BODY = b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"


def decode(data: bytes, signature: Signature = IRIS, max_rows: int = 100) -> np.ndarray:
    return decode_csv(data, signature, max_rows=max_rows)


def invalid(data: bytes, signature: Signature = IRIS) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        decode(data, signature)
    return caught.value


def test_header_gives_the_table_in_signature_order() -> None:
    data = b"p_width,s_length,p_length,s_width\n0.2,5.1,1.4,3.5\n2.3,6.7,5.2,3.0\n"

    table = decode(data)

    assert (table.dtype, table.tolist()) == (np.float64, ROWS)


def test_file_without_header_is_in_signature_order() -> None:
    assert decode(BODY).tolist() == ROWS


def test_header_cells_may_have_spaces() -> None:
    assert decode(b" s_length , s_width,p_length,p_width\n" + BODY).tolist() == ROWS


def test_header_missing_a_feature_names_it() -> None:
    error = invalid(b"s_length,s_width,p_length\n5.1,3.5,1.4\n")

    assert (error.errors[0].field, str(error)) == (
        "p_width",
        "missing feature 'p_width'; expected s_length, s_width, p_length, p_width",
    )


def test_header_with_an_extra_column_names_it() -> None:
    error = invalid(b"s_length,s_width,p_length,p_width,colour\n5.1,3.5,1.4,0.2,red\n")

    assert str(error) == "unknown feature 'colour'; expected s_length, s_width, p_length, p_width"


def test_file_without_header_needs_one_value_per_feature() -> None:
    error = invalid(b"5.1,3.5,1.4\n")

    assert str(error).startswith("the CSV has no header and 3 columns; expected a header naming")


def test_non_numeric_cell_names_line_and_feature() -> None:
    error = invalid(b"s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2\n6.7,abc,5.2,2.3\n")

    assert (error.errors[0].field, str(error)) == ("s_width", "line 3: feature 's_width': expected a number, got 'abc'")


def test_empty_cell_is_named() -> None:
    assert str(invalid(b"5.1,,1.4,0.2\n")) == (
        "line 1: feature 's_width' is missing; this model cannot take a missing value for 's_width': send a value"
    )


def test_short_line_is_refused() -> None:
    assert str(invalid(b"5.1,3.5,1.4,0.2\n6.7,3.0\n")) == "line 2: expected 4 values, got 2"


def test_fraction_for_an_integer_is_refused() -> None:
    assert str(invalid(b"age,city\n30.5,lyon\n", MIXED)) == "line 2: feature 'age': expected a whole number, got '30.5'"


def test_string_column_is_kept_as_text() -> None:
    table = decode(b"city,age\nnice,30\n", MIXED)

    assert (table.dtype, table.tolist()) == (object, [[30.0, "nice"]])


def test_unknown_category_is_refused() -> None:
    error = invalid(b"age,city\n30,rome\n", MIXED)

    assert str(error) == "line 2: feature 'city': unknown category 'rome'; expected one of lyon, nice, paris"


@pytest.mark.parametrize("data", [b"", b" \n\r\n"])
def test_empty_file_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedInput, match="the CSV file is empty"):
        decode(data)


def test_header_without_rows_is_refused() -> None:
    assert str(invalid(b"s_length,s_width,p_length,p_width\n")) == "the CSV has a header but no data rows"


def test_text_that_is_not_utf8_is_malformed() -> None:
    with pytest.raises(MalformedInput, match="not UTF-8"):
        decode("5,1;3,5;1,4;0,2 é\n".encode("latin-1"))


def test_more_rows_than_max_rows_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge, match="the CSV has 2 rows; at most 1 are accepted"):
        decode(BODY, max_rows=1)


def test_exactly_max_rows_is_accepted() -> None:
    assert decode(BODY, max_rows=2).tolist() == ROWS


def test_byte_order_mark_is_ignored() -> None:
    assert decode(b"\xef\xbb\xbfs_length,s_width,p_length,p_width\n" + BODY).tolist() == ROWS


def test_windows_line_endings_are_read() -> None:
    assert decode(BODY.replace(b"\n", b"\r\n")).tolist() == ROWS


def test_blank_lines_are_skipped() -> None:
    assert decode(b"\n5.1,3.5,1.4,0.2\n\n6.7,3.0,5.2,2.3\n\n").tolist() == ROWS


def test_encode_writes_inputs_then_output_columns() -> None:
    text = encode_csv(np.array(ROWS), IRIS, {"prediction": ["setosa", "virginica"], "proba_setosa": [0.9, 0.0]})

    assert list(csv.reader(io.StringIO(text))) == [
        ["s_length", "s_width", "p_length", "p_width", "prediction", "proba_setosa"],
        ["5.1", "3.5", "1.4", "0.2", "setosa", "0.9"],
        ["6.7", "3.0", "5.2", "2.3", "virginica", "0.0"],
    ]


def test_encoded_inputs_decode_to_the_same_table() -> None:
    signature = Signature(features=(Feature("age"), Feature("note", kind="string")), task="regression")
    table = np.array([[30.0, "lyon, the city"], [41.5, 'say "hi"\nthen go']], dtype=object)

    assert decode(encode_csv(table, signature, {}).encode(), signature).tolist() == table.tolist()


csv_tokens = st.sampled_from(
    [*IRIS.names, ",", "\n", "\r\n", '"', " ", "1.5", "-2", "nan", "inf", "abc", "", "\ufeff", "\x00", "é"]
)
near_csv = st.lists(csv_tokens, max_size=40).map(lambda tokens: "".join(tokens).encode())


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200) | near_csv)
def test_any_bytes_give_a_table_or_a_dockml_error(data: bytes) -> None:
    try:
        table = decode(data, max_rows=5)
    except DockmlError:
        return
    assert table.shape[1] == len(IRIS.features)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(finite, min_size=4, max_size=4), min_size=1, max_size=10))
def test_finite_rows_round_trip_exactly(rows: list[list[float]]) -> None:
    table = np.array(rows, dtype=np.float64)

    assert decode(encode_csv(table, IRIS, {}).encode()).tolist() == rows


def test_line_numbers_count_blank_lines_and_quoted_line_breaks() -> None:
    two = Signature((Feature("a"), Feature("b", kind="string")), "regression")
    assert invalid(b"a,b\n1,x\n\n\noops,y\n", two).detail == "line 5: feature 'a': expected a number, got 'oops'"
    assert invalid(b'a,b\n1,"x\n\ny"\noops,z\n', two).detail == "line 5: feature 'a': expected a number, got 'oops'"


def test_extra_cells_are_refused() -> None:
    assert (
        invalid(b"s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2,9\n").detail == "line 2: expected 4 values, got 5"
    )
    assert invalid(b"5.1,3.5,1.4,0.2\n5.1,3.5,1.4,0.2,9\n").detail == "line 2: expected 4 values, got 5"
