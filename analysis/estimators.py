"""Between-study variance (tau²) estimators, vectorised over many meta-analyses.

Data live in arrays of shape ``(K, G, R)``: K study slots padded with NaN, G
groups that each get their own mean (G = 1 for the ordinary random-effects
model; G subgroups for metafor's ``mods = ~ factor(group)`` with one common
tau²), and R independent meta-analyses ("rows", last so that numpy's inner
loops run along them). Every estimator
returns one tau² per row and is truncated at 0 exactly as metafor 3.8-1
``rma.uni`` does. The iterative estimators (PM, EB, ML, REML) solve their
estimating equations with a vectorised bracketed root finder, so they converge
on every input and iterate all rows at once; metafor's Fisher scoring reaches
the same roots where it converges (tests/test_pooling.py).

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin
Trials 7:177-188.
Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis (HE).
Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis (HS).
Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for
meta-analysis. J R Stat Soc C 54:367-384 (SJ).
Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl
Bur Stand 87:377-385 (PM).
Morris CN (1983). Parametric empirical Bayes inference. JASA 78:47-55 (EB).
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators
in the random-effects model. J Educ Behav Stat 30:261-293 (ML, REML).
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
meta-analysis. Stat Med 26:37-52 (Q-profile).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import stats

__all__ = ["TAU2_METHODS", "Data", "estimate_tau2", "q_profile"]

#: Estimators, spelled as in metafor; "FE" is accepted as an alias of "EE".
TAU2_METHODS = ("EE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")


@dataclass(frozen=True)
class Data:
    """Padded effect sizes: ``y``, ``v`` and ``mask`` of shape (K, G, R).

    Padded cells hold y = 0 and v = inf, so their weight 1/(v + tau²) is 0 and
    every weighted sum ignores them without masking.
    """

    y: np.ndarray
    v: np.ndarray
    mask: np.ndarray

    @classmethod
    def from_padded(cls, y: np.ndarray, v: np.ndarray) -> Data:
        y, v = np.ascontiguousarray(y), np.ascontiguousarray(v)  # callers often pass transposed views
        mask = ~np.isnan(y)
        return cls(np.where(mask, y, 0.0), np.where(mask, v, np.inf), mask)

    def rows(self, idx: np.ndarray | None) -> Data:
        """The meta-analyses in rows ``idx`` (all of them for None)."""
        if idx is None:
            return self
        return Data(self.y[..., idx], self.v[..., idx], self.mask[..., idx])

    @property
    def k(self) -> np.ndarray:
        """Studies per row, shape (R,)."""
        return self.mask.sum(axis=(0, 1))

    @property
    def p(self) -> np.ndarray:
        """Fitted means per row (groups with data), shape (R,)."""
        return self.mask.any(axis=0).sum(axis=0)

    @cached_property
    def common_effect(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cochran's Q, tr(P) and Σ 1/v per row at tau² = 0, computed once per data.

        DL, HS, the PM start, Q, I² and the Q-profile all start from these.
        """
        w = weights(self, np.zeros(self.y.shape[-1]))
        wsum, _, r = wls(self, w)
        return np.einsum("kgr,kgr->r", w * r, r), _tr_p(w, wsum), w.sum(axis=(0, 1))

    @property
    def v0(self) -> np.ndarray:
        """Sampling variances with 0 in padded cells."""
        return np.where(self.mask, self.v, 0.0)


def weights(d: Data, tau2: np.ndarray) -> np.ndarray:
    """Inverse-variance weights 1/(v + tau²), zero in padded cells."""
    return 1.0 / (d.v + tau2)


