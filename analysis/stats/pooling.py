"""Inverse-variance pooling: common-effect and random-effects models.

:func:`pool` is the one fitting entry point. It follows metafor 3.8-1
``rma.uni`` (intercept-only model) and was checked against it on metafor's
own data sets for every estimator, test and prediction-interval option
(tests/reference/make_reference.R, tests/test_pooling.py). One meta-analysis
gives a :class:`PoolResult`; 2-D input gives a :class:`PoolBatch` whose rows
are :class:`PoolResult` objects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from .engine import ROOT_RULES, Data, estimate_tau2, normalise_method, q_profile
from .inference import TESTS, check_test, critical_value, knha_scale
from .pooled import PoolBatch, PoolResult, Tau2Interval

__all__ = ["I2_METHODS", "PI_METHODS", "TESTS", "PoolBatch", "PoolResult", "Tau2Interval", "pool", "tau2_confint"]

#: Prediction-interval conventions (see :func:`pool`).
PI_METHODS = ("metafor", "hts", "t")
#: I² conventions (see :func:`pool`).
I2_METHODS = ("metafor", "q")


def _numeric(name: str, values: ArrayLike) -> np.ndarray:
    """A float array from real numbers only: no bools, text or complex values."""
    a = np.asarray(values)
    if a.dtype == object:
        try:
            a = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must hold real numbers; got {a.ravel()[:3].tolist()}") from None
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold real numbers; got dtype {a.dtype} ({a.ravel()[:3].tolist()})")
    return a.astype(float)


def _as_padded(yi: ArrayLike, vi: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate input and return (R, K) arrays plus whether the input was 2-D."""
    if isinstance(yi, pd.Series) and isinstance(vi, pd.Series) and not yi.index.equals(vi.index):
        raise ValueError("yi and vi are pandas Series with different indexes; align them first (pairing is by label)")
    y, v = _numeric("yi", yi), _numeric("vi", vi)
    if y.ndim not in (1, 2) or y.shape != v.shape:
        raise ValueError(f"yi and vi must be 1-D or 2-D arrays of the same shape; got {y.shape} and {v.shape}")
    batch = y.ndim == 2
    y2, v2 = np.atleast_2d(y), np.atleast_2d(v)
    if y2.shape[-1] == 0:
        raise ValueError("no studies: yi and vi are empty")
    if np.isinf(y2).any() or np.isinf(v2).any():
        raise ValueError("yi and vi must be finite (inf found)")
    ny, nv = np.isnan(y2), np.isnan(v2)
    if not batch and (ny.any() or nv.any()):
        raise ValueError("yi and vi must not contain NaN (NaN pads rows only in 2-D input)")
    if (ny != nv).any():
        raise ValueError("yi and vi must be NaN in the same places (NaN pads shorter rows)")
    if (~ny).sum(axis=1).min() == 0:
        raise ValueError("a row has no studies (all NaN)")
    if np.nanmin(v2) <= 0:
        raise ValueError("sampling variances vi must be > 0")
    # Squares of the effects enter Q and the estimators: beyond ~1e150 they overflow.
    big = max(np.nanmax(np.abs(y2)), np.nanmax(v2), 1 / np.nanmin(v2))
    if big > 1e150:
        raise ValueError("yi or vi is too large or vi too small (beyond 1e150) to pool in double precision; rescale")
    return y2, v2, batch


