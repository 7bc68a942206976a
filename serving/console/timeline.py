"""One customer's history for the customer page, read from the files: purchases and service contacts in the
365 days up to the batch's cutoff, the sentiment of their words from the sentiment cache, and the churn
probability in each kept score batch.

Every read is a DuckDB query filtered by the customer id, so only that customer's rows come back, whatever
the size of the logs (Parquet row groups whose id range cannot hold the id are skipped). Input files are read
as they are (a CSV as text, parsed here); times are shown in UTC, as the features count them.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from batch.store import store_dir
from features.sentiment_cache import CACHE_DIR, CACHE_FILE, text_hash
from retain.storage import find_table

WINDOW_DAYS = 365
BATCH_GLOB = "batch_*.parquet"
_local = threading.local()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection of this thread (connections are not shared between threads)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect(config={"threads": 1})
    return con


def _scan(path: Path) -> str:
    if path.suffix == ".csv":
        return "read_csv(?, all_varchar = true, header = true)"
    return "read_parquet(?)"


def _read(table: str, data_dir: Path, customer_id: str, columns: tuple[str, ...]) -> pd.DataFrame:
    path = find_table(data_dir, table)
    if path is None:
        return pd.DataFrame(columns=list(columns))
    con = _cursor()
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {_scan(path)}", [str(path)]).fetchall()}
    select = ", ".join(f'"{c}"' if c in present else f'NULL AS "{c}"' for c in columns)
    return con.execute(f"SELECT {select} FROM {_scan(path)} WHERE customer_id = ?",
                       [str(path), customer_id]).df()


def _utc(values: pd.Series) -> pd.Series:
    """Times as naive UTC (text parsed as ISO 8601; an offset converted)."""
    parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    return parsed.dt.tz_convert(None)


def _window(as_of: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)  # the cutoff day counts whole, as in the features
    return end - pd.Timedelta(days=WINDOW_DAYS), end


@dataclass(frozen=True)
class Timeline:
    purchases: pd.DataFrame  # timestamp, amount, order_id
    contacts: pd.DataFrame  # opened_at, case_id, channel, transfers, resolved, ces, csat, nps, text, sentiment
    start: pd.Timestamp
    end: pd.Timestamp

    def events(self) -> list[dict[str, object]]:
        """Purchases and contacts in one list, newest first, as plain values for the page."""
        out: list[dict[str, object]] = []
        for row in self.purchases.itertuples(index=False):
            out.append({"kind": "purchase", "when": row.timestamp, "amount": _value(row.amount),
                        "order_id": _value(row.order_id)})
        for row in self.contacts.itertuples(index=False):
            out.append({"kind": "contact", "when": row.opened_at, "case_id": _value(row.case_id),
                        "channel": _value(row.channel), "transfers": _value(row.transfers),
                        "resolved": _value(row.resolved), "ces": _value(row.ces), "csat": _value(row.csat),
                        "nps": _value(row.nps), "text": _value(row.text), "sentiment": _value(row.sentiment)})
        return sorted(out, key=lambda e: e["when"], reverse=True)  # type: ignore[arg-type,return-value]


def _value(value: object) -> object:
    return None if value is None or (not isinstance(value, str) and bool(pd.isna(value))) else value


def _bool(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    return text.map({"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False})


def read_timeline(data_dir: Path, customer_id: str, as_of: dt.date) -> Timeline:
    start, end = _window(as_of)
    purchases = _read("transactions", data_dir, customer_id, ("timestamp", "amount", "order_id"))
    purchases["timestamp"] = _utc(purchases["timestamp"])
    purchases["amount"] = pd.to_numeric(purchases["amount"], errors="coerce")
    purchases = purchases[(purchases["timestamp"] >= start) & (purchases["timestamp"] < end)]
    columns = ("interaction_id", "opened_at", "case_id", "channel", "transfers", "resolved", "ces", "csat", "nps",
               "text")
    contacts = _read("interactions", data_dir, customer_id, columns)
    contacts["opened_at"] = _utc(contacts["opened_at"])
    contacts = contacts[(contacts["opened_at"] >= start) & (contacts["opened_at"] < end)].copy()
    for name in ("transfers", "ces", "csat", "nps"):
        contacts[name] = pd.to_numeric(contacts[name], errors="coerce").astype("Int64")
    contacts["resolved"] = _bool(contacts["resolved"])
    contacts["sentiment"] = _sentiments(data_dir, contacts)
    return Timeline(purchases.sort_values("timestamp").reset_index(drop=True),
                    contacts.sort_values("opened_at").reset_index(drop=True), start, end)


def _sentiments(data_dir: Path, contacts: pd.DataFrame) -> pd.Series:
    """Each contact's sentiment from the cache, where the cached score is of the same text."""
    path = Path(data_dir) / CACHE_DIR / CACHE_FILE
    empty = pd.Series(np.nan, index=contacts.index, dtype=float)
    with_text = contacts[contacts["text"].notna()]
    if with_text.empty or not path.is_file():
        return empty
    ids = with_text["interaction_id"].astype(str).tolist()
    try:
        cached = _cursor().execute("SELECT interaction_id, text_hash, sentiment FROM read_parquet(?) "
                                   "WHERE interaction_id IN (SELECT unnest(?))", [str(path), ids]).df()
    except duckdb.Error:  # the cache is an optimisation: unreadable means "no sentiment shown"
        return empty
    wanted = pd.DataFrame({"interaction_id": ids, "text_hash": text_hash(with_text["text"].astype(object))},
                          index=with_text.index)
    cached["text_hash"] = cached["text_hash"].astype(np.uint64)
    found = wanted.reset_index().merge(cached, on=["interaction_id", "text_hash"], how="left").set_index("index")
    return empty.combine_first(found["sentiment"].astype(float))


def probability_history(data_dir: Path, customer_id: str) -> pd.DataFrame:
    """The customer's churn probability in each score batch kept beside the current one, oldest first:
    columns batch_id and churn_probability."""
    files = sorted(store_dir(data_dir).glob(BATCH_GLOB))
    if not files:
        return pd.DataFrame({"batch_id": [], "churn_probability": []})
    try:
        found = _cursor().execute(
            "SELECT filename, churn_probability FROM read_parquet(?, filename = true) WHERE customer_id = ?",
            [[str(f) for f in files], customer_id]).df()
    except duckdb.Error:  # a batch removed while reading (only the last few are kept): show none
        return pd.DataFrame({"batch_id": [], "churn_probability": []})
    found["batch_id"] = [Path(f).stem.removeprefix("batch_") for f in found.pop("filename")]
    return found.sort_values("batch_id").reset_index(drop=True)[["batch_id", "churn_probability"]]
