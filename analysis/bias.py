"""Small-study effects and the permutation test for subgroup differences.

Egger's regression test (classic and metafor's mixed-effects default), the
rank correlation test, trim-and-fill (L0, R0), the contour-enhanced funnel
plot, and a permutation test for subgroup differences with an explicit seed.
Checked against metafor 3.8-1 ``regtest``, ``ranktest``, ``trimfill`` and
``permutest`` (tests/test_bias.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import linalg, optimize, special, stats

from .pooling import PoolResult, pool
from .subgroups import between_groups_common

__all__ = [
    "EggerResult",
    "MetaRegression",
    "PermutationResult",
    "TrimFillResult",
    "egger_test",
    "funnel_plot",
    "meta_regression",
    "permutation_test",
    "rank_test",
    "trim_and_fill",
]  # fmt: skip


@dataclass(frozen=True)
class MetaRegression:
    """A mixed-effects meta-regression: coefficients with SEs, tests and tau²."""

    beta: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    df: float
    tau2: float
    vb: np.ndarray
    method: str
    test: str


def _reg_fit(y, v, X, tau2):
    w = 1 / (v + tau2)
    XtW = X.T * w
    vb = linalg.inv(XtW @ X)
    beta = vb @ XtW @ y
    P = np.diag(w) - (w[:, None] * X) @ vb @ (X.T * w)
    return beta, vb, P, w


def _reg_tau2(y, v, X, method):
    k, p = X.shape
    if method == "EE" or k <= p:
        return 0.0
    if method == "DL":
        _, _, P, _ = _reg_fit(y, v, X, 0.0)
        return max(0.0, (float(y @ P @ y) - (k - p)) / float(np.trace(P)))
    if method == "HE":
        Po = np.eye(k) - X @ linalg.inv(X.T @ X) @ X.T
        return max(0.0, (float(y @ Po @ y) - float(np.trace(Po * v))) / (k - p))

    def q(t):
        _, _, P, _ = _reg_fit(y, v, X, t)
        return float(y @ P @ y)

    def score(t):
        _, _, P, w = _reg_fit(y, v, X, t)
        Py = P @ y
        return float(Py @ Py - (np.trace(P) if method == "REML" else w.sum()))

    f = (lambda t: q(t) - (k - p)) if method in ("PM", "EB") else score
    if f(0.0) <= 0:
        return 0.0
    hi = float(np.var(y)) * 4 + float(v.max()) + 1e-12
    while f(hi) > 0:
        hi *= 4
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def meta_regression(
    yi: ArrayLike, vi: ArrayLike, X: ArrayLike, *, method: str = "REML", test: str = "z"
) -> MetaRegression:
    """Weighted regression of effects on moderators ``X`` (include the intercept column).

    tau² by "EE", "DL", "HE", "PM", "EB", "ML" or "REML" (metafor ``rma(yi,
    vi, mods = X)``); ``test`` "z" or "knha" (t with k - p df, SE scaled by the
    residual heterogeneity). Used for Egger's test and to choose the side in
    trim-and-fill.
    """
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    X = np.asarray(X, float)
    method = "EE" if method.upper() == "FE" else method.upper()
    if method not in ("EE", "DL", "HE", "PM", "EB", "ML", "REML"):
        raise ValueError(f"meta_regression supports EE, DL, HE, PM, EB, ML, REML; got {method!r}")
    tau2 = _reg_tau2(y, v, X, method)
    beta, vb, P, w = _reg_fit(y, v, X, tau2)
    k, p = X.shape
    if test == "knha":
        vb = vb * float(y @ P @ y) / (k - p)
        se = np.sqrt(np.diag(vb))
        stat = beta / se
        return MetaRegression(beta, se, stat, 2 * stats.t.sf(np.abs(stat), k - p), k - p, tau2, vb, method, test)
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    return MetaRegression(beta, se, stat, 2 * stats.norm.sf(np.abs(stat)), np.nan, tau2, vb, method, test)


@dataclass(frozen=True)
class EggerResult:
    """Egger's regression test: the slope on the SE, and the limit estimate as SE -> 0."""

    model: str
    statistic: float
    df: float
    pvalue: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


def egger_test(
    yi: ArrayLike, vi: ArrayLike, *, model: str = "rma", method: str = "REML", test: str = "z", level: float = 0.95
) -> EggerResult:
    """Regression test for funnel-plot asymmetry with the standard error as predictor.

    ``model="rma"`` (metafor ``regtest`` default): mixed-effects
    meta-regression of yi on √vi with ``method``; z (or t under "knha") test
    of the slope. ``model="lm"`` (the classic test of Egger et al. 1997):
    weighted least squares of yi on √vi with weights 1/vi, t(k-2) test of the
    slope, which equals the OLS intercept test of yi/√vi on 1/√vi.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). BMJ 315:629-634.
    Sterne JAC, Egger M (2005). In: Publication Bias in Meta-Analysis. Wiley.
    """
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    k = len(y)
    if k < 3:
        raise ValueError("Egger's test needs at least 3 studies")
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    if model == "rma":
        fit = meta_regression(y, v, X, method=method, test=test)
        crit = stats.t.isf((1 - level) / 2, fit.df) if test == "knha" else stats.norm.isf((1 - level) / 2)
        b0, s0 = fit.beta[0], fit.se[0]
        return EggerResult(
            "rma",
            float(fit.statistic[1]),
            float(fit.df),
            float(fit.pvalue[1]),
            float(b0),
            float(b0 - crit * s0),
            float(b0 + crit * s0),
        )
    if model != "lm":
        raise ValueError("model must be 'rma' or 'lm'")
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
    )


