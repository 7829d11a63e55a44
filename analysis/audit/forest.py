"""Audit of published forest plots: every printed number recomputed from the printed inputs.

A transcribed RevMan forest plot (the CSV format of :data:`FOREST_COLUMNS`,
one row per printed line; see ``data/audit/README.md``) is recomputed under
its stated model as RevMan 5 computes it, and each printed number gets a
verdict at its printed precision: ``reproduced`` (equal once rounded as
printed), ``rounding`` (within one unit of the last printed digit) or
``discrepant``. A discrepant number gets a diagnosis when one single change
explains it (:mod:`analysis.audit.diagnose`).

RevMan 5's arithmetic, as recomputed here: MD with vi = sd1²/n1 + sd2²/n2; SMD
as Hedges' g with J = 1 - 3/(4N - 9) and vi = N/(n1 n2) + g²/(2(N - 3.94));
study CIs and tests with z; "IV, Fixed" the inverse-variance common effect;
"IV, Random" DerSimonian-Laird; I² = (Q - df)/Q truncated at 0; the test for
subgroup differences is Cochran's Q across the subtotals; weights are
percentages of the total when the plot prints a total, else of each subtotal.
Rows transcribed with an estimate and CI but no arm data enter as generic
inverse variance (SE from the printed CI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..reader import FLOAT, INT, REQUIRED, TEXT, Checks, DataError, Problem, parse, printed_cells
from ..stats.effects import hedges_g, mean_difference
from ..stats.pooling import pool
from ..stats.results import Result
from ..stats.subgroups import subgroup_analysis
from .revman_text import Printed, parse_revman_text, printed_number

__all__ = ["AUDIT_COLUMNS", "FOREST_COLUMNS", "MODELS", "AuditResult", "audit_forest_plots", "read_forest_plots"]

#: RevMan's model names as printed in a forest plot's heading, and the tau² estimator each means.
MODELS = {"IV, Random": "DL", "IV, Fixed": "EE"}

#: The transcription format: one row per printed line of a forest plot.
FOREST_COLUMNS: dict[str, object] = {
    "figure": REQUIRED,
    "measure": ("MD", "SMD"),
    "model": tuple(MODELS),
    "row_type": ("study", "subtotal", "total"),
    "subgroup": TEXT,
    "study": TEXT,
    "mean_1": FLOAT,
    "sd_1": FLOAT,
    "n_1": INT,
    "mean_2": FLOAT,
    "sd_2": FLOAT,
    "n_2": INT,
    "estimate": FLOAT,
    "ci_low": FLOAT,
    "ci_high": FLOAT,
    "weight": FLOAT,
    "text": TEXT,
}

#: Columns of the audit table.
AUDIT_COLUMNS = ["figure", "row", "study", "quantity", "printed", "recomputed", "verdict", "diagnosis", "detail"]

ARM = ["mean_1", "sd_1", "n_1", "mean_2", "sd_2", "n_2"]
_Z = stats.norm.ppf(0.975)
_INTERVAL = ("estimate", "ci_low", "ci_high")


def _check(frame: pd.DataFrame, lines) -> list:
    c, f = Checks(frame, lines), frame
    study = f["row_type"] == "study"
    arms = pd.concat([c.has(k) for k in ARM], axis=1)
    ci = c.has("estimate") & c.has("ci_low") & c.has("ci_high")
    c.add(study & (f["study"] == ""), "study", "a study row needs the study's name")
    c.add(study & arms.any(axis=1) & ~arms.all(axis=1), None, "give all six arm numbers (mean, SD, n per arm) or none")
    c.add(study & ~arms.all(axis=1) & ~ci, "estimate", "a study row needs its arm numbers or its estimate and CI")
    c.add(~study & arms.any(axis=1), None, "subtotal and total rows take no arm numbers")
    c.add(study & c.has("text"), "text", "RevMan's lines belong on subtotal and total rows")
    c.add((f["row_type"] == "subtotal") & (f["subgroup"] == ""), "subgroup", "a subtotal row needs its subgroup")
    for col in ("sd_1", "sd_2"):
        c.add(c.has(col) & ~(f[col] > 0), col, "an SD must be > 0")
    for col in ("n_1", "n_2"):
        c.add(c.has(col) & ~(f[col].astype(float) >= 1), col, "an n must be >= 1")
    inside = (f["ci_low"] <= f["estimate"]) & (f["estimate"] <= f["ci_high"])
    c.add(ci & ~inside, "estimate", "the estimate lies outside its CI")
    for col in ("measure", "model"):
        valid = f[col].isin(FOREST_COLUMNS[col])  # invalid values have their own problem
        first = f[col].where(valid).groupby(f["figure"]).transform("first")
        c.add(
            valid & (f[col] != first),
            col,
            lambda r, col=col, first=first: f"the figure's first row gives {col} {first[r.name]!r}",
        )
    totals = f["row_type"].eq("total").groupby(f["figure"]).transform("sum")
    c.add((f["row_type"] == "total") & (totals > 1), "row_type", "a figure has at most one total row")
    has_study = study.groupby(f["figure"]).transform("any")
    c.add(~has_study, "row_type", "the figure has no study rows")
    with_studies = set(zip(f.loc[study, "figure"], f.loc[study, "subgroup"]))
    orphan = np.array([(a, b) not in with_studies for a, b in zip(f["figure"], f["subgroup"])], dtype=bool)
    c.add((f["row_type"] == "subtotal") & orphan, "subgroup", "no study row of this figure is in this subgroup")
    for i, text in enumerate(f["text"]):
        try:
            parse_revman_text(text)
        except ValueError as exc:
            c.problems.append(Problem(lines[i], i + 1, "text", str(exc)))
    return c.problems


def read_forest_plots(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A transcription file, typed and checked, and the same cells as printed text.

    Raises :class:`analysis.reader.DataError` naming file, line, row and column of
    every problem.
    """
    path = Path(path)
    frame, problems, lines = parse(path, FOREST_COLUMNS)
    problems = problems + _check(frame, lines)
    if problems:
        raise DataError(path, sorted(problems, key=lambda p: (p.line or 0, p.column or "")))
    frame.attrs["source"] = str(path)
    return frame, printed_cells(path, list(FOREST_COLUMNS))


