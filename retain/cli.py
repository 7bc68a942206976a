"""`retain`: one command line for every step. Each command is a few lines around one library call."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from retain.errors import RetainError
from retain.location import Location, parse
from retain.terminal import Output

if TYPE_CHECKING:  # imported where used: `retain --help` loads no engine or ML library
    from ibis.backends import BaseBackend

    from features.build import FeatureConfig
    from retain.ingest import DataSet, Problem
    from retain.settings import Settings
    from training.action_report import ActionReport
    from training.pipeline import TrainReport

app = typer.Typer(
    help="retain: customer lifetime value and churn prediction from transactions and service interactions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Output()
errors = Output(stderr=True)
MAX_PROBLEMS_SHOWN = 50

DataDir = Annotated[str | None, typer.Argument(
    help="Folder with customers/transactions/interactions files; on Spark any URI it reads (hdfs://, s3a://).")]
DataOption = Annotated[Path | None, typer.Option("--data", help="Data folder (default: settings data dir).")]
InputOption = Annotated[str | None, typer.Option(
    "--data", help="Data folder (default: settings data dir); on Spark any URI it reads (hdfs://, s3a://).")]
EngineOption = Annotated[str | None, typer.Option(
    "--engine", help="duckdb (embedded, default) or spark (settings: RETAIN_ENGINE).")]
SparkConfOption = Annotated[list[str] | None, typer.Option(
    "--spark-conf", help="Spark configuration key=value (repeatable; adds to RETAIN_SPARK_CONF).")]
Quarantine = Annotated[
    Path | None,
    typer.Option("--quarantine", help="Write bad rows with their reasons here and go on with the good ones."),
]


def _settings(engine: str | None = None, spark_conf: list[str] | None = None) -> Settings:
    """The settings, with the engine flags (when given) over RETAIN_ENGINE and RETAIN_SPARK_CONF."""
    from retain.settings import Settings

    settings = Settings()
    changes: dict[str, object] = {}
    if engine is not None:
        if engine not in ("duckdb", "spark"):
            raise RetainError(f"--engine must be duckdb or spark, not {engine!r}")
        changes["engine"] = engine
    if spark_conf:
        changes["spark_conf"] = {**settings.spark_conf, **_key_values(spark_conf)}
    return settings.model_copy(update=changes) if changes else settings


def _key_values(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RetainError(f"--spark-conf takes key=value, like spark.driver.memory=4g, not {pair!r}")
        parsed[key.strip()] = value
    return parsed


def _connect(settings: Settings) -> BaseBackend:
    """The chosen engine, started before any data is read, so a missing pyspark or Java is said first; the
    files are read and checked by it, and every later step runs on the same connection."""
    from retain.engine import connect

    return connect(settings)


def _print_problems(problems: list[Problem], total: int,
                    counts: dict[tuple[str, str, str], int] | None = None) -> None:
    """A table on a terminal; elsewhere (a CI log, `| tee`) one problem a line, whole, for grep. Past the listed
    problems, the count of each rule."""
    title = f"{total} problem(s) in the input data"
    if not errors.is_terminal:
        errors.print(f"{title}:", markup=False, highlight=False)
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            errors.print(str(problem), markup=False, highlight=False)
    else:
        table = Table(title=title, show_lines=False)
        for column in ("file", "row", "column", "value", "rule"):
            table.add_column(column, overflow="fold")
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            table.add_row(*map(escape, (problem.file, str(problem.row or ""), problem.column or "",
                                        problem.value or "", problem.rule)))
        errors.print(table)
    if total > MAX_PROBLEMS_SHOWN:
        listed = "the full list" if total == len(problems) else f"the first {len(problems):,}"
        errors.print(f"... and {total - MAX_PROBLEMS_SHOWN} more: use --report FILE for {listed}.")
    if counts and total > len(problems):
        errors.print("Problems per rule:", markup=False, highlight=False)
        for (file, column, rule), count in counts.items():
            errors.print(f"  {file}, column '{column}': {rule}: {count:,}", markup=False, highlight=False)


def load_checked(data_dir: Location, quarantine: Path | None, report: Path | None = None,
                 con: BaseBackend | None = None) -> DataSet:
    """The check every command starts with: refuse bad data with a full report, or quarantine bad rows."""
    from retain.ingest import ValidationFailed, load

    try:
        data = load(data_dir, quarantine, con)
    except ValidationFailed as failure:
        _print_problems(failure.problems, failure.total, failure.counts)
        if report is not None:
            _write_report(failure.problems, report)
            errors.print(f"Full report written to {report}")
        if quarantine is not None:
            errors.print("A missing column cannot be quarantined row by row: fix the file.")
        raise typer.Exit(code=1) from None
    if data.set_aside:
        console.print(f"[yellow]Set aside {data.set_aside} bad row(s) in {quarantine}[/yellow] "
                      f"({len(data.problems)} problem(s)); going on with the good rows.")
    return data


def _write_report(problems: list[Problem], path: Path) -> None:
    """The problem list as CSV for a spreadsheet (cell values echo the input, so through retain.csv_export), or
    as Parquet by the file's suffix."""
    from retain.csv_export import csv_text
    from retain.ingest import Problem
    from retain.storage import atomic_write, write_table

    fields = list(Problem.model_fields)
    rows = [[getattr(problem, name) for name in fields] for problem in problems]
    if path.suffix == ".csv":
        atomic_write(path, lambda tmp: tmp.write_text(csv_text(fields, rows), encoding="utf-8"))
    else:
        import pandas as pd

        write_table(pd.DataFrame(rows, columns=fields), path)


