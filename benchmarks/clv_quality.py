"""Benchmark: CLV quality on CDNOW and on generated data, lifetimes' BTYD models and ours side by side.

CDNOW (the master log shipped with lifetimes): calibration to 1997-09-30, a 39-week holdout, weekly periods.
The validation window is the last 13 weeks of calibration (1997-07-01..09-30) and the hybrid trains on the two
13-week windows that end by its start: CDNOW customers all first bought in Q1 1997, so no 39-week window fits
before the calibration cutoff. Generated data: `retain generate`'s simulation (service drives churn), with
`retain train`'s cutoffs (90-day windows: training cutoffs, validation, holdout = test cutoff to --as-of) and
the churn model's service features as the hybrid's inputs. Every model is fitted at the calibration cutoff
and judged on the holdout; only the choice ("ours") is made on the validation window.

Targets (issue 15): CDNOW MAE < 0.74, purchases aggregate within +-5%, spend within +-10%; generated data MAE
at least 10% below BG/NBD's, aggregate within +-5%; the 80% interval covers 75-85% of holdout values.

    .venv/bin/python benchmarks/clv_quality.py [--customers 20000] [--seed 11] [--skip-cdnow] [--skip-generated]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, this folder is sys.path[0], where features.py would shadow the package: the root, as with -m.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ibis

from features.build import FeatureConfig, catalogue
from features.rfm import RFM_COLUMNS
from features.snapshot import prepare_sources
from models.btyd import LABELS
from retain.cdnow import cdnow_tables
from retain.ingest import load
from retain.sample import write_sample
from retain.settings import Settings
from retain.simulate import generate
from training.clv_choice import ClvChoice, ClvWindows, Window, choose_clv, choose_on_plan
from training.dataset import training_frames
from training.labels import plan_cutoffs

CDNOW_CALIBRATION_END = dt.date(1997, 9, 30)
CDNOW_HOLDOUT_WEEKS, CDNOW_WINDOW_WEEKS = 39, 13
GENERATED_AS_OF = dt.date(2025, 12, 31)


def cdnow_windows() -> ClvWindows:
    weeks = dt.timedelta(weeks=CDNOW_WINDOW_WEEKS)
    validation = CDNOW_CALIBRATION_END - weeks
    starts = (validation - weeks - dt.timedelta(weeks=4), validation - weeks)
    return ClvWindows(train=tuple(Window(s, s + weeks) for s in starts),
                      validation=Window(validation, CDNOW_CALIBRATION_END),
                      holdout=Window(CDNOW_CALIBRATION_END,
                                     CDNOW_CALIBRATION_END + dt.timedelta(weeks=CDNOW_HOLDOUT_WEEKS)))


def cdnow_choice() -> ClvChoice:
    transactions = ibis.memtable(cdnow_tables().transactions)
    return choose_clv(transactions, cdnow_windows(), "W")


def generated_choice(customers: int, seed: int) -> ClvChoice:
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="retain-clv-quality-") as folder:
        write_sample(generate(customers, seed), Path(folder), "parquet")
        data = load(Path(folder))
        config = FeatureConfig.from_settings(settings)
        plan = plan_cutoffs(GENERATED_AS_OF, settings.churn_horizon_days, settings.training_cutoffs,
                            settings.cutoff_step_days)
        sources = prepare_sources(data.con, data, Path(folder))
        frames = training_frames(sources, data.customers, data.transactions, plan, config,
                                 settings.churn_horizon_days)
        columns = [f.name for f in catalogue(config) if f.kind != "category" and f.name not in RFM_COLUMNS]
        return choose_on_plan(sources.transactions, plan, GENERATED_AS_OF, frames, columns, config.unit,
                              settings.churn_horizon_days, seed)


def report(title: str, choice: ClvChoice, seconds: float) -> dict[str, float]:
    """Print the side-by-side table; returns ours' holdout figures."""
    ours = choice.evaluation.metrics
    print(f"\n{title} ({seconds:.1f} s): {int(ours['customers']):,} customers, holdout purchases "
          f"{ours['purchases_actual_total']:,.0f}, spend {ours['spend_actual_total']:,.0f}")
    print(f"  {'model':<26}{'valid. MAE':>11}{'holdout MAE':>13}{'purchases agg.':>16}{'spend agg.':>12}")
    names = {**LABELS, "hybrid": "hybrid (GBM on BTYD)"}
    for name, figures in choice.holdout.items():
        valid = choice.validation.get(name, {}).get("purchases_mae", float("nan"))
        print(f"  {names[name]:<26}{valid:>11.4f}{figures['purchases_mae']:>13.4f}"
              f"{figures['purchases_aggregate_error']:>+16.2%}{figures['spend_aggregate_error']:>+12.2%}")
    label = f"ours = {LABELS[choice.chosen]}" + (" + hybrid" if choice.hybrid_won else "")
    print(f"  {label:<26}{'':>11}{ours['purchases_mae']:>13.4f}{ours['purchases_aggregate_error']:>+16.2%}"
          f"{ours['spend_aggregate_error']:>+12.2%}")
    print(f"  80% interval coverage of holdout spend: {ours['interval_coverage']:.1%} (of customers who bought "
          f"in the holdout: {ours['interval_coverage_buyers']:.1%}; customers who bought nothing: "
          f"{ours['holdout_zero_share']:.1%})")
    print(f"  choice: {choice.reason}")
    return ours


def _mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000, help="generated customers")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-cdnow", action="store_true")
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args()
    if not args.skip_cdnow:
        started = time.perf_counter()
        choice = cdnow_choice()
        ours = report("CDNOW, calibration to 1997-09-30, 39-week holdout, weekly periods", choice,
                      time.perf_counter() - started)
        print(f"  targets: MAE < 0.74 {_mark(ours['purchases_mae'] < 0.74)}; purchases aggregate within +-5% "
              f"{_mark(abs(ours['purchases_aggregate_error']) <= 0.05)}; spend within +-10% "
              f"{_mark(abs(ours['spend_aggregate_error']) <= 0.10)}; coverage 75-85% "
              f"{_mark(0.75 <= ours['interval_coverage'] <= 0.85)}")
    if not args.skip_generated:
        started = time.perf_counter()
        choice = generated_choice(args.customers, args.seed)
        ours = report(f"Generated data, {args.customers:,} customers (seed {args.seed}), as of {GENERATED_AS_OF}, "
                      "90-day holdout", choice, time.perf_counter() - started)
        gain = 1 - ours["purchases_mae"] / choice.holdout["bgnbd"]["purchases_mae"]
        print(f"  MAE {gain:.1%} below BG/NBD's: {_mark(gain >= 0.10)} (target >= 10%); aggregate within +-5% "
              f"{_mark(abs(ours['purchases_aggregate_error']) <= 0.05)}; coverage 75-85% "
              f"{_mark(0.75 <= ours['interval_coverage'] <= 0.85)}")


if __name__ == "__main__":
    main()
