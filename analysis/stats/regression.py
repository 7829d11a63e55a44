"""Meta-regression: a mixed-effects model of the effects on moderators.

:func:`meta_regression` is metafor's ``rma(yi, vi, mods = X)``: tau² by any
estimator of the one engine (:mod:`analysis.stats.engine`), coefficients by
weighted least squares at that tau², the omnibus test of the moderators (QM),
the test for residual heterogeneity (QE), and the share of heterogeneity the
moderators account for (R²). Egger's test and trim-and-fill use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from .engine import Data, DesignData, estimate_tau2, normalise_method
from .inference import check_test, critical_value, knha_scale, uses_t
from .results import Result, TableResult

__all__ = ["MetaRegression", "meta_regression", "regression_permutation_test"]


@dataclass(frozen=True, repr=False)
class MetaRegression(Result):
    """A fitted mixed-effects meta-regression.

    Attributes
    ----------
    names : coefficient names.
    beta, se, statistic, pvalue, ci_low, ci_high : per coefficient (z, or t
        with ``df`` under "t"/"knha"/"adhoc").
    vb : covariance of the coefficients (scaled under "knha"/"adhoc").
    df : residual df k - p for t tests, NaN for z.
    tau2 : residual between-study variance; ``r2`` the share of the
        intercept-only model's tau² the moderators account for (metafor's
        pseudo R², NaN without an intercept).
    qm, qm_df, qm_pvalue : omnibus test of the moderators (all coefficients
        but the intercept): χ²(m), or F(m, k - p) under t tests (then ``qm``
        is the F statistic).
    qe, qe_df, qe_pvalue : test for residual heterogeneity.
    modes : local maxima of the likelihood found (ML/REML).
    """

    names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: float
    tau2: float
    vb: np.ndarray = field(repr=False)
    qm: float
    qm_df: int
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    r2: float
    method: str
    test: str
    level: float
    k: int
    modes: int = 1
    root: str = "global"
    yi: np.ndarray = field(default=None, repr=False)
    vi: np.ndarray = field(default=None, repr=False)
    X: np.ndarray = field(default=None, repr=False)
    formula: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``term, estimate, se, statistic, df, pvalue, ci_low, ci_high``."""
        return pd.DataFrame(
            {
                "term": list(self.names),
                "estimate": self.beta,
                "se": self.se,
                "statistic": self.statistic,
                "df": self.df,
                "pvalue": self.pvalue,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def wald_test(self, coefs) -> TableResult:
        """Wald test that the coefficients ``coefs`` (names or positions) are all 0 (metafor's ``btt``):
        χ²(m) under z, F(m, k - p) under t, knha and adhoc (with the scaled covariance).
        Checked against metafor 3.8-1 ``anova(fit, btt = ...)`` (tests/reference/regression_predict_reference.R)."""
        wanted = list(np.atleast_1d(coefs))
        idx = [self.names.index(c) if c in self.names else (int(c) if not isinstance(c, str) else -1) for c in wanted]
        if not idx or len(set(idx)) != len(idx) or not all(0 <= j < len(self.names) for j in idx):
            raise ValueError(f"coefs must name distinct coefficients of {list(self.names)}; got {coefs!r}")
        stat, m, pval = _wald(self.beta, self.vb, idx, self.test, self.qe_df)
        df2 = self.qe_df if uses_t(self.test) else np.nan
        frame = pd.DataFrame({"terms": [", ".join(self.names[j] for j in idx)], "statistic": [stat],
                              "df1": [m], "df2": [df2], "pvalue": [pval]})  # fmt: skip
        return TableResult("Wald test", frame, {"test": "F" if uses_t(self.test) else "chi2"})

    def predict(self, new_X: ArrayLike, *, level: float | None = None) -> TableResult:
        """Predicted average effect at moderator values ``new_X`` (rows of the design, intercept column
        included; a DataFrame's columns matched by name), with its CI and the prediction interval of a
        new study's effect: pred ± crit √(se² + tau²), crit z or t(k - p) as the fit's test (metafor's
        ``predict.rma``; checked against metafor 3.8-1)."""
        level = self.level if level is None else level
        if isinstance(new_X, pd.DataFrame):
            X = new_X.reindex(columns=list(self.names)).to_numpy(float)
        else:
            X = np.atleast_2d(np.asarray(new_X, float))
        if X.shape[1] != len(self.names) or not np.isfinite(X).all():
            raise ValueError(
                f"new_X needs finite values for {list(self.names)} (intercept included); got shape {X.shape}"
            )
        pred = X @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, self.vb, X))
        crit, _ = critical_value(level, np.full(len(pred), self.df), np.zeros(len(pred)))
        half = crit * np.sqrt(se**2 + self.tau2)
        frame = pd.DataFrame({"pred": pred, "se": se, "ci_low": pred - crit * se, "ci_high": pred + crit * se,
                              "pi_low": pred - half, "pi_high": pred + half})  # fmt: skip
        return TableResult("Predicted effects", frame, {"level": level, "test": self.test})

    def leave_one_out(self, labels=None) -> TableResult:
        """The model refitted without each study in turn: one row per study and coefficient (``study,
        term, estimate, se, statistic, df, pvalue, ci_low, ci_high``) with that fit's ``tau2`` and
        ``qe``. All k fits in one batch of the tau² engine; each equals :func:`meta_regression` on the
        other k - 1 studies (tests/test_regression.py). A fit whose design loses full rank is NaN."""
        names = _labels(labels, self.k)
        fits = _deletion_fits(self.yi, self.vi, self.X, self.method, self.test, self.root)
        p = len(self.names)
        se = np.sqrt(np.einsum("rpp->rp", fits["vb"]))
        stat = fits["beta"] / se
        df = float(self.k - 1 - p) if uses_t(self.test) else np.nan
        crit, pval = critical_value(self.level, np.full(stat.shape, df), stat)
        frame = pd.DataFrame({
            "study": np.repeat(names, p), "term": np.tile(self.names, self.k), "estimate": fits["beta"].ravel(),
            "se": se.ravel(), "statistic": stat.ravel(), "df": df, "pvalue": np.asarray(pval).ravel(),
            "ci_low": (fits["beta"] - crit * se).ravel(), "ci_high": (fits["beta"] + crit * se).ravel(),
            "tau2": np.repeat(fits["tau2"], p), "qe": np.repeat(fits["qe"], p),
        })  # fmt: skip
        return TableResult("Leave-one-out (meta-regression)", frame, dict(method=self.method, test=self.test))

    def influence(self, labels=None) -> TableResult:
        """Case-deletion diagnostics of the model, as metafor's ``influence(rma(yi, vi, mods = X))``.

        Columns: ``study``, ``rstudent`` (externally studentized residual), ``dffits``, ``cook_d`` (Cook's
        distance over all coefficients), ``cov_r`` (det of the deleted fit's covariance over the full
        one's), ``tau2_del``, ``q_del`` (QE without the study), ``hat``, ``weight`` (%), one
        ``dfbetas_<term>`` per coefficient and ``influential`` (metafor's rule: |dffits| > 3√(p/(k-p)),
        Cook's distance beyond the χ²(p) median, hat > 3p/k or any |dfbetas| > 1). Checked against
        metafor 3.8-1 (tests/reference/regression_influence_reference.R).

        References
        ----------
        Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for meta-analysis. Res Synth
        Methods 1:112-125.
        """
        table = _influence_table(self, _labels(labels, self.k))
        return TableResult("Influence diagnostics (meta-regression)", table, dict(method=self.method, test=self.test))

    def _title(self) -> str:
        return f"Mixed-effects meta-regression ({self.method}, test={self.test}; k = {self.k})"

    def _summary_lines(self) -> list[str]:
        name = "F" if uses_t(self.test) else "QM"
        df = f"{self.qm_df}, {self.qe_df}" if uses_t(self.test) else f"{self.qm_df}"
        lines = [
            f"tau^2 (residual) = {self.tau2:.4f}; R^2 = {100 * self.r2:.2f}%",
            f"Test for residual heterogeneity: QE({self.qe_df}) = {self.qe:.4f}, p = {self.qe_pvalue:.4g}",
            f"Test of moderators: {name}({df}) = {self.qm:.4f}, p = {self.qm_pvalue:.4g}",
        ]
        return lines + super()._summary_lines()


