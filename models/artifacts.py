"""The fitted models as plain files (booster JSON, parameters JSON), never pickles: what the MLflow pyfunc
wrappers log and what serving loads back from a pinned registry version."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import xgboost as xgb

from models.churn import ChurnModel
from models.clv import ClvModel, attempts_from
from models.clv_hybrid import Correction, IntervalTable
from models.population import TierThresholds
from models.space import FeatureSpace

CHURN_FILES = {"booster": "booster.json", "meta": "churn_meta.json"}
CLV_FILES = {"params": "clv_params.json"}
CORRECTION_FILE = "clv_correction.json"  # the hybrid's booster, written (and listed) only when the model has one


def save_churn(model: ChurnModel, folder: Path) -> dict[str, str]:
    """Write the booster and its metadata; returns the artifact map for `log_model`."""
    folder.mkdir(parents=True, exist_ok=True)
    model.booster.save_model(folder / CHURN_FILES["booster"])
    meta = {"space": model.space.model_dump(), "best_iteration": model.best_iteration,
            "calibration_x": model.calibration_x.tolist(), "calibration_y": model.calibration_y.tolist(),
            "tier_thresholds": asdict(model.thresholds) if model.thresholds else None}
    (folder / CHURN_FILES["meta"]).write_text(json.dumps(meta))
    return {key: str(folder / name) for key, name in CHURN_FILES.items()}


def load_churn(artifacts: dict[str, str]) -> ChurnModel:
    booster = xgb.Booster()
    booster.load_model(artifacts["booster"])
    meta = json.loads(Path(artifacts["meta"]).read_text())
    thresholds = meta.get("tier_thresholds")
    return ChurnModel(FeatureSpace.model_validate(meta["space"]), booster, int(meta["best_iteration"]),
                      np.asarray(meta["calibration_x"]), np.asarray(meta["calibration_y"]),
                      TierThresholds(**thresholds) if thresholds else None)


def save_clv(model: ClvModel, folder: Path) -> dict[str, str]:
    """Parameters, choice and interval table as JSON, and the hybrid's booster when there is one."""
    folder.mkdir(parents=True, exist_ok=True)
    stored = {f.name: getattr(model, f.name) for f in fields(model) if f.name not in ("correction", "interval")}
    stored["attempts"] = [asdict(a) for a in model.attempts]
    stored["interval"] = asdict(model.interval) if model.interval is not None else None
    files = dict(CLV_FILES)
    if model.correction is not None:
        stored["correction"] = {"horizon": model.correction.horizon, "service": list(model.correction.service)}
        model.correction.booster.save_model(folder / CORRECTION_FILE)
        files["correction"] = CORRECTION_FILE
    (folder / CLV_FILES["params"]).write_text(json.dumps(stored))
    return {key: str(folder / name) for key, name in files.items()}


def load_clv(artifacts: dict[str, str]) -> ClvModel:
    stored = json.loads(Path(artifacts["params"]).read_text())
    stored["attempts"] = attempts_from(stored.get("attempts", ()))
    interval = stored.pop("interval", None)
    stored["interval"] = IntervalTable(low=tuple(interval["low"]), high=tuple(interval["high"]),
                                       coverage=interval["coverage"]) if interval else None
    correction = stored.pop("correction", None)
    if correction is not None:
        booster = xgb.Booster()
        booster.load_model(artifacts.get("correction") or str(Path(artifacts["params"]).parent / CORRECTION_FILE))
        stored["correction"] = Correction(booster, float(correction["horizon"]), tuple(correction["service"]))
    return ClvModel(**stored)


def artifacts_in(folder: Path, files: dict[str, str]) -> dict[str, str]:
    """The artifact map of a logged model downloaded to `folder` (MLflow keeps them under `artifacts/`)."""
    found = {key: next(Path(folder).rglob(name), None) for key, name in files.items()}
    missing = [files[key] for key, path in found.items() if path is None]
    if missing:
        raise FileNotFoundError(f"model folder {folder} lacks {', '.join(missing)}")
    return {key: str(path) for key, path in found.items()}
