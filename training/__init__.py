"""Model training: CLV (BG/NBD + Gamma-Gamma) and churn (XGBoost), tracked and gated in MLflow."""
