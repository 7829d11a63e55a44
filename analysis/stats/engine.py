"""The one tau² engine: every between-study variance estimator, for any design, many analyses at once.

Effect sizes live in arrays of shape ``(K, G, R)``: K study slots padded with
NaN, G columns of the design and R independent meta-analyses ("rows", last so
that numpy's inner loops run along them). Two designs share every estimator
and root finder through the same small set of primitives (residuals, tr P,
u'Pu, tr PP, log det X'WX):

- :class:`Data`: G group means (G = 1 is the ordinary random-effects model;
  G subgroups are metafor's ``mods = ~ factor(group)`` with one common tau²),
  with closed-form sums: the fast path for pooling, subgroups, leave-one-out,
  GOSH and permutation tests;
- :class:`DesignData`: any design matrix X (meta-regression, Egger's test,
  trim-and-fill's side), with dense p x p solves.

Every estimator is truncated at 0 as metafor 3.8-1 ``rma.uni`` does. PM and EB
solve Q(tau²) = k - p, ML and REML the score equation, by a vectorised
safeguarded Newton method that converges on every input. ML and REML return
the global maximum of the (restricted) likelihood over tau² >= 0 by default
(``root="global"``); ``root="metafor"`` reproduces metafor's rule (the local
maximum nearest its Hedges start, then tau² = 0 whenever the likelihood at 0
is higher).

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

__all__ = ["ROOT_RULES", "TAU2_METHODS", "Data", "DesignData", "estimate_tau2", "normalise_method", "q_profile"]

#: Estimators, spelled as in metafor; "FE" is accepted as an alias of "EE".
TAU2_METHODS = ("EE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")
#: How ML/REML choose among several local maxima of the likelihood.
ROOT_RULES = ("global", "metafor")


def normalise_method(method: str) -> str:
    """The estimator's canonical name ("FE" -> "EE"); ValueError for an unknown one."""
    name = str(method).upper()
    name = "EE" if name == "FE" else name
    if name not in TAU2_METHODS:
        raise ValueError(f"method must be one of {TAU2_METHODS} (or 'FE'); got {method!r}")
    return name


def _safe(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 1.0)


def _sum(a: np.ndarray) -> np.ndarray:
    """Sum over the study and design axes: one number per row."""
    return a.sum(axis=(0, 1))


