"""The console the command line prints through: fitted to a terminal, every line whole anywhere else.

A terminal has a width to fit, so rich folds long table cells and wraps long lines there. A pipe, a file or a
CI log has none, yet rich would still fold at 80 columns (or at the width of whatever terminal started the
pipe), splitting values across lines (`NO-SUCH-CUSTOMER` / `-XYZ`) so that grep no longer finds them. Off a
terminal this console is therefore wider than any line it prints: tables are drawn at their natural width and
text is never wrapped. The decision is made at each print, as tests (and `retain ... | tee`) swap the streams.
"""

from __future__ import annotations

from rich.console import Console, ConsoleDimensions

UNFOLDED_WIDTH = 100_000  # "no limit": tables take their natural width, lines their own length


class Output(Console):
    """A rich Console whose width, when it is not writing to a terminal, is `UNFOLDED_WIDTH`.

    Renderables that stretch to the full width (`Console.log`, tables with `expand=True`) would be padded to
    it: the command line uses neither.
    """

    @property
    def size(self) -> ConsoleDimensions:
        fitted = super().size
        return fitted if self.is_terminal else ConsoleDimensions(UNFOLDED_WIDTH, fitted.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size