def _wald(beta: np.ndarray, vb: np.ndarray, idx: list[int], test: str, resid_df: int) -> tuple[float, int, float]:
    """Wald test that the coefficients ``idx`` are all 0: χ²(m), or F(m, k - p) under t tests (metafor's QM / btt)."""
    b, V = beta[idx], vb[np.ix_(idx, idx)]
    q, m = float(b @ np.linalg.solve(V, b)), len(idx)
    if uses_t(test):
        return q / m, m, float(stats.f.sf(q / m, m, resid_df))
    return q, m, float(stats.chi2.sf(q, m))


def _labels(labels, k: int) -> list[str]:
    names = [f"Study {i + 1}" for i in range(k)] if labels is None else [str(x) for x in labels]
    if len(names) != k:
        raise ValueError(f"labels must have one entry per study ({k}); got {len(names)}")
    return names


def _fit_rows(d: DesignData, k, p: int, method: str, test: str, root: str = "global") -> dict:
    """Every row of ``d`` fitted: tau², coefficients, their covariance (Knapp-Hartung-scaled under
    knha/adhoc), the scale s², QE and the local maxima found. ``k``: studies per row."""
    tau2, modes = estimate_tau2(d, method, root=root, with_modes=True)
    w = d.weights(tau2)
    beta, inv = d.coefficients(w)
    rss = (w * d.residuals(w) ** 2).sum(axis=(0, 1))
    s2w = np.asarray(knha_scale(rss, k - p, test), float)
    return dict(tau2=tau2, beta=beta, vb=inv * s2w[:, None, None], s2w=s2w, qe=d.common_effect[0], modes=modes)


