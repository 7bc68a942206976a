"""The data contract on good and bad files: one test per rule, each naming the file, row, column and rule."""

from __future__ import annotations

import csv
from pathlib import Path

import ibis.expr.datatypes as dt
import pandas as pd
import pytest
import typer

from retain import ingest
from retain.contract import CHANNELS, CUSTOMER_ID_MAX_LENGTH, TABLES
from retain.errors import RetainError
from retain.ingest import Problem, ValidationFailed, load
from retain.raw import has_bare_carriage_return
from tests.retain.helpers import assert_reported, located, problems_of

UNKNOWN = "customer_id must exist in customers"
REQUIRED = [(table.name, column.name) for table in TABLES for column in table.columns if column.required]
OPTIONAL = {table.name: [c.name for c in table.columns if not c.required] for table in TABLES}
NOT_NULLABLE = [(table.name, column.name) for table in TABLES for column in table.columns
                if not column.nullable]
CLOSED_EARLY = "closed_at must not be before opened_at"


def corrupt_csv(write_data, frames, table: str, index: int, column: str, value: str | None) -> list[Problem]:
    """Set one CSV cell (0-based frame index, so data row index + 1) and return the problems load reports."""
    frames[table].loc[index, column] = value
    return problems_of(write_data(frames))


# ---------------------------------------------------------------- good files


def test_good_csv_files_load_with_contract_types(good_csv_dir: Path) -> None:
    data = load(good_csv_dir)

    assert data.problems == []
    assert data.set_aside == 0
    counts = [getattr(data, table.name).count().execute() for table in TABLES]
    assert counts == [5, 5, 4]
    assert data.customers.schema()["signup_date"].is_timestamp()
    assert data.transactions.schema()["timestamp"].is_timestamp()
    assert data.transactions.schema()["amount"] == dt.float64
    assert data.interactions.schema()["ces"] == dt.int64
    assert data.interactions.schema()["resolved"] == dt.boolean
    for table in TABLES:
        assert list(getattr(data, table.name).columns) == list(table.column_names)


def test_csv_cells_are_parsed_to_the_right_values(good_csv_dir: Path) -> None:
    data = load(good_csv_dir)
    stamps = list(data.transactions.to_pandas()["timestamp"])

    assert stamps[1] == pd.Timestamp("2024-02-11 12:30:00")  # "Z" is UTC
    assert stamps[3] == pd.Timestamp("2024-02-01 08:00:00")  # +02:00 converted to UTC
    assert data.transactions.to_pandas()["timestamp"].dt.tz is None
    assert list(data.interactions.to_pandas()["resolved"]) == [False, True, False, True]  # false/true/no/yes
    assert list(data.transactions.to_pandas()["amount"]) == [10.5, 0.0, 99.99, 5.0, 42.0]
    assert data.customers.to_pandas().loc[2, "country"] == "NA"  # Namibia, not a missing value
    assert pd.isna(data.customers.to_pandas().loc[2, "segment"])
    assert data.interactions.to_pandas().loc[0, "text"] == "Where is my order, please?"
    assert pd.isna(data.interactions.to_pandas().loc[2, "closed_at"])  # still open is fine
    assert data.customers.to_pandas().loc[1, "churned_at"] == pd.Timestamp("2024-09-01")


def test_optional_columns_may_be_absent(write_data, frames) -> None:
    for name, optional in OPTIONAL.items():
        frames[name] = frames[name].drop(columns=optional)

    data = load(write_data(frames))

    assert data.problems == []
    assert data.interactions.to_pandas()["ces"].isna().all()
    assert data.interactions.schema()["ces"] == dt.int64
    assert data.customers.to_pandas()["churned_at"].isna().all()
    assert list(data.transactions.to_pandas().columns) == ["customer_id", "timestamp", "amount", "order_id"]


def test_survey_boundaries_are_valid(write_data, frames) -> None:
    interactions = frames["interactions"]
    interactions.loc[[0, 1], "ces"] = ["1", "7"]
    interactions.loc[[0, 1], "csat"] = ["1", "5"]
    interactions.loc[[0, 1], "nps"] = ["0", "10"]

    data = load(write_data(frames))

    assert list(data.interactions.to_pandas()["ces"][:2]) == [1, 7]
    assert list(data.interactions.to_pandas()["nps"][:2]) == [0, 10]


# ---------------------------------------------------------------- one test per rule (CSV)