@app.command()
def generate(
    customers: Annotated[int, typer.Option(min=1, help="How many customers to simulate.")] = 10_000,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: settings).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: settings data dir).")] = None,
    table_format: Annotated[str, typer.Option("--format", help="parquet or csv for the input tables.")] = "parquet",
    preset: Annotated[str, typer.Option(
        help="The simulated world: 'default' (customers buy every few weeks, a fifth of the active base leaves "
             "in a quarter) or 'cdnow' (rare, bursty buyers like the CDNOW data).")] = "default",
) -> None:
    """Simulate sample data with known ground truth (truth.parquet is for evaluation only)."""
    from retain.sample import write_sample
    from retain.simulate import PRESETS
    from retain.simulate import generate as simulate

    settings = _settings()
    if table_format not in ("parquet", "csv"):
        raise RetainError(f"--format must be parquet or csv, not {table_format!r}")
    if preset not in PRESETS:
        raise RetainError(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    fmt: Literal["parquet", "csv"] = "csv" if table_format == "csv" else "parquet"
    out = out or settings.data_dir
    started = time.perf_counter()
    with console.status(f"Simulating {customers:,} customers..."):
        sample = simulate(customers, seed if seed is not None else settings.seed, PRESETS[preset])
        files = write_sample(sample, out, fmt)
    elapsed = time.perf_counter() - started
    console.print(f"Generated {customers:,} customers, {len(sample.transactions):,} transactions and "
                  f"{len(sample.interactions):,} interactions in {elapsed:.1f} s:")
    for path in files:
        console.print(f"  {path}  ({path.stat().st_size / 1e6:.1f} MB)")


@app.command()
def validate(
    data_dir: DataDir = None,
    quarantine: Quarantine = None,
    report: Annotated[Path | None, typer.Option(help="Write every problem to this CSV.")] = None,
    engine: EngineOption = None,
    spark_conf: SparkConfOption = None,
) -> None:
    """Check the input tables against the data contract and summarise them."""
    from retain.sample import read_truth
    from retain.summary import summarize

    settings = _settings(engine, spark_conf)
    con = _connect(settings)
    location = parse(data_dir) if data_dir else settings.data_dir
    data = load_checked(location, quarantine, report, con)
    summary = summarize(data, read_truth(location))
    title = f"{escape(str(location))}: valid" + (
        f" after setting aside {data.set_aside} row(s)" if data.set_aside else "")
    table = Table(title=title, show_header=False)
    for key, value in summary.model_dump().items():
        if value is not None:
            shown = f"{value:.1%}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
            table.add_row(key.replace("_", " "), escape(str(shown)))
    console.print(table)


@app.command()
def contract() -> None:
    """Print the data contract (the input tables and their rules) as Markdown."""
    from retain.contract import contract_markdown

    typer.echo(contract_markdown())


def _inputs(data: str | None, as_of: str, quarantine: Path | None, engine: str | None = None,
            spark_conf: list[str] | None = None) -> tuple[Settings, Location, dt.date, DataSet]:
    """What every data command starts with: settings, the engine, the data folder, the cutoff day and the
    checked tables, the cutoff inside the days the tables cover (`retain.span`)."""
    from retain.span import check_as_of

    settings = _settings(engine, spark_conf)
    con = _connect(settings)
    data_dir = parse(data) if data else settings.data_dir
    cutoff = _parse_day(as_of, "--as-of")
    dataset = load_checked(data_dir, quarantine, con=con)
    check_as_of(dataset, cutoff)
    return settings, data_dir, cutoff, dataset


def _parse_day(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RetainError(f"{option} must be a date like 2025-06-30, not {value!r}") from None


@app.command()
def features(
    as_of: Annotated[str, typer.Option("--as-of", help="Cutoff day (YYYY-MM-DD): nothing after it is used.")],
    data: InputOption = None,
    out: Annotated[Path | None, typer.Option(help="Output Parquet (default DATA/features/features_<as_of>).")] = None,
    quarantine: Quarantine = None,
    sentiment: Annotated[bool, typer.Option(help="Score interaction text (cached next to the data).")] = True,
    engine: EngineOption = None,
    spark_conf: SparkConfOption = None,
) -> None:
    """Compute per-customer features as of a cutoff day and write them as Parquet."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from features.build import FeatureConfig
    from features.snapshot import write_snapshot

    settings, data_dir, cutoff, dataset = _inputs(data, as_of, quarantine, engine, spark_conf)
    started = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("building features", total=None)

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"scoring {stage}", completed=done, total=total)

        config = FeatureConfig.from_settings(settings)
        path, sources, rows = write_snapshot(dataset, data_dir, cutoff, config, out, sentiment, report)
    console.print(f"Wrote features of {rows:,} customers as of {cutoff} to {path} "
                  f"in {time.perf_counter() - started:.1f} s (texts scored: {sources.texts_scored:,}, "
                  f"from cache: {sources.texts_from_cache:,}).")
    _print_feature_preview(path, config, sentiment)


PREVIEW_COLUMNS = {"customer_id": "customer", "frequency": "freq", "recency": "recency", "T": "T",
                   "contacts_90d": "contacts 90d", "open_cases": "open cases", "sentiment_last": "last sentiment"}


def _print_feature_preview(path: Path, config: FeatureConfig, with_sentiment: bool) -> None:
    """A few customers with service contacts, a handful of columns, and the catalogue's size."""
    import pandas as pd

    from features.build import catalogue as feature_catalogue

    frame = pd.read_parquet(path)
    columns = [c for c in PREVIEW_COLUMNS if c in frame.columns]
    sample = frame[frame["contacts_90d"] > 0].head(5) if "contacts_90d" in frame else frame.head(5)
    if sample.empty:  # no customer with contacts (an empty interactions table): show some customers anyway
        sample = frame.head(5)
    table = Table(title="A few customers (some of the columns)")
    for column in columns:
        table.add_column(PREVIEW_COLUMNS[column], justify="right", no_wrap=True)
    for _, row in sample[columns].iterrows():
        table.add_row(*["-" if pd.isna(v) else f"{v:.4g}" if isinstance(v, float) else escape(str(v)) for v in row])
    console.print(table)
    features_list = feature_catalogue(config, with_sentiment)
    families = sorted({f.family for f in features_list})
    console.print(f"Feature catalogue: {len(features_list)} features in {len(families)} families "
                  f"({', '.join(families)}); `retain catalogue` lists them with definitions.")


@app.command()
def catalogue(
    sentiment: Annotated[bool, typer.Option(help="Include the sentiment family.")] = True,
) -> None:
    """Print the feature catalogue (every feature with its one-line definition) as Markdown."""
    from features.build import FeatureConfig
    from features.build import catalogue as feature_catalogue
    from features.catalogue import markdown

    typer.echo(markdown(feature_catalogue(FeatureConfig.from_settings(_settings()), sentiment)))


@app.command("import-cdnow")
def import_cdnow(
    out: Annotated[Path, typer.Option(help="Folder to write the CDNOW tables into.")] = Path("data/cdnow"),
) -> None:
    """Convert the CDNOW log shipped with lifetimes into retain's contract (empty interactions)."""
    from retain.cdnow import cdnow_tables
    from retain.sample import write_sample

    sample = cdnow_tables()
    for path in write_sample(sample, out):
        console.print(f"  {path}")
    console.print(f"CDNOW: {len(sample.customers):,} customers, {len(sample.transactions):,} transactions.")


@app.command()
def train(
    as_of: Annotated[str, typer.Option("--as-of", help="Last day of data to learn from (YYYY-MM-DD).")],
    data: InputOption = None,
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment (default: settings).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Promote to champion even if not better.")] = False,
    quarantine: Quarantine = None,
    engine: EngineOption = None,
    spark_conf: SparkConfOption = None,
    max_train_rows: Annotated[int | None, typer.Option(
        "--max-train-rows", min=1, help="Largest churn training set brought to the driver; more rows are sampled "
                                        "down, stratified by label (settings: RETAIN_MAX_TRAIN_ROWS).")] = None,
) -> None:
    """Train the churn and CLV models, track them in MLflow, promote them only if they beat the champion."""
    from retain.sample import read_truth
    from training.pipeline import train as train_models

    settings, data_dir, cutoff, dataset = _inputs(data, as_of, quarantine, engine, spark_conf)
    if experiment:
        settings = settings.model_copy(update={"experiment": experiment})
    if max_train_rows:
        settings = settings.model_copy(update={"max_train_rows": max_train_rows})
    started = time.perf_counter()

    def stage(message: str) -> None:
        console.print(f"[{time.perf_counter() - started:6.1f} s] {message}")  # not .log: pads to the width
        status.update(f"training: {message}")

    with console.status("training...") as status:
        report = train_models(settings, dataset, data_dir, cutoff, read_truth(data_dir), force, stage)
    _print_training(report)


def _print_training(report: TrainReport) -> None:
    metrics = report.metrics
    table = Table(title=f"Churn model on the test cutoff {report.plan.test} (out of time)")
    table.add_column("model")
    table.add_column("ROC-AUC, whole base", justify="right")
    table.add_column("ROC-AUC, active customers", justify="right")
    rows = [("churn model (XGBoost, calibrated)", "churn_test_roc_auc", "churn_retention_roc_auc"),
            ("days since last purchase (recency only)", "baseline_recency_roc_auc",
             "baseline_recency_retention_roc_auc"),
            *((label, f"baseline_{name}_roc_auc", f"baseline_{name}_retention_roc_auc") for label, name in (
                ("without service features (ablation)", "no_service_ablation"),
                ("logistic regression on RFM", "logistic_rfm"), ("1 - P(alive) from BG/NBD", "one_minus_p_alive"))),
            ("best achievable (true parameters)", "reference_best_achievable_roc_auc", ""),
            ("clairvoyant (knows dropout time)", "reference_clairvoyant_roc_auc", "")]
    for label, *keys in rows:
        if keys[0] in metrics:
            table.add_row(label, *(f"{metrics[key]:.4f}" if key in metrics else "" for key in keys))
    console.print(table)
    for name, prefix, rate in (("whole base", "churn_test", "churn_rate_test"),
                               ("active customers", "churn_retention", "churn_rate_retention")):
        if f"{prefix}_roc_auc" in metrics:
            console.print(f"{name}: " + "PR-AUC {p_pr_auc:.4f}  log loss {p_log_loss:.4f}  Brier {p_brier:.4f}  "
                          "ECE {p_expected_calibration_error:.4f}  top-decile lift {p_lift_top_decile:.2f}  "
                          "churn rate {rate:.1%}".format(rate=metrics[rate], **{
                              key.replace(prefix, "p", 1): value for key, value in metrics.items()
                              if key.startswith(prefix)}))
    if "tier_high_threshold" in metrics:
        console.print("Active customers (bought in the retention window): {retention_population_share:.1%} of the "
                      "base; tier high from churn probability {tier_high_threshold:.3f} "
                      "({tier_high_share_retention:.1%} of them), medium from {tier_medium_threshold:.3f} "
                      "({tier_medium_share_retention:.1%})".format(**metrics))
    console.print("CLV holdout: purchases MAE {clv_purchases_mae:.4f}, RMSE {clv_purchases_rmse:.4f}, "
                  "aggregate error {clv_purchases_aggregate_error:+.2%}; spend aggregate error "
                  "{clv_spend_aggregate_error:+.2%}".format(**metrics))
    for name, decision in report.decisions.items():
        verdict = "[green]promoted to champion[/green]" if decision.promote else "[yellow]not promoted[/yellow]"
        console.print(f"{name} v{report.versions.get(name, '?')}: {verdict} ({decision.reason})")
    console.print(f"MLflow run {report.run_id}; {report.seconds:.1f} s")


@app.command()
def compare(
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment (default: settings).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show the N best runs.")] = 20,
) -> None:
    """Compare the training runs of an experiment side by side, best first, with the champions marked."""
    from training import experiments, tracking

    settings = _settings()
    if experiment:
        settings = settings.model_copy(update={"experiment": experiment})
    client = tracking.open_store(settings)
    runs = tracking.experiment_runs(client, settings.experiment)
    if runs.empty:
        console.print(f"Experiment {escape(settings.experiment)!r} has no runs yet: `retain train` logs one.")
        return
    held = tracking.champions(client)
    table = experiments.comparison_table(runs, held.values(), limit)
    title = (f"{escape(settings.experiment)}: {len(table)} of {len(runs)} run(s), best first "
             "(churn test ROC-AUC, then CLV purchases MAE)")
    _print_runs(title, *experiments.as_text(table), experiments.NUMERIC)
    names = dict(zip(runs["run_id"], runs["run_name"], strict=True))
    for champion in held.values():
        where = (f"run {str(champion.run_id)[:8]} ({escape(str(names[champion.run_id]))})"
                 if champion.run_id in names else f"run {champion.run_id} (not in this experiment)")
        console.print(f"{champion.model} champion: v{champion.version}, {where}")


def _print_runs(title: str, headers: list[str], rows: list[list[str]], numeric: set[str]) -> None:
    """One row per run if that fits the terminal, else runs as columns (best first), a few at a time."""
    from rich.measure import Measurement

    wide = Table(title=title)
    for index, header in enumerate(headers):  # headers may wrap, cells may not
        wide.add_column(header, justify="right" if header in numeric else "left",
                        min_width=max(len(row[index]) for row in rows))
    for row in rows:
        wide.add_row(*map(escape, row))
    if Measurement.get(console, console.options.update_width(10_000), wide).minimum <= console.width:
        console.print(wide)
        return
    per_table = max(1, (console.width - 24) // 19)
    for start in range(0, len(rows), per_table):
        part = Table(title=title if start == 0 else None)
        part.add_column("rank")
        chunk = rows[start:start + per_table]
        for rank in range(start + 1, start + len(chunk) + 1):
            part.add_column(f"#{rank}", justify="right")
        for index, header in enumerate(headers):
            part.add_row(header, *(escape(row[index]) for row in chunk))
        console.print(part)


@app.command()
def score(
    as_of: Annotated[str, typer.Option("--as-of", help="Cutoff day of the features (YYYY-MM-DD).")],
    data: InputOption = None,
    top: Annotated[int, typer.Option(help="How many of the at-risk list to print.")] = 10,
    quarantine: Quarantine = None,
    engine: EngineOption = None,
    spark_conf: SparkConfOption = None,
) -> None:
    """Score every customer with the champion models and swap the new batch into the score store."""
    from batch.job import score_all

    settings, data_dir, cutoff, dataset = _inputs(data, as_of, quarantine, engine, spark_conf)
    started = time.perf_counter()
    with console.status("scoring...") as status:
        path, info = score_all(settings, dataset, data_dir, cutoff, dt.datetime.now(dt.UTC),
                               lambda message: status.update(f"scoring: {message}"))
    console.print(f"Scored {info.customers:,} customers as of {info.as_of} with retain-churn "
                  f"v{info.churn_model_version} and retain-clv v{info.clv_model_version} in "
                  f"{time.perf_counter() - started:.1f} s: {path}")
    _print_at_risk(path, top)


def _print_at_risk(path: Path, top: int) -> None:
    """The tiers within the active base, then the customers whose best action saves most (the work list)."""
    import pandas as pd

    from models.actions import ACTIONS

    frame = pd.read_parquet(path)
    tiers = frame["risk_tier"].value_counts()
    active = int(len(frame) - tiers.get("lapsed", 0))
    console.print(f"{len(frame):,} customers, {active:,} active (the retention population); tier high "
                  f"{tiers.get('high', 0):,} ({tiers.get('high', 0) / max(active, 1):.1%} of the active), medium "
                  f"{tiers.get('medium', 0):,}, low {tiers.get('low', 0):,}, lapsed {tiers.get('lapsed', 0):,}")
    frame = frame.sort_values(["value_saved", "value_at_risk", "customer_id"], ascending=[False, False, True])
    table = Table(title=f"Top {top} to act on (by estimated value saved by the best action)")
    for column in ("customer", "tier", "churn", "CLV", "at risk", "best action", "saves", "top reason"):
        table.add_column(column, justify="right" if column in ("churn", "CLV", "at risk", "saves") else "left")
    labels = {name: action.label for name, action in ACTIONS.items()}
    for row in frame.head(top).itertuples(index=False):
        table.add_row(escape(row.customer_id), row.risk_tier, f"{row.churn_probability:.0%}", f"{row.clv:,.2f}",
                      f"{row.value_at_risk:,.2f}", labels.get(row.best_action, "-"), f"{row.value_saved:,.2f}",
                      escape(row.reason_1 if isinstance(row.reason_1, str) else ""))
    console.print(table)


@app.command("evaluate-actions")
def evaluate_actions(
    as_of: Annotated[str, typer.Option("--as-of", help="Cutoff day (YYYY-MM-DD): score at it, replay from it.")],
    data: InputOption = None,
    replicates: Annotated[int, typer.Option(min=1, help="Futures replayed per customer and averaged.")] = 10,
    quarantine: Quarantine = None,
) -> None:
    """On simulated data: rank customers by predicted value saved and by value at risk, treat the top K in the
    simulated world, and compare the value each ranking realizes (logged to MLflow with the Qini plot)."""
    from retain.sample import read_truth
    from training.action_report import evaluate_actions as evaluate

    settings, data_dir, cutoff, dataset = _inputs(data, as_of, quarantine)
    with console.status("evaluating actions...") as status:
        report = evaluate(settings, dataset, data_dir, cutoff, read_truth(data_dir),
                          lambda message: status.update(f"evaluating: {message}"), replicates)
    _print_actions(report)


def _print_actions(report: ActionReport) -> None:
    table = Table(title=f"Treating the top K of {report.customers:,} customers with their best action "
                        "(realized = simulated world, same random numbers)")
    for column in ("top K", "customers", "by value saved: predicted", "realized", "predicted/realized",
                   "by value at risk: predicted", "realized", "value saved / value at risk"):
        table.add_column(column, justify="right")
    for row in report.table.itertuples(index=False):
        table.add_row(f"{row.share:.0%}", f"{row.customers:,}", f"{row.predicted_value_saved:,.2f}",
                      f"{row.realized_value_saved:,.2f}", f"{row.predicted_over_realized_value_saved:.2f}",
                      f"{row.predicted_value_at_risk:,.2f}", f"{row.realized_value_at_risk:,.2f}",
                      f"{row.realized_ratio:.2f}x")
    console.print(table)
    for row in report.table.itertuples(index=False):
        console.print(f"Top {row.share:.0%}: already gone at the cutoff (dropped out before it, in the simulated "
                      f"truth; nothing can save them) {row.gone_value_saved:.0%} of those ranked by value saved, "
                      f"{row.gone_value_at_risk:.0%} by value at risk.")
    for row in report.table.itertuples(index=False):
        console.print(f"Top {row.share:.0%} by value saved, per treated customer: churn probability drop predicted "
                      f"{row.predicted_churn_drop_value_saved:.3f}, realized {row.realized_churn_drop_value_saved:.3f} "
                      f"(no purchase in the churn horizon); value saved predicted "
                      f"{row.predicted_value_saved / row.customers:,.2f}, realized "
                      f"{row.realized_value_saved / row.customers:,.2f}.")
    metrics = report.metrics
    console.print(f"Everyone with their best action: predicted {metrics['actions_predicted_all']:,.2f}, realized "
                  f"{metrics['actions_realized_all']:,.2f}. Qini coefficient by value saved "
                  f"{metrics['actions_qini_value_saved']:,.2f}, by value at risk "
                  f"{metrics['actions_qini_value_at_risk']:,.2f}.")
    console.print(f"retain-churn v{report.churn_version}, retain-clv v{report.clv_version}; MLflow run {report.run_id}")


KeysFile = Annotated[Path | None, typer.Option(
    "--keys-file", help="API keys file (default: api_keys.json under RETAIN_HOME).")]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: settings api_host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings api_port, 8000).")] = None,
    data: DataOption = None,
    keys_file: KeysFile = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the batch and models).")] = 1,
) -> None:
    """Serve the API (scores, at-risk list, on-demand scoring) over the score store and champion models."""
    import logging
    import os

    import uvicorn

    from serving.app import create_app

    changes = {k: v for k, v in {"data_dir": data, "api_keys_file": keys_file}.items() if v is not None}
    settings = _settings().model_copy(update=changes)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = {"host": host or settings.api_host, "port": port or settings.api_port, "access_log": False,
               "http": "httptools", "loop": "uvloop"}  # C HTTP parser and event loop (benchmarks/README.md)
    console.print(f"Serving on http://{options['host']}:{options['port']} (docs at /docs)")
    if workers == 1:
        uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
        return
    for name, value in changes.items():  # worker processes build their settings from the environment
        os.environ[f"RETAIN_{name.upper()}"] = str(value)
    uvicorn.run("serving.app:from_environment", factory=True, workers=workers, **options)  # type: ignore[arg-type]