def rank_test(yi: ArrayLike, vi: ArrayLike) -> tuple[float, float]:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``): Kendall's tau
    between the standardised effects (yi - μ̂_FE)/√(vi - Var μ̂_FE) and vi, and its
    p-value (exact without ties, as R's ``cor.test``; normal approximation with ties).

    References
    ----------
    Begg CB, Mazumdar M (1994). Biometrics 50:1088-1101.
    """
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    w = 1 / v
    theta = (w * y).sum() / w.sum()
    ystar = (y - theta) / np.sqrt(v - 1 / w.sum())
    ties = len(np.unique(ystar)) < len(y) or len(np.unique(v)) < len(v)
    res = stats.kendalltau(ystar, v, method="asymptotic" if ties or len(y) >= 50 else "exact")
    return float(res.statistic), float(res.pvalue)


@dataclass(frozen=True)
class TrimFillResult:
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


def trim_and_fill(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    estimator: str = "L0",
    side: str | None = None,
    method: str = "REML",
    maxiter: int = 100,
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
    y0, v0 = np.asarray(yi, float), np.asarray(vi, float)
    if side is None:
        slope = meta_regression(y0, v0, np.column_stack([np.ones(len(y0)), np.sqrt(v0)]), method=method).beta[1]
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
        beta = pool(y[: k - k0], v[: k - k0], method=method).estimate
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
    res = pool(np.concatenate([y0, fill_y]), np.concatenate([v0, fill_v]), method=method)
    p_k0 = float(1 - sum(np.exp(np.log(0.5) * (m + 2)) for m in range(-1, k0))) if estimator == "R0" else float("nan")
    return TrimFillResult(k0, float(se_k0), side, estimator, p_k0, fill_y, fill_v, res)


@dataclass(frozen=True)
class PermutationResult:
    """Permutation test for subgroup differences: observed statistic and permutation p-value."""

    statistic: float
    pvalue: float
    n_permutations: int
    exact: bool
    seed: Any
    distribution: np.ndarray


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
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    labels = np.asarray(groups, dtype=object)
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


def funnel_plot(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    ax=None,
    estimate: float | None = None,
    contours=(0.90, 0.95, 0.99),
    groups: ArrayLike | None = None,
    filled: TrimFillResult | None = None,
):
    """Contour-enhanced funnel plot: effects against their SE (inverted axis).

    Shaded contours mark where a study's own z test is significant at each
    level around 0; the vertical line and pseudo-confidence region are centred
    on ``estimate`` (default: the common-effect estimate). ``groups`` colours
    the points by subgroup; ``filled`` adds trim-and-fill's studies (open).
    Returns the Axes.

    References
    ----------
    Peters JL et al. (2008). Contour-enhanced meta-analysis funnel plots help
    distinguish publication bias from other causes of asymmetry. J Clin
    Epidemiol 61:991-996.
    """
    import matplotlib.pyplot as plt

    y, v = np.asarray(yi, float), np.asarray(vi, float)
    se = np.sqrt(v)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    centre = pool(y, v, method="EE").estimate if estimate is None else estimate
    top = max(se.max(), np.sqrt(filled.filled_vi).max() if filled is not None and filled.k0 else 0) * 1.1
    s_grid = np.linspace(0, top, 100)
    shades = ["#f2f2f2", "#d9d9d9", "#bfbfbf"]
    for level, shade in sorted(zip(contours, shades), reverse=True):
        z = stats.norm.isf((1 - level) / 2)
        ax.fill_betweenx(s_grid, -z * s_grid, z * s_grid, color=shade, zorder=0, label=f"p > {1 - level:.2f}")
    z95 = stats.norm.isf(0.025)
    ax.plot(centre - z95 * s_grid, s_grid, color="black", lw=0.6, ls="--")
    ax.plot(centre + z95 * s_grid, s_grid, color="black", lw=0.6, ls="--")
    ax.axvline(centre, color="black", lw=0.8)
    if groups is None:
        ax.scatter(y, se, color="#1f5fa8", zorder=3, s=18)
    else:
        labels = np.asarray(groups, dtype=object)
        for g in dict.fromkeys(labels.tolist()):
            sel = labels == g
            ax.scatter(y[sel], se[sel], zorder=3, s=18, label=str(g))
    if filled is not None and filled.k0:
        ax.scatter(
            filled.filled_yi,
            np.sqrt(filled.filled_vi),
            facecolors="white",
            edgecolors="#1f5fa8",
            zorder=3,
            s=18,
            label="filled",
        )
    ax.set_ylim(top, 0)
    ax.set_xlabel("Effect size", fontsize=8)
    ax.set_ylabel("Standard error", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return ax
