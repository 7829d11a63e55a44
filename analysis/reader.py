"""A strict reader of typed CSV files: every problem found, each with its file, line, row and column.

:func:`parse` reads a file whose columns are declared as kinds (text,
required text, float, int, bool, or a tuple of allowed values) and returns a
typed frame with the problems found; the caller adds its own row checks
(:class:`Checks`) and raises one :class:`DataError` listing all of them. Files
whose structure allows it are parsed by pandas' C reader; cells are looked at
one by one only when they are suspect.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "BOOL", "FLOAT", "INT", "REQUIRED", "TEXT", "Checks", "DataError", "MissingDataWarning", "Problem", "parse",
    "printed_cells",
]  # fmt: skip

#: Column kinds (besides a tuple of allowed values).
TEXT, REQUIRED, FLOAT, INT, BOOL = "text", "required", "float", "int", "bool"


#: Whole numbers above this are typing errors (and beyond exact floating point).
_INT_MAX = 10**9


#: A plain decimal number in ASCII digits (no "1_234", no other scripts' digits, no hex).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class Problem:
    """One problem in a data file: where it is and what is wrong."""

    line: int | None
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        return (", ".join(where) + ": " if where else "") + self.message


class DataError(ValueError):
    """A data file that cannot be used; lists every problem found in it."""

    def __init__(self, path: Path | str, problems: list[Problem]):
        self.path = str(path)
        self.problems = list(problems)
        n = len(self.problems)
        if n == 1:  # one problem, one line: file, line, row, column, what is wrong
            super().__init__(f"{self.path}: {self.problems[0]}")
            return
        shown = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {n - 50} more" if n > 50 else ""
        super().__init__(f"{self.path}: {n} problems\n{shown}{more}")


class MissingDataWarning(UserWarning):
    """Some numbers are not public and stay empty (see :func:`missing_values`)."""


class _Lines:
    """The file line on which each data record starts, computed only when a problem needs one."""

    def __init__(self, *, text: str | None = None, path: Path | None = None):
        self._text, self._path, self._lines = text, path, None

    def __getitem__(self, i: int) -> int:
        if self._lines is None:
            text = self._text if self._text is not None else _decode(self._path)
            reader = csv.reader(io.StringIO(text, newline=""))
            starts, start = [], 1
            for fields in reader:
                starts.append((start, fields))
                start = reader.line_num + 1
            self._lines = [line for line, f in starts[1:] if any(x.strip() for x in f)]
        return self._lines[i]


def _decode(path: Path) -> str:
    """The file's text; DataError when it cannot be read or is not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(path, [Problem(None, None, None, f"cannot read the file: {exc.strerror or exc}")]) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = f"not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}); save the file as UTF-8"
        raise DataError(path, [Problem(line, None, None, problem)]) from exc


def _joined(cells: np.ndarray) -> str:
    """The cells joined by \\x00, with one at each end (one copy of the text, not three)."""
    return "\x00".join(["", *cells, ""])


def _fast_table(path: Path) -> tuple[pd.DataFrame, list[str]] | None:
    """Every record as text through pandas' C parser, or None when the file needs the careful reader.

    The C parser pads short records silently, so the result is used only when
    the file's commas outside quoted fields are exactly (records x (width - 1)):
    no short record, no whitespace-only line. Long records, bad encodings and
    empty files raise in pandas and also go to the careful reader. Returns the
    table and each column's cells joined by \\x00 (reused to find cells to strip).
    """
    try:
        table = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig", engine="c")
        raw = path.read_bytes()
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    joined = [_joined(table[c].to_numpy()) for c in table.columns]  # header cell included
    quoted_commas = sum(j.count(",") for j in joined)
    if raw.count(b",") - quoted_commas != len(table) * (table.shape[1] - 1):
        return None
    return table, joined


