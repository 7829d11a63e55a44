"""Read and validate the trial data (``data/studies.csv``) and the reviews (``data/reviews.csv``).

The loaders never change the files. They collect every problem in a file and
raise one :class:`DataError` naming the file, line, row and column of each.
Numbers that the trial reports do not make public stay empty; the loaders say
so with a :class:`MissingDataWarning`, and :func:`missing_values` lists them
with the place in the full text where they are.
"""

from __future__ import annotations

import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..reader import BOOL, FLOAT, INT, REQUIRED, TEXT, Checks, DataError, MissingDataWarning, Problem, parse

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


#: How an arm row's numbers are printed (column ``reported_as``; empty = mean_sd) and the numbers
#: each form needs. Means and SDs of the other forms are derived in code (contrasts.py).
REPORTED_AS: dict[str, tuple[str, ...]] = {
    "mean_sd": ("n", "mean", "sd"),
    "mean_se": ("n", "mean", "se"),
    "mean_ci": ("n", "mean", "ci_low", "ci_high", "ci_level"),
    "median_iqr": ("n", "median", "q1", "q3"),
    "median_range": ("n", "median", "minimum", "maximum"),
    "median_iqr_range": ("n", "median", "q1", "q3", "minimum", "maximum"),
    "events": ("n", "events"),
}
#: Outcomes counted as events (2×2 tables), each as the trial defines it (the definition is the ``instrument``).
BINARY_OUTCOMES = ("success",)

#: Column -> kind (or the tuple of allowed values) for data/studies.csv.
STUDY_COLUMNS: dict[str, object] = {
    "study_id": REQUIRED,
    "study": REQUIRED,
    "citation": REQUIRED,
    "year": INT,
    "design": ("RCT", "quasi-randomised"),
    "design_note": TEXT,
    "level": ("arm", "contrast"),
    "arm": REQUIRED,
    "program": PROGRAMS,
    "comparator_arm": TEXT,
    "comparator_program": PROGRAMS + ("",),
    "class_note": TEXT,
    "outcome": ("pain", "function") + BINARY_OUTCOMES,
    "instrument": REQUIRED,
    "scale_min": FLOAT,
    "scale_max": FLOAT,
    "higher_is_better": BOOL,
    "scale_note": TEXT,
    "timepoint_value": FLOAT,
    "timepoint_unit": ("days", "weeks", "months", ""),
    "timepoint_from": ("baseline", "end of treatment", ""),
    "treatment_weeks": FLOAT,
    "value_type": ("post", "change", "baseline"),
    "orientation": ("increase", "reduction", ""),
    "n_randomised": INT,
    "comparator_n_randomised": INT,
    "n": INT,
    "mean": FLOAT,
    "sd": FLOAT,
    "reported_as": tuple(REPORTED_AS) + ("",),
    "se": FLOAT,
    "median": FLOAT,
    "q1": FLOAT,
    "q3": FLOAT,
    "minimum": FLOAT,
    "maximum": FLOAT,
    "events": INT,
    "estimate": FLOAT,
    "ci_low": FLOAT,
    "ci_high": FLOAT,
    "ci_level": FLOAT,
    "sign": ("stated", "inferred", ""),
    "status": STATUSES,
    "missing": TEXT,
    "location": TEXT,
    "source_url": TEXT,
    "quote": TEXT,
    "notes": TEXT,
}

#: Column -> kind for data/reviews.csv.
REVIEW_COLUMNS: dict[str, object] = {
    "review_id": REQUIRED,
    "review": REQUIRED,
    "citation": REQUIRED,
    "comparison": REQUIRED,
    "program": REQUIRED,
    "comparator": REQUIRED,
    "outcome": REQUIRED,
    "measure": ("MD", "SMD"),
    "estimate": FLOAT,
    "ci_low": FLOAT,
    "ci_high": FLOAT,
    "p_reported": TEXT,
    "i2_percent": FLOAT,
    "k_reported": TEXT,
    "participants_reported": INT,
    "source_url": TEXT,
    "quote": TEXT,
    "notes": TEXT,
}

_ARM_NUMBERS = ("n", "mean", "sd", "se", "median", "q1", "q3", "minimum", "maximum", "events")
_CONTRAST_NUMBERS = ("estimate", "ci_low", "ci_high")
#: What identifies a row of studies.csv: no two rows may share it (and ``data diff`` matches rows on it).
ROW_KEY = [
    "study_id", "level", "arm", "comparator_arm", "outcome", "instrument",
    "timepoint_value", "timepoint_unit", "timepoint_from", "value_type",
]  # fmt: skip

