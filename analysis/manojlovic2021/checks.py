"""``python -m analysis data check`` and ``data diff``: the extraction checks of studies.csv.

``check`` validates the file, lists per trial what is still missing and where
it lives, and flags means that the instrument's integer scores cannot give
with the arm's n (the GRIM test, :func:`analysis.audit.extraction.grim`).
``diff`` compares two extractors' files cell by cell, as dual extraction requires.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ..audit.extraction import diff_frames, grim
from ..reader import printed_cells
from .load import ROW_KEY, STUDY_COLUMNS, MissingDataWarning, default_path, load_studies, missing_values

__all__ = ["INTEGER_SCORED", "check_studies", "diff_studies", "grim_flags"]

#: Instruments whose per-participant score is a whole number (granularity 1), with the reason.
INTEGER_SCORED = {
    "AKPS": "13 items scored in whole points, summed to 0-100 (Kujala et al. 1993)",
    "LEFS": "20 items scored 0-4, summed to 0-80 (Binkley et al. 1999)",
    "NPRS": "one whole number from 0 to 10",
    "WOMAC": "24 items scored 0-4 (Likert version), summed to 0-96",
    "Lysholm": "8 items scored in whole points, summed to 0-100 (Tegner & Lysholm 1985)",
}


def _load(path: Path | str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The validated frame and the same cells as printed text (for the decimals of each mean)."""
    path = Path(path) if path is not None else default_path("studies.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        frame = load_studies(path)
    return frame, printed_cells(path, list(STUDY_COLUMNS))


def grim_flags(frame: pd.DataFrame, text: pd.DataFrame) -> pd.DataFrame:
    """Arm rows of integer-scored instruments whose printed mean no whole-number scores can give with n."""
    out = []
    for i, r in frame.iterrows():
        if r["level"] != "arm" or r["instrument"] not in INTEGER_SCORED or pd.isna(r["mean"]) or pd.isna(r["n"]):
            continue
        if (
            r["value_type"] != "post"
        ):  # a change score is a difference of two sums: still whole, but say so only for post
            continue
        printed = text.loc[i, "mean"]
        if grim(printed, int(r["n"])) is False:
            out.append(dict(row=i + 1, study=r["study"], arm=r["arm"], outcome=r["outcome"], instrument=r["instrument"],
                            mean=printed, n=int(r["n"]), why=f"{r['instrument']}: {INTEGER_SCORED[r['instrument']]}"))  # fmt: skip
    return pd.DataFrame(out, columns=["row", "study", "arm", "outcome", "instrument", "mean", "n", "why"])


def check_studies(path: Path | str | None = None) -> tuple[str, bool]:
    """The check's report (plain text) and whether the data passed (no impossible mean).

    Raises :class:`analysis.reader.DataError` when the file is not valid.
    """
    frame, text = _load(path)
    missing = missing_values(frame)
    flags = grim_flags(frame, text)
    lines = [f"{path or default_path('studies.csv')}: valid, {len(frame)} rows, {frame['study_id'].nunique()} trials"]
    if missing.empty:
        lines.append("every outcome number is filled in")
    else:
        lines.append(f"{len(missing)} rows still miss numbers, per trial (what is missing; where it lives):")
        for study, rows in missing.groupby("study", sort=False):
            lines.append(f"  {study} ({len(rows)} rows)")
            for (what, where), _ in rows.groupby(["missing", "location"], sort=False):
                lines.append(f"    - {what}; {where}" if where else f"    - {what}")
    if flags.empty:
        lines.append("GRIM: every mean of an integer-scored instrument is possible with its n")
    else:
        lines.append(f"GRIM: {len(flags)} mean(s) that whole-number scores cannot give with the arm's n:")
        for f in flags.itertuples(index=False):
            lines.append(
                f"  row {f.row}: {f.study}, {f.arm}, {f.outcome} ({f.instrument}): mean {f.mean} with n = {f.n}"
            )
    return "\n".join(lines), flags.empty


def diff_studies(a: Path | str, b: Path | str) -> pd.DataFrame:
    """Every cell where two extractions of studies.csv disagree (:func:`analysis.audit.extraction.diff_frames`),
    with the trial's name; rows are matched on :data:`ROW_KEY`."""
    fa, _ = _load(a)
    fb, _ = _load(b)
    out = diff_frames(fa, fb, ROW_KEY)
    names = dict(zip(fa["study_id"], fa["study"])) | dict(zip(fb["study_id"], fb["study"]))
    trial = out["key"].str.split(" | ", regex=False).str[0].map(names)
    return out.assign(trial=trial)[["trial", *out.columns]]
