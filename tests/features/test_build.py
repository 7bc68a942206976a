"""The composed feature table: its shape against the catalogue, customers known at the cutoff, zero-filling,
point-in-time properties on random frames, and the atomic Parquet writer."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features import io
from features.build import FeatureConfig, _as_dtype, build_features, catalogue
from features.catalogue import Feature
from retain.contract import CHANNELS, CUSTOMERS, INTERACTIONS, TRANSACTIONS
from tests.features.conftest import (
    contract_frame,
    customers,
    interactions,
    memtables,
    run,
    run_sorted,
    transactions,
)

AS_OF = dt.date(2024, 3, 31)
CONFIG = FeatureConfig()
CATALOGUE = catalogue(CONFIG, with_sentiment=False)
CUSTOMER_INPUTS = {"tenure_days", "segment", "country"}  # come from the customers table, not from events


def build(cust: pd.DataFrame, tx: pd.DataFrame, log: pd.DataFrame, as_of: dt.date = AS_OF,
          config: FeatureConfig = CONFIG) -> pd.DataFrame:
    return run(build_features(*memtables(cust, tx, log), as_of, config))


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cust = customers(
        {"customer_id": "A", "signup_date": "2023-05-01", "segment": "plus", "country": "DE"},
        {"customer_id": "B", "signup_date": "2024-03-31"},  # signs up on as_of: known
        {"customer_id": "C", "signup_date": "2024-04-01", "segment": "basic"},  # the day after: not known
        {"customer_id": "D", "signup_date": "2024-01-15", "country": "US"},  # no events at all
    )
    tx = transactions(
        {"customer_id": "A", "timestamp": "2024-03-01 10:00", "amount": 10.0},
        {"customer_id": "A", "timestamp": "2024-03-20 10:00", "amount": 30.0},
        {"customer_id": "B", "timestamp": "2024-03-31 18:00", "amount": 5.0},
        {"customer_id": "C", "timestamp": "2024-03-15 10:00", "amount": 99.0},
    )
    log = interactions(
        {"interaction_id": "i1", "customer_id": "A", "case_id": "K1", "opened_at": "2024-03-10 10:00",
         "closed_at": "2024-03-10 10:30", "resolved": True, "transfers": 2, "ces": 6, "csat": 5, "nps": 9},
        {"interaction_id": "i2", "customer_id": "C", "case_id": "K2", "opened_at": "2024-03-20 10:00",
         "closed_at": "2024-03-20 10:30", "resolved": True},
    )
    return cust, tx, log


@pytest.fixture(scope="module")
def table(small: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return build(*small)


def test_columns_are_the_catalogue(small: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    expr = build_features(*memtables(*small), AS_OF, CONFIG)
    assert list(expr.columns) == ["customer_id", "as_of", *[f.name for f in CATALOGUE]]
    assert len({f.name for f in CATALOGUE}) == len(CATALOGUE)


def test_catalogue_follows_the_config() -> None:
    config = FeatureConfig(windows=(7, 28), unit="W")
    names = [f.name for f in catalogue(config, with_sentiment=False)]
    assert "purchases_7d" in names and "ces_mean_28d" in names and "purchases_30d" not in names
    out = build(customers({"customer_id": "A", "signup_date": "2024-01-01"}), transactions(), interactions(),
                config=config)
    assert list(out.columns) == ["as_of", *names]


def test_one_row_per_customer_known_at_the_cutoff(table: pd.DataFrame) -> None:
    assert list(table.index) == ["A", "B", "D"]  # C signs up after as_of, despite its earlier events
    assert table.index.is_unique
    assert (table["as_of"] == pd.Timestamp(AS_OF)).all()


def test_tenure_and_customer_columns(table: pd.DataFrame) -> None:
    assert table.loc["A", "tenure_days"] == (AS_OF - dt.date(2023, 5, 1)).days == 335
    assert table.loc["B", "tenure_days"] == 0
    assert table.loc["D", "tenure_days"] == (AS_OF - dt.date(2024, 1, 15)).days
    assert table.loc["A", "segment"] == "plus" and table.loc["A", "country"] == "DE"
    assert pd.isna(table.loc["D", "segment"]) and table.loc["D", "country"] == "US"


def test_families_are_joined_to_the_right_customer(table: pd.DataFrame) -> None:
    assert table.loc["A", "frequency"] == 1.0
    assert table.loc["A", "spend_30d"] == pytest.approx(30.0)  # [03-02, 04-01): only the 03-20 purchase
    assert table.loc["B", "days_since_last_purchase"] == 0
    assert table.loc["A", "contacts_30d"] == 1
    assert table.loc["A", "transfers_30d"] == 2
    assert table.loc["A", "first_contact_resolution_rate_30d"] == 1.0
    assert table.loc["A", "nps_last_class"] == "promoter"
    assert table.loc["A", "ces_last"] == 6


@pytest.mark.parametrize("customer", ["B", "D"])
def test_zero_fill_only_for_counts_and_totals(table: pd.DataFrame, customer: str) -> None:
    """B has a purchase but no contact, D has nothing: absent counts/totals are 0, everything else missing."""
    assert {f.name for f in CATALOGUE if f.zero_when_absent} == {
        f.name for f in CATALOGUE if f.kind in ("count", "total")}
    has_purchase = customer == "B"
    for feature in CATALOGUE:
        if feature.name in CUSTOMER_INPUTS or (feature.family == "rfm" and has_purchase):
            continue
        value = table.loc[customer, feature.name]
        if feature.zero_when_absent:
            assert value == 0, (customer, feature.name, value)
        else:
            assert pd.isna(value), (customer, feature.name, value)


# --- one dtype per feature, from the catalogue -------------------------------------------------------------

ARROW_TYPES = {"int64": {pa.int64()}, "float64": {pa.float64()}, "string": {pa.string(), pa.large_string()}}


def _scored(log: pd.DataFrame) -> pd.DataFrame:
    return log[["interaction_id", "customer_id", "opened_at"]].assign(sentiment=0.4)


def _assert_catalogue_dtypes(schema: pa.Schema, frame: pd.DataFrame, features: list[Feature]) -> None:
    for feature in features:
        assert schema.field(feature.name).type in ARROW_TYPES[feature.dtype], (feature.name, feature.dtype)
        column = frame[feature.name]
        assert {"int64": pd.api.types.is_int64_dtype, "float64": pd.api.types.is_float_dtype,
                "string": pd.api.types.is_string_dtype}[feature.dtype](column.dtype), (feature.name, column.dtype)


def test_columns_have_their_catalogue_dtype(small: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    cust, tx, log = small
    expr = build_features(*memtables(cust, tx, log), AS_OF, CONFIG, ibis.memtable(_scored(log)))
    features = catalogue(CONFIG)
    assert {str(expr[f.name].type()).rstrip("!") for f in features if f.dtype == "int64"} == {"int64"}
    table = expr.to_pyarrow()
    _assert_catalogue_dtypes(table.schema, table.to_pandas(), features)


def test_written_file_reads_back_with_the_catalogue_dtypes(
        tmp_path: Path, small: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    """The engine writes the file itself: DuckDB sums integers into HUGEINT, which its Parquet writer turned
    into DOUBLE (transfers_*), so the registered model refused the product's own feature file."""
    con = io.connect(threads=1)
    cust, tx, log = small
    tables = [io.register_frame(con, name, frame) for name, frame in
              (("customers", cust), ("transactions", tx), ("interactions", log), ("scored", _scored(log)))]
    target = io.write_features(con, build_features(*tables[:3], AS_OF, CONFIG, tables[3]), tmp_path / "f.parquet")
    written = pd.read_parquet(target)
    _assert_catalogue_dtypes(pq.read_schema(target), written, catalogue(CONFIG))
    assert written.set_index("customer_id").loc["A", "transfers_30d"] == 2


