"""Read and validate the trial data (``data/studies.csv``) and the reviews (``data/reviews.csv``).

The loaders never change the files. They collect every problem in a file and
raise one :class:`DataError` naming the file, line, row and column of each.
Numbers that the trial reports do not make public stay empty; the loaders say
so with a :class:`MissingDataWarning`, and :func:`missing_values` lists them
with the place in the full text where they are.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_REVIEWS",
    "DEFAULT_STUDIES",
    "PROGRAMS",
    "REVIEW_COLUMNS",
    "STUDY_COLUMNS",
    "DataError",
    "MissingDataWarning",
    "Problem",
    "default_path",
    "load_reviews",
    "load_studies",
    "missing_values",
]

#: ``data/`` of a source checkout; an installed package carries the same files
#: as ``analysis/manojlovic2021/data`` (copied at build time, see pyproject.toml).
SOURCE_DATA = Path(__file__).resolve().parents[2] / "data"


def default_path(name: str) -> Path:
    """The bundled data file ``name``: the checkout's ``data/`` or the installed copy."""
    source = SOURCE_DATA / name
    if source.exists():
        return source
    packaged = resources.files(__package__) / "data" / name
    return Path(str(packaged))


DEFAULT_STUDIES = default_path("studies.csv")
DEFAULT_REVIEWS = default_path("reviews.csv")

#: Exercise-programme classes; "other" arms enter no class comparison.
PROGRAMS = ("hip_knee", "hip_only", "knee_only", "control", "other")
STATUSES = ("verified", "partial", "not public")

_TEXT, _REQUIRED, _FLOAT, _INT, _BOOL = "text", "required", "float", "int", "bool"

#: Column -> kind (or the tuple of allowed values) for data/studies.csv.
STUDY_COLUMNS: dict[str, object] = {
    "study_id": _REQUIRED,
    "study": _REQUIRED,
    "citation": _REQUIRED,
    "year": _INT,
    "design": ("RCT", "quasi-randomised"),
    "design_note": _TEXT,
    "level": ("arm", "contrast"),
    "arm": _REQUIRED,
    "program": PROGRAMS,
    "comparator_arm": _TEXT,
    "comparator_program": PROGRAMS + ("",),
    "class_note": _TEXT,
    "outcome": ("pain", "function"),
    "instrument": _REQUIRED,
    "scale_min": _FLOAT,
    "scale_max": _FLOAT,
    "higher_is_better": _BOOL,
    "scale_note": _TEXT,
    "timepoint_value": _FLOAT,
    "timepoint_unit": ("days", "weeks", "months", ""),
    "timepoint_from": ("baseline", "end of treatment", ""),
    "treatment_weeks": _FLOAT,
    "value_type": ("post", "change", "baseline"),
    "orientation": ("increase", "reduction", ""),
    "n_randomised": _INT,
    "comparator_n_randomised": _INT,
    "n": _INT,
    "mean": _FLOAT,
    "sd": _FLOAT,
    "estimate": _FLOAT,
    "ci_low": _FLOAT,
    "ci_high": _FLOAT,
    "ci_level": _FLOAT,
    "sign": ("stated", "inferred", ""),
    "status": STATUSES,
    "missing": _TEXT,
    "location": _TEXT,
    "source_url": _TEXT,
    "quote": _TEXT,
    "notes": _TEXT,
}

#: Column -> kind for data/reviews.csv.
REVIEW_COLUMNS: dict[str, object] = {
    "review_id": _REQUIRED,
    "review": _REQUIRED,
    "citation": _REQUIRED,
    "comparison": _REQUIRED,
    "program": _REQUIRED,
    "comparator": _REQUIRED,
    "outcome": _REQUIRED,
    "measure": ("MD", "SMD"),
    "estimate": _FLOAT,
    "ci_low": _FLOAT,
    "ci_high": _FLOAT,
    "p_reported": _TEXT,
    "i2_percent": _FLOAT,
    "k_reported": _TEXT,
    "participants_reported": _INT,
    "source_url": _TEXT,
    "quote": _TEXT,
    "notes": _TEXT,
}