def one_analysis(yi: ArrayLike, vi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated 1-D effects and variances of one meta-analysis (the checks of :func:`pool`)."""
    y, v, batch = _as_padded(yi, vi)
    if batch:
        raise ValueError("this function takes one meta-analysis (1-D yi and vi)")
    return y[0], v[0]


def _fit_row_stats(d: Data, tau2: np.ndarray, test: str, level: float):
    """Pooled estimate, SE, test and CI for each row at the given tau²."""
    k = d.k
    w = d.weights(tau2)
    wsum, mu, r = d.fit(w)
    est = mu[0]
    se = 1 / np.sqrt(wsum[0])
    df = np.where(k > 1, k - 1, np.nan).astype(float)
    if test in ("knha", "adhoc"):
        se = np.where(k > 1, se * np.sqrt(knha_scale((w * r**2).sum(axis=(0, 1)), k - 1, test)), se)
    use_t = (test != "z") & (k > 1)
    stat = est / se
    crit, pval = critical_value(level, np.where(use_t, df, np.nan), stat)
    return est, se, stat, np.where(use_t, df, np.nan), pval, crit


def pool(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tau2: float | ArrayLike | None = None,
    pi: str = "metafor",
    i2: str = "metafor",
    root: str = "global",
) -> PoolResult | PoolBatch:
    """Pool effect sizes by inverse-variance weighting.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances (real numbers), 1-D (one
        meta-analysis) or 2-D (one meta-analysis per row; NaN in both pads
        shorter rows). Two pandas Series must share their index. Inputs are
        never modified.
    method : str
        tau² estimator as spelled in metafor: "EE" (alias "FE": common
        effect), "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML" (default,
        as metafor's ``rma``). See :func:`analysis.stats.engine.estimate_tau2`.
    test : {"z", "t", "knha", "adhoc"}
        Inference for the pooled effect, as metafor's ``test``: Wald z
        (default); t(k-1) with the usual SE; Hartung-Knapp-Sidik-Jonkman
        (SE scaled by √q, q = Σw*(y - μ̂)²/(k-1), t(k-1)); "adhoc" floors q at 1.
    level : float
        Confidence level, e.g. 0.95.
    tau2 : float or array, optional
        Fix tau² at this value instead of estimating it (metafor's ``tau2=``).
        Not allowed with ``method="EE"`` (whose tau² is 0 by definition).
    pi : {"metafor", "hts", "t"}
        Prediction interval μ̂ ± c √(SE² + tau²). "metafor" (default,
        ``predict.rma``): c = z, or t(k-1) under "t"/"knha"/"adhoc". "hts"
        (Higgins, Thompson & Spiegelhalter 2009; meta < 7): c = t(k-2). "t"
        (Veroniki 2019; meta >= 7): c = t(k-1).
    i2 : {"metafor", "q"}
        "metafor" (default): I² = tau²/(tau² + ṽ) with ṽ = (k-1)/(Σw - Σw²/Σw)
        for random-effects models and (Q - df)/Q for EE. "q" (RevMan 5, meta):
        I² = max(0, (Q - df)/Q) for every model. H² follows the same choice.
    root : {"global", "metafor"}
        ML/REML only: "global" (default) takes the global maximum of the
        (restricted) likelihood over tau² >= 0 and says in ``notes`` when the
        likelihood has several local maxima; "metafor" takes the local maximum
        nearest metafor's starting value (then 0 if the likelihood there is
        higher), as metafor's ``rma`` does.

    Returns
    -------
    PoolResult or PoolBatch
        Frozen result; ``to_frame()`` gives a tidy table, ``summary()`` a text.

    Notes
    -----
    With k = 1 the result is that study (tau² = 0, Wald interval whatever
    ``test``) and I², H² and the Q test are NaN; ``notes`` says so.

    Checked against metafor 3.8-1 ``rma()`` and ``predict()`` for every
    method x test on five data sets (tests/test_pooling.py; rtol 1e-10 for
    closed-form estimators, 1e-7 for iterative ones). metafor's Fisher scoring
    stops when tau² moves by less than 1e-5 (PM: 1.2e-4 on Q's scale), so on
    some data its default fit differs from this one by more than 1e-3
    relative; run with ``control = list(threshold = 1e-10)`` it agrees.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
    package. J Stat Softw 36(3).
    Hartung J, Knapp G (2001). Stat Med 20:3875-3889; Sidik K, Jonkman JN
    (2002). Stat Med 21:3153-3159.
    Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a
    meta-analysis. Stat Med 21:1539-1558.
    Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). J R Stat Soc A 172:137-159.

    Examples
    --------
    metafor ``rma(c(0.1, 0.3, 0.5), c(0.01, 0.02, 0.04), method = "DL")``
    gives estimate 0.2524 and tau² 0.0171:

    >>> res = pool([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], method="DL")
    >>> round(res.estimate, 4), round(res.tau2, 4)
    (0.2524, 0.0171)
    """
    method = normalise_method(method)
    check_test(test)
    if pi not in PI_METHODS:
        raise ValueError(f"pi must be one of {PI_METHODS}; got {pi!r}")
    if i2 not in I2_METHODS:
        raise ValueError(f"i2 must be one of {I2_METHODS}; got {i2!r}")
    if root not in ROOT_RULES:
        raise ValueError(f"root must be one of {ROOT_RULES}; got {root!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    if tau2 is not None and method == "EE":
        raise ValueError("method='EE' fixes tau^2 at 0; to pool with a given tau^2 choose a random-effects method")
    y, v, batch = _as_padded(yi, vi)
    d = Data.from_padded(y.T[:, None, :], v.T[:, None, :])
    k = d.k
    notes: list[str] = []
    modes = np.ones(k.shape, int)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if tau2 is None:
            t2, modes = estimate_tau2(d, method, root=root, with_modes=True)
        else:
            t2 = np.broadcast_to(_numeric("tau2", tau2), k.shape).copy()
            if (t2 < 0).any() or not np.isfinite(t2).all():
                raise ValueError("a fixed tau2 must be finite and >= 0")
            notes.append(f"tau^2 fixed at the given value, not estimated by {method}")
        est, se, stat, df, pval, crit = _fit_row_stats(d, t2, test, level)
        q, tr_p0, _ = d.common_effect  # Cochran's Q (common-effect weights)
        q_df = k - 1
        q_p = np.where(k > 1, stats.chi2.sf(q, np.maximum(q_df, 1)), np.nan)
        vt = (k - 1) / tr_p0  # metafor's "typical" within-study variance
        q_i2 = np.maximum(0.0, (q - q_df) / q)
        if method == "EE" or i2 == "q":
            i2_val, h2_val = q_i2, q / q_df
        else:
            i2_val, h2_val = t2 / (vt + t2), t2 / vt + 1
        if pi == "metafor":
            pcrit = crit
        else:
            pdf = k - (2 if pi == "hts" else 1)
            pcrit = np.where(pdf >= 1, stats.t.isf((1 - level) / 2, np.maximum(pdf, 1)), np.nan)
        half = pcrit * np.sqrt(se**2 + t2)
    if not np.isfinite(est).all() or not np.isfinite(t2).all():
        raise ValueError("the fit overflowed (non-finite estimate or tau^2); rescale yi and vi")
    if (modes > 1).any():
        notes.append(
            f"the {method} likelihood has several local maxima ({int(modes.max())} found); "
            + ("the global maximum is reported" if root == "global" else "metafor's rule picked the reported one")
        )
    single = k == 1
    if single.any():
        notes.append(
            "k = 1: the pooled result is that study (Wald z interval whatever the test); tau^2 = 0 and heterogeneity is undefined (NaN)"
        )
        nan = np.nan
        i2_val, h2_val = np.where(single, nan, i2_val), np.where(single, nan, h2_val)
        q, q_p = np.where(single, nan, q), np.where(single, nan, q_p)
    ci_half = crit * se

    def out(a):
        a = np.asarray(a)
        return a if batch else a[0].item()

    cls = PoolBatch if batch else PoolResult
    return cls(
        k=out(k),
        estimate=out(est),
        se=out(se),
        ci_low=out(est - ci_half),
        ci_high=out(est + ci_half),
        statistic=out(stat),
        df=out(df),
        pvalue=out(pval),
        tau2=out(t2),
        tau=out(np.sqrt(t2)),
        i2=out(i2_val),
        h2=out(h2_val),
        q=out(q),
        q_df=out(q_df),
        q_pvalue=out(q_p),
        pi_low=out(est - half),
        pi_high=out(est + half),
        method=method,
        test=test,
        level=level,
        pi_method=pi,
        i2_method=i2,
        yi=y if batch else y[0].copy(),
        vi=v if batch else v[0].copy(),
        notes=tuple(notes),
        tau2_fixed=tau2 is not None,
        root=root,
        modes=out(modes),
    )


def tau2_confint(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    level: float = 0.95,
    method: str = "REML",
    tau2: float | ArrayLike | None = None,
    root: str = "global",
) -> Tau2Interval:
    """Q-profile confidence interval for tau² (metafor ``confint(rma(...))``).

    Bounds solve the generalised Q equation (Viechtbauer 2007); I² and H²
    bounds follow from them with metafor's ṽ. ``method`` (or a fixed ``tau2``)
    sets the point estimate reported beside the bounds. Accepts 1-D or 2-D
    input like :func:`pool`; rows with k < 2 give NaN. Checked against metafor
    3.8-1 ``confint(rma(...))`` at two levels on five data sets.
    """
    y, v, batch = _as_padded(yi, vi)
    d = Data.from_padded(y.T[:, None, :], v.T[:, None, :])
    method = normalise_method(method)
    with np.errstate(divide="ignore", invalid="ignore"):
        if tau2 is None:
            t2 = estimate_tau2(d, method, root=root)
        else:
            t2 = np.broadcast_to(_numeric("tau2", tau2), d.k.shape).astype(float)
        lo, hi = q_profile(d, level)
        vt = (d.k - 1) / d.common_effect[1]

    def out(a):
        return a if batch else float(a[0])

    return Tau2Interval(
        tau2=out(t2),
        tau2_low=out(lo),
        tau2_high=out(hi),
        i2_low=out(lo / (vt + lo)),
        i2_high=out(hi / (vt + hi)),
        h2_low=out(lo / vt + 1),
        h2_high=out(hi / vt + 1),
        level=level,
        method=method if tau2 is None else "fixed",
    )