@pytest.mark.parametrize(("table", "column"), REQUIRED, ids=[f"{t}.{c}" for t, c in REQUIRED])
def test_missing_required_column(write_data, frames, table: str, column: str) -> None:
    frames[table] = frames[table].drop(columns=[column])

    problems = problems_of(write_data(frames))

    problem = assert_reported(problems, f"{table}.csv", None, column, "missing required column")
    assert problem.row is None  # a whole column: no row to point at
    assert problem.value is None


def test_missing_customers_column_is_not_blamed_on_every_event(write_data, frames) -> None:
    frames["customers"] = frames["customers"].drop(columns=["signup_date"])
    frames["transactions"].loc[1, "amount"] = "-1"  # a real problem elsewhere is still reported

    problems = problems_of(write_data(frames))

    assert located(problems) == {("customers.csv", None, "signup_date"), ("transactions.csv", 2, "amount")}


@pytest.mark.parametrize(
    ("table", "index", "column", "value"),
    [("transactions", 0, "amount", "12,50"), ("transactions", 2, "amount", "abc"),
     ("interactions", 3, "handle_seconds", "long"), ("transactions", 1, "amount", "inf")],
)
def test_wrong_type_not_a_number(write_data, frames, table, index, column, value) -> None:
    problems = corrupt_csv(write_data, frames, table, index, column, value)

    problem = assert_reported(problems, f"{table}.csv", index + 1, column, "not a number")
    assert problem.value == value
    assert len(problems) == 1


@pytest.mark.parametrize(("column", "value"), [("signup_date", "2024-13-01"), ("signup_date", "31/12/2024"),
                                               ("signup_date", "2024-02-30"), ("churned_at", "soon")])
def test_unparseable_date(write_data, frames, column: str, value: str) -> None:
    problems = corrupt_csv(write_data, frames, "customers", 4, column, value)  # C5: no events

    problem = assert_reported(problems, "customers.csv", 5, column, "not a valid date")
    assert problem.value == value
    assert len(problems) == 1


@pytest.mark.parametrize(("table", "index", "column", "value"),
                         [("transactions", 2, "timestamp", "yesterday"),
                          ("interactions", 1, "opened_at", "2024-01-03T25:00:00"),
                          ("interactions", 0, "closed_at", "later")])
def test_unparseable_timestamp(write_data, frames, table, index, column, value) -> None:
    problems = corrupt_csv(write_data, frames, table, index, column, value)

    problem = assert_reported(problems, f"{table}.csv", index + 1, column, "not a valid timestamp")
    assert problem.value == value
    assert len(problems) == 1


def test_not_a_boolean(write_data, frames) -> None:
    problems = corrupt_csv(write_data, frames, "interactions", 2, "resolved", "maybe")

    problem = assert_reported(problems, "interactions.csv", 3, "resolved", "not a boolean")
    assert problem.value == "maybe"
    assert len(problems) == 1


@pytest.mark.parametrize(("column", "value"), [("transfers", "1.5"), ("transfers", "two"), ("ces", "4.5"),
                                               ("transfers", "inf"), ("transfers", "1e20")])
def test_not_a_whole_number(write_data, frames, column: str, value: str) -> None:
    problems = corrupt_csv(write_data, frames, "interactions", 1, column, value)

    problem = assert_reported(problems, "interactions.csv", 2, column, "not a whole number")
    assert problem.value == value
    assert len(problems) == 1


@pytest.mark.parametrize(("table", "column", "first", "second"),
                         [("customers", "customer_id", 0, 4), ("interactions", "interaction_id", 0, 3),
                          ("transactions", "order_id", 1, 4)])
def test_duplicate_id(write_data, frames, table: str, column: str, first: int, second: int) -> None:
    frames[table].loc[second, column] = frames[table].loc[first, column]

    problems = problems_of(write_data(frames))

    # Both rows that share the key are reported (neither is silently taken as the real one).
    for index in (first, second):
        problem = assert_reported(problems, f"{table}.csv", index + 1, column, "duplicate value")
        assert problem.value == frames[table].loc[first, column]
    assert {p.column for p in problems if Path(p.file).name == f"{table}.csv"} == {column}


@pytest.mark.parametrize(("table", "index", "column", "value"),
                         [("transactions", 3, "amount", "-0.01"), ("interactions", 0, "transfers", "-1"),
                          ("interactions", 2, "handle_seconds", "-5")])
def test_negative_amount(write_data, frames, table, index, column, value) -> None:
    problems = corrupt_csv(write_data, frames, table, index, column, value)

    problem = assert_reported(problems, f"{table}.csv", index + 1, column, "must be >= 0")
    assert problem.value == value
    assert len(problems) == 1