def test_a_float_becoming_an_integer_is_rounded_not_truncated() -> None:
    floats = ibis.memtable(pd.DataFrame({"x": [1.0, 2.6, -0.4, None]}))
    out = floats.select(y=_as_dtype(floats.x, "int64")).to_pyarrow()
    assert out.schema.field("y").type == pa.int64()
    assert out.column("y").to_pylist() == [1, 3, 0, None]


# --- properties on small random frames ------------------------------------------------------------

FUTURE_SECONDS = 40 * 86_400
# (as_of, unit): the weekday matters for weeks; few pairs, as each costs a compilation (see CompiledBuild)
CUTOFF_CHOICES = ((dt.date(2024, 3, 27), "D"), (dt.date(2024, 3, 25), "W"), (dt.date(2024, 3, 31), "W"))
SECOND_OF_DAY = st.sampled_from([0, 1, 43_200, 86_399])


def _end(as_of: dt.date) -> dt.datetime:
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    """Customers A-D (D never gets in touch; the others may sign up after as_of), their purchases and
    contacts over the 120 days before the end of as_of and a few days after. Case ids K0-K2 are reused across
    customers (the contract makes only interaction_id unique)."""
    as_of, unit = draw(st.sampled_from(CUTOFF_CHOICES))
    start = _end(as_of) - dt.timedelta(days=120)

    def moment(day: int, second: int) -> dt.datetime:
        return start + dt.timedelta(days=day, seconds=second)

    signup = {c: draw(st.integers(0, 123)) for c in "ABC"}
    cust = customers(
        *[{"customer_id": c, "signup_date": (start + dt.timedelta(days=d)).date(),
           "segment": draw(st.sampled_from([None, "basic", "plus"]))} for c, d in signup.items()],
        {"customer_id": "D", "signup_date": start.date(), "country": "US"},
    )
    tx = transactions(*[
        {"customer_id": c, "timestamp": moment(d, s), "amount": cents / 100}
        for c, d, s, cents in draw(st.lists(st.tuples(
            st.sampled_from("ABCD"), st.integers(0, 123), SECOND_OF_DAY, st.integers(0, 20_000)),
            max_size=10))
    ])
    contacts = draw(st.lists(st.tuples(
        st.sampled_from("ABC"), st.integers(0, 2), st.integers(0, 123) | st.sampled_from([100, 118]),
        SECOND_OF_DAY,  # clustered days and seconds: same-instant contacts on a case
        st.sampled_from([None, 0, 600, 3 * 86_400]),  # closed after (seconds), None: still open
        st.sampled_from(CHANNELS), st.booleans(), st.integers(0, 3), st.integers(0, 900),
        st.none() | st.integers(1, 7), st.none() | st.integers(1, 5), st.none() | st.integers(0, 10),
    ), max_size=12))
    log = interactions(*[
        {"interaction_id": f"I{n}", "customer_id": c, "case_id": f"K{k}", "opened_at": moment(d, s),
         "closed_at": None if close is None else moment(d, s) + dt.timedelta(seconds=close), "channel": ch,
         "resolved": res, "transfers": tr, "handle_seconds": float(h), "ces": ces, "csat": csat, "nps": nps}
        for n, (c, k, d, s, close, ch, res, tr, h, ces, csat, nps) in enumerate(contacts)
    ])
    return {"as_of": as_of, "customers": cust, "transactions": tx, "interactions": log,
            "config": FeatureConfig(unit=unit)}


