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
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

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
    "load_reviews",
    "load_studies",
    "missing_values",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_STUDIES = DATA_DIR / "studies.csv"
DEFAULT_REVIEWS = DATA_DIR / "reviews.csv"

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


def _read_records(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (start line, fields) per record; DataError for unreadable files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(path, [Problem(None, None, None, f"cannot read the file: {exc.strerror or exc}")]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            path,
            [
                Problem(
                    line,
                    None,
                    None,
                    f"not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}); save the file as UTF-8",
                )
            ],
        ) from exc
    if not text.strip():
        raise DataError(path, [Problem(None, None, None, "the file is empty")])
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    try:
        start = 1
        for fields in reader:
            records.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(path, [Problem(reader.line_num, None, None, f"malformed CSV: {exc}")]) from exc
    _, header = records[0]
    return header, [(line, f) for line, f in records[1:] if any(x.strip() for x in f)]


def _parse_number(text: str, kind: str) -> tuple[float | None, str | None]:
    """Parsed value (None for empty) and an error message, if any."""
    s = text.strip()
    if s == "":
        return None, None
    try:
        value = float(s)
    except ValueError:
        return None, f"{s!r} is not a number"
    if math.isnan(value) or math.isinf(value):
        return None, f"{s!r} is not a finite number (NaN and inf are not allowed; leave the cell empty)"
    if kind == _INT and value != int(value):
        return None, f"{s!r} must be a whole number"
    return value, None


def _parse(path: Path, columns: dict[str, object]) -> tuple[pd.DataFrame, list[Problem], list[int]]:
    """Typed frame, the problems found, and each record's starting line."""
    header, records = _read_records(path)
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
    if not records:
        raise DataError(path, [Problem(None, None, None, "the file has a header but no data rows")])
    out: dict[str, list] = {c: [] for c in columns}
    lines = []
    for i, (line, fields) in enumerate(records, start=1):
        lines.append(line)
        if len(fields) != len(names):
            problems.append(
                Problem(line, i, None, f"has {len(fields)} fields, the header has {len(names)} (ragged row)")
            )
            fields = (fields + [""] * len(names))[: len(names)]
        cells = dict(zip(names, fields))
        for col, kind in columns.items():
            cell = cells[col]
            value: object = cell.strip()
            if kind in (_FLOAT, _INT):
                value, err = _parse_number(cell, kind)
                if err is None and value is not None and col in _INT_MIN and value < _INT_MIN[col]:
                    err = f"{cell.strip()!r} must be at least {_INT_MIN[col]}"
                if err:
                    problems.append(Problem(line, i, col, err))
                    value = None
            elif kind == _BOOL:
                low = cell.strip().lower()
                if low not in ("true", "false", ""):
                    problems.append(Problem(line, i, col, f"{cell!r} must be true, false or empty"))
                value = {"true": True, "false": False}.get(low)
            elif kind == _REQUIRED:
                if not value:
                    problems.append(Problem(line, i, col, "is empty but required"))
            elif isinstance(kind, tuple):
                if value not in kind:
                    allowed = ", ".join(repr(k) for k in kind if k)
                    problems.append(
                        Problem(
                            line, i, col, f"{cell!r} is not one of {allowed}" + (" (or empty)" if "" in kind else "")
                        )
                    )
            out[col].append(value)
    frame = pd.DataFrame(out)
    for col, kind in columns.items():
        if kind == _FLOAT:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
        elif kind == _INT:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
        elif kind == _BOOL:
            frame[col] = frame[col].astype("boolean")
    return frame, problems, lines


def _has(row: pd.Series, col: str) -> bool:
    return not pd.isna(row[col])


def _check_studies(frame: pd.DataFrame, lines: list[int]) -> list[Problem]:
    problems: list[Problem] = []
    for i, row in frame.iterrows():
        line, rnum = lines[i], i + 1

        def bad(column: str | None, message: str) -> None:
            problems.append(Problem(line, rnum, column, message))

        numbers = [
            c for c in _ARM_NUMBERS + _CONTRAST_NUMBERS + ("n_randomised", "comparator_n_randomised") if _has(row, c)
        ]
        if numbers and not (row["source_url"] and row["quote"]):
            bad(
                "quote" if row["source_url"] else "source_url",
                f"a number without a source ({', '.join(numbers)}): give source_url and the verbatim quote",
            )
        elif not (row["source_url"] and row["quote"]):
            bad("source_url" if not row["source_url"] else "quote", "every row needs its source_url and verbatim quote")
        if _has(row, "sd") and row["sd"] <= 0:
            bad("sd", f"SD must be > 0; got {row['sd']:g}")
        if _has(row, "scale_min") and _has(row, "scale_max") and row["scale_min"] >= row["scale_max"]:
            bad("scale_max", "scale_max must exceed scale_min")
        if _has(row, "ci_level") and not 0 < row["ci_level"] < 1:
            bad("ci_level", f"ci_level is a fraction in (0, 1); got {row['ci_level']:g}")
        if row["level"] == "contrast":
            if not row["comparator_arm"] or not row["comparator_program"]:
                bad("comparator_arm", "a contrast row needs comparator_arm and comparator_program")
            for c in _ARM_NUMBERS:
                if _has(row, c):
                    bad(c, "contrasts are not arm values: leave n, mean and sd empty on a contrast row")
            present = [c for c in _CONTRAST_NUMBERS if _has(row, c)]
            if present and len(present) < 3:
                bad(None, f"a contrast needs estimate, ci_low and ci_high together (has {present})")
            if len(present) == 3:
                if row["ci_low"] >= row["ci_high"]:
                    bad("ci_high", f"CI upper bound {row['ci_high']:g} must exceed the lower bound {row['ci_low']:g}")
                elif not row["ci_low"] <= row["estimate"] <= row["ci_high"]:
                    bad(
                        "estimate",
                        f"estimate {row['estimate']:g} lies outside its CI [{row['ci_low']:g}, {row['ci_high']:g}]",
                    )
                if not _has(row, "ci_level"):
                    bad("ci_level", "a CI needs its level (e.g. 0.95)")
                if not row["sign"]:
                    bad("sign", "say whether the contrast's sign convention is 'stated' or 'inferred'")
            have = len(present) == 3
            need = list(_CONTRAST_NUMBERS)
        else:
            if row["comparator_arm"] or row["comparator_program"]:
                bad("comparator_arm", "an arm row has no comparator (use level 'contrast')")
            for c in _CONTRAST_NUMBERS:
                if _has(row, c):
                    bad(c, "an arm row holds n, mean and sd, not a between-group estimate")
            present = [c for c in _ARM_NUMBERS if _has(row, c)]
            have = len(present) == 3
            need = list(_ARM_NUMBERS)
        if (present or have) and pd.isna(row["higher_is_better"]):
            bad("higher_is_better", "a row with outcome numbers needs the scale's direction (true/false)")
        status = row["status"]
        if status == "verified" and not have:
            bad("status", f"'verified' needs all of {need}; mark the row 'partial' and list what is missing")
        if status == "partial" and (have or not present):
            bad("status", "'partial' means some but not all outcome numbers are present")
        if status == "not public" and present:
            bad("status", f"'not public' rows hold no outcome numbers (found {present})")
        if status in ("partial", "not public") and not (row["missing"] and row["location"]):
            bad(
                "missing" if not row["missing"] else "location",
                "say which numbers are missing and where in the full text they are",
            )
    key = [
        "study_id",
        "level",
        "arm",
        "comparator_arm",
        "outcome",
        "instrument",
        "timepoint_value",
        "timepoint_unit",
        "timepoint_from",
        "value_type",
    ]
    dup = frame.duplicated(subset=key, keep=False)
    for _, group in frame[dup].groupby(key, dropna=False, sort=False):
        first = group.index[0]
        for i in group.index[1:]:
            problems.append(
                Problem(
                    lines[i],
                    i + 1,
                    None,
                    f"duplicate row: same study, arm, comparator, outcome, instrument and time point as line {lines[first]}",
                )
            )
    return problems


def _load(path: Path | str | None, default: Path, columns: dict[str, object], check) -> pd.DataFrame:
    if path is None and not default.exists():
        raise DataError(
            default,
            [
                Problem(
                    None,
                    None,
                    None,
                    "not found: the default data file sits beside the analysis package "
                    "in a source checkout (pip install -e .); pass path= to read another file",
                )
            ],
        )
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
    frame = _load(path, DEFAULT_STUDIES, STUDY_COLUMNS, _check_studies)
    incomplete = int((frame["status"] != "verified").sum())
    if incomplete:
        warnings.warn(
            f"{incomplete} of {len(frame)} rows in {frame.attrs['source']} have outcome numbers that are not public "
            "and stay empty; analysis.missing_values() lists them and where they are",
            MissingDataWarning,
            stacklevel=2,
        )
    return frame


def _check_reviews(frame: pd.DataFrame, lines: list[int]) -> list[Problem]:
    problems = []
    for i, row in frame.iterrows():
        if not (row["source_url"] and row["quote"]):
            problems.append(Problem(lines[i], i + 1, "quote", "a number without a source: give source_url and quote"))
        ci = [_has(row, "ci_low"), _has(row, "ci_high")]
        if any(ci) and not all(ci):
            problems.append(Problem(lines[i], i + 1, "ci_high", "give both CI bounds or neither"))
        if all(ci) and _has(row, "estimate") and not row["ci_low"] <= row["estimate"] <= row["ci_high"]:
            problems.append(Problem(lines[i], i + 1, "estimate", "estimate lies outside its CI"))
    return problems


def load_reviews(path: Path | str | None = None) -> pd.DataFrame:
    """Load and validate ``data/reviews.csv``: pooled estimates of published reviews.

    Raises :class:`DataError` like :func:`load_studies`.
    """
    return _load(path, DEFAULT_REVIEWS, REVIEW_COLUMNS, _check_reviews)


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