_INT_MIN = {
    "n": 2,
    "events": 0,
    "n_randomised": 2,
    "comparator_n_randomised": 2,
    "participants_reported": 2,
    "year": 1900,
}


def _check_studies(frame: pd.DataFrame, lines) -> list[Problem]:
    c, f = Checks(frame, lines), frame
    has = {col: c.has(col) for col in _ARM_NUMBERS + _CONTRAST_NUMBERS + ("n_randomised", "comparator_n_randomised")}
    any_number = pd.concat(has, axis=1).any(axis=1)
    # Each text comparison once (comparing 50,000 text cells costs what fifty numeric comparisons do).
    no_url, arm, contrast = f["source_url"] == "", f["level"] == "arm", f["level"] == "contrast"
    change, no_orientation = f["value_type"] == "change", f["orientation"] == ""
    no_arm, no_program = f["comparator_arm"] == "", f["comparator_program"] == ""
    no_comparator, any_comparator = no_arm | no_program, ~(no_arm & no_program)
    as_default = f["reported_as"] == ""
    sourced = ~no_url & (f["quote"] != "")
    c.add(
        any_number & ~sourced & no_url,
        "source_url",
        "a number without a source: give source_url and the verbatim quote",
    )
    c.add(any_number & ~sourced & ~no_url, "quote", "a number without a source: give source_url and the verbatim quote")
    c.add(~any_number & ~sourced & no_url, "source_url", "every row needs its source_url and verbatim quote")
    c.add(~any_number & ~sourced & ~no_url, "quote", "every row needs its source_url and verbatim quote")
    c.add(has["sd"] & (f["sd"] <= 0), "sd", lambda r: f"SD must be > 0; got {r['sd']:g}")
    c.add(has["se"] & (f["se"] <= 0), "se", lambda r: f"SE must be > 0; got {r['se']:g}")
    order = ["minimum", "q1", "median", "q3", "maximum"]
    for i, lo_col in enumerate(order):
        for hi_col in order[i + 1 :]:
            c.add(has[lo_col] & has[hi_col] & (f[lo_col] > f[hi_col]), hi_col,
                  lambda r, a=lo_col, b=hi_col: f"{b} {r[b]:g} is below {a} {r[a]:g}")  # fmt: skip
    scale = c.has("scale_min") & c.has("scale_max")
    c.add(scale & (f["scale_min"] >= f["scale_max"]), "scale_max", "scale_max must exceed scale_min")
    c.add(c.has("ci_level") & ~f["ci_level"].between(0, 1, inclusive="neither"), "ci_level",
          lambda r: f"ci_level is a fraction in (0, 1); got {r['ci_level']:g}")  # fmt: skip
    # Values on the instrument's scale must lie on it; differences cannot exceed its width.
    lo, hi = f["scale_min"], f["scale_max"]
    width = hi - lo
    level_values = scale & ~change & arm
    for col in ("mean", "median", "q1", "q3", "minimum", "maximum"):
        c.add(level_values & has[col] & ((f[col] < lo) | (f[col] > hi)), col, lambda r, col=col: f"{col} {r[col]:g} "
              f"lies outside the instrument's scale [{r['scale_min']:g}, {r['scale_max']:g}]")  # fmt: skip
    differences = scale & (change | contrast)
    for col in ("mean", "estimate", "ci_low", "ci_high"):
        c.add(differences & has[col] & (f[col].abs() > width), col, lambda r, col=col: f"{col} {r[col]:g} is a "
              f"difference larger than the instrument's whole scale [{r['scale_min']:g}, {r['scale_max']:g}]")  # fmt: skip
    c.add(has["sd"] & scale & (f["sd"] > width), "sd",
          lambda r: f"SD {r['sd']:g} exceeds the instrument's whole range {r['scale_max'] - r['scale_min']:g}")  # fmt: skip
    c.add(arm & has["n"] & has["n_randomised"] & (f["n"] > f["n_randomised"]), "n",
          lambda r: f"n {r['n']} exceeds the {r['n_randomised']} randomised to the arm")  # fmt: skip
    oriented = change | contrast
    c.add(oriented & no_orientation, "orientation",
          "a change score or between-group difference needs its orientation: 'increase' (later minus earlier, "
          "arm minus comparator, on the instrument's scale) or 'reduction' (the reverse)")  # fmt: skip
    c.add(~oriented & ~no_orientation, "orientation",
          "orientation applies to change scores and between-group differences only")  # fmt: skip
    c.add(contrast & no_comparator, "comparator_arm",
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
    c.add(arm & any_comparator, "comparator_arm",
          "an arm row has no comparator (use level 'contrast')")  # fmt: skip
    binary = f["outcome"].isin(BINARY_OUTCOMES)
    c.add(has["events"] & has["n"] & (f["events"] > f["n"]), "events",
          lambda r: f"{r['events']} events among {r['n']} participants")  # fmt: skip
    # The printed form as a categorical: the loops below compare it a dozen times.
    form = pd.Series(pd.Categorical(f["reported_as"].where(~as_default, "mean_sd"), list(REPORTED_AS)), index=f.index)
    c.add(arm & binary & (form != "events"), "reported_as",
          lambda r: f"outcome {r['outcome']!r} is counted as events: reported_as must be 'events'")  # fmt: skip
    c.add(arm & ~binary & (form == "events"), "reported_as",
          lambda r: f"events belong to a binary outcome {BINARY_OUTCOMES}, not {r['outcome']!r}")  # fmt: skip
    c.add(contrast & binary, "level", "a binary outcome enters as each arm's events and total (level 'arm'); "
          "a reported odds or risk ratio is not supported yet")  # fmt: skip
    c.add(contrast & ~as_default, "reported_as",
          "reported_as describes arm rows; a contrast row gives its estimate and CI")  # fmt: skip
    for col in _ARM_NUMBERS + _CONTRAST_NUMBERS:
        extra = arm & has[col] & ~form.isin([k for k, cols in REPORTED_AS.items() if col in cols])
        if col in _CONTRAST_NUMBERS:
            c.add(extra & (form == "mean_sd"), col, "an arm row holds n, mean and sd, not a between-group estimate")
            extra = extra & (form != "mean_sd")
        c.add(extra, col, lambda r, col=col: f"an arm row reported as {r['reported_as'] or 'mean_sd'} holds "
              f"{list(REPORTED_AS[r['reported_as'] or 'mean_sd'])}: leave {col} empty or change reported_as")  # fmt: skip
    with_ci = arm & (form == "mean_ci") & has["mean"] & has["ci_low"] & has["ci_high"]
    c.add(with_ci & ~((f["ci_low"] < f["mean"]) & (f["mean"] < f["ci_high"])), "mean",
          lambda r: f"mean {r['mean']:g} lies outside its CI [{r['ci_low']:g}, {r['ci_high']:g}]")  # fmt: skip
    c.add(arm & (form == "mean_ci") & has["ci_low"] & c.has("ci_level").eq(False), "ci_level",
          "a CI needs its level (e.g. 0.95)")  # fmt: skip
    has["ci_level"] = c.has("ci_level")
    n_arm, n_need = pd.Series(0, index=f.index), pd.Series(0, index=f.index)
    for kind, cols in REPORTED_AS.items():
        rows = form == kind
        n_arm = n_arm.where(~rows, sum(has[x].astype(int) for x in cols))
        n_need = n_need.where(~rows, len(cols))
    present = pd.Series(np.where(contrast, n_con, n_arm), index=f.index)
    have = present == pd.Series(np.where(contrast, 3, n_need), index=f.index)
    c.add((present > 0) & f["higher_is_better"].isna(), "higher_is_better",
          "a row with outcome numbers needs the scale's direction (true/false)")  # fmt: skip
    status = pd.Series(pd.Categorical(f["status"], list(STATUSES)), index=f.index)
    c.add((status == "verified") & ~have, "status", lambda r: "'verified' needs all of "
          f"{list(_CONTRAST_NUMBERS if r['level'] == 'contrast' else REPORTED_AS[r['reported_as'] or 'mean_sd'])}; "
          "mark the row 'partial' and list what is missing")  # fmt: skip
    c.add((status == "partial") & (have | (present == 0)), "status",
          "'partial' means some but not all outcome numbers are present")  # fmt: skip
    c.add((status == "not public") & (present > 0), "status", "'not public' rows hold no outcome numbers")
    incomplete = status.isin(["partial", "not public"])
    no_missing = f["missing"] == ""
    c.add(incomplete & no_missing, "missing", "say which numbers are missing and where in the full text they are")
    c.add(incomplete & ~no_missing & (f["location"] == ""), "location",
          "say which numbers are missing and where in the full text they are")  # fmt: skip
    key = ROW_KEY
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
    frame, problems, lines = parse(path, columns, _INT_MIN)
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
    c, f = Checks(frame, lines), frame
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