@dataclass(frozen=True)
class Data:
    """Group-means design: ``y``, ``v`` and ``mask`` of shape (K, G, R).

    Padded cells hold y = 0 and v = inf, so their weight 1/(v + tau²) is 0 and
    every weighted sum ignores them without masking.
    """

    y: np.ndarray
    v: np.ndarray
    mask: np.ndarray

    @classmethod
    def from_padded(cls, y: np.ndarray, v: np.ndarray) -> Data:
        """From arrays (K, G, R) with NaN in padded cells; one group gets the fused kernels of :class:`FlatData`."""
        y, v = np.ascontiguousarray(y), np.ascontiguousarray(v)  # callers often pass transposed views
        mask = ~np.isnan(y)
        kind = FlatData if cls is Data and y.shape[1] == 1 else cls
        return kind(np.where(mask, y, 0.0), np.where(mask, v, np.inf), mask)

    def rows(self, idx: np.ndarray | None) -> Data:
        """The meta-analyses in rows ``idx`` (all of them for None)."""
        if idx is None or len(idx) == self.y.shape[-1]:
            return self
        return type(self)(self.y[..., idx], self.v[..., idx], self.mask[..., idx])

    @property
    def n_rows(self) -> int:
        return self.y.shape[-1]

    @cached_property
    def k(self) -> np.ndarray:
        """Studies per row, shape (R,)."""
        return self.mask.sum(axis=(0, 1))

    @cached_property
    def p(self) -> np.ndarray:
        """Fitted coefficients per row (groups with data), shape (R,)."""
        return self.mask.any(axis=0).sum(axis=0)

    @property
    def v0(self) -> np.ndarray:
        """Sampling variances with 0 in padded cells."""
        return np.where(self.mask, self.v, 0.0)

    def weights(self, tau2: np.ndarray) -> np.ndarray:
        """Inverse-variance weights 1/(v + tau²), zero in padded cells."""
        return 1.0 / (self.v + tau2)

    # -- the primitives every estimator is written in ------------------------------
    def fit(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted least squares: (per-group weight sums, group means, residuals)."""
        wsum = w.sum(axis=0)
        mu = np.einsum("kgr,kgr->gr", w, self.y) / _safe(wsum)  # fused multiply-sum: the hot path
        return wsum, mu, self.y - mu

    def residuals(self, w: np.ndarray) -> np.ndarray:
        return self.fit(w)[2]

    def trace_p(self, w: np.ndarray) -> np.ndarray:
        """tr(P) with P = W - WX(X'WX)⁻¹X'W."""
        return _sum(w) - ((w**2).sum(axis=0) / _safe(w.sum(axis=0))).sum(axis=0)

    def quad_p(self, w: np.ndarray, u: np.ndarray) -> np.ndarray:
        """u'Pu."""
        return np.einsum("kgr,kgr->r", w, u * u) - (np.einsum("kgr,kgr->gr", w, u) ** 2 / _safe(w.sum(axis=0))).sum(
            axis=0
        )

    def trace_pp(self, w: np.ndarray) -> np.ndarray:
        """tr(PP)."""
        wsum = _safe(w.sum(axis=0))
        w2 = w**2
        s2g = w2.sum(axis=0)
        return _sum(w2) - 2 * ((w * w2).sum(axis=0) / wsum).sum(axis=0) + (s2g**2 / wsum**2).sum(axis=0)

    def logdet_xwx(self, w: np.ndarray) -> np.ndarray:
        """log det(X'WX)."""
        return np.log(_safe(w.sum(axis=0))).sum(axis=0)

    def ols(self) -> tuple[np.ndarray, np.ndarray]:
        """RSS of the unweighted fit and tr(P_OLS V) (for HE)."""
        n = self.mask.sum(axis=0)
        v0 = self.v0
        tr_pv = _sum(v0) - (v0.sum(axis=0) / np.where(n > 0, n, 1)).sum(axis=0)
        return (_centred(self.y, self.mask, 0) ** 2).sum(axis=(0, 1)), tr_pv

    def score_step(self, tau2: np.ndarray, reml: bool) -> tuple[np.ndarray, np.ndarray]:
        """Score of the (restricted) likelihood and a Newton step for its root.

        With u = PY the score is f = u'u - tr P (REML) or u'u - Σw (ML), and its
        derivative f' = -2 u'Pu + tr(PP) (REML) or -2 u'Pu + Σw² (ML). The step is
        Newton's, -f/f', where f' < 0, else metafor's Fisher-scoring step
        f / tr(PP) (REML) or f / Σw² (ML); the caller keeps it inside a bracket.
        """
        w = self.weights(tau2)
        u = w * self.residuals(w)
        uu = np.einsum("kgr,kgr->r", u, u)
        if reml:
            info, score = self.trace_pp(w), uu - self.trace_p(w)
        else:
            info, score = _sum(w**2), uu - _sum(w)
        return score, _step(score, info, info - 2 * self.quad_p(w, u))

    def loglik(self, tau2: np.ndarray, reml: bool) -> np.ndarray:
        """(Restricted) log-likelihood up to a constant."""
        w = self.weights(tau2)
        r = self.residuals(w)
        logv = np.log(np.where(self.mask, self.v + tau2, 1.0))
        ll = -0.5 * (_sum(logv) + _sum(w * r**2))
        if reml:
            ll = ll - 0.5 * self.logdet_xwx(w)
        return ll

    @cached_property
    def common_effect(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cochran's Q, tr(P) and Σ 1/v per row at tau² = 0, computed once per data.

        DL, HS, the PM start, Q, I² and the Q-profile all start from these.
        """
        w = self.weights(np.zeros(self.n_rows))
        r = self.residuals(w)
        return np.einsum("kgr,kgr->r", w * r, r), self.trace_p(w), _sum(w)


def _step(score: np.ndarray, info: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Newton's step -f/f' where the score is decreasing (slope < 0), else Fisher scoring f/info."""
    fisher = score / np.where(info > 0, info, np.inf)
    return np.where(slope < 0, score / np.where(slope < 0, -slope, 1.0), fisher)


@dataclass(frozen=True)
class FlatData(Data):
    """One group (the ordinary random-effects model): the same quantities as :class:`Data`
    from fused sums over 2-D (K, R) views, the hot path of batch ML/REML.

    Every formula is Data's with G = 1; tests/test_pooling.py checks the two agree.
    """

    @cached_property
    def full(self) -> bool:
        """No padded cells (every row has every study)."""
        return bool(self.mask.all())

    def score_step(self, tau2: np.ndarray, reml: bool) -> tuple[np.ndarray, np.ndarray]:
        y, v = self.y[:, 0, :], self.v[:, 0, :]
        w = 1.0 / (v + tau2)
        w1 = w.sum(axis=0)
        mu = np.einsum("kr,kr->r", w, y) / _safe(w1)
        u = w * (y - mu)
        uu = np.einsum("kr,kr->r", u, u)
        wu = np.einsum("kr,kr->r", w, u)
        upu = np.einsum("kr,kr,kr->r", w, u, u) - wu**2 / _safe(w1)
        if reml:
            w2 = w * w
            s2 = w2.sum(axis=0)
            s3 = np.einsum("kr,kr->r", w2, w)
            ratio = s2 / _safe(w1)
            info = s2 - 2 * s3 / _safe(w1) + ratio**2
            score = uu - (w1 - ratio)
        else:
            info = np.einsum("kr,kr->r", w, w)
            score = uu - w1
        return score, _step(score, info, info - 2 * upu)

    def loglik(self, tau2: np.ndarray, reml: bool) -> np.ndarray:
        y, v, mask = self.y[:, 0, :], self.v[:, 0, :], self.mask[:, 0, :]
        vt = v + tau2
        w = 1.0 / vt
        w1 = w.sum(axis=0)
        r = y - np.einsum("kr,kr->r", w, y) / _safe(w1)
        logs = (np.log(vt) if self.full else np.log(vt, out=np.zeros_like(vt), where=mask)).sum(axis=0)
        ll = -0.5 * (logs + np.einsum("kr,kr,kr->r", w, r, r))
        return ll - 0.5 * np.log(_safe(w1)) if reml else ll


@dataclass(frozen=True)
class DesignData(Data):
    """Any design: ``y``, ``v``, ``mask`` of shape (K, 1, R) and ``X`` of shape (K, P, R).

    Padded studies have v = inf (weight 0) and a zero row of X.
    """

    X: np.ndarray = None

    @classmethod
    def from_arrays(cls, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> DesignData:
        """One meta-analysis: y, v of shape (k,), X of shape (k, p)."""
        y, v, X = (np.asarray(a, dtype=float) for a in (y, v, X))
        return cls(
            y[:, None, None].copy(), v[:, None, None].copy(), np.ones((len(y), 1, 1), bool), X[:, :, None].copy()
        )

    def rows(self, idx: np.ndarray | None) -> DesignData:
        if idx is None or len(idx) == self.y.shape[-1]:
            return self
        return DesignData(self.y[..., idx], self.v[..., idx], self.mask[..., idx], self.X[..., idx])

    @cached_property
    def p(self) -> np.ndarray:
        return np.full(self.n_rows, self.X.shape[1])

    def _xwx(self, w: np.ndarray, power: int = 1) -> np.ndarray:
        """X'W^power X as (R, P, P)."""
        wk = w[:, 0, :] ** power
        return np.einsum("kpr,kr,kqr->rpq", self.X, wk, self.X)

    def _inv(self, w: np.ndarray) -> np.ndarray:
        return np.linalg.inv(self._xwx(w))

    def coefficients(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """β̂ (R, P) and (X'WX)⁻¹ (R, P, P)."""
        inv = self._inv(w)
        xwy = np.einsum("kpr,kr,kr->rp", self.X, w[:, 0, :], self.y[:, 0, :])
        return np.einsum("rpq,rq->rp", inv, xwy), inv

    def residuals(self, w: np.ndarray) -> np.ndarray:
        beta, _ = self.coefficients(w)
        return self.y - np.einsum("kpr,rp->kr", self.X, beta)[:, None, :]

    def fit(self, w):  # pragma: no cover - group sums have no meaning here
        raise NotImplementedError("DesignData has no group means; use coefficients()")

    def trace_p(self, w: np.ndarray) -> np.ndarray:
        return _sum(w) - np.einsum("rpq,rqp->r", self._inv(w), self._xwx(w, 2))

    def quad_p(self, w: np.ndarray, u: np.ndarray) -> np.ndarray:
        xwu = np.einsum("kpr,kr,kr->rp", self.X, w[:, 0, :], u[:, 0, :])
        return np.einsum("kgr,kgr->r", w, u * u) - np.einsum("rp,rpq,rq->r", xwu, self._inv(w), xwu)

    def trace_pp(self, w: np.ndarray) -> np.ndarray:
        inv = self._inv(w)
        a2, a3 = self._xwx(w, 2), self._xwx(w, 3)
        m = np.einsum("rpq,rqs->rps", inv, a2)
        return _sum(w**2) - 2 * np.einsum("rpq,rqp->r", inv, a3) + np.einsum("rpq,rqp->r", m, m)

    def logdet_xwx(self, w: np.ndarray) -> np.ndarray:
        return np.linalg.slogdet(self._xwx(w))[1]

    def ols(self) -> tuple[np.ndarray, np.ndarray]:
        ones = np.where(self.mask, 1.0, 0.0)
        xx_inv = np.linalg.inv(self._xwx(ones))
        xy = np.einsum("kpr,kr->rp", self.X, self.y[:, 0, :])
        beta = np.einsum("rpq,rq->rp", xx_inv, xy)
        r = self.y[:, 0, :] - np.einsum("kpr,rp->kr", self.X, beta)
        tr_pv = _sum(self.v0) - np.einsum("rpq,rqp->r", xx_inv, self._xwx(np.where(self.mask, self.v0, 0.0)))
        return (np.where(self.mask[:, 0, :], r, 0.0) ** 2).sum(axis=0), tr_pv


def q_gen(d: Data, tau2: np.ndarray) -> np.ndarray:
    """Generalised Q statistic Σ w*(y - Xβ̂(tau²))² (Cochran's Q at tau² = 0)."""
    w = d.weights(tau2)
    r = d.residuals(w)
    return _sum(w * r**2)


def _q_newton(d: Data, tau2: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q(tau²) - target and a Newton step for it.

    The step is Newton's on 1/Q(tau²) = 1/target, Q (Q - target)/(target Σw²r²),
    using dQ/dtau² = -Σw²r² (envelope theorem). Q falls roughly like 1/tau²,
    so this converges in fewer steps than Newton on Q itself (the
    DerSimonian-Kacker update); it has the same root.
    """
    w = d.weights(tau2)
    r = d.residuals(w)
    wr = w * r
    q = np.einsum("kgr,kgr->r", wr, r)
    f = q - target
    slope = np.einsum("kgr,kgr->r", wr, wr)
    return f, q * f / (target * np.where(slope > 0, slope, np.inf))


def _score_step(d: Data, tau2: np.ndarray, reml: bool) -> tuple[np.ndarray, np.ndarray]:
    """Score of the (restricted) likelihood and a Newton step for its root (see :meth:`Data.score_step`)."""
    return d.score_step(tau2, reml)


def _score(d: Data, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """Derivative (times 2) of the (restricted) log-likelihood in tau²."""
    return d.score_step(tau2, reml)[0]


def loglik(d: Data, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """(Restricted) log-likelihood up to a constant (see :meth:`Data.loglik`)."""
    return d.loglik(tau2, reml)


def _centred(y: np.ndarray, mask: np.ndarray, axis) -> np.ndarray:
    """y minus its unweighted mean over ``axis`` (two-pass, as R's mean(), so
    identical values centre to exactly 0); 0 in padded cells."""
    n = np.maximum(mask.sum(axis=axis, keepdims=True), 1)
    mean = y.sum(axis=axis, keepdims=True) / n
    mean = mean + np.where(mask, y - mean, 0.0).sum(axis=axis, keepdims=True) / n
    return np.where(mask, y - mean, 0.0)


def _spread(d: Data) -> np.ndarray:
    """Residual sum of squares of the unweighted fit: the scale for bracketing tau²."""
    return d.ols()[0]


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
    quadratic: bool = False,
) -> np.ndarray:
    """Roots of decreasing functions, one per row of ``d``, by safeguarded Newton steps.

    ``step(data, extra, x)`` returns f(x) and a Newton-type step (f/|f'| or a
    Fisher scoring step) for every row of ``data`` (``extra``: per-row
    constants such as targets, or None). Requires f(lo) > 0 >= f(hi) and
    lo <= x <= hi. A step that would leave the bracket is replaced by
    bisection, as is every other step after the 30th, so every row converges.
    Rows are evaluated on a view that shrinks to the unconverged rows when
    they are fewer than half of it. A row stops when its step is below
    ``rtol`` relative (Newton's next correction is then at rounding level), or,
    with ``quadratic`` (steps known to be Newton's near the root), when a
    Newton step below √rtol relative has been taken: its error is then of the
    order of the step squared.
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
        # A Newton step below sqrt(rtol) relative leaves an error of order its square: stop after taking it.
        small = np.abs(xn - xa) <= (np.sqrt(rtol) if quadratic else rtol) * np.abs(xn)
        done = (f == 0) | (small & ~bisect) | (np.abs(xn - xa) <= rtol * np.abs(xn))
        done |= ha - la <= 4 * np.finfo(float).eps * np.abs(ha)
        x[active] = np.where(f == 0, xa, xn)
        lo[active], hi[active] = la, ha
        active, pos = active[~done], pos[~done]
    return x


def _q_root(d: Data, target: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """tau² >= 0 where the generalised Q equals ``target``; 0 where Q(0) <= target.

    Q(tau²) is decreasing and Q(t) <= RSS_OLS/t, so the root lies below
    2 RSS_OLS/target. Safeguarded Newton steps (:func:`_q_newton`) from
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
            lambda dv, tv, t: _q_newton(dv, t, tv), d.rows(rows), target[rows], x0, zero[rows], hi[rows]
        )
    return out


def _upper_bound(d: Data) -> np.ndarray:
    """A tau² above every root of the score: the score is negative beyond it.

    With u = PY, u'u = Σw²r² <= max(w) Q(t) <= RSS_OLS/(t + v_min)², while
    tr P = Σ w_i (1 - h_ii) >= (k - p) min(w) = (k - p)/(t + v_max) (and Σw is
    larger still, for ML). So the score is negative once
    t > RSS_OLS/(k - p) + v_max; this returns twice that.
    """
    return 2 * _spread(d) / np.maximum(d.k - d.p, 1) + 2 * d.v0.max(axis=(0, 1))


def _nearest_root(d: Data, reml: bool, start: np.ndarray) -> np.ndarray:
    """The local maximum of the (restricted) likelihood nearest ``start``, or 0.

    Like metafor, the search starts at max(0, HE) and moves uphill: where the
    score is positive there it looks above the start (widening x4), where it
    is negative below it (double Newton steps, at most down to a quarter each
    time, until 1e-9 of the start), for the nearest point where the score
    changes sign from + to -. Within that bracket it takes Newton steps on the
    score (Fisher-scoring steps where the score is not decreasing), bisecting
    when a step would leave it, so it always converges, quadratically near the
    root. With no sign change the answer is the boundary 0.
    """
    zero = np.zeros(start.shape)
    s0 = _score(d, zero, reml)
    s_start = _score(d, start, reml)
    up = s_start > 0
    lo, hi = np.where(up, start, 0.0), start.copy()
    s_lo = np.where(up, s_start, s0)
    hi = np.where(up, np.maximum(2 * start, _upper_bound(d)), hi)
    rows = np.flatnonzero(up)
    s_hi = np.full(start.shape, -1.0)
    if rows.size:
        s_hi[rows] = _score(d.rows(rows), hi[rows], reml)
    for _ in range(2000):
        grow = up & (s_hi > 0)
        if not grow.any():
            break
        hi = np.where(grow, hi * 4, hi)
        g = np.flatnonzero(grow)
        s_hi[g] = _score(d.rows(g), hi[g], reml)
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
    out = zero.copy()
    rows = np.flatnonzero(s_lo > 0)  # elsewhere the score is never positive: the boundary
    if rows.size:
        x0 = np.where(up[rows], start[rows], 0.5 * (lo[rows] + hi[rows]))
        out[rows] = _newton(lambda dv, _, t: _score_step(dv, t, reml), d.rows(rows), None, x0, lo[rows], hi[rows])
    return out


#: The fine grid of the global search: 0 and 31 points from 1e-6 to 1 times the upper bound.
_GRID = np.concatenate([[0.0], np.geomspace(1e-6, 1.0, 31)])
#: The coarse grid every row gets first (every third point of the fine one).
_COARSE = _GRID[np.r_[0, 1 : len(_GRID) : 3]]


def _best_of(d: Data, reml: bool, candidates: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The candidate with the highest likelihood per row, and that likelihood."""
    lls = np.array([loglik(d, c, reml) for c in candidates])
    best = np.argmax(lls, axis=0)
    cols = np.arange(d.n_rows)
    return np.array(candidates)[best, cols], lls[best, cols]


def _grid_peaks(ll: np.ndarray) -> np.ndarray:
    """Where a grid of log-likelihoods (M, R) has a local maximum; the boundary 0 counts if it beats its neighbour."""
    padded = np.vstack([ll[:1] - 1.0, ll, np.full((1, ll.shape[1]), -np.inf)])
    return (padded[1:-1] >= padded[:-2]) & (padded[1:-1] > padded[2:])


def _grid_search(d: Data, reml: bool, nearest: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best of ``nearest``, 0 and the two highest local maxima between points of
    ``grid`` (M, R), each polished by safeguarded Newton steps; and the maxima counted."""
    zero = np.zeros(nearest.shape)
    ll = np.array([loglik(d, t, reml) for t in grid])
    peak = _grid_peaks(ll)
    candidates = [nearest, zero]
    masked = np.where(peak, ll, -np.inf)
    order = np.argsort(-masked, axis=0)
    cols = np.arange(d.n_rows)
    for rank in range(2):
        j = order[rank]
        rows = np.flatnonzero(np.isfinite(masked[j, cols]) & (j > 0))
        cand = nearest.copy()
        if rows.size:
            lo, hi = grid[j[rows] - 1, rows], grid[np.minimum(j[rows] + 1, len(grid) - 1), rows]
            sub = d.rows(rows)
            ok = (_score(sub, lo, reml) > 0) & (_score(sub, hi, reml) <= 0)
            r_ok = rows[ok]
            if r_ok.size:
                step = lambda dv, _, t: _score_step(dv, t, reml)  # noqa: E731
                cand[r_ok] = _newton(step, d.rows(r_ok), None, grid[j[r_ok], r_ok], lo[ok], hi[ok], quadratic=True)
        candidates.append(cand)
    best, _ = _best_of(d, reml, candidates)
    return best, np.maximum(peak.sum(axis=0), 1)


def _polish(d: Data, reml: bool, grid: np.ndarray, j: np.ndarray, ll: np.ndarray) -> np.ndarray:
    """The local maximum inside [grid[j-1], grid[j+1]] per row (grid and its log-likelihoods
    ``ll``, (M, R); j >= 1), by safeguarded Newton steps from the vertex of the parabola
    through the three grid points (in log tau²); rows without a sign change keep grid[j]."""
    cols = np.arange(d.n_rows)
    last = len(grid) - 1
    lo, hi = grid[j - 1, cols], grid[np.minimum(j + 1, last), cols]
    out = grid[j, cols].copy()
    # Vertex of the parabola through (log t, ll) at j-1, j, j+1 (equal spacing in log t except at 0).
    inside = (j >= 2) & (j < last)
    a, b, c = ll[j - 1, cols], ll[j, cols], ll[np.minimum(j + 1, last), cols]
    denom = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(inside & (denom < 0), 0.5 * (a - c) / denom, 0.0)
    ratio = grid[np.minimum(j + 1, last), cols] / np.where(out > 0, out, 1.0)
    out = np.where(inside, out * ratio ** np.clip(shift, -1, 1), out)
    ok = np.flatnonzero((_score(d, lo, reml) > 0) & (_score(d, hi, reml) <= 0))
    if ok.size:
        step = lambda dv, _, t: _score_step(dv, t, reml)  # noqa: E731
        out[ok] = _newton(step, d.rows(ok), None, out[ok], lo[ok], hi[ok], quadratic=True)
    return out


def _likelihood_root(
    d: Data, reml: bool, start: np.ndarray | None, root: str = "global"
) -> tuple[np.ndarray, np.ndarray]:
    """ML/REML tau² and, per row, the number of local maxima found on [0, ∞).

    ``root="metafor"``: the local maximum nearest metafor's start (see
    :func:`_nearest_root`), replaced by 0 whenever the likelihood at 0 is
    higher (metafor's ``ll0check``).

    ``root="global"``: the highest local maximum over [0, B], B =
    :func:`_upper_bound`, beyond which the score is provably negative (so no
    maximum lies above it). The likelihood is scanned on a geometric grid
    (0 and 1e-6 B to B, so every scale is resolved): every row on a coarse
    grid of 11 points, whose best point is polished by safeguarded Newton steps
    on the score within its neighbours; rows where the coarse grid shows more
    than one maximum are scanned again on a fine grid of 32 points, where the
    two best maxima, the boundary 0 and the coarse answer compete. Maxima
    narrower than the grid's spacing (a factor of 1.6) can escape it.
    """
    if root == "metafor":
        nearest = _nearest_root(d, reml, start)
        ll_root, ll_zero = loglik(d, nearest, reml), loglik(d, np.zeros(start.shape), reml)
        return np.where(ll_zero > ll_root, 0.0, nearest), np.ones(start.shape, int)
    bound = _upper_bound(d)
    grid = _COARSE[:, None] * bound[None, :]
    ll = np.array([loglik(d, t, reml) for t in grid])
    peaks = _grid_peaks(ll)
    best_j = np.argmax(ll, axis=0)
    best = np.zeros(bound.shape)
    inner = np.flatnonzero(best_j > 0)
    if inner.size:
        best[inner] = _polish(d.rows(inner), reml, grid[:, inner], best_j[inner], ll[:, inner])
    modes = np.maximum(peaks.sum(axis=0), 1)
    several = np.flatnonzero(modes > 1)
    if several.size:
        sub = d.rows(several)
        best[several], modes[several] = _grid_search(sub, reml, best[several], _GRID[:, None] * bound[several])
    return best, modes


def estimate_tau2(d: Data, method: str, *, root: str = "global", with_modes: bool = False):
    """tau² for every row of ``d`` by ``method`` (one of :data:`TAU2_METHODS`).

    Formulas follow metafor 3.8-1 ``rma.uni`` (p = number of coefficients):

    - EE: 0.
    - DL: (Q - (k - p)) / tr(P), P at tau² = 0.
    - HE: (RSS_OLS - tr(P_OLS V)) / (k - p).
    - HS: (Q - k) / Σ 1/v.
    - SJ: tau0² Q(tau0²)/(k - p) with tau0² = var(y)(k - 1)/k.
    - PM and EB: Q(tau²) = k - p (EB's scoring equation Q k/(k-p) = k has the
      same root).
    - ML and REML: the likelihood's maximum over tau² >= 0, chosen by ``root``
      (:data:`ROOT_RULES`).

    All are truncated at 0; rows with k <= p get 0. With ``with_modes`` the
    number of local maxima of the likelihood found (1 for other methods) is
    returned as well.
    """
    if root not in ROOT_RULES:
        raise ValueError(f"root must be one of {ROOT_RULES}; got {root!r}")
    k, p = d.k, d.p
    df = k - p
    zero = np.zeros(k.shape)
    modes = np.ones(k.shape, int)
    if method == "EE":
        tau2 = zero
    elif method in ("ML", "REML"):
        start = np.maximum(estimate_tau2(d, "HE"), 0.0) if root == "metafor" else None  # metafor's start
        tau2, modes = _likelihood_root(d, method == "REML", start, root)
    else:
        q0, tr_p0, sum_w0 = d.common_effect
        if method == "DL":
            tau2 = (q0 - df) / tr_p0
        elif method == "HE":
            rss, tr_pv = d.ols()
            tau2 = (rss - tr_pv) / np.maximum(df, 1)
        elif method == "HS":
            tau2 = (q0 - k) / sum_w0
        elif method == "SJ":
            tau0 = (_centred(d.y, d.mask, (0, 1)) ** 2).sum(axis=(0, 1)) / k
            tau2 = tau0 * q_gen(d, tau0) / np.maximum(df, 1)
        elif method in ("PM", "EB"):
            tau2 = _q_root(d, df.astype(float), start=np.maximum((q0 - df) / tr_p0, 0.0))  # from DL
        else:
            raise ValueError(f"method must be one of {TAU2_METHODS} (or 'FE'); got {method!r}")
    tau2 = np.where(df > 0, np.maximum(tau2, 0.0), 0.0)
    return (tau2, modes) if with_modes else tau2


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


def maximise_likelihood_1d(
    score_step: Callable[[float], tuple[float, float]],
    loglik_at: Callable[[float], float],
    start: float,
    upper: float,
    root: str = "global",
) -> tuple[float, int]:
    """The ML/REML rule of :func:`estimate_tau2` for one model given as functions.

    For models outside the two designs above (the network's multivariate
    model): ``score_step(t)`` returns the score and a Newton or Fisher step at
    t, ``loglik_at(t)`` the (restricted) log-likelihood, ``start`` the Hedges
    start and ``upper`` a scale above the roots. Uses the same safeguarded
    Newton method and the same two root rules; returns (tau², local maxima found).
    """

    class _One:
        def rows(self, idx):
            return self

    def step(_d, _e, x):
        f, delta = score_step(float(x[0]))
        return np.array([f]), np.array([delta])

    def solve(lo: float, hi: float, x0: float) -> float:
        return float(_newton(step, _One(), None, np.array([x0]), np.array([lo]), np.array([hi]))[0])

    def score(t: float) -> float:
        return score_step(t)[0]

    # The nearest local maximum to the start (metafor's search, as in _nearest_root).
    if score(start) > 0:
        hi = max(2 * start, upper)
        while score(hi) > 0:
            hi *= 4
        nearest = solve(start, hi, start)
    else:
        nearest, probe = 0.0, start
        while probe > 1e-9 * start:
            cand = probe / 2
            if score(cand) > 0:
                nearest = solve(cand, probe, 0.5 * (cand + probe))
                break
            probe = cand
    if root == "metafor":
        return (0.0 if loglik_at(0.0) > loglik_at(nearest) else nearest), 1
    grid = _GRID * max(2 * upper, 4 * nearest)
    ll = np.array([loglik_at(t) for t in grid])
    padded = np.concatenate([[ll[0] - 1.0], ll, [-np.inf]])
    peaks = np.flatnonzero((padded[1:-1] >= padded[:-2]) & (padded[1:-1] > padded[2:]))
    candidates = [nearest, 0.0]
    for j in peaks:
        if 0 < j < len(grid) - 1 and score(grid[j - 1]) > 0 >= score(grid[j + 1]):
            candidates.append(solve(grid[j - 1], grid[j + 1], grid[j]))
    values = [loglik_at(t) for t in candidates]
    return candidates[int(np.argmax(values))], max(len(peaks), 1)