def _deletion_fits(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, test: str, root: str) -> dict:
    """The k fits without one study each (row r leaves out study r), in one batch; NaN where the
    remaining design loses full rank (metafor skips those fits)."""
    k, p = X.shape
    if k - 1 <= p:
        raise ValueError(f"case deletion needs at least {p + 2} studies for {p} coefficients; got k = {k}")
    keep = ~np.eye(k, dtype=bool)  # keep[i, r]: study i stays in fit r
    Xs = np.where(keep[:, None, :], X[:, :, None], 0.0)
    full_rank = np.linalg.matrix_rank(np.transpose(Xs, (2, 0, 1))) == p
    keep = np.where(full_rank[None, :], keep, True)  # a rank-deficient fit runs on all studies, then is blanked
    Xs = np.where(keep[:, None, :], X[:, :, None], 0.0)
    d = DesignData(np.where(keep, y[:, None], 0.0)[:, None, :], np.where(keep, v[:, None], np.inf)[:, None, :],
                   keep[:, None, :], Xs)  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        fits = _fit_rows(d, d.k, p, method, test, root)
    for key, value in fits.items():
        if key != "modes":
            fits[key] = np.where(full_rank.reshape((-1,) + (1,) * (value.ndim - 1)), value, np.nan)
    return fits


