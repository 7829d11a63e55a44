"""Small-study effects and the permutation test for subgroup differences.

Egger's regression test (classic and metafor's mixed-effects default), the
rank correlation test, trim-and-fill (L0, R0), and a permutation test for
subgroup differences with an explicit seed. Checked against metafor 3.8-1
``regtest``, ``ranktest``, ``trimfill`` and ``permutest``
(tests/test_robustness.py). The funnel plot is in :mod:`analysis.plotting.funnel`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import linalg, special, stats

from .inference import check_test
from .pooling import PoolResult, one_analysis, pool
from .regression import meta_regression
from .results import Result
from .subgroups import between_groups_common

__all__ = [
    "EggerResult",
    "PermutationResult",
    "RankTestResult",
    "TrimFillResult",
    "egger_test",
    "permutation_test",
    "rank_test",
    "trim_and_fill",
]  # fmt: skip


@dataclass(frozen=True, repr=False)
class EggerResult(Result):
    """Egger's regression test: the slope on the SE, and the limit estimate as SE -> 0."""

    model: str
    statistic: float
    df: float
    pvalue: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    test: str = "z"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])

    def _title(self) -> str:
        name = "z" if np.isnan(self.df) else f"t({self.df:g})"
        return f"Egger's regression test ({self.model}): {name} = {self.statistic:.4f}, p = {self.pvalue:.4g}"


def egger_test(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    model: str = "rma",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    root: str = "global",
) -> EggerResult:
    """Regression test for funnel-plot asymmetry with the standard error as predictor.

    ``model="rma"`` (metafor ``regtest`` default): mixed-effects
    meta-regression of yi on √vi with ``method``; the slope's test is z, or
    t(k-2) under "t", "knha" or "adhoc" (:func:`analysis.meta_regression`).
    ``model="lm"`` (the classic test of Egger et al. 1997): weighted least
    squares of yi on √vi with weights 1/vi, t(k-2) test of the slope, which
    equals the OLS intercept test of yi/√vi on 1/√vi (``test`` must then be
    left at "z").

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). BMJ 315:629-634.
    Sterne JAC, Egger M (2005). In: Publication Bias in Meta-Analysis. Wiley.
    """
    check_test(test)
    if model not in ("rma", "lm"):
        raise ValueError(f"model must be 'rma' or 'lm'; got {model!r}")
    y, v = one_analysis(yi, vi)
    k = len(y)
    if k < 3:
        raise ValueError("Egger's test needs at least 3 studies")
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    if model == "rma":
        fit = meta_regression(y, v, X, method=method, test=test, level=level, root=root)
        return EggerResult(
            "rma",
            float(fit.statistic[1]),
            float(fit.df),
            float(fit.pvalue[1]),
            float(fit.beta[0]),
            float(fit.ci_low[0]),
            float(fit.ci_high[0]),
            test,
        )
    if test != "z":
        raise ValueError("model='lm' is the classic test (t with k - 2 df); leave test at 'z'")
    w = 1 / v
    XtW = X.T * w
    beta = linalg.solve(XtW @ X, XtW @ y)
    resid = y - X @ beta
    sigma2 = float((w * resid**2).sum()) / (k - 2)
    vb = sigma2 * linalg.inv(XtW @ X)
    se = np.sqrt(np.diag(vb))
    t = beta[1] / se[1]
    crit = stats.t.isf((1 - level) / 2, k - 2)
    return EggerResult(
        "lm",
        float(t),
        float(k - 2),
        float(2 * stats.t.sf(abs(t), k - 2)),
        float(beta[0]),
        float(beta[0] - crit * se[0]),
        float(beta[0] + crit * se[0]),
        "t",
    )


@dataclass(frozen=True, repr=False)
class RankTestResult(Result):
    """Begg and Mazumdar's rank correlation test: Kendall's tau and its p-value.

    Unpacks as ``tau, pvalue = rank_test(yi, vi)``.
    """

    tau: float
    pvalue: float
    k: int
    exact: bool

    def __iter__(self):
        return iter((self.tau, self.pvalue))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"tau": self.tau, "pvalue": self.pvalue, "k": self.k, "exact": self.exact}])

    def _title(self) -> str:
        return f"Rank correlation test (k = {self.k}): Kendall's tau = {self.tau:.4f}, p = {self.pvalue:.4g}"