@pytest.mark.parametrize(("table", "index", "column"),
                         [("transactions", 3, "amount"), ("interactions", 2, "handle_seconds")])
def test_an_amount_past_the_largest_is_refused(write_data, frames, table, index, column) -> None:
    problems = corrupt_csv(write_data, frames, table, index, column, "2e15")

    problem = assert_reported(problems, f"{table}.csv", index + 1, column, "must be <= 1e+15")
    assert problem.value == "2e15"
    assert len(problems) == 1


def test_closed_at_before_opened_at(write_data, frames) -> None:
    problems = corrupt_csv(write_data, frames, "interactions", 3, "closed_at", "2024-02-02T10:59:59")

    problem = assert_reported(problems, "interactions.csv", 4, "closed_at", CLOSED_EARLY)
    assert problem.value == "2024-02-02T10:59:59"
    assert len(problems) == 1


@pytest.mark.parametrize(("column", "value", "rule"),
                         [("ces", "0", "must be >= 1"), ("ces", "8", "must be <= 7"),
                          ("csat", "6", "must be <= 5"), ("csat", "0", "must be >= 1"),
                          ("nps", "11", "must be <= 10"), ("nps", "-1", "must be >= 0")])
def test_survey_score_out_of_range(write_data, frames, column: str, value: str, rule: str) -> None:
    problems = corrupt_csv(write_data, frames, "interactions", 1, column, value)

    problem = assert_reported(problems, "interactions.csv", 2, column, rule)
    assert problem.value == value
    assert len(problems) == 1


def test_a_text_with_line_breaks_and_quotes_in_a_csv_cell_loads_and_rows_count_records(write_data, frames) -> None:
    """Customers' words span lines; the row of a later problem is still the record's number, not its line."""
    words = 'Called twice.\nStill "broken",\r\nplease fix'
    frames["interactions"].loc[0, "text"] = words
    problems = corrupt_csv(write_data, frames, "interactions", 1, "ces", "8")

    assert_reported(problems, "interactions.csv", 2, "ces", "must be <= 7")
    frames["interactions"].loc[1, "ces"] = "7"
    data = load(write_data(frames))
    assert data.interactions.to_pandas()["text"].iloc[0] == words


@pytest.mark.parametrize("value", ["fax", "sms", "e-mail"])
def test_channel_not_in_allowed_set(write_data, frames, value: str) -> None:
    problems = corrupt_csv(write_data, frames, "interactions", 2, "channel", value)

    problem = assert_reported(problems, "interactions.csv", 3, "channel", "must be one of")
    for channel in CHANNELS:
        assert channel in problem.rule
    assert problem.value == value
    assert len(problems) == 1


@pytest.mark.parametrize(("table", "column"), NOT_NULLABLE, ids=[f"{t}.{c}" for t, c in NOT_NULLABLE])
def test_empty_required_value(write_data, frames, table: str, column: str) -> None:
    index = 4 if table == "customers" else 2  # C5 has no events; row 3 of the event tables
    problems = corrupt_csv(write_data, frames, table, index, column, None)

    problem = assert_reported(problems, f"{table}.csv", index + 1, column, "must not be empty")
    assert problem.value is None
    assert len(problems) == 1


def test_customer_id_over_the_id_rule_is_reported_with_its_row(write_data, frames) -> None:
    too_long = "C" * (CUSTOMER_ID_MAX_LENGTH + 1)
    problems = corrupt_csv(write_data, frames, "customers", 4, "customer_id", too_long)  # C5: no events

    problem = assert_reported(problems, "customers.csv", 5, "customer_id", "must be 1 to 1,024 characters long")
    assert problem.value == too_long
    assert len(problems) == 1


def test_any_customer_id_within_the_id_rule_loads(write_data, frames) -> None:
    longest = "C" * CUSTOMER_ID_MAX_LENGTH
    ids = {"C1": "ACME/42", "C2": longest, "C3": " -padded & odd? "}
    for name in ("customers", "transactions", "interactions"):
        frames[name]["customer_id"] = frames[name]["customer_id"].replace(ids)

    data = load(write_data(frames))

    assert data.problems == []
    assert list(data.customers.to_pandas()["customer_id"]) == ["ACME/42", longest, " -padded & odd? ", "C4", "C5"]
    assert "ACME/42" in set(data.transactions.to_pandas()["customer_id"])