def _influence_table(fit: MetaRegression, names: list[str]) -> pd.DataFrame:
    """metafor's influence.rma.uni for any design (the intercept-only model included)."""
    y, v, X = fit.yi, fit.vi, fit.X
    k, p = X.shape
    dele = _deletion_fits(y, v, X, fit.method, fit.test, fit.root)
    tau2_d, beta_d, vb_d, s2w_d = dele["tau2"], dele["beta"], dele["vb"], dele["s2w"]
    w = 1 / (v + fit.tau2)
    hat = np.einsum("ip,pq,iq->i", X, np.linalg.inv(X.T @ (w[:, None] * X)), X) * w
    delpred = np.einsum("ip,ip->i", X, beta_d)
    resid = y - delpred
    resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
    rstudent = resid / np.sqrt(v * s2w_d + np.einsum("ip,ipq,iq->i", X, vb_d, X) + tau2_d * s2w_d)
    dffits = (X @ fit.beta - delpred) / np.sqrt(s2w_d * hat * (tau2_d + v))
    w_all = 1 / (v[None, :] + np.nan_to_num(tau2_d)[:, None])  # every study, at each deleted fit's tau²
    vb_all = np.linalg.inv(np.einsum("kp,rk,kq->rpq", X, w_all, X))  # (blank fits stay blank through dfb)
    dfb = fit.beta[None, :] - beta_d
    dfbetas = dfb / np.sqrt(s2w_d[:, None] * np.einsum("rpp->rp", vb_all))
    cook = np.einsum("rp,pq,rq->r", dfb, np.linalg.inv(fit.vb), dfb)
    with np.errstate(invalid="ignore"):  # a blank (rank-deficient) deletion fit stays NaN
        cov_r = np.linalg.det(vb_d) / np.linalg.det(fit.vb)
        infl = (
            (np.abs(dffits) > 3 * np.sqrt(p / (k - p)))
            | (stats.chi2.cdf(cook, p) > 0.5)
            | (hat > 3 * p / k)
            | (np.abs(dfbetas) > 1).any(axis=1)
        )
    table = pd.DataFrame({"study": names, "rstudent": rstudent, "dffits": dffits, "cook_d": cook, "cov_r": cov_r,
                          "tau2_del": tau2_d, "q_del": dele["qe"], "hat": hat, "weight": 100 * w / w.sum()})  # fmt: skip
    for j, term in enumerate(fit.names):
        table[f"dfbetas_{term}"] = dfbetas[:, j]
    table["influential"] = infl
    return table


