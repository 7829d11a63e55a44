"""Subgroup analysis and the test for subgroup differences (separate or common tau²)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from .engine import Data, estimate_tau2, normalise_method
from .inference import check_test, knha_scale, uses_t
from .pooling import PoolResult, pool
from .results import Result

__all__ = ["TAU2_SCOPES", "SubgroupResult", "between_groups_common", "subgroup_analysis"]

#: How tau² is shared between subgroups (see :func:`subgroup_analysis`).
TAU2_SCOPES = ("separate", "common")


@dataclass(frozen=True, repr=False)
class SubgroupResult(Result):
    """Per-subgroup pooled results, the overall result and the test between them.

    Attributes
    ----------
    groups : dict[str, PoolResult]
        One result per subgroup, in order of first appearance.
    overall : PoolResult
        All studies pooled together with the same options.
    q_between, df_between, p_between : float, int, float
        Test for subgroup differences: a χ²(G-1) statistic, or for
        ``tau2="common"`` under "t"/"knha"/"adhoc" an F(G-1, k-G) statistic
        (``df_resid`` is then k-G).
    tau2_scope : str
        "separate" or "common".
    df_resid : int or None
    tau2_common : float or None
        The shared tau² when ``tau2_scope == "common"``.
    labels : tuple
        The subgroup of each study, in input order: ``overall.yi[i]`` is in
        subgroup ``labels[i]`` (groups need not be contiguous).
    """

    groups: dict[str, PoolResult]
    overall: PoolResult
    q_between: float
    df_between: int
    p_between: float
    tau2_scope: str
    df_resid: int | None = None
    tau2_common: float | None = None
    labels: tuple = field(default=(), repr=False)

    def members(self, group: str) -> np.ndarray:
        """Indices (input order) of the studies in ``group``."""
        return np.flatnonzero(np.asarray(self.labels, dtype=object) == group)

    @property
    def i2_between(self) -> float:
        """I² for subgroup differences, max(0, (Q_b - df_b)/Q_b) (RevMan 5)."""
        if self.df_resid is not None or not self.q_between > 0:
            return float("nan") if self.df_resid is not None else 0.0
        return max(0.0, (self.q_between - self.df_between) / self.q_between)

    @property
    def statistic_name(self) -> str:
        return "F" if self.df_resid is not None else "Chi2"

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup plus an ``overall`` row; the between-test sits in
        columns ``q_between``, ``df_between`` and ``p_between`` of every row."""
        rows = []
        for label, res in list(self.groups.items()) + [("overall", self.overall)]:
            frame = res.to_frame()
            frame.insert(0, "group", label)
            rows.append(frame)
        out = pd.concat(rows, ignore_index=True)
        out["tau2_scope"] = self.tau2_scope
        out["q_between"], out["df_between"], out["p_between"] = self.q_between, self.df_between, self.p_between
        return out

    def _title(self) -> str:
        return (
            f"Subgroup analysis ({len(self.groups)} subgroups, k = {self.overall.k}, {self.tau2_scope} tau^2): "
            f"{self.statistic_name} = {self.q_between:.4f}, p = {self.p_between:.4g}"
        )

    def _summary_lines(self) -> list[str]:
        lines = []
        for label, res in self.groups.items():
            lines.append(
                f"{label}: k = {res.k}, estimate = {res.estimate:.4f} "
                f"[{res.ci_low:.4f}, {res.ci_high:.4f}], tau^2 = {res.tau2:.4f}"
            )
        o = self.overall
        lines.append(f"overall: k = {o.k}, estimate = {o.estimate:.4f} [{o.ci_low:.4f}, {o.ci_high:.4f}]")
        df = f"{self.df_between}" + (f", {self.df_resid}" if self.df_resid is not None else "")
        lines.append(
            f"Test for subgroup differences ({self.tau2_scope} tau^2): "
            f"{self.statistic_name}({df}) = {self.q_between:.4f}, p = {self.p_between:.4g}"
        )
        return lines


