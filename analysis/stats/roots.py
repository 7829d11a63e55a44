"""Root finding for the tau² engine: vectorised safeguarded Newton, the Q equation and the ML/REML rules.

Every estimating equation of :mod:`analysis.stats.engine` (PM/EB's Q(tau²) =
k - p, the Q-profile bounds, the ML/REML score) is solved here, for all rows at
once; the network model uses the same ML/REML rules through
:func:`maximise_likelihood_1d`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .designs import Data

__all__ = ["likelihood_root", "loglik", "maximise_likelihood_1d", "q_root"]


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


def _score_step(d: Data, tau2: np.ndarray, reml: bool, log: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Score of the (restricted) likelihood and a Newton step for its root (see :meth:`Data.score_step`)."""
    return d.score_step(tau2, reml, log)


def _score(d: Data, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """Derivative (times 2) of the (restricted) log-likelihood in tau²."""
    return d.score_step(tau2, reml)[0]


def loglik(d: Data, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """(Restricted) log-likelihood up to a constant (see :meth:`Data.loglik`)."""
    return d.loglik(tau2, reml)


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


def q_root(d: Data, target: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
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


#: The coarse grid (every third point of the fine one: a factor of 4 between neighbours).
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


def _maximum_within(d: Data, reml: bool, lo: np.ndarray, hi: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The root of the score in [lo, hi] per row, by safeguarded Newton steps in log tau² from ``start``
    (see :meth:`Data.score_step`), stopped once a step leaves an error of order its square."""
    step = lambda dv, _, t: _score_step(dv, t, reml, log=True)  # noqa: E731
    return _newton(step, d, None, start, lo, hi, quadratic=True)


def _polish(d: Data, reml: bool, grid: np.ndarray, j: np.ndarray, ll: np.ndarray) -> np.ndarray:
    """The local maximum around grid[j] per row (grid and its log-likelihoods ``ll``, (M, R)):
    inside [grid[j-1], grid[j+1]] by :func:`_maximum_within` from the vertex of the parabola
    through the three grid points (in log tau²); for j = 0 (rows whose score at 0 is positive,
    so 0 is no maximum though it beats grid[1]) inside (0, grid[1]), or else the first maximum
    above (:func:`_first_maximum`). Other rows where the score does not change sign there keep
    grid[j]."""
    cols = np.arange(d.n_rows)
    last = len(grid) - 1
    up = np.minimum(j + 1, last)
    lo = np.where(j > 0, grid[np.maximum(j - 1, 0), cols], 0.0)
    hi = np.where(j > 0, grid[up, cols], grid[1, cols])
    out = grid[j, cols].copy()
    # Vertex of the parabola through (log t, ll) at j-1, j, j+1 (equal spacing in log t except at 0).
    a, b, c = ll[np.maximum(j - 1, 0), cols], ll[j, cols], ll[up, cols]
    inside = (j >= 2) & (j < last)
    denom = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(inside & (denom < 0), 0.5 * (a - c) / denom, 0.0)
        ratio = grid[up, cols] / np.where(out > 0, out, 1.0)
    start = np.where(inside, out * ratio ** np.clip(shift, -1, 1), np.where(j > 0, out, 0.5 * hi))
    # Newton within the neighbours, taken as a bracket before it is checked: an answer strictly
    # inside is a sign change of the score from + to - that the iterations evaluated, a local
    # maximum; only rows that end on an end point pay for checking the score there.
    x = _maximum_within(d, reml, lo, hi, start)
    margin = 1e-9 * (hi - lo)
    edge = np.flatnonzero((x - lo <= margin) | (hi - x <= margin))
    if edge.size:
        sub = d.rows(edge)
        bracket = (_score(sub, lo[edge], reml) > 0) & (_score(sub, hi[edge], reml) <= 0)
        x[edge] = np.where(bracket, x[edge], out[edge])
        further = edge[(j[edge] == 0) & ~bracket]  # score > 0 at 0 and at grid[1]: the maximum is above
        if further.size:
            x[further] = _first_maximum(d.rows(further), reml, grid[:, further])
    return x


def _first_maximum(d: Data, reml: bool, grid: np.ndarray) -> np.ndarray:
    """For rows whose score is positive at grid[0] = 0 and grid[1]: the local maximum at the
    first grid point where the score is <= 0 (there is one: the last point is the upper bound),
    polished within it and the point before."""
    out = np.zeros(d.n_rows)
    todo = np.arange(d.n_rows)
    for m in range(2, len(grid)):
        hit = _score(d.rows(todo), grid[m, todo], reml) <= 0
        rows = todo[hit]
        if rows.size:
            lo, hi = grid[m - 1, rows], grid[m, rows]
            out[rows] = _maximum_within(d.rows(rows), reml, lo, hi, np.sqrt(lo * hi))
        todo = todo[~hit]
        if not todo.size:
            break
    return out


def _score_at_zero(d: Data, reml: bool, ll: np.ndarray) -> np.ndarray:
    """The score at tau² = 0 where the grid's first point beats its neighbour, -inf elsewhere:
    only there can the boundary be the grid's best peak, and it is a maximum only if the
    score there is <= 0 (else a maximum lies between 0 and the next point)."""
    f0 = np.full(d.n_rows, -np.inf)
    rows = np.flatnonzero(ll[0] >= ll[1])
    if rows.size:
        f0[rows] = _score(d.rows(rows), np.zeros(rows.size), reml)
    return f0


def _best_points(d: Data, reml: bool, grid: np.ndarray, ll: np.ndarray, f0: np.ndarray, rank: int) -> np.ndarray:
    """Per row the best grid point (``rank`` 0) or the ``rank``-th highest grid peak, polished
    (:func:`_polish`); NaN where a row has fewer peaks, 0 where it is the boundary 0 and the
    score ``f0`` there is <= 0 (:func:`_score_at_zero`)."""
    cols = np.arange(d.n_rows)
    if rank == 0:
        j, found = np.argmax(ll, axis=0), np.ones(d.n_rows, bool)
    else:
        masked = np.where(_grid_peaks(ll), ll, -np.inf)
        j = np.argsort(-masked, axis=0)[rank]
        found = np.isfinite(masked[j, cols])
    out = np.where(found, 0.0, np.nan)
    rows = np.flatnonzero(found & ((j > 0) | (f0 > 0)))
    if rows.size:
        out[rows] = _polish(d.rows(rows), reml, grid[:, rows], j[rows], ll[:, rows])
    return out


def likelihood_root(
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
    grid of 12 points, a factor of 4 apart, whose best point is polished by
    safeguarded Newton steps on the score within its neighbours (the boundary 0
    stands only where the score there is <= 0; elsewhere the maximum between 0
    and the next point is found); rows where the coarse grid shows more than
    one maximum are scanned again on a fine grid of 32 points, a factor of 1.6
    apart, where the two best maxima, the boundary 0 and the coarse answer
    compete. Maxima narrower than the grid's spacing can escape it.
    """
    if root == "metafor":
        nearest = _nearest_root(d, reml, start)
        ll_root, ll_zero = loglik(d, nearest, reml), loglik(d, np.zeros(start.shape), reml)
        return np.where(ll_zero > ll_root, 0.0, nearest), np.ones(start.shape, int)
    bound = _upper_bound(d)
    grid = _COARSE[:, None] * bound
    ll = d.loglik_grid(grid, reml)
    f0 = _score_at_zero(d, reml, ll)
    best = _best_points(d, reml, grid, ll, f0, 0)
    modes = np.maximum(_grid_peaks(ll).sum(axis=0), 1)
    several = np.flatnonzero(modes > 1)
    if several.size:
        sub, fine = d.rows(several), _GRID[:, None] * bound[several]
        ll_fine = sub.loglik_grid(fine, reml)
        f0_fine = _score_at_zero(sub, reml, ll_fine)
        first = best[several]
        candidates = [first, np.where(f0_fine <= 0, 0.0, first)]
        for rank in range(2):
            cand = _best_points(sub, reml, fine, ll_fine, f0_fine, rank)
            candidates.append(np.where(np.isnan(cand), first, cand))
        best[several], _ = _best_of(sub, reml, candidates)
        modes[several] = np.maximum(_grid_peaks(ll_fine).sum(axis=0), 1)
    return best, modes


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
    positive_at_zero = score(0.0) > 0  # then 0 is no maximum, however high its likelihood
    candidates = [nearest] if positive_at_zero else [nearest, 0.0]
    for j in peaks:
        if j == 0 and positive_at_zero:  # the first maximum above 0 (as _first_maximum)
            m = next((m for m in range(1, len(grid)) if score(grid[m]) <= 0), None)
            if m is not None:
                candidates.append(solve(grid[m - 1], grid[m], 0.5 * (grid[m - 1] + grid[m])))
        elif 0 < j < len(grid) - 1 and score(grid[j - 1]) > 0 >= score(grid[j + 1]):
            candidates.append(solve(grid[j - 1], grid[j + 1], grid[j]))
    values = [loglik_at(t) for t in candidates]
    return candidates[int(np.argmax(values))], max(len(peaks), 1)
