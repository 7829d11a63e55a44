"""The data layouts the tau² engine works on, and the quantities every estimator is written in.

Effect sizes live in arrays of shape ``(K, G, R)``: K study slots padded with
NaN, G columns of the design and R independent meta-analyses ("rows", last so
that numpy's inner loops run along them). Three layouts give the same
primitives (residuals, tr P, u'Pu, tr PP, log det X'WX, the score and the
log-likelihood):

- :class:`Data`: G group means (metafor's ``mods = ~ factor(group)``);
- :class:`FlatData`: one group, the ordinary random-effects model, with fused
  sums (the hot path of batch ML/REML);
- :class:`DesignData`: any design matrix X (meta-regression), with dense solves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Data", "DesignData", "FlatData"]


def _safe(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 1.0)


def _sum(a: np.ndarray) -> np.ndarray:
    """Sum over the study and design axes: one number per row."""
    return a.sum(axis=(0, 1))


def _all_rows(idx: np.ndarray | None, n: int) -> bool:
    """Whether ``idx`` selects every row in order (None, or n strictly increasing indices)."""
    return idx is None or (len(idx) == n and bool((np.diff(idx) > 0).all()))


def _pick(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of ``a`` (last axis), C-ordered (``a[..., idx]`` would put the rows first in
    memory, and every kernel would then run on strided data)."""
    return np.take(a, idx, axis=-1)


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
        if _all_rows(idx, self.n_rows):
            return self
        return type(self)(*(_pick(a, idx) for a in (self.y, self.v, self.mask)))

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

    @cached_property
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
        """RSS of the unweighted fit and tr(P_OLS V) (for HE), computed once per data."""
        return self._ols

    @cached_property
    def _ols(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.mask.sum(axis=0)
        v0 = self.v0
        tr_pv = _sum(v0) - (v0.sum(axis=0) / np.where(n > 0, n, 1)).sum(axis=0)
        return (_centred(self.y, self.mask, 0) ** 2).sum(axis=(0, 1)), tr_pv

    def score_parts(self, tau2: np.ndarray, reml: bool) -> tuple[np.ndarray, ...]:
        """The four sums the score and its derivative are made of: (u'u, total, u'Pu, info).

        With u = PY the score is f = u'u - total, total = tr P (REML) or Σw (ML), and
        its derivative f' = -2 u'Pu + info, info = tr(PP) (REML) or Σw² (ML).
        """
        w = self.weights(tau2)
        u = w * self.residuals(w)
        uu = np.einsum("kgr,kgr->r", u, u)
        if reml:
            info, total = self.trace_pp(w), self.trace_p(w)
        else:
            info, total = _sum(w**2), _sum(w)
        return uu, total, self.quad_p(w, u), info

    def score_step(self, tau2: np.ndarray, reml: bool, log: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Score of the (restricted) likelihood and a Newton step for its root.

        The step is Newton's, -f/f', where f' < 0, else metafor's Fisher-scoring step
        f / info (see :meth:`score_parts`); with ``log`` it is Newton's on
        log(u'u) = log(total) in log tau² instead, where that equation is
        decreasing (see :func:`_step`). The caller keeps it inside a bracket.
        """
        return _step(*self.score_parts(tau2, reml), tau2, log)

    def loglik(self, tau2: np.ndarray, reml: bool) -> np.ndarray:
        """(Restricted) log-likelihood up to a constant."""
        w = self.weights(tau2)
        r = self.residuals(w)
        logv = np.log(np.where(self.mask, self.v + tau2, 1.0))
        ll = -0.5 * (_sum(logv) + _sum(w * r**2))
        if reml:
            ll = ll - 0.5 * self.logdet_xwx(w)
        return ll

    def loglik_grid(self, grid: np.ndarray, reml: bool) -> np.ndarray:
        """(Restricted) log-likelihood at each point of ``grid`` (M, R), as (M, R): the global search's scan."""
        return np.array([self.loglik(t, reml) for t in grid])

    @cached_property
    def common_effect(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cochran's Q, tr(P) and Σ 1/v per row at tau² = 0, computed once per data.

        DL, HS, the PM start, Q, I² and the Q-profile all start from these.
        """
        w = self.weights(np.zeros(self.n_rows))
        r = self.residuals(w)
        return np.einsum("kgr,kgr->r", w * r, r), self.trace_p(w), _sum(w)


def _step(uu, total, upu, info, tau2, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """The score f = u'u - total and a step for its root, from u'u, total (tr P or Σw), u'Pu and
    info (tr PP or Σw², minus the derivative of total).

    Newton's step -f/f' (f' = info - 2 u'Pu) where the score is decreasing, else Fisher
    scoring f/info. With ``log``: Newton's step on φ = log(u'u/total) = 0 in s = log tau²
    (same root; u'u falls like tau⁻² and total like tau⁻¹ far out, so φ is nearly linear in s
    and the step is good from far away), dφ/ds = tau² (info/total - 2 u'Pu/u'u), where that is
    negative and tau², u'u > 0.
    """
    score = uu - total
    slope = info - 2 * upu
    fisher = score / np.where(info > 0, info, np.inf)
    step = np.where(slope < 0, score / np.where(slope < 0, -slope, 1.0), fisher)
    if not log:
        return score, step
    tau2 = np.broadcast_to(tau2, score.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dphi = tau2 * (info / total - 2 * upu / uu)
        ok = (dphi < 0) & (uu > 0) & (total > 0) & (tau2 > 0)
        log_step = tau2 * np.expm1(np.log(uu / total) / np.where(ok, -dphi, 1.0))
    return score, np.where(ok & np.isfinite(log_step), log_step, step)


#: Rows per block in :class:`FlatData`'s kernels: a block's (K, rows) temporaries stay in cache.
_BLOCK = 2048


def _blocks(n: int) -> list[slice]:
    return [slice(s, s + _BLOCK) for s in range(0, n, _BLOCK)]


def _by_blocks(kernel, n: int, *arrays: np.ndarray, axis: int = -1):
    """``kernel`` applied to blocks of rows (the last axis) of ``arrays``, results joined."""
    if n <= _BLOCK:
        return kernel(*arrays)
    index = lambda a, b: a[(slice(None),) * (a.ndim - 1) + (b,)]  # noqa: E731
    parts = [kernel(*(index(a, b) for a in arrays)) for b in _blocks(n)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p, axis=axis) for p in zip(*parts))
    return np.concatenate(parts, axis=axis)


def _sum_log(a: np.ndarray, axis: int) -> np.ndarray:
    """Σ log(a) along ``axis`` as logs of products of eight terms (one log where there were eight);
    where a product leaves the normal range the logs are summed one by one."""
    n = a.shape[axis]
    lead = (slice(None),) * (axis % a.ndim)
    total, ok = 0.0, True
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        for s in range(0, n, 8):
            prod = np.prod(a[(*lead, slice(s, s + 8))], axis=axis)
            ok = ok & (prod > 1e-290) & (prod < 1e290)
            total = total + np.log(prod)
        return total if np.all(ok) else np.where(ok, total, np.log(a).sum(axis=axis))


@dataclass(frozen=True)
class FlatData(Data):
    """One group (the ordinary random-effects model): the same quantities as :class:`Data`
    from fused sums over 2-D (K, R) views, in blocks of rows, the hot path of batch ML/REML.

    Every formula is Data's with G = 1; tests/test_pooling.py checks the two agree.
    """

    @cached_property
    def full(self) -> bool:
        """No padded cells (every row has every study)."""
        return bool(self.mask.all())

    @cached_property
    def _centred_y(self) -> np.ndarray:
        """y minus its row's plain mean (K, R): the one-pass sums of :meth:`loglik_grid` cancel less."""
        if not self.full:
            return _centred(self.y, self.mask, (0, 1))[:, 0, :]
        y = self.y[:, 0, :]
        mean = y.mean(axis=0)
        return y - (mean + (y - mean).mean(axis=0))  # two-pass, as _centred

    @cached_property
    def v0(self) -> np.ndarray:
        return self.v if self.full else super().v0

    @cached_property
    def _ols(self) -> tuple[np.ndarray, np.ndarray]:
        v0 = self.v0[:, 0, :]
        return (self._centred_y**2).sum(axis=0), v0.sum(axis=0) - v0.sum(axis=0) / np.maximum(self.k, 1)

    def score_parts(self, tau2: np.ndarray, reml: bool) -> tuple[np.ndarray, ...]:
        kernel = lambda y, v, t: _flat_score_parts(y, v, t, reml)  # noqa: E731
        return _by_blocks(kernel, self.n_rows, self.y[:, 0, :], self.v[:, 0, :], np.asarray(tau2, float))

    def loglik(self, tau2: np.ndarray, reml: bool) -> np.ndarray:
        kernel = lambda y, v, m, t: _flat_loglik(y, v, m, t, reml, self.full)  # noqa: E731
        return _by_blocks(kernel, self.n_rows, self.y[:, 0, :], self.v[:, 0, :], self.mask[:, 0, :], tau2)

    def loglik_grid(self, grid: np.ndarray, reml: bool) -> np.ndarray:
        """All grid points at once per block of rows, with one-pass weighted sums of squares on
        centred y and :func:`_sum_log` for Σ log(v + tau²): a scan that only has to rank
        points (agrees with :meth:`loglik` to about 1e-11 relative; the chosen maximum is then
        polished and compared with :meth:`loglik`)."""

        def kernel(y, v, m, g):
            vt = v[None] + g[:, None, :]  # (M, K, rows)
            w = 1.0 / vt
            w1 = _safe(w.sum(axis=1))
            wy = np.einsum("mkr,kr->mr", w, y)
            q = np.einsum("mkr,kr->mr", w, y * y) - (wy / w1) * wy  # not wy²: it overflows for tiny v
            logs = _sum_log(vt if self.full else np.where(m[None], vt, 1.0), axis=1)
            ll = -0.5 * (logs + q)
            return ll - 0.5 * np.log(w1) if reml else ll

        return _by_blocks(kernel, self.n_rows, self._centred_y, self.v[:, 0, :], self.mask[:, 0, :], grid)


def _flat_score_parts(y, v, tau2, reml):
    """:meth:`Data.score_parts` with G = 1 on (K, rows) arrays."""
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
        total = w1 - ratio
    else:
        info = np.einsum("kr,kr->r", w, w)
        total = w1
    return uu, total, upu, info


def _flat_loglik(y, v, mask, tau2, reml, full):
    """:meth:`Data.loglik` with G = 1 on (K, rows) arrays."""
    vt = v + tau2
    w = 1.0 / vt
    w1 = w.sum(axis=0)
    r = y - np.einsum("kr,kr->r", w, y) / _safe(w1)
    logs = (np.log(vt) if full else np.log(vt, out=np.zeros_like(vt), where=mask)).sum(axis=0)
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
        if _all_rows(idx, self.n_rows):
            return self
        return DesignData(*(_pick(a, idx) for a in (self.y, self.v, self.mask, self.X)))

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

    @cached_property
    def _ols(self) -> tuple[np.ndarray, np.ndarray]:
        ones = np.where(self.mask, 1.0, 0.0)
        xx_inv = np.linalg.inv(self._xwx(ones))
        xy = np.einsum("kpr,kr->rp", self.X, self.y[:, 0, :])
        beta = np.einsum("rpq,rq->rp", xx_inv, xy)
        r = self.y[:, 0, :] - np.einsum("kpr,rp->kr", self.X, beta)
        tr_pv = _sum(self.v0) - np.einsum("rpq,rqp->r", xx_inv, self._xwx(np.where(self.mask, self.v0, 0.0)))
        return (np.where(self.mask[:, 0, :], r, 0.0) ** 2).sum(axis=0), tr_pv


def _centred(y: np.ndarray, mask: np.ndarray, axis) -> np.ndarray:
    """y minus its unweighted mean over ``axis`` (two-pass, as R's mean(), so
    identical values centre to exactly 0); 0 in padded cells."""
    n = np.maximum(mask.sum(axis=axis, keepdims=True), 1)
    mean = y.sum(axis=axis, keepdims=True) / n
    mean = mean + np.where(mask, y - mean, 0.0).sum(axis=axis, keepdims=True) / n
    return np.where(mask, y - mean, 0.0)
