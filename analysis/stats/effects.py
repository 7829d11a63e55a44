"""Effect sizes from arm summaries or reported contrasts.

Every function is vectorised (scalars, arrays or pandas Series in, numpy
arrays out) and returns ``(yi, vi)``: the effect estimate and its sampling
variance, as metafor's ``escalc`` does. Arm 1 is the experimental arm and arm
2 the comparator, so a positive ``yi`` means arm 1 scored higher.

Each formula was checked against metafor 3.8-1 ``escalc`` (or ``qnorm`` for
the generic inverse-variance helpers) at rtol 1e-12: see
``tests/reference/make_reference.R`` and ``tests/test_effects.py``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

__all__ = [
    "SMD_CONVENTIONS",
    "change_sd",
    "combine_arms",
    "from_ci",
    "from_se",
    "hedges_correction",
    "hedges_g",
    "mean_change",
    "mean_difference",
    "smcc",
    "smcr",
]

#: Names accepted by :func:`hedges_g` ``convention``.
SMD_CONVENTIONS = ("metafor", "unbiased", "revman5")


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    out = [np.asarray(v, dtype=float) for v in values]
    np.broadcast_shapes(*(a.shape for a in out))  # raises on mismatched lengths
    return out


def _out(yi: np.ndarray, vi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yi, vi = np.broadcast_arrays(yi, vi)
    return np.array(yi, dtype=float), np.array(vi, dtype=float)


def _check_positive(name: str, a: np.ndarray) -> None:
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0; got {a[a <= 0].ravel()[:3].tolist()}")


def _check_n(name: str, n: np.ndarray, minimum: int = 2) -> None:
    if np.any(n < minimum):
        raise ValueError(f"{name} must be >= {minimum}; got {n[n < minimum].ravel()[:3].tolist()}")


def _two_arms(*values: ArrayLike) -> list[np.ndarray]:
    """m1, sd1, n1, m2, sd2, n2 as arrays, with SDs > 0 and n >= 2 checked."""
    m1, sd1, n1, m2, sd2, n2 = _arrays(*values)
    _check_positive("sd", np.concatenate([sd1.ravel(), sd2.ravel()]))
    _check_n("n", np.concatenate([n1.ravel(), n2.ravel()]))
    return [m1, sd1, n1, m2, sd2, n2]


def _check_r(r: np.ndarray) -> None:
    if np.any(~np.isfinite(r)) or np.any(np.abs(r) > 1):
        raise ValueError("the pre-post correlation r must be a finite number in [-1, 1]")


def hedges_correction(df: ArrayLike, *, exact: bool = True) -> np.ndarray:
    """Small-sample correction factor J for a standardised mean difference.

    Parameters
    ----------
    df : array_like
        Degrees of freedom m (``n1 + n2 - 2`` for two groups, ``n - 1`` for
        a pre-post design).
    exact : bool
        ``True`` (metafor, meta with ``exact.smd=TRUE``):
        J(m) = Γ(m/2) / (√(m/2) Γ((m-1)/2)), computed on the log scale.
        ``False`` (RevMan 5): J = 1 - 3/(4m - 1).

    References
    ----------
    Hedges LV (1981). Distribution theory for Glass's estimator of effect size
    and related estimators. J Educ Stat 6:107-128.
    """
    m = np.asarray(df, dtype=float)
    if exact:
        return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))
    return 1 - 3 / (4 * m - 1)


def change_sd(sd_pre: ArrayLike, sd_post: ArrayLike, r: ArrayLike) -> np.ndarray:
    """SD of the change from baseline, √(sd_pre² + sd_post² - 2 r sd_pre sd_post).

    The correlation ``r`` between baseline and follow-up is an analysis
    decision (Cochrane Handbook 6.5.2.8); it has no default here.
    """
    s1, s2, rr = _arrays(sd_pre, sd_post, r)
    _check_r(rr)
    return np.sqrt(s1**2 + s2**2 - 2 * rr * s1 * s2)


def combine_arms(
    n1: ArrayLike, mean1: ArrayLike, sd1: ArrayLike, n2: ArrayLike, mean2: ArrayLike, sd2: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two arms (or subgroups) combined into one: (n, mean, sd).

    The Cochrane Handbook formula (Higgins et al. 2023, Table 6.5.a): N = n1 + n2,
    M = (n1 m1 + n2 m2)/N, SD = √(((n1-1) s1² + (n2-1) s2² + n1 n2 (m1 - m2)²/N)/(N - 1)),
    the exact SD of the pooled sample.

    >>> n, m, sd = combine_arms(10, 5.0, 2.0, 20, 6.0, 3.0)
    >>> int(n), round(float(m), 4), round(float(sd), 4)
    (30, 5.6667, 2.7144)
    """
    a1, m1, s1, a2, m2, s2 = _arrays(n1, mean1, sd1, n2, mean2, sd2)
    _check_n("n", np.concatenate([a1.ravel(), a2.ravel()]), 1)
    _check_positive("sd", np.concatenate([s1.ravel(), s2.ravel()]))
    n = a1 + a2
    mean = (a1 * m1 + a2 * m2) / n
    var = ((a1 - 1) * s1**2 + (a2 - 1) * s2**2 + a1 * a2 * (m1 - m2) ** 2 / n) / (n - 1)
    return n, mean, np.sqrt(var)