def rank_test(yi: ArrayLike, vi: ArrayLike) -> RankTestResult:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``): Kendall's tau
    between the standardised effects (yi - μ̂_FE)/√(vi - Var μ̂_FE) and vi, and its
    p-value (exact without ties, as R's ``cor.test``; normal approximation with ties).

    Raises ValueError for invalid input (the checks of :func:`analysis.pool`)
    and for fewer than 3 studies.

    References
    ----------
    Begg CB, Mazumdar M (1994). Biometrics 50:1088-1101.
    """
    y, v = one_analysis(yi, vi)
    if len(y) < 3:
        raise ValueError("the rank correlation test needs at least 3 studies")
    w = 1 / v
    theta = (w * y).sum() / w.sum()
    ystar = (y - theta) / np.sqrt(v - 1 / w.sum())
    ties = len(np.unique(ystar)) < len(y) or len(np.unique(v)) < len(v)
    exact = not ties and len(y) < 50
    res = stats.kendalltau(ystar, v, method="exact" if exact else "asymptotic")
    return RankTestResult(float(res.statistic), float(res.pvalue), len(y), exact)


@dataclass(frozen=True, repr=False)
class TrimFillResult(Result):
    """Trim-and-fill: the number of filled studies, their values and the refitted model."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    result: PoolResult

    def to_frame(self) -> pd.DataFrame:
        frame = self.result.to_frame()
        frame.insert(0, "k0", self.k0)
        frame.insert(1, "side", self.side)
        return frame

    def _title(self) -> str:
        return (
            f"Trim-and-fill ({self.estimator}): {self.k0} studies filled on the {self.side}; "
            f"estimate {self.result.estimate:.4f} [{self.result.ci_low:.4f}, {self.result.ci_high:.4f}]"
        )


def trim_and_fill(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    estimator: str = "L0",
    side: str | None = None,
    method: str = "REML",
    maxiter: int = 100,
    root: str = "global",
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill, as metafor ``trimfill`` (L0 or R0 estimator).

    The side to fill is chosen, unless given, from the sign of the slope of a
    meta-regression of yi on √vi (missing studies on the left when the slope is
    positive). Studies are trimmed and the centre re-estimated until the
    number of missing studies k0 is stable; then the k0 most extreme studies
    are mirrored about the centre and the augmented set is pooled.

    References
    ----------
    Duval S, Tweedie R (2000). Biometrics 56:455-463.
    """
    if estimator not in ("L0", "R0"):
        raise ValueError("estimator must be 'L0' or 'R0'")
    y0, v0 = one_analysis(yi, vi)
    if side is None:
        X = np.column_stack([np.ones(len(y0)), np.sqrt(v0)])
        slope = meta_regression(y0, v0, X, method=method, root=root).beta[1]
        side = "right" if slope < 0 else "left"
    if side not in ("left", "right"):
        raise ValueError("side must be 'left' or 'right'")
    sign = -1.0 if side == "right" else 1.0
    idx = np.argsort(sign * y0, kind="stable")
    y, v = sign * y0[idx], v0[idx]
    k = len(y)
    k0, prev, se_k0 = 0, -1, 0.0
    for _ in range(maxiter):
        if k0 == prev:
            break
        prev = k0
        beta = pool(y[: k - k0], v[: k - k0], method=method, root=root).estimate
        yc = y - beta
        ranks = stats.rankdata(np.abs(yc), method="ordinal")
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            k0f = (k - np.max(-signed[signed < 0])) - 1 if (signed < 0).any() else k - 1
            se_k0 = np.sqrt(2 * max(0, k0f) + 2)
        else:
            sr = signed[signed > 0].sum()
            k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0f**3
                + 27 * k0f**2
                + 17 * k0f
                - 18 * k * k0f**2
                - 18 * k * k0f
                + 6 * k**2 * k0f
            ) / 24
            se_k0 = 4 * np.sqrt(var_sr) / (2 * k - 1)
        k0 = int(max(0, np.round(k0f)))
        se_k0 = max(0.0, float(se_k0))
    else:
        raise RuntimeError(f"trim-and-fill did not converge in {maxiter} iterations")
    fill_y = sign * (2 * beta - y[k - k0 :]) if k0 else np.array([])
    fill_v = v[k - k0 :] if k0 else np.array([])
    res = pool(np.concatenate([y0, fill_y]), np.concatenate([v0, fill_v]), method=method, root=root)
    p_k0 = float(1 - sum(np.exp(np.log(0.5) * (m + 2)) for m in range(-1, k0))) if estimator == "R0" else float("nan")
    return TrimFillResult(k0, float(se_k0), side, estimator, p_k0, fill_y, fill_v, res)


@dataclass(frozen=True, repr=False)
class PermutationResult(Result):
    """Permutation test for subgroup differences: observed statistic and permutation p-value."""

    statistic: float
    pvalue: float
    n_permutations: int
    exact: bool
    seed: Any
    distribution: np.ndarray = field(repr=False)
    tested: str = "subgroup differences"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [dict(statistic=self.statistic, pvalue=self.pvalue, n_permutations=self.n_permutations,
                  exact=self.exact, seed=self.seed)]
        )  # fmt: skip

    def _title(self) -> str:
        kind = "exact" if self.exact else f"{self.n_permutations} random, seed {self.seed}"
        return f"Permutation test for {self.tested} ({kind}): statistic {self.statistic:.4f}, p = {self.pvalue:.4g}"


def _label_arrangements(codes: np.ndarray) -> np.ndarray:
    """Every distinct rearrangement of the group labels, as columns (k, R)."""
    k = len(codes)
    counts = np.bincount(codes)
    out = []

    def place(free: tuple[int, ...], g: int, current: np.ndarray):
        if g == len(counts):
            out.append(current.copy())
            return
        for chosen in itertools.combinations(free, counts[g]):
            current[list(chosen)] = g
            rest = tuple(i for i in free if i not in chosen)
            place(rest, g + 1, current)

    place(tuple(range(k)), 0, np.empty(k, dtype=int))
    return np.array(out).T


def permutation_test(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    n_permutations: int = 1000,
    seed: int | None = None,
    exact: bool | None = None,
) -> PermutationResult:
    """Permutation test of the subgroup difference under a common tau² (metafor ``permutest``).

    The statistic is metafor's QM of ``rma(yi, vi, mods = ~ factor(group))``
    (an F statistic under "knha"). Group labels are reshuffled across studies;
    the p-value is the share of arrangements with a statistic at least the
    observed one (tolerance √eps, as metafor). Exact (every distinct
    arrangement) when ``exact=True`` or when there are no more arrangements
    than ``n_permutations``; otherwise ``n_permutations`` random arrangements
    from ``numpy.random.default_rng(seed)``, the first being the observed one
    (as metafor). All arrangements are fitted in one batch.
    """
    check_test(test)
    y, v = one_analysis(yi, vi)
    labels = np.asarray(groups, dtype=object)
    if labels.shape != y.shape:
        raise ValueError(f"groups must have one label per study ({len(y)}); got {labels.shape}")
    order = list(dict.fromkeys(labels.tolist()))
    codes = np.array([order.index(g) for g in labels.tolist()])
    G = len(order)
    counts = np.bincount(codes)
    n_exact = int(round(np.exp(special.gammaln(len(y) + 1) - special.gammaln(counts + 1).sum()))) if G > 1 else 1
    use_exact = exact if exact is not None else n_exact <= n_permutations
    observed, _ = between_groups_common(y, v, codes[:, None], G, method=method, test=test)
    if use_exact:
        arrangements = _label_arrangements(codes)
    else:
        rng = np.random.default_rng(seed)
        perms = np.array([rng.permutation(codes) for _ in range(n_permutations - 1)]).T
        arrangements = np.column_stack([codes, perms])
    dist, _ = between_groups_common(y, v, arrangements, G, method=method, test=test)
    p = float(np.mean(dist >= observed[0] - np.sqrt(np.finfo(float).eps)))
    return PermutationResult(float(observed[0]), p, arrangements.shape[1], bool(use_exact), seed, dist)