_ARM_NUMBERS = ("n", "mean", "sd")
_CONTRAST_NUMBERS = ("estimate", "ci_low", "ci_high")
_INT_MIN = {"n": 2, "n_randomised": 2, "comparator_n_randomised": 2, "participants_reported": 2, "year": 1900}
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
        shown = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        n = len(self.problems)
        super().__init__(f"{self.path}: {n} problem{'s' if n != 1 else ''}\n{shown}{more}")


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
    joined = ["\x00" + "\x00".join(table[c].to_numpy()) + "\x00" for c in table.columns]  # header cell included
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


#: A separator then whitespace: scanning a whole column at once (\x00 is not whitespace, unlike \x1c-\x1f).
#: The pattern starts with a literal so the search is fast; the reversed text finds trailing whitespace.
_EDGE_SPACE = re.compile(r"\x00\s")


def _stripped(cells: pd.Series, joined: str | None = None) -> pd.Series:
    """The column with surrounding whitespace removed, scanning it in one pass first
    (``joined``: the cells joined by \\x00 with one at each end, if already made; a
    header cell in it can only cause a harmless strip)."""
    if joined is None:
        joined = "\x00" + "\x00".join(cells.to_numpy()) + "\x00"
    if not (_EDGE_SPACE.search(joined) or _EDGE_SPACE.search(joined[::-1])):
        return cells
    return pd.Series([v.strip() for v in cells.tolist()], index=cells.index, dtype=object)


def _number_column(cells: pd.Series, col: str, kind: str, lines: _Lines, problems: list[Problem]) -> pd.Series:
    """Parse one numeric column; every bad cell becomes a Problem and NaN.

    pandas parses the column at C speed; only cells it rejects, and values that
    are infinite or zero (text like 'inf', overflow, underflow), are looked at
    one by one against the plain-decimal rule :data:`_NUMBER`.
    """
    values = pd.to_numeric(cells, errors="coerce").astype(float)
    v = values.to_numpy()
    texts = cells.to_numpy(dtype=object)
    nonempty = texts != ""
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
    checked = values.notna() & np.isfinite(values)
    if kind == _INT:
        for i in np.flatnonzero((checked & (values != np.round(values))).to_numpy()):
            bad.setdefault(i, f"{texts[i].strip()!r} must be a whole number")
        for i in np.flatnonzero((checked & (values.abs() > _INT_MAX)).to_numpy()):
            bad.setdefault(i, f"{texts[i].strip()!r} is too large (at most {_INT_MAX:,})")
    if col in _INT_MIN:
        for i in np.flatnonzero((checked & (values < _INT_MIN[col])).to_numpy()):
            bad.setdefault(i, f"{texts[i].strip()!r} must be at least {_INT_MIN[col]}")
    for i in sorted(bad):
        problems.append(Problem(lines[i], i + 1, col, bad[i]))
    if bad:
        values.iloc[sorted(bad)] = np.nan
    return values


def _parse(path: Path, columns: dict[str, object]) -> tuple[pd.DataFrame, list[Problem], _Lines]:
    """Typed frame, the problems found, and each record's starting line."""
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
        if kind in (_FLOAT, _INT):
            values = _number_column(cells, col, kind, lines, problems)
            out[col] = values.astype("Int64") if kind == _INT else values
            continue
        value = _stripped(cells, None if joined is None else joined[names.index(col)])
        if kind == _BOOL:
            low = value.str.lower() if not value.isin(["true", "false", ""]).all() else value
            for i in np.flatnonzero((~low.isin(["true", "false", ""])).to_numpy()):
                problems.append(Problem(lines[i], i + 1, col, f"{cells.iloc[i]!r} must be true, false or empty"))
            out[col] = low.map({"true": True, "false": False}).astype("boolean")
            continue
        if kind == _REQUIRED:
            for i in np.flatnonzero((value == "").to_numpy()):
                problems.append(Problem(lines[i], i + 1, col, "is empty but required"))
        elif isinstance(kind, tuple):
            allowed = ", ".join(repr(k) for k in kind if k)
            suffix = " (or empty)" if "" in kind else ""
            for i in np.flatnonzero((~value.isin(kind)).to_numpy()):
                problems.append(Problem(lines[i], i + 1, col, f"{cells.iloc[i]!r} is not one of {allowed}{suffix}"))
        out[col] = value
    return pd.DataFrame(out), problems, lines


