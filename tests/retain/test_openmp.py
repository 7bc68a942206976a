"""XGBoost's OpenMP threads must be told to wait passively before its runtime loads (it reads the policy once)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PRINT_POLICY = "import os, {module}, xgboost; print(os.environ.get('OMP_WAIT_POLICY'))"


def _policy_after_import(module: str, policy: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    done = subprocess.run([sys.executable, "-c", PRINT_POLICY.format(module=module)], env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    return done.stdout.strip()


@pytest.mark.parametrize("module", ["models.churn", "training.clv_choice"])
def test_importing_a_package_that_loads_xgboost_sets_passive_waiting(module: str) -> None:
    assert _policy_after_import(module, None) == "PASSIVE"


def test_a_policy_the_user_set_is_kept() -> None:
    assert _policy_after_import("models.churn", "ACTIVE") == "ACTIVE"