def subgroup_analysis(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tau2: str = "separate",
    root: str = "global",
) -> SubgroupResult:
    """Pool within subgroups and test whether the subgroup effects differ.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances (1-D).
    groups : array_like
        A label per study; subgroups keep their order of first appearance.
    method, test, level :
        As for :func:`analysis.pool`.
    tau2 : {"separate", "common"}
        "separate" (default; RevMan 5 and meta): each subgroup is pooled on its
        own, and the test is Cochran's Q across the subgroup estimates with
        their SEs, χ²(G-1) (Borenstein et al. 2009, ch. 19). Under "knha" the
        SEs are the HKSJ ones. "common": one tau² for all subgroups, estimated
        from the mixed-effects model ``rma(yi, vi, mods = ~ factor(group))``;
        the test is metafor's omnibus QM, χ²(G-1), or QM/(G-1) against
        F(G-1, k-G) under "t" (scaled by the HKSJ factor under "knha"/"adhoc").
        Each subgroup is then pooled with that tau² fixed (meta's
        ``tau.common = TRUE``).
    root : as for :func:`analysis.pool` (ML/REML only).

    Returns
    -------
    SubgroupResult

    Notes
    -----
    Checked against metafor 3.8-1: "separate" as ``rma(est, sei = se,
    method = "EE")$QE`` on the subgroup fits, "common" as ``QM``/``QMp`` of the
    moderator model (tests/test_subgroups.py).

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to
    Meta-Analysis, chapter 19. Wiley.
    Deeks JJ, Higgins JPT, Altman DG (2023). Cochrane Handbook 10.11.3.1.
    """
    if tau2 not in TAU2_SCOPES:
        raise ValueError(f"tau2 must be one of {TAU2_SCOPES}; got {tau2!r}")
    check_test(test)
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    labels = np.asarray(groups, dtype=object)
    if y.ndim != 1 or labels.shape != y.shape:
        raise ValueError(f"yi, vi and groups must be 1-D and of one length; got {y.shape}, {v.shape}, {labels.shape}")
    overall = pool(y, v, method=method, test=test, level=level, root=root)  # validates yi, vi and options
    order = list(dict.fromkeys(labels.tolist()))
    members = [labels == g for g in order]
    G, k = len(order), len(y)
    if tau2 == "separate":
        fits = {
            str(g): pool(y[m], v[m], method=method, test=test, level=level, root=root) for g, m in zip(order, members)
        }
        est = np.array([f.estimate for f in fits.values()])
        se = np.array([f.se for f in fits.values()])
        w = 1 / se**2
        q_b = float((w * (est - (w * est).sum() / w.sum()) ** 2).sum()) if G > 1 else 0.0
        p_b = float(stats.chi2.sf(q_b, G - 1)) if G > 1 else float("nan")
        return SubgroupResult(fits, overall, q_b, G - 1, p_b, tau2, labels=tuple(str(g) for g in labels.tolist()))

    codes = np.array([order.index(g) for g in labels.tolist()])
    stat, t2 = between_groups_common(y, v, codes[:, None], G, method=method, test=test, root=root)
    common = float(t2[0])
    fix = None if normalise_method(method) == "EE" else common
    fits = {str(g): pool(y[m], v[m], method=method, test=test, level=level, tau2=fix) for g, m in zip(order, members)}
    stat = float(stat[0])
    names = tuple(str(g) for g in labels.tolist())
    if uses_t(test):
        p_b = float(stats.f.sf(stat, G - 1, k - G)) if G > 1 and k > G else float("nan")
        return SubgroupResult(fits, overall, stat, G - 1, p_b, tau2, df_resid=k - G, tau2_common=common, labels=names)
    p_b = float(stats.chi2.sf(stat, G - 1)) if G > 1 else float("nan")
    return SubgroupResult(fits, overall, stat, G - 1, p_b, tau2, tau2_common=common, labels=names)


def between_groups_common(
    y: np.ndarray,
    v: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    method: str = "REML",
    test: str = "z",
    root: str = "global",
) -> tuple[np.ndarray, np.ndarray]:
    """Test statistic for group differences under one common tau², for many labellings at once.

    ``codes`` has shape (k, R): column r assigns each study to a group 0..G-1.
    Returns the statistic per column (metafor's QM, or QM/(G-1), scaled by
    the HKSJ factor under "knha"/"adhoc", for an F test) and the common tau².
    The kernel behind ``subgroup_analysis(tau2="common")`` and the
    permutation test.
    """
    k, R = codes.shape
    member = codes[:, None, :] == np.arange(n_groups)[None, :, None]  # (k, G, R)
    ypad = np.where(member, y[:, None, None], np.nan)
    vpad = np.where(member, v[:, None, None], np.nan)
    d = Data.from_padded(ypad, vpad)
    with np.errstate(divide="ignore", invalid="ignore"):
        t2 = estimate_tau2(d, normalise_method(method), root=root)
        w = d.weights(t2)
        wsum, mu, r = d.fit(w)
        total = wsum.sum(axis=0)
        q_m = (wsum * (mu - (wsum * mu).sum(axis=0) / total) ** 2).sum(axis=0)
        G = d.p
        if uses_t(test):
            s2w = np.where(k > G, knha_scale((w * r**2).sum(axis=(0, 1)), k - G, test), np.nan)
            return np.where(G > 1, q_m / np.maximum(G - 1, 1) / s2w, np.nan), t2
    return q_m, t2