class CompiledBuild:
    """build_features on a DuckDB connection whose three tables are replaced for every example.

    Compiling the expression to SQL costs ~10 times more than running it on a few rows, so the SQL of
    `build_features` is compiled once per (as_of, config) and re-run on each example's data: the same query
    `to_pandas` would run, with DuckDB's plain pandas conversion.
    """

    def __init__(self) -> None:
        self._con: Any = None
        self.sql: dict[tuple[dt.date, FeatureConfig], str] = {}

    @property
    def con(self) -> Any:
        if self._con is None:
            self._con = ibis.duckdb.connect()
        return self._con

    def __call__(self, cust: pd.DataFrame, tx: pd.DataFrame, log: pd.DataFrame, as_of: dt.date,
                 config: FeatureConfig) -> pd.DataFrame:
        for frame, spec in ((cust, CUSTOMERS), (tx, TRANSACTIONS), (log, INTERACTIONS)):
            assert frame.dtypes.to_dict() == contract_frame(spec).dtypes.to_dict(), spec.name
        tables = [self.con.create_table(name, frame, overwrite=True)
                  for name, frame in (("customers", cust), ("transactions", tx), ("interactions", log))]
        if (as_of, config) not in self.sql:
            self.sql[as_of, config] = ibis.to_sql(build_features(*tables, as_of, config), dialect="duckdb")
        return self.con.raw_sql(self.sql[as_of, config]).df().sort_values("customer_id", ignore_index=True)


