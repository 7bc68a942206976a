"""Benchmark: point-in-time features on DuckDB (ibis) at 1,000,000 simulated customers.

1. Generate sample data (`retain.simulate.generate`) and write it as Parquet (`retain.sample.write_sample`).
2. RFM: `features.rfm.rfm_features` on DuckDB over the Parquet files (`con.read_parquet`), executed to pandas,
   unit "D", windows (30, 90, 365), against `lifetimes.utils.summary_data_from_transaction_data` on the same
   transactions in pandas (same process). frequency/recency/T/monetary_value must agree to 1e-9.
   Target: ours at least 20x faster. Ours is timed from a fresh connection (connect + read_parquet + build the
   expression + compile + execute, imports excluded: "cold") and again on the same connection ("warm");
   the verdict uses the cold run, the warm ratio is printed beside it. The baseline's time is the lifetimes
   call alone, on a frame already in memory and already cut at the cutoff (the cut is timed separately);
   ours includes reading Parquet and also computes days_since_last_purchase and the windowed counts/spend.
3. The whole feature table without sentiment (`features.build.build_features`, `FeatureConfig()`), written
   atomically to Parquet with `features.io.write_features`. Target: under 60 s.
4. Peak resident memory of the process (ru_maxrss, includes data generation and the pandas baseline).
   Target: under 8 GiB.

Figures depend on what else runs on the machine: the load average is printed at each step.

    .venv/bin/python benchmarks/features.py --customers 100000
    .venv/bin/python benchmarks/features.py                       # 1,000,000 customers
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the `features` package.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # lifetimes' Pandas4Warning on import
    from lifetimes.utils import summary_data_from_transaction_data

from ibis.backends import BaseBackend

from features import io
from features.build import FeatureConfig, build_features
from features.cutoff import Cutoff
from features.rfm import rfm_features
from retain.sample import write_sample
from retain.simulate import generate

WINDOWS = (30, 90, 365)
UNIT = "D"
RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value")
TOLERANCE = 1e-9
SPEED_TARGET = 20.0
BUILD_TARGET_S = 60.0
MEMORY_TARGET_GIB = 8.0


def load() -> str:
    return "load average " + "/".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min)"


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ours_rfm(con: BaseBackend, path: Path, as_of: dt.date) -> tuple[pd.DataFrame, ir.Table]:
    """rfm_features over the Parquet file, executed to pandas."""
    transactions = con.read_parquet(path)
    expr = rfm_features(transactions, Cutoff(as_of), WINDOWS, UNIT)
    return expr.to_pandas(), expr


def timed_ours(path: Path, as_of: dt.date, threads: int | None) -> tuple[float, float, pd.DataFrame, ir.Table,
                                                                        BaseBackend]:
    """(cold s, warm s, result, expression, connection): cold from a fresh connection, warm on the same one."""
    start = time.perf_counter()
    con = io.connect(threads)
    frame, expr = ours_rfm(con, path, as_of)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    frame, expr = ours_rfm(con, path, as_of)
    warm = time.perf_counter() - start
    return cold, warm, frame, expr, con


def duckdb_threads(con: BaseBackend) -> int:
    return int(con.raw_sql("SELECT current_setting('threads')").fetchone()[0])


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[bool, dict[str, float]]:
    """Same customers, and the largest absolute difference per RFM column."""
    mine = ours.set_index("customer_id").sort_index()
    other = theirs.sort_index()
    other.index = other.index.astype(mine.index.dtype)
    same_customers = mine.index.equals(other.index)
    diffs = {}
    for column in RFM_COLUMNS:
        a = mine[column].to_numpy(dtype=float)
        b = other[column].reindex(mine.index).to_numpy(dtype=float)
        diffs[column] = float(np.nanmax(np.abs(a - b))) if np.isfinite(a - b).all() else float("inf")
    return same_customers, diffs


def explain(con: BaseBackend, expr: ir.Table) -> str:
    """DuckDB's EXPLAIN ANALYZE profile of the compiled RFM query (run on the same connection)."""
    sql = ibis.to_sql(expr, dialect="duckdb")
    rows = con.raw_sql(f"EXPLAIN ANALYZE {sql}").fetchall()
    return "\n".join(str(row[-1]) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the workdir (data and features)")
    parser.add_argument("--threads", type=int, default=0,
                        help="DuckDB threads for the main runs (0 = DuckDB's default, one per core)")
    parser.add_argument("--thread-sweep", type=int, nargs="*", default=[1, 2],
                        help="also time the RFM query with these DuckDB thread counts (empty to skip)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the RFM query")
    args = parser.parse_args()
    threads = args.threads or None

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="retain-bench-features-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{args.customers:,} customers, seed {args.seed}, workdir {workdir}; {os.cpu_count()} cores; {load()}")
    try:
        # 1. data ------------------------------------------------------------------------------------------
        start = time.perf_counter()
        sample = generate(args.customers, args.seed)
        generate_s = time.perf_counter() - start
        start = time.perf_counter()
        write_sample(sample, workdir)
        write_s = time.perf_counter() - start
        rows = {name: len(getattr(sample, name)) for name in ("customers", "transactions", "interactions")}
        tx_path = workdir / "transactions.parquet"
        data_end = sample.transactions["timestamp"].max().date()
        as_of = data_end - dt.timedelta(days=91)
        transactions = sample.transactions[["customer_id", "timestamp", "amount"]]
        del sample
        gc.collect()
        generation_peak = peak_gib()
        print(f"generated in {generate_s:.1f} s, written as Parquet in {write_s:.1f} s: "
              f"{rows['customers']:,} customers, {rows['transactions']:,} transactions, "
              f"{rows['interactions']:,} interactions; last purchase {data_end}, as_of {as_of}; "
              f"peak RSS so far {generation_peak:.2f} GiB")

        # 2. RFM: ours vs lifetimes -------------------------------------------------------------------------
        print(f"\nRFM ({UNIT}, windows {WINDOWS}); {load()}")
        cold_s, warm_s, ours, expr, con = timed_ours(tx_path, as_of, threads)
        used_threads = duckdb_threads(con)
        print(f"ours  rfm_features on DuckDB ({used_threads} threads), Parquet -> pandas: "
              f"cold {cold_s:.3f} s (fresh connection + read_parquet + compile + run), warm {warm_s:.3f} s; "
              f"{len(ours):,} customers x {ours.shape[1]} columns")

        start = time.perf_counter()
        known = transactions[transactions["timestamp"] < pd.Timestamp(Cutoff(as_of).end)]
        cut_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs = summary_data_from_transaction_data(
            known, "customer_id", "timestamp", monetary_value_col="amount",
            observation_period_end=pd.Timestamp(as_of), freq=UNIT)
        baseline_s = time.perf_counter() - start
        print(f"lifetimes summary_data_from_transaction_data: {baseline_s:.3f} s on {len(known):,} transactions "
              f"(+ {cut_s:.3f} s for the pandas cut at the cutoff, not counted)")
        same_customers, diffs = compare(ours, theirs)
        worst = max(diffs.values())
        equal = same_customers and worst < TOLERANCE
        print("max abs difference: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
              + f"; same customers: {same_customers}")
        ratio_cold, ratio_warm = baseline_s / cold_s, baseline_s / warm_s
        print(f"speed-up: {ratio_cold:.1f}x cold, {ratio_warm:.1f}x warm (lifetimes / ours)")
        if args.explain:
            print("\nEXPLAIN ANALYZE of the RFM query:\n" + explain(con, expr))
        del con, expr, ours, theirs, known, transactions
        gc.collect()

        sweep = {}
        for n in args.thread_sweep:
            cold_n, warm_n, *_ = timed_ours(tx_path, as_of, n)
            sweep[n] = (cold_n, warm_n)
            print(f"ours with SET threads TO {n}: cold {cold_n:.3f} s, warm {warm_n:.3f} s "
                  f"({baseline_s / cold_n:.1f}x / {baseline_s / warm_n:.1f}x)")
            gc.collect()

        # 3. the whole feature table ------------------------------------------------------------------------
        print(f"\nfeature table without sentiment; {load()}")
        out = io.default_output(workdir, as_of)
        start = time.perf_counter()
        con = io.connect(threads)
        tables = (con.read_parquet(workdir / f"{name}.parquet")
                  for name in ("customers", "transactions", "interactions"))
        io.write_features(con, build_features(*tables, as_of, FeatureConfig()), out)
        build_s = time.perf_counter() - start
        meta = pq.read_metadata(out)
        print(f"build_features + write_features (Parquet views -> Parquet, atomic): {build_s:.2f} s; "
              f"{meta.num_rows:,} rows x {meta.num_columns} columns, {out.stat().st_size / 2**20:.1f} MiB")
        del con
        gc.collect()

        # 4. memory ------------------------------------------------------------------------------------------
        peak = peak_gib()
        print(f"\npeak RSS {peak:.2f} GiB (whole process, includes generating the data: "
              f"{generation_peak:.2f} GiB at the end of generation); {load()}")

        print("\n=== summary ===")
        print(f"customers {rows['customers']:,}; transactions {rows['transactions']:,}; "
              f"interactions {rows['interactions']:,}; as_of {as_of}; DuckDB threads {used_threads}")
        print(f"data: generate {generate_s:.1f} s, write Parquet {write_s:.1f} s")
        print(f"RFM equal to lifetimes (< {TOLERANCE:g}): max abs diff {worst:.1e}, same customers "
              f"{same_customers} -> {verdict(equal)}")
        print(f"RFM ours {cold_s:.3f} s cold / {warm_s:.3f} s warm, lifetimes {baseline_s:.3f} s: "
              f"{ratio_cold:.1f}x cold -> {verdict(ratio_cold >= SPEED_TARGET)} (>= {SPEED_TARGET:g}x); "
              f"{ratio_warm:.1f}x warm -> {verdict(ratio_warm >= SPEED_TARGET)}")
        for n, (c, w) in sweep.items():
            print(f"  threads {n}: {c:.3f} s cold ({baseline_s / c:.1f}x), {w:.3f} s warm ({baseline_s / w:.1f}x)")
        print(f"feature build {build_s:.2f} s, {meta.num_rows:,} x {meta.num_columns} -> "
              f"{verdict(build_s < BUILD_TARGET_S)} (< {BUILD_TARGET_S:g} s)")
        print(f"peak RSS {peak:.2f} GiB incl. generation -> {verdict(peak < MEMORY_TARGET_GIB)} "
              f"(< {MEMORY_TARGET_GIB:g} GiB)")
        print(load())
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
