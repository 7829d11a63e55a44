"""Inference for model coefficients: the tests metafor offers, in one place.

``test`` is spelled as metafor's: "z" (Wald, normal), "t" (t with k - p df,
usual SE), "knha" (Hartung-Knapp-Sidik-Jonkman: SE scaled by the residual
heterogeneity, t with k - p df) and "adhoc" (knha with the scale floored at 1).
Every function of the library that takes ``test`` validates it here and uses
these helpers, so a typo raises instead of silently becoming a z test.

References
----------
Hartung J, Knapp G (2001). On tests of the overall treatment effect in
meta-analysis with normally distributed responses. Stat Med 20:1771-1782.
Sidik K, Jonkman JN (2002). A simple confidence interval for meta-analysis.
Stat Med 21:3153-3159.
Knapp G, Hartung J (2003). Improved tests for a random effects
meta-regression with a single covariate. Stat Med 22:2693-2710 (ad hoc floor).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["TESTS", "check_test", "critical_value", "knha_scale", "uses_t"]

#: Inference for coefficients: Wald z, t with the usual SE, Hartung-Knapp-
#: Sidik-Jonkman, and metafor's "adhoc" HKSJ with its factor floored at 1.
TESTS = ("z", "t", "knha", "adhoc")


def check_test(test: str) -> str:
    """``test`` if it is one of :data:`TESTS`, else ValueError."""
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}; got {test!r}")
    return test


def uses_t(test: str) -> bool:
    """True when ``test`` refers statistics to t (or F) rather than z (or χ²)."""
    return check_test(test) != "z"


def knha_scale(rss, df, test: str):
    """The Knapp-Hartung factor s² = RSS_w/df (RSS_w = Σ w*(y - fitted)²), as
    metafor computes it: 0 when RSS_w is at rounding level; floored at 1 under
    "adhoc"; 1 for "z" and "t"."""
    check_test(test)
    rss = np.asarray(rss, dtype=float)
    if test in ("z", "t"):
        return np.ones_like(rss)
    s2 = np.where(rss <= np.finfo(float).eps, 0.0, rss / np.maximum(df, 1))
    return np.maximum(s2, 1.0) if test == "adhoc" else s2


def critical_value(level: float, df, statistic):
    """Two-sided critical value and p-value: t(df) where df is finite, else normal."""
    df = np.asarray(df, dtype=float)
    statistic = np.asarray(statistic, dtype=float)
    alpha = 1 - level
    use_t = np.isfinite(df)
    safe = np.where(use_t, df, 1.0)
    crit = np.where(use_t, stats.t.isf(alpha / 2, safe), stats.norm.isf(alpha / 2))
    pval = np.where(use_t, 2 * stats.t.sf(np.abs(statistic), safe), 2 * stats.norm.sf(np.abs(statistic)))
    return crit, pval