COMPILED_BUILD = CompiledBuild()


def _build(h: dict[str, Any], cust: pd.DataFrame | None = None, tx: pd.DataFrame | None = None,
           log: pd.DataFrame | None = None) -> pd.DataFrame:
    return COMPILED_BUILD(h["customers"] if cust is None else cust, h["transactions"] if tx is None else tx,
                          h["interactions"] if log is None else log, h["as_of"], h["config"])


def test_compiled_build_equals_build_features(small: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    """The shortcut of the property tests gives what build_features(...).to_pandas() gives."""
    expected = run_sorted(build_features(*memtables(*small), AS_OF, CONFIG))
    actual = COMPILED_BUILD(*small, AS_OF, CONFIG)
    assert list(actual.columns) == list(expected.columns)
    pdt.assert_frame_equal(actual.astype(object).where(actual.notna(), None),
                           expected.astype(object).where(expected.notna(), None), check_dtype=False)


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    # floats may differ in the last bits with the order of summation
    pdt.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(h=histories())
def test_invariants_on_random_histories(h: dict[str, Any]) -> None:
    out = _build(h).set_index("customer_id")
    end = pd.Timestamp(_end(h["as_of"]))
    cust = h["customers"]
    assert set(out.index) == set(cust.loc[cust["signup_date"] < end, "customer_id"])
    assert out.index.is_unique
    buyers = out["frequency"].notna()
    assert set(out.index[buyers]) == set(
        h["transactions"].loc[h["transactions"]["timestamp"] < end, "customer_id"]) & set(out.index)
    rfm = out[buyers]
    assert ((rfm["recency"] >= 0) & (rfm["recency"] <= rfm["T"])).all()
    assert (rfm.loc[rfm["frequency"] == 0, "recency"] == 0).all()
    assert (out["purchases_365d"] >= out["purchases_90d"]).all()
    assert (out["purchases_90d"] >= out["purchases_30d"]).all()
    assert (out.loc[~buyers, ["purchases_30d", "purchases_365d"]] == 0).all().all()
    assert out.loc[~buyers, ["recency", "T", "monetary_value", "days_since_last_purchase"]].isna().all().all()
    # D never gets in touch: its service counts are 0 and its service rates, scores and days missing.
    service = [f for f in CATALOGUE if f.family in ("effort", "resolution", "survey")]
    for feature in service:
        value = out.loc["D", feature.name]
        if feature.zero_when_absent:
            assert value == 0, feature.name
        else:
            assert pd.isna(value), feature.name
    assert math.isnan(out.loc["D", "first_contact_resolution_rate_90d"])
    assert math.isnan(out.loc["D", "ces_mean_90d"])
    assert out.loc["D", "contacts_90d"] == 0


@settings(max_examples=25, deadline=None)
@given(h=histories(), seed=st.integers(0, 2**32 - 1))
def test_row_order_changes_nothing(h: dict[str, Any], seed: int) -> None:
    def shuffled(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)

    _assert_same(_build(h, *(shuffled(h[name]) for name in ("customers", "transactions", "interactions"))),
                 _build(h))


@st.composite
def future_events(draw: st.DrawFn, h: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The history plus what happens after as_of: a customer signing up, purchases, contacts (some on known
    cases) and the closing (with outcome and answers) of contacts that were open at the cutoff."""
    end = _end(h["as_of"])
    cust = pd.concat([h["customers"], customers({"customer_id": "E", "signup_date": end.date()})],
                     ignore_index=True)

    def later() -> dt.datetime:
        return end + dt.timedelta(seconds=draw(st.integers(0, FUTURE_SECONDS)))

    new_tx = transactions(*[{"customer_id": c, "timestamp": later(), "amount": draw(st.integers(0, 500)) / 4}
                            for c in draw(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=5))])
    log = h["interactions"]
    new_contacts = []
    for n, c in enumerate(draw(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=5))):
        opened = later()
        own_cases = sorted(set(log.loc[log["customer_id"] == c, "case_id"])) + ["K9"]
        new_contacts.append({
            "interaction_id": f"F{n}", "customer_id": c, "case_id": draw(st.sampled_from(own_cases)),
            "opened_at": opened, "closed_at": draw(st.sampled_from([None, opened + dt.timedelta(hours=1)])),
            "channel": draw(st.sampled_from(CHANNELS)), "resolved": draw(st.booleans()),
            "transfers": draw(st.integers(0, 3)), "handle_seconds": 100.0, "ces": draw(st.integers(1, 7)),
            "csat": draw(st.integers(1, 5)), "nps": draw(st.integers(0, 10))})
    log = log.copy()
    # contacts still open at the cutoff get closed afterwards, with an outcome and survey answers
    still_open = log["closed_at"].isna() | (log["closed_at"] >= pd.Timestamp(end))
    closing = still_open & pd.Series(draw(st.lists(st.booleans(), min_size=len(log), max_size=len(log))),
                                     index=log.index, dtype=bool)
    log.loc[closing, "closed_at"] = pd.Timestamp(end) + pd.Timedelta(hours=2)
    log.loc[closing, ["resolved"]] = True
    log.loc[closing, ["ces", "csat", "nps"]] = [7, 5, 10]
    log = pd.concat([log, interactions(*new_contacts)], ignore_index=True)
    tx = pd.concat([h["transactions"], new_tx], ignore_index=True)
    return cust, tx, log


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_events_after_the_cutoff_change_nothing(data: st.DataObject) -> None:
    h = data.draw(histories())
    cust, tx, log = data.draw(future_events(h))
    assert len(tx) > len(h["transactions"]) and len(log) > len(h["interactions"])
    _assert_same(_build(h, cust, tx, log), _build(h))


# --- writing the table ----------------------------------------------------------------------------


@pytest.fixture()
def con_and_table(small: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> tuple[Any, ibis.Table]:
    con = io.connect(threads=1)
    tables = [io.register_frame(con, name, frame)
              for name, frame in zip(("customers", "transactions", "interactions"), small, strict=True)]
    return con, build_features(*tables, AS_OF, CONFIG)


def test_write_features_writes_parquet_atomically(tmp_path: Path, con_and_table: tuple[Any, ibis.Table],
                                                  table: pd.DataFrame) -> None:
    con, expr = con_and_table
    target = io.default_output(tmp_path, AS_OF)
    assert io.write_features(con, expr, target) == target
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary file left
    written = pd.read_parquet(target).set_index("customer_id").sort_index()
    assert list(written.index) == list(table.index)
    assert list(written.columns) == list(table.columns)
    pdt.assert_series_equal(written["spend_30d"], table["spend_30d"], check_names=False)
    # and once more over the existing file
    io.write_features(con, expr, target)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert len(pd.read_parquet(target)) == len(table)


def test_write_features_failing_at_execution_leaves_no_file(tmp_path: Path) -> None:
    con = io.connect()
    bad = con.create_table("bad", pd.DataFrame({"x": ["1", "two"]})).select(y=ibis._.x.cast("int64"))
    target = tmp_path / "features.parquet"
    with pytest.raises(Exception, match="(?i)conver|cast"):
        io.write_features(con, bad, target)
    assert list(tmp_path.iterdir()) == []


class HalfWrittenError(RuntimeError):
    pass


@pytest.mark.parametrize("existing", [False, True])
def test_write_features_interrupted_mid_write(tmp_path: Path, con_and_table: tuple[Any, ibis.Table],
                                              monkeypatch: pytest.MonkeyPatch, existing: bool) -> None:
    con, expr = con_and_table
    target = tmp_path / "out" / "features.parquet"
    if existing:
        target.parent.mkdir()
        target.write_bytes(b"old")

    def half_write(table: ibis.Table, path: Path) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise HalfWrittenError("disk full")

    monkeypatch.setattr(con, "to_parquet", half_write)
    with pytest.raises(HalfWrittenError):
        io.write_features(con, expr, target)
    assert sorted(p.name for p in target.parent.iterdir()) == (["features.parquet"] if existing else [])
    if existing:
        assert target.read_bytes() == b"old"
