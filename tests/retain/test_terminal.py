"""The command line's console: fitted to a terminal, every line whole anywhere else (`retain.terminal`)."""

from __future__ import annotations

import io

from rich.table import Table

from retain.ingest import Problem
from retain.terminal import Output

LONG = "NO-SUCH-CUSTOMER-XYZ-0123456789-LONG " * 4


def _table() -> Table:
    table = Table(title="problems")
    for column in ("file", "value"):
        table.add_column(column, overflow="fold")
    table.add_row("transactions.csv", LONG)
    return table


def test_off_a_terminal_tables_and_lines_are_never_folded() -> None:
    sink = io.StringIO()
    console = Output(file=sink, width=40)  # even an explicit width does not fold a pipe's lines

    console.print(_table())
    console.print(LONG)

    lines = sink.getvalue().splitlines()
    assert sum(LONG.strip() in line for line in lines) == 2
    assert max(map(len, lines)) < 200  # a table at its natural width, not padded to the console's


def test_on_a_terminal_the_width_is_fitted_as_before() -> None:
    sink = io.StringIO()
    console = Output(file=sink, width=40, force_terminal=True, color_system=None)

    console.print(_table())

    lines = sink.getvalue().splitlines()
    assert max(map(len, lines)) == 40 and not any(LONG.strip() in line for line in lines)


def test_on_a_terminal_problems_are_a_table(monkeypatch) -> None:
    from retain import cli

    sink = io.StringIO()
    monkeypatch.setattr(cli, "errors", Output(file=sink, width=200, force_terminal=True, color_system=None))
    problem = Problem(file="t.csv", row=3, column="segment", value="gold [vip]", rule="must be one of ...")

    cli._print_problems([problem], 1)

    text = sink.getvalue()
    assert "1 problem(s) in the input data" in text and "┃ file" in text
    assert "│ gold [vip] │" in text  # a value with brackets is shown, not taken for markup
    assert str(problem) not in text
