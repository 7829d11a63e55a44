"""Network meta-analysis: the contrast-based consistency model.

Every study contributes the contrasts of its arms against its baseline arm
(the study's first treatment in the network's order), with their within-study
covariance (the baseline arm's variance is shared). Random effects have one
between-study variance tau² and correlation 1/2 between a study's contrasts,
the standard consistency model: metafor's ``rma.mv(yi, V, mods = X,
random = ~ comp | study, rho = 1/2)``. Checked against metafor 3.8-1 on
``dat.franchini2012`` and ``dat.senn2013`` (tests/test_network.py).

References
----------
Lu G, Ades AE (2004). Combination of direct and indirect evidence in mixed
treatment comparisons. Stat Med 23:3105-3124.
Higgins JPT et al. (2012). Consistency and inconsistency in network
meta-analysis: concepts and models for multi-arm studies. Res Synth Methods
3:98-110 (design-by-treatment decomposition of Q).
Dias S et al. (2010). Checking consistency in mixed treatment comparison
meta-analysis. Stat Med 29:932-944 (node splitting).
Rücker G, Schwarzer G (2015). Ranking treatments in frequentist network
meta-analysis works without resampling methods. BMC Med Res Methodol 15:58
(P-scores).
Jackson D, White IR, Riley RD (2012). Quantifying the impact of between-study
heterogeneity in multivariate meta-analyses. Stat Med 31:3805-3820 (DL).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .engine import normalise_method
from .network_data import Study, read_studies
from .results import Result
from .roots import maximise_likelihood_1d

__all__ = ["NMA_METHODS", "NetworkResult", "network_meta_analysis"]

NMA_METHODS = ("EE", "DL", "ML", "REML")


@dataclass(frozen=True, repr=False)
class NetworkResult(Result):
    """A fitted network meta-analysis.

    Attributes
    ----------
    treatments : tuple of treatment names (reference first).
    reference : the reference treatment.
    relative_effects : DataFrame indexed by treatment: ``estimate, se,
        ci_low, ci_high`` against the reference (0 for the reference itself).
    tau2 : between-study variance (0 for "EE").
    league : every ordered pair (``treat1, treat2, estimate, se, ci_low,
        ci_high``): the effect of treat1 against treat2.
    ranking : P-scores (``p_score``) sorted best first.
    q_decomposition : rows "total", "within designs", "between designs" with
        ``q, df, pvalue`` (design-by-treatment decomposition, common effects).
    node_split : direct and indirect estimates per comparison with direct
        evidence and an indirect path: ``direct, direct_se, indirect,
        indirect_se, difference, difference_se, pvalue, k_direct``.
    contrasts : the contrasts the model was fitted to.
    edges : ``treat1, treat2, k`` (studies comparing the pair directly).
    patients : patients per treatment (NaN where arm sizes are not given).
    """

    treatments: tuple[str, ...]
    reference: str
    method: str
    level: float
    small_values: str
    measure: str
    relative_effects: pd.DataFrame
    tau2: float
    cov: np.ndarray = field(repr=False)
    league: pd.DataFrame = field(repr=False)
    ranking: pd.DataFrame = field(repr=False)
    q_decomposition: pd.DataFrame = field(repr=False)
    node_split: pd.DataFrame = field(repr=False)
    contrasts: pd.DataFrame = field(repr=False)
    edges: pd.DataFrame = field(repr=False)
    patients: pd.Series = field(repr=False)
    root: str = "global"
    modes: int = 1

    @property
    def k(self) -> int:
        return int(self.contrasts["study"].nunique())

    def league_table(self, digits: int = 2) -> pd.DataFrame:
        """Square table: the effect of the row treatment minus the column
        treatment, 'est [lo, hi]' (the diagonal names the treatment)."""
        t = list(self.treatments)
        table = pd.DataFrame("", index=t, columns=t)
        for r in self.league.itertuples(index=False):
            table.loc[r.treat1, r.treat2] = f"{r.estimate:.{digits}f} [{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]"
        for x in t:
            table.loc[x, x] = x
        return table

    def to_frame(self) -> pd.DataFrame:
        """Relative effects against the reference, with the options and tau²."""
        return self.relative_effects.reset_index().assign(
            reference=self.reference, measure=self.measure, method=self.method, tau2=self.tau2
        )

    def _title(self) -> str:
        return (
            f"Network meta-analysis ({self.measure}, {self.method}): {len(self.treatments)} treatments, "
            f"{self.k} studies, tau^2 = {self.tau2:.4f}"
        )

    def _summary_lines(self) -> list[str]:
        lines = [f"Effects against {self.reference}:"]
        for name, r in self.relative_effects.iterrows():
            if name != self.reference:
                lines.append(f"  {name}: {r.estimate:.4f} [{r.ci_low:.4f}, {r.ci_high:.4f}]")
        q = self.q_decomposition
        lines.append("Q: " + "; ".join(f"{i} {r.q:.3f} (df {r.df:g}, p {r.pvalue:.3g})" for i, r in q.iterrows()))
        return lines


# ---------------------------------------------------------------- input


# ---------------------------------------------------------------- model


@dataclass(frozen=True)
class _Stack:
    y: np.ndarray
    S: np.ndarray
    P: np.ndarray  # between-study correlation pattern (1 diagonal, 1/2 within study)
    rows: pd.DataFrame  # study, treat (j), base (b), design


def _stack(studies: list[Study]) -> _Stack:
    ys, blocks, pblocks, rows = [], [], [], []
    for s in studies:
        m = len(s.y)
        ys.append(s.y)
        blocks.append(s.S)
        pblocks.append(np.full((m, m), 0.5) + 0.5 * np.eye(m))
        design = ":".join(s.treatments)
        rows += [dict(study=s.name, treat=t, base=s.treatments[0], design=design) for t in s.treatments[1:]]
    return _Stack(np.concatenate(ys), linalg.block_diag(*blocks), linalg.block_diag(*pblocks), pd.DataFrame(rows))


def _design_matrix(rows: pd.DataFrame, order: list[str]) -> np.ndarray:
    X = np.zeros((len(rows), len(order) - 1))
    col = {t: i - 1 for i, t in enumerate(order)}
    for i, r in enumerate(rows.itertuples(index=False)):
        if col[r.treat] >= 0:
            X[i, col[r.treat]] += 1
        if col[r.base] >= 0:
            X[i, col[r.base]] -= 1
    return X


def _gls(y, S, P, X, tau2):
    sigma = S + tau2 * P
    W = linalg.inv(sigma)
    XtW = X.T @ W
    vb = linalg.inv(XtW @ X)
    beta = vb @ XtW @ y
    return beta, vb, W


def _loglik(y, S, P, X, tau2, reml: bool) -> float:
    """(Restricted) log-likelihood of the consistency model, up to a constant."""
    beta, vb, W = _gls(y, S, P, X, tau2)
    r = y - X @ beta
    ll = -0.5 * (np.linalg.slogdet(S + tau2 * P)[1] + float(r @ W @ r))
    return ll + 0.5 * np.linalg.slogdet(vb)[1] if reml else ll


def _tau2(y, S, P, X, method: str, root: str = "global") -> tuple[float, int]:
    """tau² by EE, DL (method of moments) or ML/REML, and the likelihood's local maxima found.

    ML/REML use the engine's rule (:func:`analysis.stats.roots.maximise_likelihood_1d`):
    the global maximum over tau² >= 0 by default, or with ``root="metafor"``
    the local maximum nearest the Hedges-type start (RSS_OLS - tr(P_OLS S)) /
    tr(P_OLS P), replaced by 0 when the likelihood there is higher. With one
    comparison this is :func:`analysis.pool`'s estimate.
    """
    if method == "EE" or len(y) - X.shape[1] <= 0:
        return 0.0, 1
    if method == "DL":
        beta, vb, W = _gls(y, S, P, X, 0.0)
        r = y - X @ beta
        R = W - W @ X @ vb @ X.T @ W
        return max(0.0, (float(r @ W @ r) - (len(y) - X.shape[1])) / float(np.trace(R @ P))), 1
    reml = method == "REML"

    def score_step(t: float) -> tuple[float, float]:
        beta, vb, W = _gls(y, S, P, X, t)
        R = W - W @ X @ vb @ X.T @ W if reml else W
        r = y - X @ beta
        Wr = W @ r
        RP = R @ P
        f = float(-np.trace(RP) + Wr @ P @ Wr)
        info = float(np.trace(RP @ RP))
        return f, f / info if info > 0 else 0.0

    Pols = np.eye(len(y)) - X @ linalg.pinv(X)
    start = max(0.0, (float(y @ Pols @ y) - float(np.trace(Pols @ S))) / float(np.trace(Pols @ P)))
    upper = max(1.0, float(np.var(y)) * 4 + float(np.max(np.diag(S))))
    return maximise_likelihood_1d(score_step, lambda t: _loglik(y, S, P, X, t, reml), start, upper, root)


def _q(y, S, X) -> tuple[float, int]:
    beta, vb, W = _gls(y, S, np.zeros_like(S), X, 0.0)
    r = y - X @ beta
    return float(r @ W @ r), len(y) - np.linalg.matrix_rank(X)


def _inconsistency_matrix(rows: pd.DataFrame) -> np.ndarray:
    """One parameter per (design, contrast): the design-by-treatment interaction model."""
    keys = list(dict.fromkeys(zip(rows["design"], rows["treat"])))
    X = np.zeros((len(rows), len(keys)))
    for i, key in enumerate(zip(rows["design"], rows["treat"])):
        X[i, keys.index(key)] = 1
    return X


def _rebase(study: Study, base: str) -> Study:
    """The same study with contrasts against ``base``."""
    if study.treatments[0] == base:
        return study
    t = list(study.treatments)
    j = t.index(base)
    full = np.concatenate([[0.0], study.y])  # arm effects relative to the old baseline
    m = len(t)
    # covariance of arm effects relative to the old baseline (baseline row/col 0)
    C = np.zeros((m, m))
    C[1:, 1:] = study.S
    T = np.zeros((m - 1, m))
    order = [base] + [x for x in t if x != base]
    for row, x in enumerate(order[1:]):
        T[row, t.index(x)] += 1
        T[row, j] -= 1
    return Study(study.name, tuple(order), T @ full, T @ C @ T.T, study.arm_var, study.n)


_SPLIT_COLUMNS = [
    "treat1", "treat2", "k_direct", "direct", "direct_se", "indirect", "indirect_se",
    "difference", "difference_se", "pvalue", "tau2",
]  # fmt: skip


def _league_and_ranking(d, C, order, z, small_values):
    """Every ordered pair's effect, and P-scores (mean probability of being better)."""
    rows, pscore = [], []
    for i, a in enumerate(order):
        probs = []
        for j, b in enumerate(order):
            if i == j:
                continue
            est = d[i] - d[j]
            s = np.sqrt(C[i, i] + C[j, j] - 2 * C[i, j])
            rows.append(dict(treat1=a, treat2=b, estimate=est, se=s, ci_low=est - z * s, ci_high=est + z * s))
            probs.append(stats.norm.cdf(-est / s) if small_values == "good" else stats.norm.cdf(est / s))
        pscore.append(np.mean(probs))
    ranking = pd.DataFrame({"treatment": order, "p_score": pscore})
    return pd.DataFrame(rows), ranking.sort_values("p_score", ascending=False, kind="stable").reset_index(drop=True)


