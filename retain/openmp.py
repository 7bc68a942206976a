"""OpenMP threads that wait passively. XGBoost (and scikit-learn) read `OMP_WAIT_POLICY` once, when their OpenMP
runtime loads, so this runs in the packages that import them (`models`, `training`) before any of their modules.

By default an idle OpenMP thread spins. On a small machine shared with other work (pytest's workers, DuckDB's
threads, the API's event loop) a spinning thread holds the core its partner thread is waiting for, and every
boosting round waits on the slowest: measured on this project's 2 cores under load, 100 Poisson rounds on
80,000 rows took 31.0 s with 2 spinning threads and 4.2 s passive (1 thread: 2.7 s); serving, a 1-row
`/v1/score` took 60 ms spinning and 8 ms passive. An explicit `OMP_WAIT_POLICY` is kept.
"""

from __future__ import annotations

import os


def wait_passively() -> None:
    """Ask OpenMP threads to sleep when idle, unless the environment says otherwise."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