class _Checks:
    """Vectorised row checks: each adds one Problem per row where a mask is true."""

    def __init__(self, frame: pd.DataFrame, lines):
        self.frame, self.lines, self.problems = frame, lines, []

    def has(self, col: str) -> pd.Series:
        return self.frame[col].notna() & (self.frame[col].astype(object) != "")

    def add(self, mask, column: str | None, message) -> None:
        """``message``: a string, or a function of the row giving one."""
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            text = message(self.frame.iloc[i]) if callable(message) else message
            self.problems.append(Problem(self.lines[i], i + 1, column, text))


def _check_studies(frame: pd.DataFrame, lines) -> list[Problem]:
    c, f = _Checks(frame, lines), frame
    has = {col: c.has(col) for col in _ARM_NUMBERS + _CONTRAST_NUMBERS + ("n_randomised", "comparator_n_randomised")}
    any_number = pd.concat(has, axis=1).any(axis=1)
    sourced = (f["source_url"] != "") & (f["quote"] != "")
    no_url = f["source_url"] == ""
    c.add(
        any_number & ~sourced & no_url,
        "source_url",
        "a number without a source: give source_url and the verbatim quote",
    )
    c.add(any_number & ~sourced & ~no_url, "quote", "a number without a source: give source_url and the verbatim quote")
    c.add(~any_number & ~sourced & no_url, "source_url", "every row needs its source_url and verbatim quote")
    c.add(~any_number & ~sourced & ~no_url, "quote", "every row needs its source_url and verbatim quote")
    c.add(has["sd"] & (f["sd"] <= 0), "sd", lambda r: f"SD must be > 0; got {r['sd']:g}")
    scale = c.has("scale_min") & c.has("scale_max")
    c.add(scale & (f["scale_min"] >= f["scale_max"]), "scale_max", "scale_max must exceed scale_min")
    c.add(c.has("ci_level") & ~f["ci_level"].between(0, 1, inclusive="neither"), "ci_level",
          lambda r: f"ci_level is a fraction in (0, 1); got {r['ci_level']:g}")  # fmt: skip
    # Values on the instrument's scale must lie on it; differences cannot exceed its width.
    lo, hi = f["scale_min"], f["scale_max"]
    width = hi - lo
    level_values = scale & has["mean"] & (f["value_type"] != "change") & (f["level"] == "arm")
    c.add(level_values & ((f["mean"] < lo) | (f["mean"] > hi)), "mean", lambda r: f"mean {r['mean']:g} lies "
          f"outside the instrument's scale [{r['scale_min']:g}, {r['scale_max']:g}]")  # fmt: skip
    differences = scale & ((f["value_type"] == "change") | (f["level"] == "contrast"))
    for col in ("mean", "estimate", "ci_low", "ci_high"):
        c.add(differences & has[col] & (f[col].abs() > width), col, lambda r, col=col: f"{col} {r[col]:g} is a "
              f"difference larger than the instrument's whole scale [{r['scale_min']:g}, {r['scale_max']:g}]")  # fmt: skip
    c.add(has["sd"] & scale & (f["sd"] > width), "sd",
          lambda r: f"SD {r['sd']:g} exceeds the instrument's whole range {r['scale_max'] - r['scale_min']:g}")  # fmt: skip
    arm, contrast = f["level"] == "arm", f["level"] == "contrast"
    c.add(arm & has["n"] & has["n_randomised"] & (f["n"] > f["n_randomised"]), "n",
          lambda r: f"n {r['n']} exceeds the {r['n_randomised']} randomised to the arm")  # fmt: skip
    oriented = (f["value_type"] == "change") | contrast
    c.add(oriented & (f["orientation"] == ""), "orientation",
          "a change score or between-group difference needs its orientation: 'increase' (later minus earlier, "
          "arm minus comparator, on the instrument's scale) or 'reduction' (the reverse)")  # fmt: skip
    c.add(~oriented & (f["orientation"] != ""), "orientation",
          "orientation applies to change scores and between-group differences only")  # fmt: skip
    c.add(contrast & ((f["comparator_arm"] == "") | (f["comparator_program"] == "")), "comparator_arm",
          "a contrast row needs comparator_arm and comparator_program")  # fmt: skip
    for col in _ARM_NUMBERS:
        c.add(contrast & has[col], col, "contrasts are not arm values: leave n, mean and sd empty on a contrast row")
    n_con = sum(has[col].astype(int) for col in _CONTRAST_NUMBERS)
    c.add(contrast & (n_con > 0) & (n_con < 3), None, lambda r: "a contrast needs estimate, ci_low and ci_high "
          f"together (has {[x for x in _CONTRAST_NUMBERS if pd.notna(r[x])]})")  # fmt: skip
    full = contrast & (n_con == 3)
    order_bad = full & (f["ci_low"] >= f["ci_high"])
    c.add(
        order_bad, "ci_high", lambda r: f"CI upper bound {r['ci_high']:g} must exceed the lower bound {r['ci_low']:g}"
    )
    c.add(full & ~order_bad & ~((f["ci_low"] <= f["estimate"]) & (f["estimate"] <= f["ci_high"])), "estimate",
          lambda r: f"estimate {r['estimate']:g} lies outside its CI [{r['ci_low']:g}, {r['ci_high']:g}]")  # fmt: skip
    c.add(full & ~c.has("ci_level"), "ci_level", "a CI needs its level (e.g. 0.95)")
    c.add(full & (f["sign"] == ""), "sign", "say whether the contrast's sign convention is 'stated' or 'inferred'")
    c.add(arm & ((f["comparator_arm"] != "") | (f["comparator_program"] != "")), "comparator_arm",
          "an arm row has no comparator (use level 'contrast')")  # fmt: skip
    for col in _CONTRAST_NUMBERS:
        c.add(arm & has[col], col, "an arm row holds n, mean and sd, not a between-group estimate")
    n_arm = sum(has[col].astype(int) for col in _ARM_NUMBERS)
    present = pd.Series(np.where(contrast, n_con, n_arm), index=f.index)
    have = present == 3
    c.add((present > 0) & f["higher_is_better"].isna(), "higher_is_better",
          "a row with outcome numbers needs the scale's direction (true/false)")  # fmt: skip
    status = f["status"]
    c.add((status == "verified") & ~have, "status", lambda r: "'verified' needs all of "
          f"{list(_CONTRAST_NUMBERS if r['level'] == 'contrast' else _ARM_NUMBERS)}; mark the row 'partial' "
          "and list what is missing")  # fmt: skip
    c.add((status == "partial") & (have | (present == 0)), "status",
          "'partial' means some but not all outcome numbers are present")  # fmt: skip
    c.add((status == "not public") & (present > 0), "status", "'not public' rows hold no outcome numbers")
    incomplete = status.isin(["partial", "not public"])
    c.add(
        incomplete & (f["missing"] == ""),
        "missing",
        "say which numbers are missing and where in the full text they are",
    )
    c.add(incomplete & (f["missing"] != "") & (f["location"] == ""), "location",
          "say which numbers are missing and where in the full text they are")  # fmt: skip
    key = [
        "study_id", "level", "arm", "comparator_arm", "outcome", "instrument",
        "timepoint_value", "timepoint_unit", "timepoint_from", "value_type",
    ]  # fmt: skip
    dup = f.duplicated(subset=key, keep="first")
    if dup.any():
        first = f.assign(_row=np.arange(len(f))).groupby(key, dropna=False, sort=False)["_row"].transform("first")
        c.add(dup, None, lambda r: "duplicate row: same study, arm, comparator, outcome, instrument and time point "
              f"as line {lines[int(first[r.name])]}")  # fmt: skip
    return c.problems


