"""Pure layouts: every row of a forest plot as a table, with no pixels.

:func:`forest_rows` lays out a pooled or subgrouped meta-analysis the way
RevMan 5 prints it (study rows, subtotals, heterogeneity and test lines, the
total, the test for subgroup differences), so the layout is testable and the
same numbers feed the CSV tables. :class:`ForestData` is what any result hands
to the layout: a project that wraps the library (for example with arm-level
columns or its own labels) gives its result a ``forest_data()`` method
returning one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..stats.pooling import PoolResult
from ..stats.results import format_p
from ..stats.subgroups import SubgroupResult

__all__ = ["ARM_COLUMNS", "ROW_KINDS", "ForestData", "forest_data", "forest_rows"]

#: Row kinds of :func:`forest_rows`, top to bottom within a block.
ROW_KINDS = ("group", "study", "subtotal", "heterogeneity", "effect_test", "overall", "alternative", "subgroup_test")
#: Optional per-arm columns of a study frame, shown when present (means and SDs, or events, with totals).
ARM_COLUMNS = ("n_e", "mean_e", "sd_e", "events_e", "n_c", "mean_c", "sd_c", "events_c")

_LAYOUT_COLUMNS = ["y", "kind", "group", "label", *ARM_COLUMNS, "estimate", "ci_low", "ci_high", "weight", "text"]


@dataclass(frozen=True)
class ForestData:
    """What a forest plot shows.

    Attributes
    ----------
    result : PoolResult or SubgroupResult.
    studies : DataFrame with one row per study in the order of the result's
        input: ``label``, ``yi``, ``vi`` and optionally the :data:`ARM_COLUMNS`.
    measure : the effect measure's label ("MD", "SMD", "Odds Ratio", ...).
    favours : (left, right) labels under the axis.
    arms : headings of the two arms' columns.
    model : the method in the heading, as RevMan writes it ("M-H, Fixed");
        default from the result: "IV, Fixed" or "IV, Random".
    log_scale : estimates are logarithms of ratios: drawn on a log axis and
        printed back-transformed (odds and risk ratios).
    alternatives : the overall result under other models, each ``(label,
        estimate, ci_low, ci_high)``, drawn as open diamonds under the total
        (e.g. Hartung-Knapp and Bayesian results of an analysis of few studies).
    """

    result: PoolResult | SubgroupResult
    studies: pd.DataFrame
    measure: str = "Estimate"
    favours: tuple[str, str] = ("Favours experimental", "Favours control")
    arms: tuple[str, str] = ("Experimental", "Control")
    model: str | None = None
    log_scale: bool = False
    alternatives: tuple[tuple[str, float, float, float], ...] = ()

    @property
    def heading(self) -> str:
        """The estimate column's heading: measure, model and level ("Odds Ratio M-H, Fixed, 95% CI")."""
        overall = getattr(self.result, "overall", self.result)
        model = self.model or ("IV, Fixed" if overall.method == "EE" else "IV, Random")
        return f"{self.measure} {model}, {int(round(overall.level * 100))}% CI"


def _study_frame(yi, vi, labels, level: float) -> pd.DataFrame:
    z = stats.norm.isf((1 - level) / 2)
    se = np.sqrt(np.asarray(vi, dtype=float))
    frame = pd.DataFrame({"label": list(labels), "yi": yi, "vi": vi})
    return frame.assign(ci_low=frame["yi"] - z * se, ci_high=frame["yi"] + z * se)


def forest_data(result, labels=None, *, measure: str | None = None, favours=None, arms=None) -> ForestData:
    """The :class:`ForestData` of ``result``; arguments override its labels.

    ``result`` is a PoolResult, a SubgroupResult (``labels``: one per study in
    input order, or ``{group: [labels]}``), a ForestData, or any object with a
    ``forest_data()`` method.
    """
    if hasattr(result, "forest_data"):
        data = result.forest_data()
    elif isinstance(result, ForestData):
        data = result
    elif isinstance(result, PoolResult):
        lab = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(result.k)]
        if len(lab) != result.k:
            raise ValueError(f"labels must have one entry per study ({result.k}); got {len(lab)}")
        data = ForestData(result, _study_frame(result.yi, result.vi, lab, result.level))
    elif isinstance(result, SubgroupResult):
        o = result.overall
        if isinstance(labels, dict):
            lab = np.empty(o.k, dtype=object)
            for g in result.groups:
                idx = result.members(g)
                if len(labels.get(g, ())) != len(idx):
                    raise ValueError(f"labels[{g!r}] must have one entry per study of that subgroup ({len(idx)})")
                lab[idx] = list(labels[g])
            lab = list(lab)
        else:
            lab = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(o.k)]
        if len(lab) != o.k:
            raise ValueError(f"labels must have one entry per study ({o.k}); got {len(lab)}")
        data = ForestData(result, _study_frame(o.yi, o.vi, lab, o.level))
    elif getattr(result, "batch", False):
        raise ValueError("forest plots take one meta-analysis, not a batch")
    else:
        raise TypeError(f"cannot draw a forest plot of {type(result).__name__}")
    changes = {k: v for k, v in dict(measure=measure, favours=favours, arms=arms).items() if v is not None}
    if changes:
        data = ForestData(**{**data.__dict__, **changes})
    frame = data.studies
    if "ci_low" not in frame:
        level = (data.result.overall if isinstance(data.result, SubgroupResult) else data.result).level
        frame = _study_frame(frame["yi"], frame["vi"], frame["label"], level).join(
            frame.drop(columns=["label", "yi", "vi"])
        )
        data = ForestData(**{**data.__dict__, "studies": frame})
    return data