def test_transaction_for_unknown_customer(write_data, frames) -> None:
    problems = corrupt_csv(write_data, frames, "transactions", 4, "customer_id", "C99")

    problem = assert_reported(problems, "transactions.csv", 5, "customer_id", UNKNOWN)
    assert problem.value == "C99"
    assert len(problems) == 1


def test_interaction_for_unknown_customer(write_data, frames) -> None:
    problems = corrupt_csv(write_data, frames, "interactions", 3, "customer_id", "c3")  # case matters

    problem = assert_reported(problems, "interactions.csv", 4, "customer_id", UNKNOWN)
    assert problem.value == "c3"
    assert len(problems) == 1


def test_events_of_a_bad_customer_row_are_reported_as_unknown(write_data, frames) -> None:
    problems = corrupt_csv(write_data, frames, "customers", 0, "signup_date", "not a date")  # C1

    assert located(problems) == {
        ("customers.csv", 1, "signup_date"),
        ("transactions.csv", 1, "customer_id"), ("transactions.csv", 2, "customer_id"),
        ("interactions.csv", 1, "customer_id"), ("interactions.csv", 2, "customer_id"),
    }


# ---------------------------------------------------------------- every problem at once


def test_all_problems_of_a_file_are_reported_in_one_go(write_data, frames) -> None:
    transactions = frames["transactions"]
    transactions.loc[0, "amount"] = "-1"
    transactions.loc[2, "timestamp"] = "soon"
    transactions.loc[4, "customer_id"] = "C99"

    with pytest.raises(ValidationFailed) as failure:
        load(write_data(frames))

    problems = failure.value.problems
    assert len(problems) == 3
    assert_reported(problems, "transactions.csv", 1, "amount", "must be >= 0")
    assert_reported(problems, "transactions.csv", 3, "timestamp", "not a valid timestamp")
    assert_reported(problems, "transactions.csv", 5, "customer_id", UNKNOWN)
    assert "3 problem(s)" in str(failure.value)


def test_problems_in_every_file_are_reported_together(write_data, frames) -> None:
    frames["customers"].loc[4, "churned_at"] = "soon"
    frames["transactions"].loc[1, "amount"] = "x"
    frames["interactions"].loc[2, "channel"] = "fax"
    frames["interactions"].loc[3, "ces"] = "9"

    problems = problems_of(write_data(frames))

    assert located(problems) == {("customers.csv", 5, "churned_at"), ("transactions.csv", 2, "amount"),
                                 ("interactions.csv", 3, "channel"), ("interactions.csv", 4, "ces")}


def test_two_problems_in_one_row_are_both_reported(write_data, frames) -> None:
    frames["interactions"].loc[0, "channel"] = "fax"
    frames["interactions"].loc[0, "nps"] = "12"

    problems = problems_of(write_data(frames))

    assert located(problems) == {("interactions.csv", 1, "channel"), ("interactions.csv", 1, "nps")}


def test_load_refuses_by_default(write_data, frames) -> None:
    frames["transactions"].loc[0, "amount"] = "-3"
    data_dir = write_data(frames)

    with pytest.raises(ValidationFailed):
        load(data_dir)
    assert not (data_dir / "quarantine").exists()


def test_problem_reads_as_one_line() -> None:
    problem = Problem(file="d/transactions.csv", row=2, column="amount", value="-1", rule="must be >= 0")

    assert str(problem) == "d/transactions.csv, row 2, column 'amount', value '-1': must be >= 0"


# ---------------------------------------------------------------- Parquet files


def test_good_parquet_files_load(write_data, typed_frames) -> None:
    data = load(write_data(typed_frames, "parquet"))

    assert data.problems == []
    pd.testing.assert_frame_equal(data.interactions.to_pandas(), typed_frames["interactions"])
    pd.testing.assert_frame_equal(data.transactions.to_pandas(), typed_frames["transactions"])


def test_parquet_negative_amount(write_data, typed_frames) -> None:
    typed_frames["transactions"].loc[2, "amount"] = -4.5

    problems = problems_of(write_data(typed_frames, "parquet"))

    assert_reported(problems, "transactions.parquet", 3, "amount", "must be >= 0")
    assert len(problems) == 1


def test_parquet_survey_score_out_of_range(write_data, typed_frames) -> None:
    typed_frames["interactions"].loc[1, "ces"] = 8
    typed_frames["interactions"].loc[3, "csat"] = 6

    problems = problems_of(write_data(typed_frames, "parquet"))

    assert_reported(problems, "interactions.parquet", 2, "ces", "must be <= 7")
    assert_reported(problems, "interactions.parquet", 4, "csat", "must be <= 5")
    assert len(problems) == 2