def wls(d: Data, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group means under weights ``w``: returns (group weight sums, means, residuals)."""
    wsum = w.sum(axis=0)
    mu = np.einsum("kgr,kgr->gr", w, d.y) / _safe(wsum)  # fused multiply-sum: the hot path
    return wsum, mu, d.y - mu


def _safe(wsum: np.ndarray) -> np.ndarray:
    return np.where(wsum > 0, wsum, 1.0)


def _tr_p(w: np.ndarray, wsum: np.ndarray) -> np.ndarray:
    return w.sum(axis=(0, 1)) - ((w**2).sum(axis=0) / _safe(wsum)).sum(axis=0)


def q_gen(d: Data, tau2: np.ndarray) -> np.ndarray:
    """Generalised Q statistic Σ w*(y - μ̂(tau²))² (Cochran's Q at tau² = 0)."""
    w = weights(d, tau2)
    _, _, r = wls(d, w)
    return (w * r**2).sum(axis=(0, 1))


def _q_newton(d: Data, tau2: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q(tau²) - target and a Newton step for it.

    The step is Newton's on 1/Q(tau²) = 1/target, Q (Q - target)/(target Σw²r²),
    using dQ/dtau² = -Σw²r² (envelope theorem). Q falls roughly like 1/tau²,
    so this converges in fewer steps than Newton on Q itself (the
    DerSimonian-Kacker update); it has the same root.
    """
    w = weights(d, tau2)
    _, _, r = wls(d, w)
    wr = w * r
    q = np.einsum("kgr,kgr->r", wr, r)
    f = q - target
    slope = np.einsum("kgr,kgr->r", wr, wr)
    return f, q * f / (target * np.where(slope > 0, slope, np.inf))


def _score_step(d: Data, tau2: np.ndarray, reml: bool) -> tuple[np.ndarray, np.ndarray]:
    """Score of the (restricted) likelihood and a Newton step for its root.

    With the projection P = W - Σ_g w_g w_g'/W_g of the group-means model and
    u = PY, the score is f = u'u - tr P (REML) or u'u - Σw (ML), and its
    derivative f' = -2 u'Pu + tr(PP) (REML) or -2 u'Pu + Σw² (ML). The step is
    Newton's, -f/f', where f' < 0, else metafor's Fisher-scoring step
    f / tr(PP) (REML) or f / Σw² (ML); the caller keeps it inside a bracket.
    """
    w = weights(d, tau2)
    wsum, _, r = wls(d, w)
    safe = _safe(wsum)
    w2 = w**2
    u = w * r
    upu = np.einsum("kgr,kgr->r", w, u * u) - (np.einsum("kgr,kgr->gr", w, u) ** 2 / safe).sum(axis=0)
    sw2 = w2.sum(axis=(0, 1))
    if reml:
        s2g = w2.sum(axis=0)
        tr_p = w.sum(axis=(0, 1)) - (s2g / safe).sum(axis=0)
        info = sw2 - 2 * ((w * w2).sum(axis=0) / safe).sum(axis=0) + (s2g**2 / safe**2).sum(axis=0)  # tr(PP)
        score = np.einsum("kgr,kgr->r", u, u) - tr_p
    else:
        info = sw2
        score = np.einsum("kgr,kgr->r", u, u) - w.sum(axis=(0, 1))
    slope = info - 2 * upu
    fisher = score / np.where(info > 0, info, np.inf)
    return score, np.where(slope < 0, score / np.where(slope < 0, -slope, 1.0), fisher)


def _score(d: Data, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """Derivative (times 2) of the (restricted) log-likelihood in tau²."""
    return _score_step(d, tau2, reml)[0]


def _loglik(d: Data, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """(Restricted) log-likelihood up to a constant."""
    w = weights(d, tau2)
    wsum, _, r = wls(d, w)
    logv = np.log(np.where(d.mask, d.v + tau2, 1.0))
    ll = -0.5 * (logv.sum(axis=(0, 1)) + (w * r**2).sum(axis=(0, 1)))
    if reml:
        ll = ll - 0.5 * np.log(_safe(wsum)).sum(axis=0)
    return ll


def _centred(y: np.ndarray, mask: np.ndarray, axis) -> np.ndarray:
    """y minus its unweighted mean over ``axis`` (two-pass, as R's mean(), so
    identical values centre to exactly 0); 0 in padded cells."""
    n = np.maximum(mask.sum(axis=axis, keepdims=True), 1)
    mean = y.sum(axis=axis, keepdims=True) / n
    mean = mean + np.where(mask, y - mean, 0.0).sum(axis=axis, keepdims=True) / n
    return np.where(mask, y - mean, 0.0)


def _spread(d: Data) -> np.ndarray:
    """Σ (y - unweighted group mean)², the scale for bracketing tau²."""
    return (_centred(d.y, d.mask, 0) ** 2).sum(axis=(0, 1))


def _newton(
    step: Callable[[Data, np.ndarray | None, np.ndarray], tuple[np.ndarray, np.ndarray]],
    d: Data,
    extra: np.ndarray | None,
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    rtol: float = 1e-13,
    maxiter: int = 400,
) -> np.ndarray:
    """Roots of decreasing functions, one per row of ``d``, by safeguarded Newton steps.

    ``step(data, extra, x)`` returns f(x) and a Newton-type step (f/|f'| or a
    Fisher scoring step) for every row of ``data`` (``extra``: per-row
    constants such as targets, or None). Requires f(lo) > 0 >= f(hi) and
    lo <= x <= hi. A step that would leave the bracket is replaced by
    bisection, as is every other step after the 30th, so every row converges.
    Rows are evaluated on a view that shrinks to the unconverged rows when
    they are fewer than half of it. A row stops when its step is below
    ``rtol`` relative (Newton's next correction is then at rounding level).
    """
    x, lo, hi = (np.array(a, dtype=float) for a in (x, lo, hi))
    n = len(x)
    active = np.arange(n)
    view, dv, ev, pos = np.arange(n), d, extra, np.arange(n)
    for it in range(maxiter):
        if active.size == 0:
            break
        if active.size < 0.5 * view.size:
            view, pos = active.copy(), np.arange(active.size)
            dv, ev = d.rows(view), None if extra is None else extra[view]
        f, delta = step(dv, ev, x[view])
        f, delta = f[pos], delta[pos]
        xa, la, ha = x[active], lo[active], hi[active]
        la = np.where(f > 0, xa, la)
        ha = np.where(f <= 0, xa, ha)
        xn = xa + delta
        bisect = ~((xn > la) & (xn < ha)) | ((it >= 30) & (it % 2 == 1))
        xn = np.where(bisect, 0.5 * (la + ha), xn)
        done = (f == 0) | (np.abs(xn - xa) <= rtol * np.abs(xn)) | (ha - la <= 4 * np.finfo(float).eps * np.abs(ha))
        x[active] = np.where(f == 0, xa, xn)
        lo[active], hi[active] = la, ha
        active, pos = active[~done], pos[~done]
    return x


def _subset(d: Data, rows: np.ndarray) -> Data:
    return d if rows.size == d.y.shape[-1] else d.rows(rows)


def _q_root(d: Data, target: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """tau² >= 0 where the generalised Q equals ``target``; 0 where Q(0) <= target.

    Q(tau²) is decreasing and Q(t) <= Σ(y - ȳ_g)²/t, so the root lies below
    2 Σ(y - ȳ_g)²/target. Safeguarded Newton steps (:func:`_q_newton`) from
    ``start`` (default 0).
    """
    zero = np.zeros(target.shape)
    g0 = d.common_effect[0] - target
    hi = 2 * _spread(d) / np.where(target > 0, target, np.inf)
    out = zero.copy()
    rows = np.flatnonzero(g0 > 0)
    if rows.size:
        x0 = np.minimum(np.maximum(start[rows], 0.0), hi[rows]) if start is not None else zero[rows]
        out[rows] = _newton(
            lambda dv, tv, t: _q_newton(dv, t, tv), _subset(d, rows), target[rows], x0, zero[rows], hi[rows]
        )
    return out


def _likelihood_root(d: Data, reml: bool, start: np.ndarray) -> np.ndarray:
    """ML/REML tau²: the local maximum of the (restricted) likelihood nearest
    metafor's starting value, or the boundary 0.

    Like metafor, the search starts at max(0, HE) and moves uphill: where the
    score is positive there it looks above the start (widening x4), where it
    is negative below it (double Newton steps, at most down to a quarter each
    time, until 1e-9 of the start), for the nearest point where the score
    changes sign from + to -. Within that bracket it takes Newton steps on the
    score (Fisher-scoring steps where the score is not decreasing), bisecting
    when a step would leave it, so it always converges, quadratically near the
    root. As metafor's ``ll0check``, tau² = 0 wins when the score is not
    positive there and its likelihood is higher; with no sign change the
    answer is 0.
    """
    zero = np.zeros(start.shape)
    s0 = _score(d, zero, reml)
    s_start = _score(d, start, reml)
    up = s_start > 0
    lo, hi = np.where(up, start, 0.0), start.copy()
    s_lo, s_hi = np.where(up, s_start, s0), s_start.copy()
    # Root above the start: widen hi until the score turns negative.
    scale = 2 * _spread(d) / np.maximum(d.k - d.p, 1) + 2 * d.v0.max(axis=(0, 1))
    hi = np.where(up, np.maximum(2 * start, scale), hi)
    s_hi = np.where(up, _score(d, hi, reml), s_hi)
    for _ in range(2000):
        grow = up & (s_hi > 0)
        if not grow.any():
            break
        hi = np.where(grow, hi * 4, hi)
        s_hi = np.where(grow, _score(d, hi, reml), s_hi)
    # Root below the start: step down until the score turns positive (the nearest local maximum below).
    down = ~up & (start > 0)
    probe, found = start.copy(), np.zeros(start.shape, dtype=bool)
    for _ in range(60):
        seek = down & ~found & (probe > 1e-9 * start)  # below that, the boundary 0 stands in
        if not seek.any():
            break
        rows = np.flatnonzero(seek)
        sub = d.rows(rows)
        _, step = _score_step(sub, probe[rows], reml)  # negative: downhill
        cand = np.maximum(probe[rows] + 2 * step, probe[rows] / 4)  # a double step overshoots the root
        s_cand = _score(sub, cand, reml)
        hit = s_cand > 0
        lo[rows] = np.where(hit, cand, lo[rows])
        s_lo[rows] = np.where(hit, s_cand, s_lo[rows])
        hi[rows] = probe[rows]  # the last point known to have a negative score
        found[rows] = hit
        probe[rows] = np.where(hit, probe[rows], cand)
    # Rows never finding a positive score keep lo = 0 (score s0) and hi = the last probe.
    out = zero.copy()
    rows = np.flatnonzero(s_lo > 0)  # elsewhere the score is never positive: the boundary
    if rows.size:
        sub = _subset(d, rows)
        x0 = np.where(up[rows], start[rows], 0.5 * (lo[rows] + hi[rows]))
        out[rows] = _newton(lambda dv, _, t: _score_step(dv, t, reml), sub, None, x0, lo[rows], hi[rows])
    boundary = (s0 <= 0) & (out > 0)
    if boundary.any():
        b = np.flatnonzero(boundary)
        sub = d.rows(b)
        worse = _loglik(sub, zero[b], reml) > _loglik(sub, out[b], reml)
        out[b[worse]] = 0.0
    return out


def estimate_tau2(d: Data, method: str) -> np.ndarray:
    """tau² for every row of ``d`` by ``method`` (one of :data:`TAU2_METHODS`).

    Formulas follow metafor 3.8-1 ``rma.uni`` (p = number of fitted means):

    - EE: 0.
    - DL: (Q - (k - p)) / tr(P), P at tau² = 0.
    - HE: (RSS_OLS - tr(P_OLS V)) / (k - p).
    - HS: (Q - k) / Σ 1/v.
    - SJ: tau0² Q(tau0²)/(k - p) with tau0² = var(y)(k - 1)/k.
    - PM and EB: Q(tau²) = k - p (EB's scoring equation Q k/(k-p) = k has the
      same root).
    - ML and REML: the likelihood's score equation.

    All are truncated at 0; rows with k <= p get 0.
    """
    k, p = d.k, d.p
    df = k - p
    zero = np.zeros(k.shape)
    if method == "EE":
        return zero
    q0, tr_p0, sum_w0 = d.common_effect
    if method == "DL":
        tau2 = (q0 - df) / tr_p0
    elif method == "HE":
        n = d.mask.sum(axis=0)
        safe_n = np.where(n > 0, n, 1)
        tr_pv = d.v0.sum(axis=(0, 1)) - (d.v0.sum(axis=0) / safe_n).sum(axis=0)
        tau2 = (_spread(d) - tr_pv) / np.maximum(df, 1)
    elif method == "HS":
        tau2 = (q0 - k) / sum_w0
    elif method == "SJ":
        tau0 = (_centred(d.y, d.mask, (0, 1)) ** 2).sum(axis=(0, 1)) / k
        tau2 = tau0 * q_gen(d, tau0) / np.maximum(df, 1)
    elif method in ("PM", "EB"):
        tau2 = _q_root(d, df.astype(float), start=np.maximum((q0 - df) / tr_p0, 0.0))  # from DL
    elif method in ("ML", "REML"):
        tau2 = _likelihood_root(d, method == "REML", np.maximum(estimate_tau2(d, "HE"), 0.0))
    else:
        raise ValueError(f"method must be one of {TAU2_METHODS} (or 'FE'); got {method!r}")
    return np.where(df > 0, np.maximum(tau2, 0.0), 0.0)


def q_profile(d: Data, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Q-profile confidence bounds for tau² (metafor ``confint``, type "QP").

    The lower bound solves Q(tau²) = χ²_{k-p, 1-α/2} and the upper bound
    Q(tau²) = χ²_{k-p, α/2}; a bound whose equation has no non-negative root is
    0 (both are 0 when Q(0) is below the lower quantile).
    """
    df = (d.k - d.p).astype(float)
    alpha = 1 - level
    safe = np.maximum(df, 1)
    crit_u = stats.chi2.isf(alpha / 2, safe)
    crit_l = stats.chi2.ppf(alpha / 2, safe)
    lower, upper = _q_root(d, crit_u), _q_root(d, crit_l)
    undefined = df < 1
    return np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)
