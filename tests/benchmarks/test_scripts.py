"""The benchmark scripts are how an issue's figures are printed; nothing else runs them, so an import broken by a
refactor (a script shadowed by benchmarks/features.py, a changed signature) would go unseen until someone
needs the figure. Each script runs as users run it: as a file, from the project root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name not in {"__init__.py", "world.py"})


def run(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, f"benchmarks/{script}", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_imports_and_explains_its_options(script: str) -> None:
    done = run(script, "--help", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "--help" in done.stdout


def test_clv_quality_prints_every_model_on_cdnow_and_generated_data() -> None:
    done = run("clv_quality.py", "--customers", "1500", timeout=600)
    assert done.returncode == 0, done.stderr
    sections = done.stdout.split("\nGenerated data")
    assert len(sections) == 2, done.stdout
    for section in sections:
        for model in ("BG/NBD", "MBG/NBD", "Pareto/NBD", "hybrid (GBM on BTYD)", "ours = "):
            assert f"\n  {model}" in section, (model, section)
        assert "80% interval coverage of holdout spend:" in section
    assert "holdout purchases 18,440" in sections[0]  # the CDNOW split of issue 15
