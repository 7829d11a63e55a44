"""The multiverse of analysis decisions: every combination pooled, and how many agree with a published result.

A published meta-analysis rarely states every decision behind its numbers
(τ² estimator, test, time point, post values or change scores, …). The
multiverse (Steegen et al. 2016) runs every combination; the specification
curve (Simonsohn et al. 2020) shows the estimates sorted with the decisions
beneath. :func:`multiverse` takes the data each combination of data decisions
gives and pools them all through the batch path, once per pooling decision.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .pooling import pool
from .results import Result

__all__ = ["MultiverseResult", "multiverse"]

_RESULT_COLUMNS = ["k", "estimate", "ci_low", "ci_high", "pvalue", "tau2", "i2"]


@dataclass(frozen=True, repr=False)
class MultiverseResult(Result):
    """One row per specification (``table``): its decisions, then k, estimate, CI, p, τ², I²,
    ``significant`` (CI excludes 0) and, with a reference, ``agrees`` (same sign and
    same significance as the reference)."""

    table: pd.DataFrame
    decisions: tuple[str, ...]
    reference: dict | None = None
    level: float = 0.95
    not_poolable: int = 0

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def share_agreeing(self) -> float:
        """Share of the specifications that agree with the reference in sign and significance (NaN without one)."""
        if self.reference is None or self.table.empty:
            return float("nan")
        return float(self.table["agrees"].mean())

    @property
    def share_significant(self) -> float:
        return float(self.table["significant"].mean()) if len(self.table) else float("nan")

    def _title(self) -> str:
        n = len(self.table)
        agree = "" if self.reference is None else f"; {100 * self.share_agreeing:.0f}% agree with the reference"
        return f"Multiverse: {n} specifications over {len(self.decisions)} decisions{agree}"

    def _summary_lines(self) -> list[str]:
        t = self.table
        if t.empty:
            return [f"no specification has enough studies ({self.not_poolable} could not be pooled)"]
        lines = [
            f"estimates {t['estimate'].min():.3g} to {t['estimate'].max():.3g} (median {t['estimate'].median():.3g}); "
            f"{100 * self.share_significant:.0f}% with a {100 * self.level:g}% CI that excludes 0; "
            f"{self.not_poolable} specification(s) with too few studies left out",
        ]
        if self.reference is not None:
            r = self.reference
            lines.append(
                f"reference {r['estimate']:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]: "
                f"{int(t['agrees'].sum())} of {len(t)} specifications agree in sign and significance"
            )
        by = []
        for d in self.decisions:
            if t[d].nunique() > 1:
                med = t.groupby(d, sort=False)["estimate"].median()
                by.append(f"  {d}: " + ", ".join(f"{k} {v:.3g}" for k, v in med.items()))
        if by:
            lines += ["median estimate by decision:", *by]
        return lines


def multiverse(
    datasets: Iterable[tuple[dict, np.ndarray, np.ndarray]],
    *,
    methods: tuple[str, ...] = ("DL", "REML", "PM"),
    tests: tuple[str, ...] = ("z", "knha"),
    reference: dict | None = None,
    level: float = 0.95,
    min_k: int = 2,
) -> MultiverseResult:
    """Pool every combination of data decisions x τ² estimator x test.

    Parameters
    ----------
    datasets : iterable of (decisions, yi, vi)
        The data each combination of data decisions gives (a dict of decision
        name -> value, and the effect sizes and variances). Identical data from
        different decisions are pooled once.
    methods, tests : the pooling decisions (:func:`analysis.pool`'s ``method`` and ``test``).
    reference : optional ``{"estimate", "ci_low", "ci_high"}`` of a published result.
    level : confidence level.
    min_k : specifications with fewer studies are counted in ``not_poolable`` and left out.

    Returns
    -------
    MultiverseResult
        ``table`` with one row per specification, sorted by estimate.

    Notes
    -----
    All specifications of one (method, test) are pooled in one batch call
    (rows padded with NaN), so thousands of specifications take milliseconds.
    A specification agrees with the reference when its estimate has the same
    sign and its CI excludes 0 exactly when the reference's does.

    References
    ----------
    Steegen S, et al. Increasing transparency through a multiverse analysis.
    Perspect Psychol Sci 2016;11:702-712. Simonsohn U, Simmons JP, Nelson LD.
    Specification curve analysis. Nat Hum Behav 2020;4:1208-1214.
    """
    rows, unique, index = [], [], {}
    not_poolable = 0
    for decisions, yi, vi in datasets:
        yi, vi = np.asarray(yi, float).ravel(), np.asarray(vi, float).ravel()
        if len(yi) < min_k:
            not_poolable += 1
            continue
        order = np.lexsort((vi, yi))
        key = (yi[order].tobytes(), vi[order].tobytes())
        if key not in index:
            index[key] = len(unique)
            unique.append((yi, vi))
        rows.append((dict(decisions), index[key]))
    names = tuple(dict.fromkeys(k for d, _ in rows for k in d))
    pool_names = ("method", "test")
    if not rows:
        empty = pd.DataFrame(columns=[*names, *pool_names, *_RESULT_COLUMNS, "significant"])
        return MultiverseResult(empty, names + pool_names, reference, level, not_poolable)
    width = max(len(y) for y, _ in unique)
    Y = np.full((len(unique), width), np.nan)
    V = np.full((len(unique), width), np.nan)
    for i, (y, v) in enumerate(unique):
        Y[i, : len(y)], V[i, : len(v)] = y, v
    out = []
    for method, test in itertools.product(methods, tests):
        fits = pool(Y, V, method=method, test=test, level=level).to_frame()[_RESULT_COLUMNS]
        for decisions, j in rows:
            out.append({**decisions, "method": method, "test": test, **fits.iloc[j].to_dict()})
    table = pd.DataFrame(out)
    table["k"] = table["k"].astype(int)
    table["significant"] = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    if reference is not None:
        ref_sig = reference["ci_low"] > 0 or reference["ci_high"] < 0
        table["agrees"] = (np.sign(table["estimate"]) == np.sign(reference["estimate"])) & (
            table["significant"] == ref_sig
        )
    table = table.sort_values("estimate", kind="stable").reset_index(drop=True)
    return MultiverseResult(table, names + pool_names, reference, level, not_poolable)