def _load(path: Path | str | None, default: Path, columns: dict[str, object], check) -> pd.DataFrame:
    if path is None and not default.exists():
        raise DataError(default, [Problem(None, None, None, "the bundled data file is missing from this installation")])
    path = Path(path) if path is not None else default
    frame, problems, lines = _parse(path, columns)
    problems = problems + check(frame, lines)  # row checks see unparsable cells as empty
    if problems:
        raise DataError(path, sorted(problems, key=lambda p: (p.line or 0, p.column or "")))
    frame.attrs["source"] = str(path)
    return frame


def load_studies(path: Path | str | None = None) -> pd.DataFrame:
    """Load and validate ``data/studies.csv`` (or the file at ``path``).

    Returns
    -------
    pandas.DataFrame
        One row per trial x arm x outcome x time point (``level == "arm"``)
        or trial x comparison x outcome x time point (``level == "contrast"``),
        with the columns of :data:`STUDY_COLUMNS` typed (floats, nullable
        integers and booleans). Empty cells stay missing: nothing is imputed.

    Raises
    ------
    DataError
        Listing every problem with its line, row and column: missing or extra
        columns, unknown classes, text or NaN/inf in a number, SD <= 0, n < 2
        or fractional, duplicate or ragged rows, an estimate outside its CI, a
        number without a source, an empty or non-UTF-8 file. A byte-order mark
        is accepted.

    Warns
    -----
    MissingDataWarning
        When rows have numbers that are not public (see :func:`missing_values`).
    """
    frame = _load(path, default_path("studies.csv"), STUDY_COLUMNS, _check_studies)
    incomplete = int((frame["status"] != "verified").sum())
    if incomplete:
        warnings.warn(
            f"{incomplete} of {len(frame)} rows in {frame.attrs['source']} have outcome numbers that are not public "
            "and stay empty; analysis.missing_values() lists them and where they are",
            MissingDataWarning,
            stacklevel=2,
        )
    return frame