def heterogeneity_text(res: PoolResult) -> str:
    """RevMan's heterogeneity line."""
    if res.k < 2:
        return "Heterogeneity: Not applicable"
    tau = "" if res.method == "EE" else f"Tau² = {res.tau2:.2f}; "
    return (
        f"Heterogeneity: {tau}Chi² = {res.q:.2f}, df = {res.q_df} ({format_p(res.q_pvalue)}); I² = {100 * res.i2:.0f}%"
    )


def effect_text(res: PoolResult) -> str:
    """RevMan's test-for-overall-effect line (t with its df under t tests)."""
    name = "Z" if res.test == "z" or not np.isfinite(res.df) else f"t({res.df:g})"
    return f"Test for overall effect: {name} = {abs(res.statistic):.2f} ({format_p(res.pvalue)})"


def subgroup_text(sg: SubgroupResult) -> str:
    """RevMan's test-for-subgroup-differences line (F under a common tau² with t tests)."""
    if sg.df_between < 1:
        return "Test for subgroup differences: Not applicable"
    if sg.df_resid is not None:
        return (
            f"Test for subgroup differences: F({sg.df_between}, {sg.df_resid}) = {sg.q_between:.2f} "
            f"({format_p(sg.p_between)})"
        )
    i2 = 100 * sg.i2_between
    i2_text = "0%" if i2 == 0 else f"{i2:.1f}%"
    return (
        f"Test for subgroup differences: Chi² = {sg.q_between:.2f}, df = {sg.df_between} "
        f"({format_p(sg.p_between)}), I² = {i2_text}"
    )


def _study_rows(frame: pd.DataFrame, weights: np.ndarray, group) -> list[dict]:
    rows = []
    for (_, r), w in zip(frame.iterrows(), weights):
        row = dict(kind="study", group=group, label=r["label"], estimate=r["yi"], ci_low=r["ci_low"])
        row.update(ci_high=r["ci_high"], weight=w, text="")
        row.update({c: r[c] for c in ARM_COLUMNS if c in frame})
        rows.append(row)
    return rows


def _pooled_row(kind: str, label: str, res: PoolResult, frame: pd.DataFrame, weight: float, group) -> dict:
    row = dict(kind=kind, group=group, label=label, estimate=res.estimate, ci_low=res.ci_low, ci_high=res.ci_high)
    row.update(weight=weight, text="")
    for c in ("n_e", "n_c", "events_e", "events_c"):
        if c in frame:
            row[c] = frame[c].sum(min_count=1)
    return row


def forest_rows(result, labels=None, *, weights: str = "total") -> pd.DataFrame:
    """Every row of a RevMan-style forest plot, top to bottom.

    Parameters
    ----------
    result : PoolResult, SubgroupResult, ForestData or an object with
        ``forest_data()`` (see :func:`forest_data`).
    labels : study labels for a PoolResult or SubgroupResult.
    weights : {"total", "subgroup"}
        For subgrouped results, a study's weight as its share of the total
        analysis (RevMan 5's plots with totals; default) or of its subgroup.

    Returns
    -------
    DataFrame
        Columns ``y`` (0 at the top, decreasing by 1 per row), ``kind`` (one of
        :data:`ROW_KINDS`), ``group``, ``label``, per-arm ``n_e, mean_e, sd_e,
        events_e, n_c, mean_c, sd_c, events_c`` (NaN where not given),
        ``estimate, ci_low, ci_high`` (on the analysis scale: log for ratios),
        ``weight`` (%) and ``text`` (the heterogeneity and test
        lines). Each study's weight is computed from that study's own index
        in the result, whatever the order of the subgroups.
    """
    if weights not in ("total", "subgroup"):
        raise ValueError(f"weights must be 'total' or 'subgroup'; got {weights!r}")
    data = forest_data(result, labels)
    res, frame = data.result, data.studies
    rows: list[dict] = []
    if isinstance(res, SubgroupResult):
        overall = res.overall
        for g, sub in res.groups.items():
            idx = res.members(g)
            part = frame.iloc[idx]
            w = overall.weights[idx] if weights == "total" else sub.weights
            rows.append(dict(kind="group", group=g, label=g, text=""))
            rows += _study_rows(part, w, g)
            rows.append(_pooled_row("subtotal", "Subtotal", sub, part, float(np.sum(w)), g))
            rows.append(dict(kind="heterogeneity", group=g, label="", text=heterogeneity_text(sub)))
            rows.append(dict(kind="effect_test", group=g, label="", text=effect_text(sub)))
    else:
        overall = res
        rows += _study_rows(frame, overall.weights, None)
    rows.append(_pooled_row("overall", "Total", overall, frame, 100.0, None))
    rows.append(dict(kind="heterogeneity", group=None, label="", text=heterogeneity_text(overall)))
    rows.append(dict(kind="effect_test", group=None, label="", text=effect_text(overall)))
    for label, est, lo, hi in data.alternatives:
        rows.append(dict(kind="alternative", group=None, label=label, estimate=est, ci_low=lo, ci_high=hi, text=""))
    if isinstance(res, SubgroupResult):
        rows.append(dict(kind="subgroup_test", group=None, label="", text=subgroup_text(res)))
    out = pd.DataFrame(rows).reindex(columns=_LAYOUT_COLUMNS)
    out["y"] = -np.arange(len(out), dtype=float)
    out["text"] = out["text"].fillna("")
    return out
