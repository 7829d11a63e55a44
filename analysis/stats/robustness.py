"""How robust is a pooled result to single studies and to subsets of studies?

Leave-one-out, influence diagnostics, cumulative meta-analysis, the Baujat
plot and GOSH, each as a tidy DataFrame. All refits go through the batch path
of :func:`analysis.pool` (one meta-analysis per row of a padded 2-D array), so
none loops over studies or subsets in Python. Each returns a
:class:`~analysis.stats.results.TableResult`. Checked against metafor 3.8-1
``leave1out``, ``influence``, ``cumul``, ``baujat`` and ``gosh``
(tests/test_robustness.py). Their figures are in :mod:`analysis.plotting.diagnostics`.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .inference import check_test
from .pooling import one_analysis, pool
from .results import TableResult

__all__ = ["baujat", "cumulative", "gosh", "influence", "leave_one_out"]

_FIT_COLUMNS = ["estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "q", "q_pvalue", "tau2", "i2", "h2"]


def _inputs(yi: ArrayLike, vi: ArrayLike, labels) -> tuple[np.ndarray, np.ndarray, list[str]]:
    y, v = one_analysis(yi, vi)
    names = [f"Study {i + 1}" for i in range(len(y))] if labels is None else [str(x) for x in labels]
    if len(names) != len(y):
        raise ValueError("labels must have one entry per study")
    return y, v, names


def _drop_one(a: np.ndarray) -> np.ndarray:
    k = len(a)
    keep = ~np.eye(k, dtype=bool)
    return np.broadcast_to(a, (k, k))[keep].reshape(k, k - 1)


def leave_one_out(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels=None,
    root: str = "global",
) -> TableResult:
    """The pooled result with each study left out in turn (metafor ``leave1out``).

    Returns one row per left-out study: ``study`` and the pooled ``estimate,
    se, statistic, pvalue, ci_low, ci_high, q, q_pvalue, tau2, i2, h2`` of the
    other k - 1.
    """
    y, v, names = _inputs(yi, vi, labels)
    if len(y) < 2:
        raise ValueError("leave-one-out needs at least 2 studies")
    res = pool(_drop_one(y), _drop_one(v), method=method, test=test, level=level, root=root)
    frame = res.to_frame()[_FIT_COLUMNS]
    frame.insert(0, "study", names)
    return TableResult("Leave-one-out", frame, dict(method=method, test=test, level=level))


def influence(
    yi: ArrayLike, vi: ArrayLike, *, method: str = "REML", test: str = "z", labels=None, root: str = "global"
) -> TableResult:
    """Case-deletion diagnostics of a random-effects model (metafor ``influence``): the intercept-only
    case of :meth:`analysis.MetaRegression.influence`, whose formulas it shares.

    Columns: ``rstudent`` (externally studentized residual), ``dffits``,
    ``cook_d`` (Cook's distance), ``cov_r`` (covariance ratio), ``tau2_del``,
    ``q_del`` (tau² and Q without the study), ``hat``, ``weight`` (%),
    ``dfbetas`` and ``influential`` (metafor's rule: |dffits| > 3√(1/(k-1)),
    Cook's distance beyond the χ²(1) median, hat > 3/k or |dfbetas| > 1).

    References
    ----------
    Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for
    meta-analysis. Res Synth Methods 1:112-125.
    """
    from .regression import _influence_table, meta_regression

    y, v, names = _inputs(yi, vi, labels)
    if len(y) < 3:
        raise ValueError("influence diagnostics need at least 3 studies")
    fit = meta_regression(y, v, np.ones((len(y), 1)), method=method, test=test, root=root)
    table = _influence_table(fit, names).rename(columns={"dfbetas_intrcpt": "dfbetas"})
    return TableResult("Influence diagnostics", table, dict(method=method, test=test))


def cumulative(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    order: ArrayLike | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels=None,
    root: str = "global",
) -> TableResult:
    """Cumulative meta-analysis (metafor ``cumul``): the pooled result after adding each study in ``order``.

    ``order`` sorts the studies (e.g. by year); default: as given. Row i pools the first i studies.
    """
    y, v, names = _inputs(yi, vi, labels)
    idx = np.argsort(np.asarray(order), kind="stable") if order is not None else np.arange(len(y))
    y, v, names = y[idx], v[idx], [names[i] for i in idx]
    k = len(y)
    mask = np.tril(np.ones((k, k), dtype=bool))
    Y = np.where(mask, y[None, :], np.nan)
    V = np.where(mask, v[None, :], np.nan)
    frame = pool(Y, V, method=method, test=test, level=level, root=root).to_frame()[["k"] + _FIT_COLUMNS]
    frame.insert(0, "study", names)
    return TableResult("Cumulative meta-analysis", frame, dict(method=method, test=test, level=level))


def baujat(
    yi: ArrayLike, vi: ArrayLike, *, method: str = "REML", test: str = "z", labels=None, root: str = "global"
) -> TableResult:
    """Baujat coordinates (metafor ``baujat``): ``x`` = the study's contribution to
    heterogeneity, (y_i - μ̂)²/(tau² + v_i); ``y`` = its influence on the pooled
    estimate, (μ̂ - μ̂_(-i))²/Var(μ̂_(-i)).

    References
    ----------
    Baujat B et al. (2002). A graphical method for exploring heterogeneity in
    meta-analyses. Stat Med 21:2641-2652.
    """
    y, v, names = _inputs(yi, vi, labels)
    check_test(test)
    full = pool(y, v, method=method, root=root)
    loo = pool(_drop_one(y), _drop_one(v), method=method, test=test, root=root)
    table = pd.DataFrame(
        {
            "study": names,
            "x": (y - full.estimate) ** 2 / (full.tau2 + v),
            "y": (loo.estimate - full.estimate) ** 2 / loo.se**2,
        }
    )
    return TableResult("Baujat", table, dict(method=method, test=test))


def gosh(
    yi: ArrayLike, vi: ArrayLike, *, method: str = "REML", max_k: int = 15, labels=None, root: str = "global"
) -> TableResult:
    """Fit every non-empty subset of the studies (GOSH; metafor ``gosh``).

    Subsets are ordered as metafor's: by size, then colexicographically. Returns
    one row per subset: ``k, q, i2, h2, tau2, estimate`` and one boolean
    column per study (is it in the subset). With k studies this fits 2^k - 1
    models in one batch call; ``max_k`` (default 15: 32,767 subsets) guards
    against accidental explosions. Single-study subsets have undefined
    heterogeneity (NaN), where metafor reports Q = 0 and I² = 0.

    References
    ----------
    Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of
    study heterogeneity. Res Synth Methods 3:214-223.
    """
    y, v, names = _inputs(yi, vi, labels)
    k = len(y)
    if k > max_k:
        raise ValueError(f"{k} studies give {2**k - 1} subsets; raise max_k if you mean it")
    combos = (
        c for size in range(1, k + 1) for c in sorted(itertools.combinations(range(k), size), key=lambda c: c[::-1])
    )
    incl = np.array([[i in c for i in range(k)] for c in combos])
    Y = np.where(incl, y[None, :], np.nan)
    V = np.where(incl, v[None, :], np.nan)
    res = pool(Y, V, method=method, root=root)
    frame = pd.DataFrame(
        {"k": res.k, "q": res.q, "i2": res.i2, "h2": res.h2, "tau2": res.tau2, "estimate": res.estimate}
    )
    for i, name in enumerate(names):
        frame[name] = incl[:, i]
    return TableResult("GOSH", frame, dict(method=method))
