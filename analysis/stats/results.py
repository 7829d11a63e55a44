"""The result protocol every result of the library speaks.

Each result is a frozen dataclass that subclasses :class:`Result` and so has

- ``to_frame()``: a tidy :class:`pandas.DataFrame` with fixed column names
  (the confidence level is metadata, never part of a name);
- ``summary()``: a readable text block, like metafor's ``print``;
- ``str(result)``: the summary; ``repr(result)``: one short line;
- ``_repr_html_()``: the summary's title and the table, for notebooks.

Computation never prints; only these methods render.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["Result", "TableResult", "format_p"]


def format_p(p: float, *, style: str = "revman") -> str:
    """A p-value as RevMan 5 prints it: "P < 0.00001" below 0.00001, one
    significant digit below 0.01 ("P = 0.0003"), otherwise two decimals
    ("P = 0.54"). "NA" when undefined.

    >>> format_p(0.000023), format_p(0.0031), format_p(0.5432), format_p(0.0000001)
    ('P = 0.00002', 'P = 0.003', 'P = 0.54', 'P < 0.00001')
    """
    if p is None or not np.isfinite(p):
        return "P = NA"
    if p < 0.00001:
        return "P < 0.00001"
    if p >= 0.01:
        text = f"{p:.2f}"
        return "P = 1.00" if text == "1.00" else f"P = {text}"
    exponent = math.floor(math.log10(p))
    digit = round(p / 10**exponent)
    if digit == 10:  # 0.0096 rounds up to 0.01
        digit, exponent = 1, exponent + 1
    if exponent >= -2:
        return f"P = {digit * 10**exponent:.2f}"
    return f"P = {digit * 10.0**exponent:.{-exponent}f}"


class Result:
    """Mixin: the shared protocol. Subclasses define ``to_frame()`` and ``_title()``."""

    __slots__ = ()

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _title(self) -> str:
        return type(self).__name__

    def _summary_lines(self) -> list[str]:
        """Lines after the title; by default the table."""
        with pd.option_context("display.max_columns", 30, "display.width", 120, "display.precision", 4):
            return [self.to_frame().to_string(index=False)]

    def summary(self) -> str:
        """A readable text summary (title, then the numbers)."""
        return "\n".join([self._title(), *self._summary_lines()])

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._title()}>"

    def _repr_html_(self) -> str:
        from html import escape

        return f"<p><strong>{escape(self._title())}</strong></p>" + self.to_frame()._repr_html_()


class TableResult(Result):
    """A result that is one tidy table (leave-one-out, influence, cumulative,
    Baujat, GOSH): ``table`` plus the ``options`` that produced it.

    Behaves like its table where that is convenient (``result["estimate"]``,
    ``len(result)``, ``result.columns``), so it can be plotted or indexed
    directly; ``to_frame()`` returns a copy.
    """

    __slots__ = ("name", "options", "table")

    def __init__(self, name: str, table: pd.DataFrame, options: dict):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "options", dict(options))

    def __setattr__(self, key, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _title(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.name} ({len(self.table)} rows; {opts})"

    def __getitem__(self, key):
        return self.table[key]

    def __len__(self) -> int:
        return len(self.table)

    def __iter__(self):
        return iter(self.table)

    @property
    def columns(self) -> pd.Index:
        return self.table.columns

    def itertuples(self, *args, **kwargs):
        return self.table.itertuples(*args, **kwargs)

    @property
    def loc(self):
        return self.table.loc

    @property
    def iloc(self):
        return self.table.iloc
