"""The audit's verdict in words: ``audit.md``."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .forest import AuditResult

__all__ = ["audit_report", "figure_stem"]

_CODES = {
    "se_as_sd": "an SD that is an SE (or the reverse)",
    "sign_flipped": "a mean with the wrong sign",
    "arms_swapped": "experimental and control exchanged",
    "typo": "one number off",
    "model_mismatch": "another model or tau² estimator than the plot states",
    "i2_convention": "I² computed another way",
    "weight_convention": "weights as percentages of another total",
    "study_rows": "follows discrepant study rows",
    "unexplained": "no single change explains it",
}


def figure_stem(name: str) -> str:
    """The file stem of a figure's audit plot: "Analysis 1.1" -> "audit_analysis_1_1"."""
    return "audit_" + (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "figure")


def _md_table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = [f"{x:.6g}" if isinstance(x, float) else str(x) for x in row]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def audit_report(result: AuditResult, figures: dict[str, str] | None = None) -> str:
    """``audit.md``: the verdict, counts per figure, every discrepant number with its diagnosis.

    ``figures`` maps figure names to image paths (relative to the report) to embed.
    """
    t = result.table
    c = result.counts
    stored = result.tolerance is not None
    what = "stored" if stored else "printed"
    if t.empty:  # a RevMan file stores its results only once RevMan has calculated them
        verdict = f"**Nothing to check**: the file holds no {what} numbers."
    elif result.clean:
        precision = f"within a relative tolerance of {result.tolerance:g}" if stored else "at its printed precision"
        verdict = f"**Every {what} number is reproduced** {precision}."
    else:
        verdict = f"**{c['discrepant']} {what} number(s) are discrepant**; the table below says which and why."
    if stored:
        counts = (
            f"{len(t)} stored numbers in {t['figure'].nunique()} analyses: {c['reproduced']} reproduced within "
            f"relative {result.tolerance:g} (the largest relative difference among them is "
            f"{result.largest_difference:.2g}), {c['discrepant']} discrepant. Recomputed with the method each "
            "analysis names, as RevMan 5 computes (see `analysis.audit.revman_file`)."
        )
    else:
        counts = (
            f"{len(t)} printed numbers in {t['figure'].nunique()} figure(s): {c['reproduced']} reproduced "
            f"(equal once rounded as printed), {c['rounding']} within one unit of the last printed digit, "
            f"{c['discrepant']} discrepant. Recomputed as RevMan 5 computes (see `analysis.audit.forest`)."
        )
    out = [f"# Audit of {Path(result.source).name}", "", verdict, "", counts, "", "## Per figure", ""]
    per = t.groupby("figure", sort=False)["verdict"].value_counts().unstack(fill_value=0)
    kinds = ["reproduced", "discrepant"] if stored else ["reproduced", "rounding", "discrepant"]
    per = per.reindex(columns=kinds, fill_value=0).reset_index()
    out += [_md_table(per), ""]
    bad = t[t["verdict"] == "discrepant"]
    if not bad.empty:
        out += ["## Discrepant numbers", ""]
        shown = bad[["figure", "row", "study", "quantity", "printed", "recomputed", "diagnosis", "detail"]]
        out += [_md_table(shown), ""]
        codes = [code for code in _CODES if code in set(bad["diagnosis"])]
        out += ["Diagnoses: " + "; ".join(f"`{code}`: {_CODES[code]}" for code in codes) + ".", ""]
    for name, path in (figures or {}).items():
        out += [f"![{name}: {what} (filled) and recomputed (open) estimates and CIs]({path})", ""]
    return "\n".join(out)
