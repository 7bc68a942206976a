"""Benchmark: sentiment scoring of service-interaction text, first run and re-run through the cache.

Targets (feature-pipeline issue): ~3M texts (1,000,000 simulated customers) scored in under 150 s on 2 cores
on the first run; a re-run with 1% new interactions in under 10% of that.

The simulator composes texts from small phrase pools (about 9k distinct sentences), which the scorer's
de-duplication makes nearly free. Real customer text is mostly unique, so by default every text gets a
neutral reference suffix ("Ref I123.") that makes it distinct: that measures VADER itself. Pass
`--simulated-texts` to time the texts as generated.

    .venv/bin/python benchmarks/sentiment.py --customers 100000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

# Run as a file, this folder is sys.path[0], where features.py would shadow the package: the root, as with -m.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.world import add_world_options
from features.sentiment_cache import SentimentStats, cache_path, score_interactions
from retain.simulate import PRESETS, generate

NEW_SHARE = 0.01


def interactions_for(customers: int, seed: int, distinct: bool, preset: str = "cdnow") -> pd.DataFrame:
    """The simulated interaction log, texts made distinct unless asked not to."""
    interactions = generate(customers, seed, PRESETS[preset]).interactions.loc[:, ["interaction_id", "opened_at",
                                                                                    "text"]]
    if distinct:
        interactions["text"] = interactions["text"] + " Ref " + interactions["interaction_id"] + "."
    return interactions


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers once it has shut down)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_run(interactions: pd.DataFrame, cache: Path, workers: int) -> tuple[float, float, SentimentStats]:
    """Wall seconds, CPU seconds (all processes) and stats of one scoring run. On a shared machine the
    wall time depends on what else runs; CPU seconds / workers is the wall time on idle cores."""
    start, start_cpu = time.perf_counter(), cpu_seconds()
    _, stats = score_interactions(interactions, cache, workers=workers)
    return time.perf_counter() - start, cpu_seconds() - start_cpu, stats


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident set of this process and of the largest finished child (Linux reports KiB).

    The child figure is an upper bound: Linux carries the high-water mark of the forked copy of this process
    (before the spawned worker's exec) into the child's, hence also WorkerMemory.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, child


class WorkerMemory(threading.Thread):
    """Samples the resident memory of this process's live children (the pool's workers) from /proc."""

    def __init__(self, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.every, self.stopped = every, threading.Event()
        self.largest_mb = self.total_mb = 0.0

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            sizes = [self._rss_mb(pid) for pid in self._children()]
            self.largest_mb = max([self.largest_mb, *sizes])
            self.total_mb = max(self.total_mb, sum(sizes))

    @staticmethod
    def _children() -> list[str]:
        pids: list[str] = []
        for task in Path("/proc/self/task").glob("*/children"):
            pids += task.read_text().split()
        return pids

    @staticmethod
    def _rss_mb(pid: str) -> float:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:  # the worker has just exited
            return 0.0
        line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
        return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_world_options(parser, customers=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--simulated-texts", action="store_true", help="keep the generator's repeated texts")
    args = parser.parse_args()

    start = time.perf_counter()
    everything = interactions_for(args.customers, args.seed, distinct=not args.simulated_texts, preset=args.preset)
    print(f"generated {len(everything):,} interactions for {args.customers:,} customers "
          f"in {time.perf_counter() - start:.1f} s")
    # the newest 1% arrive between the two runs, as they would in a daily job
    everything = everything.sort_values(["opened_at", "interaction_id"], kind="stable", ignore_index=True)
    first = everything.iloc[: len(everything) - round(len(everything) * NEW_SHARE)]

    workers = WorkerMemory()
    if Path("/proc/self/task").is_dir():
        workers.start()
    with tempfile.TemporaryDirectory() as data_dir:
        cache = cache_path(Path(data_dir))
        cold_s, cold_cpu, cold = timed_run(first, cache, args.workers)
        warm_s, warm_cpu, warm = timed_run(everything, cache, args.workers)

    mode = "simulated texts" if args.simulated_texts else "distinct texts"
    own, child = peak_rss_mb()
    print(f"first run ({mode}, {args.workers} workers, cold cache): {cold.scored_now:,} texts "
          f"({cold.distinct_texts:,} distinct, {cold.missing_text:,} without text) in {cold_s:.2f} s "
          f"= {cold.scored_now / cold_s:,.0f} texts/s; {cold_cpu:.1f} CPU s")
    print(f"re-run with {len(everything) - len(first):,} new: scored {warm.scored_now:,}, "
          f"{warm.from_cache:,} from cache, in {warm_s:.2f} s = {warm_s / cold_s:.1%} of the first run; "
          f"{warm_cpu:.1f} CPU s")
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    workers.stopped.set()
    print(f"peak RSS: {own:,.0f} MB this process; workers sampled: {workers.largest_mb:,.0f} MB largest, "
          f"{workers.total_mb:,.0f} MB together (getrusage children: {child:,.0f} MB, inflated by the fork)")


if __name__ == "__main__":
    main()