def _q_decomposition(stack: _Stack, X: np.ndarray) -> pd.DataFrame:
    """Q of the common-effect consistency model split into within- and between-design parts."""
    q_total, df_total = _q(stack.y, stack.S, X)
    q_within, df_within = _q(stack.y, stack.S, _inconsistency_matrix(stack.rows))
    qd = pd.DataFrame(
        {"q": [q_total, q_within, q_total - q_within], "df": [df_total, df_within, df_total - df_within]},
        index=pd.Index(["total", "within designs", "between designs"], name="source"),
    )
    qd["pvalue"] = [stats.chi2.sf(q, df) if df > 0 else np.nan for q, df in zip(qd["q"], qd["df"])]
    return qd


def _node_split(studies: list[Study], order: list[str], method: str, root: str) -> pd.DataFrame:
    """Direct and indirect evidence per comparison (Dias 2010, separating the direct
    rows of the studies that compare a and b with an extra parameter)."""
    rank = order.index
    pairs = sorted(
        {tuple(sorted(p, key=rank)) for s in studies for p in itertools.combinations(s.treatments, 2)},
        key=lambda p: (rank(p[0]), rank(p[1])),
    )
    rows = []
    for a, b in pairs:
        with_both = [s.name for s in studies if a in s.treatments and b in s.treatments]
        st = _stack([_rebase(s, a) if s.name in with_both else s for s in studies])
        zcol = ((st.rows["base"] == a) & (st.rows["treat"] == b) & st.rows["study"].isin(with_both)).to_numpy(float)
        Xz = np.column_stack([_design_matrix(st.rows, order), zcol])
        if np.linalg.matrix_rank(Xz) < Xz.shape[1]:
            continue  # no indirect evidence for this comparison
        t2, _ = _tau2(st.y, st.S, st.P, Xz, method, root)
        bz, vz, _ = _gls(st.y, st.S, st.P, Xz, t2)
        c = np.zeros(Xz.shape[1])  # b - a from the basic parameters: the indirect estimate
        if rank(b) > 0:
            c[rank(b) - 1] += 1
        if rank(a) > 0:
            c[rank(a) - 1] -= 1
        cd = c.copy()
        cd[-1] = 1  # plus the split parameter: the direct estimate
        diff, diff_se = float(bz[-1]), float(np.sqrt(vz[-1, -1]))
        rows.append([b, a, len(with_both), float(cd @ bz), float(np.sqrt(cd @ vz @ cd)), float(c @ bz), float(np.sqrt(c @ vz @ c)),
                     diff, diff_se, 2 * stats.norm.sf(abs(diff / diff_se)), t2])  # fmt: skip
    return pd.DataFrame(rows, columns=_SPLIT_COLUMNS)


