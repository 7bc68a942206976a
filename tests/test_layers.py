"""The layers of the code map in README.md, read from the import statements: data flows down them once.

`retain` (contract, settings, ingest) is the bottom, `features` reads the inputs, `models` holds fitted models
and the one scoring core, `training` fits them, `batch` and `serving` score with them; only the command line
(`retain/cli.py`) sits on top of everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("retain", "features", "models", "training", "batch", "serving")
MAY_IMPORT = {
    "retain": {"retain"},
    "features": {"retain", "features"},
    "models": {"retain", "features", "models"},
    "training": {"retain", "features", "models", "training"},
    "batch": {"retain", "features", "models", "batch"},
    "serving": {"retain", "features", "models", "batch", "serving"},
}
ON_TOP = {ROOT / "retain" / "cli.py"}


def imported_packages(path: Path) -> set[str]:
    """The project packages a module imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    modules = [p for p in (ROOT / package).rglob("*.py") if p not in ON_TOP]
    assert modules
    breaks = {str(p.relative_to(ROOT)): sorted(imported_packages(p) - MAY_IMPORT[package]) for p in modules}
    assert {module: found for module, found in breaks.items() if found} == {}
