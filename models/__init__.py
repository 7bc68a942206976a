"""Fitted models and the one scoring core: the feature space, the churn and CLV models, reason codes and
`score()`, shared by training (which fits and evaluates), the batch job and the API (which score).

Imports nothing from `training/`, `serving/` or `batch/`; submodules are imported where needed, so a process
that only serves never loads fitting or plotting code.
"""

from retain.openmp import wait_passively

wait_passively()  # before any submodule loads XGBoost's OpenMP runtime
