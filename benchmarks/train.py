"""Benchmark: `retain train` end to end (features at every cutoff with sentiment, churn model, CLV model choice,
hybrid and intervals, MLflow logging and registration) on `--customers` customers.

Baseline, same process and data: what the first slice's CLV model alone costs with lifetimes (its
`summary_data_from_transaction_data` at the holdout cutoff, then BetaGeoFitter and GammaGammaFitter). The ratio
says how much the whole training costs against that one fit. Target (issue 15): under 3 minutes at 100,000
customers. Stage times come from the pipeline's own progress messages.

    .venv/bin/python benchmarks/train.py [--customers 100000] [--preset cdnow|default] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

# Run as a file, this folder is sys.path[0], where features.py would shadow the package: the root, as with -m.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.world import add_world_options, scratch_settings, write_world
from retain.ingest import load
from training.labels import plan_cutoffs
from training.pipeline import train

AS_OF = dt.date(2025, 12, 30)
TARGET_SECONDS = 180  # at 100,000 customers


def lifetimes_baseline(transactions_path: Path, cutoff: dt.date) -> float:
    """Seconds for lifetimes' summary table and its BG/NBD + Gamma-Gamma fits as of `cutoff`, in days."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter
        from lifetimes.utils import summary_data_from_transaction_data

        log = pd.read_parquet(transactions_path, columns=["customer_id", "timestamp", "amount"])
        started = time.perf_counter()
        summary = summary_data_from_transaction_data(log, "customer_id", "timestamp", "amount", freq="D",
                                                     observation_period_end=pd.Timestamp(cutoff))
        BetaGeoFitter(penalizer_coef=0.001).fit(summary["frequency"], summary["recency"], summary["T"])
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        GammaGammaFitter(penalizer_coef=0.001).fit(repeat["frequency"], repeat["monetary_value"])
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_world_options(parser, customers=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retain-bench-train-") as scratch:
        root = Path(scratch)
        sample, _ = write_world(root, args.customers, args.seed, args.preset)
        settings = scratch_settings(root)
        plan = plan_cutoffs(AS_OF, settings.churn_horizon_days, settings.training_cutoffs, settings.cutoff_step_days)
        baseline = lifetimes_baseline(root / "all" / "transactions.parquet", plan.test)

        started, cpu_started = time.perf_counter(), time.process_time()
        data = load(root / "all")
        report = train(settings, data, root / "all", AS_OF, sample.truth,
                       progress=lambda message: print(f"  [{time.perf_counter() - started:6.1f} s] {message}",
                                                      flush=True))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"lifetimes baseline (summary + BG/NBD + Gamma-Gamma as of {plan.test}): {baseline:.1f} s")
        print(f"retain train end to end (validated load included): {seconds:.1f} s = {seconds / baseline:.1f}x "
              f"the baseline; pipeline's own clock {report.seconds:.1f} s; target < {TARGET_SECONDS} s at 100,000: "
              f"{'PASS' if seconds < TARGET_SECONDS else 'MISS'}"
              f"{'' if args.customers == 100_000 else ' (other size)'}")
        print(f"CLV: {report.metrics['clv_purchases_mae']:.4f} holdout MAE; churn ROC-AUC "
              f"{report.metrics['churn_test_roc_auc']:.4f}")
        print(f"CPU time of this process {cpu:.1f} s (threads summed: on a shared machine the wall time above "
              f"grows with the load, this much less)")
        print(f"peak RSS {peak:.2f} GiB; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