def study_effects(rows: pd.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """yi and vi of study rows as RevMan 5 computes them (generic IV where no arm data)."""
    yi, vi = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    arms = rows[ARM].notna().all(axis=1).to_numpy()
    if arms.any():
        a = rows.loc[arms, ARM].astype(float)
        args = [a[c].to_numpy() for c in ARM]
        m1, s1, n1, m2, s2, n2 = args
        if measure == "MD":
            y, v = mean_difference(m1, s1, n1, m2, s2, n2)
        else:
            y, v = hedges_g(m1, s1, n1, m2, s2, n2, convention="revman5")
        yi[arms], vi[arms] = y, v
    generic = ~arms
    if generic.any():
        g = rows.loc[generic]
        yi[generic] = g["estimate"].to_numpy(float)
        vi[generic] = ((g["ci_high"] - g["ci_low"]).to_numpy(float) / (2 * _Z)) ** 2
    return yi, vi


def recompute(yi, vi, groups, model: str, *, method: str | None = None) -> dict:
    """Every number RevMan prints for these studies: per subgroup and total, and study weights."""
    method = method or MODELS[model]
    out: dict = {"subtotals": {}, "weights_total": None, "weights_subgroup": np.full(len(yi), np.nan)}
    for g in dict.fromkeys(groups):
        idx = groups == g
        res = pool(yi[idx], vi[idx], method=method, test="z")
        out["subtotals"][g] = res
        w = 1 / (vi[idx] + res.tau2)
        out["weights_subgroup"][idx] = 100 * w / w.sum()
    total = pool(yi, vi, method=method, test="z")
    out["total"] = total
    w = 1 / (vi + total.tau2)
    out["weights_total"] = 100 * w / w.sum()
    if len(out["subtotals"]) > 1:
        out["subgroups"] = subgroup_analysis(yi, vi, groups, method=method, test="z", tau2="separate")
    return out


def _pooled_numbers(res, sub=None) -> dict[str, float]:
    values = {
        "estimate": res.estimate,
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        "tau2": res.tau2,
        "chi2": res.q,
        "df": res.q_df,
        "p_heterogeneity": res.q_pvalue,
        "i2": 100 * res.i2,
        "z": abs(res.statistic),
        "p_overall": res.pvalue,
    }
    if sub is not None:
        values.update(
            chi2_subgroups=sub.q_between,
            df_subgroups=sub.df_between,
            p_subgroups=sub.p_between,
            i2_subgroups=100 * sub.i2_between,
        )
    return values


def verdict(printed: Printed, value: float) -> str:
    """``reproduced``, ``rounding`` or ``discrepant`` for a recomputed ``value`` against a printed number."""
    if not np.isfinite(value):
        return "discrepant"
    unit, tol = printed.unit, 1e-9 * max(1.0, abs(printed.value))
    if printed.relation == "<":
        return (
            "reproduced"
            if value < printed.value + tol
            else "rounding"
            if value < printed.value + unit
            else "discrepant"
        )
    if printed.relation == ">":
        return (
            "reproduced"
            if value > printed.value - tol
            else "rounding"
            if value > printed.value - unit
            else "discrepant"
        )
    diff = abs(value - printed.value)
    if diff <= 0.5 * unit + tol:
        return "reproduced"
    return "rounding" if diff <= unit + tol else "discrepant"


@dataclass(frozen=True, repr=False)
class AuditResult(Result):
    """The audit of one transcription file: ``table`` (:data:`AUDIT_COLUMNS`) and, per figure,
    the printed and recomputed intervals (``intervals``) for the side-by-side figure."""

    source: str
    table: pd.DataFrame
    intervals: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: None for printed numbers (judged at their printed precision); the relative
    #: tolerance for numbers stored at full precision (RevMan files).
    tolerance: float | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def counts(self) -> dict[str, int]:
        return {v: int((self.table["verdict"] == v).sum()) for v in ("reproduced", "rounding", "discrepant")}

    @property
    def clean(self) -> bool:
        """True when no printed number is discrepant."""
        return self.counts["discrepant"] == 0

    def _title(self) -> str:
        c = self.counts
        figures = self.table["figure"].nunique()
        if self.tolerance is not None:
            return (
                f"Audit of {figures} analyses in {Path(self.source).name}: {len(self.table)} stored numbers, "
                f"{c['reproduced']} reproduced within relative {self.tolerance:g}, {c['discrepant']} discrepant "
                f"(largest relative difference {self.largest_difference:.2g})"
            )
        return (
            f"Audit of {figures} forest plot(s) in {Path(self.source).name}: {len(self.table)} printed numbers, "
            f"{c['reproduced']} reproduced, {c['rounding']} within rounding, {c['discrepant']} discrepant"
        )

    @property
    def largest_difference(self) -> float:
        """Stored numbers: the largest relative difference among those reproduced (NaN for printed numbers)."""
        if self.tolerance is None:
            return float("nan")
        ok = self.table[self.table["verdict"] == "reproduced"]
        stored = ok["printed"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(ok["recomputed"].to_numpy(dtype=float) - stored) / np.abs(stored)
        rel = rel[np.isfinite(rel)]
        return float(rel.max()) if rel.size else 0.0

    def _summary_lines(self) -> list[str]:
        bad = self.table[self.table["verdict"] == "discrepant"]
        if self.table.empty:
            return ["Nothing to check: no numbers are stored or printed."]
        if bad.empty and self.tolerance is not None:
            return [f"Every stored number is reproduced within relative {self.tolerance:g}."]
        if bad.empty:
            return ["Every printed number is reproduced at its printed precision."]
        with pd.option_context("display.width", 160, "display.max_colwidth", 70):
            return [bad.drop(columns=["verdict"]).to_string(index=False)]


def audit_forest_plots(path: Path | str) -> AuditResult:
    """Recompute every number of the transcribed forest plots in ``path`` and judge each.

    Returns
    -------
    AuditResult
        ``table`` with one row per printed number: figure, row (1-based data row
        of the file), study (or subgroup / "Total"), quantity, printed (as
        printed), recomputed (full precision), verdict, diagnosis (for discrepant
        numbers: ``se_as_sd``, ``sign_flipped``, ``arms_swapped``, ``typo``,
        ``model_mismatch``, ``i2_convention``, ``weight_convention``,
        ``study_rows`` or ``unexplained``) and detail (what the diagnosis found).

    Raises
    ------
    analysis.reader.DataError
        When the file does not follow the format (file, line, row, column).
    """
    from .diagnose import diagnose_pooled, diagnose_study

    frame, text = read_forest_plots(path)
    frame = frame.assign(row=np.arange(1, len(frame) + 1))
    records, intervals = [], {}
    for name, rows in frame.groupby("figure", sort=False):
        rows_text = text.loc[rows.index]
        measure, model = rows["measure"].iloc[0], rows["model"].iloc[0]
        studies = rows[rows["row_type"] == "study"]
        yi, vi = study_effects(studies, measure)
        groups = studies["subgroup"].to_numpy(dtype=object)
        fig = recompute(yi, vi, groups, model)
        other_model = recompute(yi, vi, groups, "IV, Fixed" if model == "IV, Random" else "IV, Random")
        has_total = (rows["row_type"] == "total").any()
        weights = fig["weights_total"] if has_total else fig["weights_subgroup"]
        study_rows, fixed_y, fixed_v = [], yi.copy(), vi.copy()
        for j, (i, r) in enumerate(studies.iterrows()):
            se = np.sqrt(vi[j])
            values = {"estimate": yi[j], "ci_low": yi[j] - _Z * se, "ci_high": yi[j] + _Z * se, "weight": weights[j]}
            found = _judge(name, r, rows_text.loc[i], values, r["study"])
            if any(x["verdict"] == "discrepant" for x in found):
                fix = diagnose_study(found, r, rows_text.loc[i], measure, fig, j, has_total, other_model)
                if fix is not None:
                    y, v = study_effects(pd.DataFrame([fix]).reindex(columns=FOREST_COLUMNS), measure)
                    fixed_y[j], fixed_v[j] = y[0], v[0]
            study_rows.append((r, values, found))
            records += found
        bad_studies = {r["study"] for r, _, f in study_rows if any(x["verdict"] == "discrepant" for x in f)}
        if not any(x["verdict"] == "discrepant" and x["quantity"] in _INTERVAL for _, _, f in study_rows for x in f):
            # weights alone are off while every study's own numbers reproduce: no study row explains them
            for _, _, f in study_rows:
                for x in f:
                    if x["diagnosis"] == "study_rows":
                        x["diagnosis"], x["detail"] = "unexplained", "every study's estimate and CI reproduce"
        pooled_rows = []
        for i, r in rows[rows["row_type"] != "study"].iterrows():
            if r["row_type"] == "total":
                res, label, scope = fig["total"], "Total", np.ones(len(yi), bool)
                values = _pooled_numbers(res, fig.get("subgroups"))
                values["weight"] = 100.0
            else:
                res, label = fig["subtotals"][r["subgroup"]], f"Subtotal: {r['subgroup']}"
                scope = groups == r["subgroup"]
                values = _pooled_numbers(res)
                values["weight"] = float(weights[scope].sum())
            found = _judge(name, r, rows_text.loc[i], values, label)
            if any(x["verdict"] == "discrepant" for x in found):
                in_scope = set(studies["study"].to_numpy()[scope])
                fixed = (fixed_y[scope], fixed_v[scope])
                diagnose_pooled(
                    found,
                    yi[scope],
                    vi[scope],
                    groups[scope],
                    model,
                    r,
                    bad_studies & in_scope,
                    fixed,
                    bool(bad_studies),
                )
            pooled_rows.append((r, values, found))
            records += found
        intervals[name] = pd.DataFrame(
            [_interval(label, r, v, f) for label, (r, v, f) in _labelled(study_rows + pooled_rows)]
        )
    table = pd.DataFrame(records, columns=AUDIT_COLUMNS)
    return AuditResult(str(path), table, intervals)


def _judge(figure: str, row: pd.Series, text: pd.Series, values: dict[str, float], label: str) -> list[dict]:
    """One audit record per printed number of a row."""
    printed: dict[str, Printed] = {
        q: printed_number(text[q]) for q in ("estimate", "ci_low", "ci_high", "weight") if text[q] != ""
    }
    printed.update(parse_revman_text(row["text"]))
    out = []
    for q, p in printed.items():
        value = values.get(q, np.nan)
        out.append(
            dict(figure=figure, row=int(row["row"]), study=label, quantity=q, printed=p.text if p.relation == "=" else f"{p.relation} {p.text}",
                 recomputed=value, verdict=verdict(p, value), diagnosis="", detail="", _printed=p)
        )  # fmt: skip
    return out


def _labelled(rows):
    for r, values, found in rows:
        label = {"study": r["study"], "total": "Total"}.get(r["row_type"], f"Subtotal: {r['subgroup']}")
        yield label, (r, values, found)


def _interval(label, r, values, found) -> dict:
    return dict(
        label=label,
        printed_estimate=r["estimate"],
        printed_low=r["ci_low"],
        printed_high=r["ci_high"],
        recomputed_estimate=values["estimate"],
        recomputed_low=values["ci_low"],
        recomputed_high=values["ci_high"],
        discrepant=any(x["verdict"] == "discrepant" and x["quantity"] in _INTERVAL for x in found),
    )