@app.command("api-key")
def api_key(
    role: Annotated[str, typer.Option(help="reader (scores) or admin (also reload).")],
    keys_file: KeysFile = None,
    name: Annotated[str | None, typer.Option(help="Who uses the key (shown in the outreach log); default "
                                                  "key-<first 8 hex digits of its hash>.")] = None,
) -> None:
    """Create an API key: print it once and store only its SHA-256 hash (and its name) in the keys file."""
    from serving.auth import ROLES, add_key

    if role not in ROLES:
        raise RetainError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    path = keys_file or _settings().api_keys_file
    if path is None:
        raise RetainError("no keys file: pass --keys-file FILE or set RETAIN_API_KEYS_FILE")
    key = add_key(path, role, name)  # type: ignore[arg-type]
    errors.print(f"New {role} key; its hash was added to {path}. It is shown only once:")
    typer.echo(key)

def main() -> None:
    """Entry point: user mistakes become a message and exit code 2, never a traceback."""
    try:
        app()
    except RetainError as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        raise SystemExit(2) from None
    except Exception as error:
        import duckdb
        from pydantic import ValidationError

        if isinstance(error, duckdb.OutOfMemoryException):  # the data outgrew RETAIN_DUCKDB_MEMORY_LIMIT
            detail = str(error).strip().splitlines()[0]
            errors.print(f"[red]error:[/red] {escape(detail)}: raise RETAIN_DUCKDB_MEMORY_LIMIT, or lower "
                         "RETAIN_DUCKDB_THREADS (each thread holds its own buffers)")
            raise SystemExit(1) from None
        if not isinstance(error, ValidationError) or error.title != "Settings":  # a bad RETAIN_* variable or
            raise  # .env entry is a user mistake too; anything else is not
        errors.print(f"[red]error:[/red] invalid setting: {escape(str(error))}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
