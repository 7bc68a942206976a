"""The API process stays lean: serving the champions loads no fitting, training or plotting code."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.serving.conftest import Store

LOAD = """
import json, sys
from pathlib import Path
from retain.settings import Settings
from features.build import FeatureConfig, catalogue
from serving.app import create_app
from serving.state import load_snapshot
settings = Settings(_env_file=None, mlflow_tracking_uri=sys.argv[1], data_dir=Path(sys.argv[2]))
create_app(settings)
snapshot = load_snapshot(settings, {f.name: f for f in catalogue(FeatureConfig.from_settings(settings))})
assert snapshot.ready, snapshot.problems
print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))
"""


def test_serving_loads_no_training_fitting_or_plotting_code(store: Store) -> None:
    done = subprocess.run([sys.executable, "-c", LOAD, store.tracking_uri, str(store.data_dir)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert {"serving", "models", "xgboost"} <= loaded  # it did load the champions
    assert loaded & {"training", "lifetimes", "matplotlib", "pandera"} == set()