def _graph_data(studies: list[Study], order: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Studies per directly compared pair, and patients per treatment (NaN where unknown)."""
    counts: dict[tuple[str, str], int] = {}
    for s in studies:
        for p in itertools.combinations(sorted(s.treatments, key=order.index), 2):
            counts[p] = counts.get(p, 0) + 1
    edges = pd.DataFrame([dict(treat1=a, treat2=b, k=k) for (a, b), k in counts.items()])
    patients = pd.Series(np.nan, index=order, dtype=float)
    for s in studies:
        if s.n is not None:
            for t, n in zip(s.treatments, s.n):
                if np.isfinite(n):
                    patients[t] = n if np.isnan(patients[t]) else patients[t] + n
    return edges, patients


def network_meta_analysis(
    data: pd.DataFrame,
    *,
    reference: str | None = None,
    method: str = "REML",
    measure: str = "MD",
    level: float = 0.95,
    small_values: str = "good",
    root: str = "global",
) -> NetworkResult:
    """Fit the consistency model of a network meta-analysis.

    Parameters
    ----------
    data : DataFrame
        Arm-level (columns ``study, treatment, n, mean, sd``; effects are mean
        differences, the shared arm's variance giving the covariance of a
        multi-arm trial's contrasts), contrast-level (``study, treat1,
        treat2, estimate, se``: estimate = treat1 - treat2; optional ``n1, n2``
        for the network graph), or both: rows with a ``treatment`` are arms,
        the others contrasts, and each study is one or the other. A multi-arm
        trial given as contrasts needs all of its pairwise contrasts; the arm
        variances are recovered from them.
    reference : the treatment all effects are reported against (default:
        the first in alphabetical order).
    method : "EE" (common effect), "DL" (multivariate DerSimonian-Laird,
        as netmeta), "ML" or "REML" (default, as metafor ``rma.mv``).
    measure : the effect measure of contrast-level input ("MD", "SMD", "logOR", ...),
        recorded on the result and shown by its figures; arm-level input is
        always "MD".
    level : confidence level.
    small_values : "good" (e.g. pain: lower is better) or "bad", for P-scores.
    root : ML/REML root rule, as for :func:`analysis.pool`.

    Returns
    -------
    NetworkResult
    """
    name = normalise_method(method) if str(method).upper() in ("FE", "EE", "DL", "ML", "REML") else method
    if name not in NMA_METHODS:
        raise ValueError(f"method must be one of {NMA_METHODS}; got {method!r}")
    method = name
    if small_values not in ("good", "bad"):
        raise ValueError("small_values must be 'good' or 'bad'")
    if not isinstance(measure, str) or not measure:
        raise ValueError("measure must name the effect measure, e.g. 'MD'")
    if "treatment" in data.columns and data["treatment"].notna().any() and measure != "MD":
        raise ValueError(f"arm-level data (n, mean, sd) give mean differences; measure must be 'MD', got {measure!r}")
    studies, order, ref = read_studies(data, reference)
    stack = _stack(studies)
    X = _design_matrix(stack.rows, order)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("the network is disconnected: some treatments cannot be compared with the reference")
    tau2, modes = _tau2(stack.y, stack.S, stack.P, X, method, root)
    beta, vb, _ = _gls(stack.y, stack.S, stack.P, X, tau2)
    z = stats.norm.isf((1 - level) / 2)
    T = len(order)
    d = np.concatenate([[0.0], beta])
    C = np.zeros((T, T))
    C[1:, 1:] = vb
    se = np.sqrt(np.diag(C))
    rel = pd.DataFrame(
        {"estimate": d, "se": se, "ci_low": d - z * se, "ci_high": d + z * se}, index=pd.Index(order, name="treatment")
    )

    league, ranking = _league_and_ranking(d, C, order, z, small_values)
    qd = _q_decomposition(stack, X)
    node = _node_split(studies, order, method, root)
    contrasts = stack.rows.assign(yi=stack.y, vi=np.diag(stack.S))
    edges, patients = _graph_data(studies, order)
    return NetworkResult(
        treatments=tuple(order),
        reference=ref,
        method=method,
        level=level,
        small_values=small_values,
        measure=measure,
        relative_effects=rel,
        tau2=tau2,
        cov=C,
        league=league,
        ranking=ranking,
        q_decomposition=qd,
        node_split=node,
        contrasts=contrasts,
        edges=edges,
        patients=patients,
        root=root,
        modes=modes,
    )


# ---------------------------------------------------------------- plots