def _design_from_formula(formula: str, data: pd.DataFrame, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """The design matrix of a one-sided formula ("~ dose + C(programme)") on ``data``, by statsmodels'
    formula machinery; the intercept is named "intrcpt" as metafor names it."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError("formula needs data=, a DataFrame with one row per study")
    if len(data) != k:
        raise ValueError(f"data must have one row per study ({k}); got {len(data)}")
    rhs = formula.strip()
    if not rhs.startswith("~"):
        raise ValueError(f"formula must be one-sided, as metafor's mods: '~ dose + C(group)'; got {formula!r}")
    from statsmodels.formula.api import ols  # statsmodels' formula engine, only when a formula is given

    response = "_meta_regression_y_"
    try:
        model = ols(f"{response} {rhs}", data=data.reset_index(drop=True).assign(**{response: 0.0}))
    except Exception as exc:  # the formula engine's own errors name the problem
        raise ValueError(f"formula {formula!r} cannot be built on data: {exc}") from None
    if model.exog.shape[0] != k:
        raise ValueError(f"formula {formula!r}: {k - model.exog.shape[0]} row(s) of data have missing moderator values")
    names = tuple("intrcpt" if n == "Intercept" else str(n) for n in model.exog_names)
    return np.asarray(model.exog, float), names


def _design(X: ArrayLike, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(X, pd.DataFrame):
        names = tuple(str(c) for c in X.columns)
        X = X.to_numpy(dtype=float)
    else:
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        names = tuple("intrcpt" if np.all(X[:, j] == 1) else f"x{j}" for j in range(X.shape[1]))
    if X.ndim != 2 or X.shape[0] != k:
        raise ValueError(f"X must have one row per study ({k}); got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X must be finite")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("the moderators are collinear (X does not have full column rank)")
    if X.shape[1] >= k:
        raise ValueError(f"{X.shape[1]} coefficients need more than {X.shape[1]} studies; got k = {k}")
    return X, names


def meta_regression(
    yi: ArrayLike,
    vi: ArrayLike,
    X: ArrayLike | None = None,
    *,
    formula: str | None = None,
    data: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    root: str = "global",
) -> MetaRegression:
    """Weighted regression of effects on moderators ``X`` (include the intercept column).

    Parameters
    ----------
    yi, vi : array_like or str
        Effect sizes and sampling variances (1-D), or the names of their
        columns in ``data``.
    X : array_like or DataFrame, optional
        Design matrix, one row per study (a column of ones for the intercept);
        a DataFrame's column names name the coefficients.
    formula, data : str and DataFrame, optional
        Instead of ``X``: a one-sided formula on the columns of ``data`` (one
        row per study), as metafor's ``mods = ~ ...``: continuous moderators
        by name, categorical ones as ``C(name)`` (treatment coding, first
        level the reference), interactions with ``:`` and ``*``; the intercept
        is included unless the formula says ``- 1``. Built by statsmodels'
        formula machinery; the intercept is named "intrcpt".
    method : any tau² estimator of :func:`analysis.pool` ("EE" for a
        common-effect meta-regression).
    test : {"z", "t", "knha", "adhoc"}
        As metafor's ``test``: Wald z and χ² QM; t(k - p) and F(m, k - p);
        Knapp-Hartung (covariance scaled by Σw*r²/(k - p)), or its ad hoc
        version floored at 1.
    level : confidence level.
    root : ML/REML root rule, as for :func:`analysis.pool`.

    Returns
    -------
    MetaRegression

    Notes
    -----
    Checked against metafor 3.8-1 ``rma(yi, vi, mods = ~ ...)`` on the BCG
    data (latitude and year) for every estimator and test
    (tests/test_regression.py). R² is metafor's: max(0, (tau²_0 - tau²)/tau²_0)
    with tau²_0 from the intercept-only model by the same estimator.

    References
    ----------
    Thompson SG, Higgins JPT (2002). How should meta-regression analyses be
    undertaken and interpreted? Stat Med 21:1559-1573.
    Viechtbauer W (2010). J Stat Softw 36(3).

    Examples
    --------
    metafor ``rma(yi, vi, mods = ~ ablat, data = dat.bcg)`` (log risk ratios):
    slope -0.0291 per degree of latitude, tau² 0.0763.

    >>> from analysis.datasets import bcg
    >>> fit = meta_regression("yi", "vi", formula="~ ablat", data=bcg())
    >>> fit.names, round(float(fit.beta[1]), 4), round(fit.tau2, 4)
    (('intrcpt', 'ablat'), -0.0291, 0.0763)
    """
    from .pooling import one_analysis

    method = normalise_method(method)
    check_test(test)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    if isinstance(yi, str) or isinstance(vi, str):  # column names of data, as rma(yi, vi, data = dat)
        if not isinstance(data, pd.DataFrame):
            raise ValueError("yi and vi given as column names need data=, a DataFrame")
        missing = [c for c in (yi, vi) if isinstance(c, str) and c not in data]
        if missing:
            raise ValueError(f"data has no column(s) {missing}")
        yi, vi = (data[c].to_numpy() if isinstance(c, str) else c for c in (yi, vi))
    y, v = one_analysis(yi, vi)
    k = len(y)
    if (X is None) == (formula is None):
        raise ValueError("give the moderators either as a design matrix X or as formula= with data=")
    X, names = _design(X, k) if formula is None else _design_from_formula(formula, data, k)
    if formula is not None:
        _design(X, k)  # the same checks: finite, full rank, fewer coefficients than studies
    p = X.shape[1]
    d = DesignData.from_arrays(y, v, X)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = _fit_rows(d, k, p, method, test, root)
        tau2, modes, beta, vb = fit["tau2"], fit["modes"], fit["beta"][0], fit["vb"][0]
        se = np.sqrt(np.diag(vb))
        stat = beta / se
        df = float(k - p) if uses_t(test) else np.nan
        crit, pval = critical_value(level, np.full(p, df), stat)
        qe = float(fit["qe"][0])
        intercept = [j for j in range(p) if np.all(X[:, j] == 1)]
        btt = [j for j in range(p) if j not in intercept] or list(range(p))
        qm, m, qm_p = _wald(beta, vb, btt, test, k - p)
        r2 = np.nan
        if intercept and method != "EE":
            d0 = Data.from_padded(y[:, None, None], v[:, None, None])
            tau2_0 = float(estimate_tau2(d0, method, root=root)[0])
            r2 = max(0.0, (tau2_0 - float(tau2[0])) / tau2_0) if tau2_0 > 0 else 0.0
    return MetaRegression(
        names=names,
        beta=beta,
        se=se,
        statistic=stat,
        pvalue=np.asarray(pval, float),
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        df=df,
        tau2=float(tau2[0]),
        vb=vb,
        qm=qm,
        qm_df=m,
        qm_pvalue=qm_p,
        qe=qe,
        qe_df=k - p,
        qe_pvalue=float(stats.chi2.sf(qe, k - p)),
        r2=r2,
        method=method,
        test=test,
        level=level,
        k=k,
        modes=int(modes[0]),
        root=root,
        yi=y.copy(),
        vi=v.copy(),
        X=X.copy(),
        formula=formula,
    )


def regression_permutation_test(
    yi: ArrayLike,
    vi: ArrayLike,
    X: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    n_permutations: int = 1000,
    seed: int | None = None,
    exact: bool | None = None,
):
    """Permutation test of the moderators of a meta-regression (metafor's ``permutest`` on ``rma(mods = X)``).

    The statistic is the omnibus QM of the moderators (an F statistic under t, knha and adhoc tests). The
    rows of ``X`` are reshuffled across the studies; the p-value is the share of arrangements with a
    statistic at least the observed one (tolerance √eps, as metafor). Exact (all k! orderings) when
    ``exact=True`` or when k! does not exceed ``n_permutations``; otherwise ``n_permutations`` random
    orderings from ``numpy.random.default_rng(seed)``, the first being the observed one. All orderings
    are fitted in one batch of the τ² engine. Checked against metafor 3.8-1 ``permutest(exact = TRUE)``
    (DL; metafor leaves out orderings whose REML fit does not converge, so its REML p-values can differ).

    Returns an :class:`analysis.stats.bias.PermutationResult`.
    """
    import itertools
    import math

    from .bias import PermutationResult
    from .pooling import one_analysis

    method = normalise_method(method)
    check_test(test)
    y, v = one_analysis(yi, vi)
    k = len(y)
    X, names = _design(X, k)
    p = X.shape[1]
    intercept = [j for j in range(p) if np.all(X[:, j] == 1)]
    btt = [j for j in range(p) if j not in intercept]
    if not btt:
        raise ValueError("X has no moderator besides the intercept: nothing to permute")
    use_exact = exact if exact is not None else math.factorial(k) <= n_permutations
    if use_exact:
        orders = np.array(list(itertools.permutations(range(k))))
    else:
        rng = np.random.default_rng(seed)
        orders = np.vstack([np.arange(k)] + [rng.permutation(k) for _ in range(n_permutations - 1)])
    R = len(orders)
    Xs = np.transpose(X[orders], (1, 2, 0))  # (k, p, R): each ordering's rows of X
    d = DesignData(np.repeat(y[:, None, None], R, axis=2), np.repeat(v[:, None, None], R, axis=2),
                   np.ones((k, 1, R), bool), Xs)  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = _fit_rows(d, k, p, method, test)
        b = fit["beta"][:, btt]
        V = fit["vb"][:, btt][:, :, btt]
        q = np.einsum("ri,ri->r", b, np.linalg.solve(V, b[..., None])[..., 0])
    m = len(btt)
    dist = q / m if uses_t(test) else q
    observed = float(dist[0]) if not use_exact else float(dist[np.flatnonzero((orders == np.arange(k)).all(axis=1))[0]])
    pval = float(np.mean(dist >= observed - np.sqrt(np.finfo(float).eps)))
    return PermutationResult(observed, pval, R, bool(use_exact), seed, dist, tested="moderators")