def _check_reviews(frame: pd.DataFrame, lines) -> list[Problem]:
    c, f = _Checks(frame, lines), frame
    c.add((f["source_url"] == "") | (f["quote"] == ""), "quote", "a number without a source: give source_url and quote")
    lo, hi, est = c.has("ci_low"), c.has("ci_high"), c.has("estimate")
    c.add(lo != hi, "ci_high", "give both CI bounds or neither")
    c.add(lo & hi & est & ~((f["ci_low"] <= f["estimate"]) & (f["estimate"] <= f["ci_high"])), "estimate",
          "estimate lies outside its CI")  # fmt: skip
    return c.problems


def load_reviews(path: Path | str | None = None) -> pd.DataFrame:
    """Load and validate ``data/reviews.csv``: pooled estimates of published reviews.

    Raises :class:`DataError` like :func:`load_studies`.
    """
    return _load(path, default_path("reviews.csv"), REVIEW_COLUMNS, _check_reviews)


def missing_values(studies: pd.DataFrame) -> pd.DataFrame:
    """Every row whose outcome numbers are not (all) public: what is missing and where it is."""
    cols = [
        "study",
        "arm",
        "comparator_arm",
        "outcome",
        "instrument",
        "timepoint_value",
        "timepoint_unit",
        "status",
        "missing",
        "location",
    ]
    return studies.loc[studies["status"] != "verified", cols].reset_index(drop=True)