def test_parquet_duplicate_interaction_id(write_data, typed_frames) -> None:
    typed_frames["interactions"].loc[2, "interaction_id"] = "I2"

    problems = problems_of(write_data(typed_frames, "parquet"))

    assert_reported(problems, "interactions.parquet", 3, "interaction_id", "duplicate value")
    assert_reported(problems, "interactions.parquet", 2, "interaction_id", "duplicate value")


def test_parquet_empty_string_customer_id_breaks_the_id_rule(write_data, typed_frames) -> None:
    """A CSV's empty cell is missing; Parquet can hold an empty string, which is no id either."""
    typed_frames["customers"].loc[4, "customer_id"] = ""

    problems = problems_of(write_data(typed_frames, "parquet"))

    assert_reported(problems, "customers.parquet", 5, "customer_id", "must be 1 to 1,024 characters long")
    assert len(problems) == 1


def test_parquet_unknown_customer_and_closed_before_opened(write_data, typed_frames) -> None:
    typed_frames["transactions"].loc[0, "customer_id"] = "nobody"
    interactions = typed_frames["interactions"]
    interactions.loc[0, "closed_at"] = interactions.loc[0, "opened_at"] - pd.Timedelta(seconds=1)

    problems = problems_of(write_data(typed_frames, "parquet"))

    assert_reported(problems, "transactions.parquet", 1, "customer_id", UNKNOWN)
    assert_reported(problems, "interactions.parquet", 1, "closed_at", CLOSED_EARLY)
    assert len(problems) == 2


def test_parquet_text_cells_in_typed_columns(write_data, typed_frames) -> None:
    transactions = typed_frames["transactions"]
    transactions["amount"] = transactions["amount"].astype(str)
    transactions.loc[3, "amount"] = "five"
    transactions["timestamp"] = transactions["timestamp"].astype(str)
    transactions.loc[1, "timestamp"] = "2024-02-31 10:00:00"
    interactions = typed_frames["interactions"]
    interactions["resolved"] = interactions["resolved"].astype(str)
    interactions.loc[0, "resolved"] = "perhaps"

    problems = problems_of(write_data(typed_frames, "parquet"))

    assert_reported(problems, "transactions.parquet", 4, "amount", "not a number")
    assert_reported(problems, "transactions.parquet", 2, "timestamp", "not a valid timestamp")
    assert_reported(problems, "interactions.parquet", 1, "resolved", "not a boolean")
    assert len(problems) == 3


def test_parquet_missing_required_column(write_data, typed_frames) -> None:
    typed_frames["interactions"] = typed_frames["interactions"].drop(columns=["channel"])

    problems = problems_of(write_data(typed_frames, "parquet"))

    assert_reported(problems, "interactions.parquet", None, "channel", "missing required column")


def test_parquet_time_zones_are_converted_to_utc(write_data, typed_frames) -> None:
    stamps = typed_frames["transactions"]["timestamp"]
    typed_frames["transactions"]["timestamp"] = stamps.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")

    data = load(write_data(typed_frames, "parquet"))

    assert list(data.transactions.to_pandas()["timestamp"]) == list(stamps)
    assert data.transactions.to_pandas()["timestamp"].dt.tz is None


# ---------------------------------------------------------------- the folder itself


def test_missing_data_folder_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(RetainError, match="data folder not found"):
        load(tmp_path / "nowhere")


def test_missing_table_file_is_a_clean_error(good_csv_dir: Path) -> None:
    (good_csv_dir / "interactions.csv").unlink()

    with pytest.raises(RetainError, match=r"no interactions\.parquet or interactions\.csv"):
        load(good_csv_dir)


def test_unreadable_file_is_a_clean_error(good_csv_dir: Path) -> None:
    (good_csv_dir / "customers.csv").unlink()
    (good_csv_dir / "customers.parquet").write_bytes(b"this is not parquet")

    with pytest.raises(RetainError, match="customers.parquet: cannot be read as PARQUET"):
        load(good_csv_dir)