def _read_table(path: Path) -> tuple[list[str], list[list[str]] | pd.DataFrame, _Lines, list[str] | None]:
    """Header, the non-blank records (a DataFrame of text on the fast path), their line
    numbers, and on the fast path each column joined by \\x00 (see :func:`_fast_table`)."""
    fast = _fast_table(path)
    if fast is not None:
        table, joined = fast
        return table.iloc[0].tolist(), table.iloc[1:].reset_index(drop=True), _Lines(path=path), joined
    text = _decode(path)
    if not text.strip():
        raise DataError(path, [Problem(None, None, None, "the file is empty")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise DataError(path, [Problem(reader.line_num, None, None, f"malformed CSV: {exc}")]) from exc
    body = [f for f in records[1:] if any(x.strip() for x in f)]
    return records[0], body, _Lines(text=text), None


#: Whitespace after or before a separator: scanning a whole column at once (\x00 is not whitespace,
#: unlike \x1c-\x1f). Both branches start with the literal separator, so the search runs at the
#: speed of a scan for it; the second looks behind it for trailing whitespace.
_EDGE_SPACE = re.compile(r"\x00\s|\x00(?<=\s\x00)")


def _stripped(cells: pd.Series, joined: str | None = None) -> pd.Series:
    """The column with surrounding whitespace removed, scanning it in one pass first
    (``joined``: the cells joined by \\x00 with one at each end, if already made; a
    header cell in it can only cause a harmless strip)."""
    if joined is None:
        joined = _joined(cells.to_numpy())
    if not _EDGE_SPACE.search(joined):
        return cells
    return pd.Series([v.strip() for v in cells.tolist()], index=cells.index, dtype=object)


def _plain_floats(texts: np.ndarray, filled: np.ndarray, joined: str | None) -> np.ndarray | None:
    """The cells as floats by numpy's C conversion, or None when the column needs pandas' careful one.

    Python's float() also takes "1_234", digits of other scripts and
    surrounding whitespace, so it is used only when the column (``joined``,
    see :func:`_fast_table`) is ASCII without an underscore; empty cells are
    NaN (``filled``: the cells that are not empty). Text, "nan" and "inf" are then caught as for
    pandas' result.
    """
    if joined is None:
        return None
    cells = joined[joined.index("\x00", 1) :]  # without the header cell
    if not cells.strip("\x00"):  # an empty column
        return np.full(len(texts), np.nan)
    if not cells.isascii() or "_" in cells:
        return None
    values = np.full(len(texts), np.nan)
    try:
        values[filled] = texts[filled].astype(float)  # only the filled cells: most columns are mostly empty
    except ValueError:
        return None
    return values


def _number_column(
    cells: pd.Series,
    col: str,
    kind: str,
    lines: _Lines,
    problems: list[Problem],
    minimum: float | None,
    joined: str | None = None,
) -> pd.Series:
    """Parse one numeric column; every bad cell becomes a Problem and NaN.

    numpy (:func:`_plain_floats`) or pandas parses the column at C speed; only cells it rejects, and values that
    are infinite or zero (text like 'inf', overflow, underflow), are looked at
    one by one against the plain-decimal rule :data:`_NUMBER`.
    """
    texts = cells.to_numpy(dtype=object)
    nonempty = texts != ""
    v = _plain_floats(texts, nonempty, joined)  # numpy from here on: pandas operations cost more than the arithmetic
    if v is None:
        v = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float, copy=True)
    # A parsed 0 can only be an underflow when written with an exponent or very many digits.
    zero_odd = np.zeros(len(v), bool)
    zeros = np.flatnonzero(v == 0)
    zero_odd[zeros] = [("e" in t or "E" in t or len(t) > 300) for t in texts[zeros]]
    odd = nonempty & (np.isnan(v) | np.isinf(v) | zero_odd)
    bad: dict[int, str] = {}
    for i in np.flatnonzero(odd):
        text = texts[i].strip()
        if text == "":
            continue
        if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            bad[i] = f"{text!r} is not a finite number (NaN and inf are not allowed; leave the cell empty)"
        elif not _NUMBER.fullmatch(text):
            bad[i] = f"{text!r} is not a number (plain decimal digits, e.g. 12.5 or 1e-3)"
        elif not np.isfinite(v[i]):
            bad[i] = "is too large to be a number here"
        elif v[i] == 0 and re.search(r"[1-9]", re.sub(r"[eE].*$", "", text)):
            bad[i] = "is too small: it underflows to 0"
    checked = np.isfinite(v)
    if kind == INT:
        for i in np.flatnonzero(checked & (v != np.round(v))):
            bad.setdefault(i, f"{texts[i].strip()!r} must be a whole number")
        for i in np.flatnonzero(checked & (np.abs(v) > _INT_MAX)):
            bad.setdefault(i, f"{texts[i].strip()!r} is too large (at most {_INT_MAX:,})")
    if minimum is not None:
        for i in np.flatnonzero(checked & (v < minimum)):
            bad.setdefault(i, f"{texts[i].strip()!r} must be at least {minimum}")
    for i in sorted(bad):
        problems.append(Problem(lines[i], i + 1, col, bad[i]))
    if bad:
        v[sorted(bad)] = np.nan
    return pd.Series(v, index=cells.index)


def parse(
    path: Path, columns: dict[str, object], minimum: dict[str, float] | None = None
) -> tuple[pd.DataFrame, list[Problem], _Lines]:
    """Typed frame, the problems found, and each record's starting line.

    ``columns`` maps each expected column to its kind; ``minimum`` gives the
    smallest allowed value of some numeric columns.
    """
    minimum = minimum or {}
    header, records, lines, joined = _read_table(path)
    problems: list[Problem] = []
    names = [h.strip() for h in header]
    dupes = sorted({h for h in names if names.count(h) > 1})
    missing = [c for c in columns if c not in names]
    extra = [h for h in names if h not in columns]
    if dupes:
        problems.append(Problem(1, None, None, f"duplicate column(s) {dupes}"))
    if missing:
        problems.append(Problem(1, None, None, f"missing column(s) {missing}"))
    if extra:
        problems.append(Problem(1, None, None, f"unexpected column(s) {extra}; expected exactly {list(columns)}"))
    if problems:
        raise DataError(path, problems)
    if len(records) == 0:
        raise DataError(path, [Problem(None, None, None, "the file has a header but no data rows")])
    width = len(names)
    if isinstance(records, pd.DataFrame):
        raw = records.set_axis(names, axis=1)
    else:
        for i in [i for i, f in enumerate(records) if len(f) != width]:
            problems.append(
                Problem(lines[i], i + 1, None, f"has {len(records[i])} fields, the header has {width} (ragged row)")
            )
            records[i] = (records[i] + [""] * width)[:width]
        raw = pd.DataFrame(records, columns=names, dtype=object)
    out: dict[str, pd.Series] = {}
    for col, kind in columns.items():
        cells = raw[col]
        if kind in (FLOAT, INT):
            col_joined = None if joined is None else joined[names.index(col)]
            values = _number_column(cells, col, kind, lines, problems, minimum.get(col), col_joined)
            out[col] = values.astype("Int64") if kind == INT else values
            continue
        value = _stripped(cells, None if joined is None else joined[names.index(col)])
        if kind == BOOL:
            low = value.str.lower() if not value.isin(["true", "false", ""]).all() else value
            for i in np.flatnonzero((~low.isin(["true", "false", ""])).to_numpy()):
                problems.append(Problem(lines[i], i + 1, col, f"{cells.iloc[i]!r} must be true, false or empty"))
            out[col] = low.map({"true": True, "false": False}).astype("boolean")
            continue
        if kind == REQUIRED:
            for i in np.flatnonzero((value == "").to_numpy()):
                problems.append(Problem(lines[i], i + 1, col, "is empty but required"))
        elif isinstance(kind, tuple):
            allowed = ", ".join(repr(k) for k in kind if k)
            suffix = " (or empty)" if "" in kind else ""
            for i in np.flatnonzero((~value.isin(kind)).to_numpy()):
                problems.append(Problem(lines[i], i + 1, col, f"{cells.iloc[i]!r} is not one of {allowed}{suffix}"))
        out[col] = value
    return pd.DataFrame(out), problems, lines


def printed_cells(path: Path, columns: list[str]) -> pd.DataFrame:
    """The data rows of a file that :func:`parse` accepted, as the text printed in each cell (stripped):
    for what the typed values lose, such as the decimals of "1.20". Rows align with :func:`parse`'s."""
    text = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=True)
    text = text.rename(columns=str.strip).loc[:, list(columns)].map(str.strip)
    return text[(text != "").any(axis=1)].reset_index(drop=True)


class Checks:
    """Vectorised row checks: each adds one Problem per row where a mask is true."""

    def __init__(self, frame: pd.DataFrame, lines):
        self.frame, self.lines, self.problems = frame, lines, []

    def has(self, col: str) -> pd.Series:
        """Rows where ``col`` holds a value (not missing, and for text not empty)."""
        values = self.frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            return values.notna()
        return values.notna() & (values.astype(object) != "")

    def add(self, mask, column: str | None, message) -> None:
        """``message``: a string, or a function of the row giving one."""
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            text = message(self.frame.iloc[i]) if callable(message) else message
            self.problems.append(Problem(self.lines[i], i + 1, column, text))