def mean_difference(
    m1: ArrayLike,
    sd1: ArrayLike,
    n1: ArrayLike,
    m2: ArrayLike,
    sd2: ArrayLike,
    n2: ArrayLike,
    *,
    pooled_sd: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Raw mean difference m1 - m2 (metafor ``escalc(measure="MD")``).

    Parameters
    ----------
    m1, sd1, n1 : array_like
        Mean, SD and size of the experimental arm.
    m2, sd2, n2 : array_like
        Mean, SD and size of the comparator arm.
    pooled_sd : bool
        ``False`` (default; metafor vtype "LS", meta ``pooledvar=FALSE``,
        RevMan): vi = sd1²/n1 + sd2²/n2. ``True`` (metafor vtype "HO", meta
        ``pooledvar=TRUE``): vi = s_p² (1/n1 + 1/n2).

    Returns
    -------
    yi, vi : numpy.ndarray
        Mean difference and its sampling variance.

    Examples
    --------
    metafor ``escalc("MD", ...)`` gives the same (-1.7, 0.5125):

    >>> yi, vi = mean_difference(2.4, 2.0, 20, 4.1, 2.5, 20)
    >>> round(float(yi), 6), round(float(vi), 6)
    (-1.7, 0.5125)
    """
    m1, sd1, n1, m2, sd2, n2 = _two_arms(m1, sd1, n1, m2, sd2, n2)
    yi = m1 - m2
    if pooled_sd:
        sp2 = ((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2)
        vi = sp2 * (1 / n1 + 1 / n2)
    else:
        vi = sd1**2 / n1 + sd2**2 / n2
    return _out(yi, vi)


def hedges_g(
    m1: ArrayLike,
    sd1: ArrayLike,
    n1: ArrayLike,
    m2: ArrayLike,
    sd2: ArrayLike,
    n2: ArrayLike,
    *,
    convention: str = "metafor",
) -> tuple[np.ndarray, np.ndarray]:
    """Standardised mean difference, bias-corrected (Hedges' g).

    d = (m1 - m2) / s_p with s_p² = ((n1-1) sd1² + (n2-1) sd2²) / (N - 2), and
    g = J d. The conventions differ in J and in the variance:

    ========== =========================== ===========================================
    convention J                           variance of g
    ========== =========================== ===========================================
    metafor    exact                       1/n1 + 1/n2 + g²/(2N)  (escalc "SMD", vtype
               (default)                   "LS"; Hedges 1982)
    unbiased   exact                       1/n1 + 1/n2 + (1 - (m-2)/(m J²)) g²
                                           (vtype "UB"; meta's default; Hedges 1983)
    revman5    1 - 3/(4N - 9)              N/(n1 n2) + g²/(2(N - 3.94)) (RevMan 5;
                                           meta ``exact.smd=FALSE``)
    ========== =========================== ===========================================

    Returns
    -------
    yi, vi : numpy.ndarray

    References
    ----------
    Hedges LV (1982). Estimation of effect size from a series of independent
    experiments. Psychol Bull 92:490-499.
    Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5.

    Examples
    --------
    metafor ``escalc("SMD", m1i=10, sd1i=2, n1i=10, m2i=9, sd2i=2, n2i=10)``
    gives the same (0.478823, 0.205732):

    >>> yi, vi = hedges_g(10, 2, 10, 9, 2, 10)
    >>> round(float(yi), 6), round(float(vi), 6)
    (0.478823, 0.205732)
    """
    if convention not in SMD_CONVENTIONS:
        raise ValueError(f"convention must be one of {SMD_CONVENTIONS}; got {convention!r}")
    m1, sd1, n1, m2, sd2, n2 = _two_arms(m1, sd1, n1, m2, sd2, n2)
    big_n = n1 + n2
    m = big_n - 2
    sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / m)
    d = (m1 - m2) / sp
    j = hedges_correction(m, exact=convention != "revman5")
    g = j * d
    if convention == "metafor":
        vi = 1 / n1 + 1 / n2 + g**2 / (2 * big_n)
    elif convention == "unbiased":
        vi = 1 / n1 + 1 / n2 + (1 - (m - 2) / (m * j**2)) * g**2
    else:
        vi = big_n / (n1 * n2) + g**2 / (2 * (big_n - 3.94))
    return _out(g, vi)


def _prepost(m1, m2, sd1, sd2, n, r):
    m1, m2, sd1, sd2, n, r = _arrays(m1, m2, sd1, sd2, n, r)
    _check_positive("sd", np.concatenate([sd1.ravel(), sd2.ravel()]))
    _check_n("n", n)
    _check_r(r)
    return m1, m2, sd1, sd2, n, r


def mean_change(
    m1: ArrayLike, m2: ArrayLike, sd1: ArrayLike, sd2: ArrayLike, n: ArrayLike, r: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Raw mean change in one group, m1 - m2 (metafor ``escalc(measure="MC")``).

    Argument order follows metafor: ``m1``/``sd1`` at the first occasion named,
    ``m2``/``sd2`` at the second, so pass follow-up first for follow-up minus
    baseline. vi = (sd1² + sd2² - 2 r sd1 sd2) / n. ``r`` is required.
    """
    m1, m2, sd1, sd2, n, r = _prepost(m1, m2, sd1, sd2, n, r)
    return _out(m1 - m2, (sd1**2 + sd2**2 - 2 * r * sd1 * sd2) / n)


def smcc(
    m1: ArrayLike, m2: ArrayLike, sd1: ArrayLike, sd2: ArrayLike, n: ArrayLike, r: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Standardised mean change, change-score standardisation (metafor "SMCC").

    g = J(n-1) (m1 - m2)/s_diff with s_diff = √(sd1² + sd2² - 2 r sd1 sd2);
    vi = 1/n + g²/(2n) (vtype "LS"). ``r`` is required.

    References
    ----------
    Gibbons RD, Hedeker DR, Davis JM (1993). Estimation of effect size from a
    series of experiments involving paired comparisons. J Educ Stat 18:271-279.
    """
    m1, m2, sd1, sd2, n, r = _prepost(m1, m2, sd1, sd2, n, r)
    sdd = np.sqrt(sd1**2 + sd2**2 - 2 * r * sd1 * sd2)
    g = hedges_correction(n - 1) * (m1 - m2) / sdd
    return _out(g, 1 / n + g**2 / (2 * n))


def smcr(m1: ArrayLike, m2: ArrayLike, sd1: ArrayLike, n: ArrayLike, r: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Standardised mean change, raw-score standardisation (metafor "SMCR").

    g = J(n-1) (m1 - m2)/sd1, standardised by ``sd1`` (pass the baseline SD);
    vi = 2(1 - r)/n + g²/(2n) (vtype "LS"; Becker 1988). ``r`` is required.

    References
    ----------
    Becker BJ (1988). Synthesizing standardized mean-change measures. Br J Math
    Stat Psychol 41:257-278.
    """
    m1, m2, sd1, _, n, r = _prepost(m1, m2, sd1, sd1, n, r)
    g = hedges_correction(n - 1) * (m1 - m2) / sd1
    return _out(g, 2 * (1 - r) / n + g**2 / (2 * n))


def from_ci(
    estimate: ArrayLike, lower: ArrayLike, upper: ArrayLike, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Generic inverse variance from a reported estimate and confidence interval.

    se = (upper - lower) / (2 z_{(1+level)/2}), vi = se² (Cochrane Handbook
    6.3.1; metafor ``conv.wald`` does the same). For a difference in means from
    a t-based interval in a small trial this slightly overstates precision;
    the Handbook's t-based variant needs the arm sizes.

    Raises
    ------
    ValueError
        If an interval is empty or reversed, or the estimate lies outside it.
    """
    est, lo, hi = _arrays(estimate, lower, upper)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    if np.any(~np.isfinite(est)) or np.any(~np.isfinite(lo)) or np.any(~np.isfinite(hi)):
        raise ValueError("estimate and CI bounds must be finite")
    if np.any(hi <= lo):
        raise ValueError("each CI upper bound must exceed its lower bound")
    if np.any((est < lo) | (est > hi)):
        raise ValueError("each estimate must lie inside its CI")
    se = (hi - lo) / (2 * stats.norm.ppf((1 + level) / 2))
    return _out(est, se**2)


def from_se(estimate: ArrayLike, se: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Generic inverse variance from an estimate and its standard error (vi = se²)."""
    est, s = _arrays(estimate, se)
    _check_positive("se", s)
    return _out(est, s**2)
