"""Model training: CLV (BG/NBD + Gamma-Gamma) and churn (XGBoost), tracked and gated in MLflow."""

from retain.openmp import wait_passively

wait_passively()  # before any submodule loads XGBoost's OpenMP runtime