def test_parquet_is_preferred_over_csv(write_data, frames, typed_frames) -> None:
    data_dir = write_data(frames)
    customers = typed_frames["customers"].iloc[:2]
    customers.to_parquet(data_dir / "customers.parquet", index=False)
    frames["customers"].loc[0, "signup_date"] = "broken"  # the CSV is ignored once a Parquet file exists
    frames["customers"].to_csv(data_dir / "customers.csv", index=False)

    problems = problems_of(data_dir)

    assert {Path(p.file).name for p in problems} == {"transactions.csv", "interactions.csv"}
    assert {p.value for p in problems} == {"C3", "C4"}


# ---------------------------------------------------------------- many problems: the first listed, all counted


def test_past_the_cap_the_first_problems_are_listed_and_every_one_counted(write_data, frames,
                                                                          monkeypatch) -> None:
    monkeypatch.setattr(ingest, "MAX_PROBLEMS_LISTED", 2)
    frames["transactions"]["amount"] = ["-1", "-2", "x", "-4", "-5"]

    with pytest.raises(ValidationFailed) as failure:
        load(write_data(frames))

    assert failure.value.total == 5 and "5 problem(s)" in str(failure.value)
    assert [(p.row, p.value) for p in failure.value.problems] == [(1, "-1"), (2, "-2")]
    counts = {(Path(file).name, column, rule): n for (file, column, rule), n in failure.value.counts.items()}
    assert counts == {("transactions.csv", "amount", "must be >= 0"): 4,
                      ("transactions.csv", "amount", "not a number"): 1}


def test_the_command_prints_the_count_of_each_rule_past_the_listed_problems(write_data, frames, monkeypatch,
                                                                            capsys) -> None:
    from retain import cli

    monkeypatch.setattr(ingest, "MAX_PROBLEMS_LISTED", 2)
    frames["transactions"]["amount"] = ["-1", "-2", "x", "-4", "-5"]

    with pytest.raises(typer.Exit):
        cli.load_checked(write_data(frames), None)

    err = capsys.readouterr().err
    assert "5 problem(s) in the input data" in err
    assert "transactions.csv, column 'amount': must be >= 0: 4" in err
    assert "transactions.csv, column 'amount': not a number: 1" in err


def _write_lf_quoted(directory: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """The tables as a writer that quotes every cell and ends lines in LF writes them (a bare carriage return
    stays inside its quoted cell)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(directory / f"{name}.csv", index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return directory


@pytest.mark.parametrize("words", ["first\rsecond", "\r", "ends with\r", "mixed\r\nand\rbare"])
def test_a_bare_carriage_return_in_a_quoted_cell_of_an_lf_file_loads(tmp_path: Path, frames, words: str) -> None:
    """DuckDB's own CSV reader fails on these ("Error when sniffing file") or splits the row: read by Arrow."""
    frames["interactions"].loc[0, "text"] = words
    data = load(_write_lf_quoted(tmp_path / "data", frames))
    loaded = data.interactions.to_pandas()
    assert len(loaded) == len(frames["interactions"])
    assert loaded["text"].iloc[0] == words


def test_problems_in_a_file_read_by_arrow_keep_their_row(tmp_path: Path, frames) -> None:
    frames["interactions"].loc[0, "text"] = "a\rb"
    frames["interactions"].loc[2, "ces"] = "8"
    frames["interactions"].loc[3, "text"] = ""  # empty: missing, as DuckDB's reader has it
    problems = problems_of(_write_lf_quoted(tmp_path / "data", frames))
    assert [(Path(p.file).name, p.row, p.column, p.value) for p in problems] == [("interactions.csv", 3, "ces", "8")]


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 1024])
@pytest.mark.parametrize(("content", "bare"), [
    (b"a,b\r\nc,d\r\n", False), (b"a,b\nc,d\n", False), (b"a,\"x\ry\"\n", True), (b"a\r", True), (b"a\r\r\n", True),
    (b"", False), (b"\r\n\r\n", False)])
def test_bare_carriage_returns_are_found_across_chunks(tmp_path: Path, content: bytes, bare: bool,
                                                       chunk_bytes: int) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    assert has_bare_carriage_return(path, chunk_bytes) is bare


def test_csv_written_by_retain_keeps_carriage_returns_in_their_cell(tmp_path: Path, frames) -> None:
    """`write_table` (`retain generate --format csv`) quotes them: with LF endings pandas would leave them bare
    and every reader would split the row."""
    from retain.storage import write_table

    frames["interactions"].loc[0, "text"] = "line one\rline two\r"
    for name, frame in frames.items():
        write_table(frame, tmp_path / f"{name}.csv")
    assert load(tmp_path).interactions.to_pandas()["text"].iloc[0] == "line one\rline two\r"
