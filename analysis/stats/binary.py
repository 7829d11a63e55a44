"""Dichotomous outcomes: odds ratios, risk ratios and risk differences from 2×2 tables,
and their pooling by Mantel-Haenszel, Peto and inverse variance.

Arm 1 is the experimental arm and arm 2 the comparator; each arm gives its
number of events and its total. Ratios are on the natural-log scale (``yi``
is a log odds ratio or log risk ratio); results also carry the
back-transformed estimate and CI.

Two conventions for zero cells, each a named option:

- ``convention="metafor"`` (default), metafor 3.8 ``escalc``: ``add`` (0.5)
  is added to every cell of the tables that ``to`` names ("only0": tables
  with a zero cell; "all"; "if0all": every table when any has a zero cell;
  "none"); tables with no events, or only events, in both arms are kept
  unless ``drop00=True``. ``rma.mh`` and ``rma.peto`` compute their pooled
  estimate from the uncorrected counts and their Q test from the corrected
  ``escalc`` effects, dropping those double-zero tables there.
- ``convention="revman5"``, RevMan 5 (as R's meta documents it, ``metabin``
  with ``MH.exact=FALSE``): 0.5 is added to every cell of a table with a
  zero cell, for the study's effect and for the Mantel-Haenszel estimate;
  double-zero tables are not estimable for OR and RR (they stay in for RD);
  a risk difference is computed from the raw counts and only its variance
  from the corrected ones; Peto's method uses the raw counts throughout.

Checked against metafor 3.8-1 ``escalc``, ``rma.mh`` and ``rma.peto`` over
every correction option on tables with zero cells and double zeros
(``tests/reference/binary_reference.R``), and against the numbers RevMan 5
stored in the Fleiss 1993 review file (``tests/test_revman.py``).

References
----------
Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
Robins J, Breslow N, Greenland S (1986). Estimators of the Mantel-Haenszel
variance consistent in both sparse data and large-strata limiting models.
Biometrics 42:311-323.
Greenland S, Robins JM (1985). Estimation of a common effect parameter from
sparse follow-up data. Biometrics 41:55-68.
Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during
and after myocardial infarction. Prog Cardiovasc Dis 27:335-371.
Tarone RE (1985). On heterogeneity tests based on efficient scores.
Biometrika 72:91-95.
Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from .results import Result

__all__ = [
    "BINARY_MEASURES",
    "BINARY_METHODS",
    "CONVENTIONS",
    "CORRECTION_TARGETS",
    "MEASURE_LABELS",
    "RATIO_MEASURES",
    "BinaryPoolResult",
    "binary_pool",
    "mantel_haenszel",
    "odds_ratio",
    "peto",
    "peto_from_o_e",
    "peto_odds_ratio",
    "risk_difference",
    "risk_ratio",
]

#: Effect measures for 2×2 tables.
BINARY_MEASURES = ("OR", "RR", "RD")
#: Pooling methods of :func:`binary_pool`.
BINARY_METHODS = ("MH", "Peto", "IV")
#: Zero-cell conventions (see the module docstring).
CONVENTIONS = ("metafor", "revman5")
#: Which tables get the continuity correction (metafor's ``to``).
CORRECTION_TARGETS = ("only0", "all", "if0all", "none")

#: How RevMan names each measure in a forest plot's heading.
MEASURE_LABELS = {"OR": "Odds Ratio", "RR": "Risk Ratio", "RD": "Risk Difference", "PETO": "Peto Odds Ratio"}
#: Measures pooled as logarithms and shown back-transformed.
RATIO_MEASURES = ("OR", "RR")


@dataclass(frozen=True)
class _Tables:
    """2×2 tables (a, b | c, d), float arrays; ``double_zero`` marks tables with
    no events, or only events, in both arms."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray

    @property
    def n1(self):
        return self.a + self.b

    @property
    def n2(self):
        return self.c + self.d

    @property
    def n(self):
        return self.a + self.b + self.c + self.d

    @property
    def double_zero(self) -> np.ndarray:
        return ((self.a == 0) & (self.c == 0)) | ((self.b == 0) & (self.d == 0))

    @property
    def zero_cell(self) -> np.ndarray:
        return (self.a == 0) | (self.b == 0) | (self.c == 0) | (self.d == 0)

    def corrected(self, add: float, to: str) -> _Tables:
        """The tables with ``add`` added to every cell of the tables ``to`` names."""
        if to == "none" or add == 0:
            return self
        if to == "all":
            hit = np.ones_like(self.a, dtype=bool)
        elif to == "only0":
            hit = self.zero_cell
        else:  # if0all
            hit = np.full_like(self.a, self.zero_cell.any(), dtype=bool)
        inc = np.where(hit, float(add), 0.0)
        return _Tables(self.a + inc, self.b + inc, self.c + inc, self.d + inc)

    def subset(self, keep: np.ndarray) -> _Tables:
        return _Tables(self.a[keep], self.b[keep], self.c[keep], self.d[keep])


def _tables(events_1: ArrayLike, n_1: ArrayLike, events_2: ArrayLike, n_2: ArrayLike) -> _Tables:
    """Validated tables: non-negative counts with events <= total. Fractional counts are accepted, as
    metafor's escalc accepts them (a shared arm split between comparisons, Cochrane Handbook 23.3.4)."""
    arrays = []
    for name, values in (("events_1", events_1), ("n_1", n_1), ("events_2", events_2), ("n_2", n_2)):
        a = np.asarray(values)
        if a.dtype == bool or a.dtype.kind not in "iuf":
            raise ValueError(f"{name} must hold counts (numbers); got {a.ravel()[:3].tolist()}")
        a = np.atleast_1d(a.astype(float))
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got shape {a.shape}")
        if not np.isfinite(a).all() or (a < 0).any():
            bad = a[~np.isfinite(a) | (a < 0)]
            raise ValueError(f"{name} must hold counts >= 0; got {bad[:3].tolist()}")
        arrays.append(a)
    e1, t1, e2, t2 = arrays
    if not len(e1) == len(t1) == len(e2) == len(t2):
        raise ValueError(f"events and totals must have the same length; got {[len(a) for a in arrays]}")
    for name, e, t in (("1", e1, t1), ("2", e2, t2)):
        if (e > t).any():
            raise ValueError(f"events_{name} exceed n_{name} in table(s) {np.flatnonzero(e > t)[:3].tolist()}")
        if (t == 0).any():
            raise ValueError(f"n_{name} must be > 0; table(s) {np.flatnonzero(t == 0)[:3].tolist()} have no one")
    return _Tables(e1, t1 - e1, e2, t2 - e2)


def _options(to: str, convention: str) -> None:
    if to not in CORRECTION_TARGETS:
        raise ValueError(f"to must be one of {CORRECTION_TARGETS}; got {to!r}")
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}; got {convention!r}")


def _effects(t: _Tables, measure: str, add: float, to: str, drop00: bool | None, convention: str):
    """yi and vi of each table (NaN where not estimable), as the convention computes them."""
    _options(to, convention)
    if convention == "revman5":  # 0.5 to tables with a zero cell; Peto's O - E and V need none (R meta, metabin)
        add, to = (0.0, "none") if measure == "PETO" else (0.5, "only0")
        drop = measure in ("OR", "RR", "PETO") if drop00 is None else drop00
    else:
        drop = bool(drop00)
    c = t.corrected(add, to)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(c.a * c.d / (c.b * c.c))
            vi = 1 / c.a + 1 / c.b + 1 / c.c + 1 / c.d
        elif measure == "RR":
            yi = np.log(c.a / c.n1) - np.log(c.c / c.n2)
            vi = 1 / c.a - 1 / c.n1 + 1 / c.c - 1 / c.n2
        elif measure == "RD":
            p1, p2 = c.a / c.n1, c.c / c.n2
            raw = t if convention == "revman5" else c
            yi = raw.a / raw.n1 - raw.c / raw.n2
            vi = p1 * (1 - p1) / c.n1 + p2 * (1 - p2) / c.n2
        else:  # PETO
            o_e, v = _peto_terms(c)
            yi, vi = o_e / v, 1 / v
    if drop:
        yi, vi = np.where(t.double_zero, np.nan, yi), np.where(t.double_zero, np.nan, vi)
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)  # a zero variance stays, as escalc returns it; pooling skips it
    return np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)


def _peto_terms(t: _Tables) -> tuple[np.ndarray, np.ndarray]:
    """Observed minus expected events in arm 1, and the hypergeometric variance."""
    events, rest = t.a + t.c, t.b + t.d
    expected = events * t.n1 / t.n
    v = events * rest * (t.n1 / t.n) * (t.n2 / t.n) / (t.n - 1)
    return t.a - expected, v


def peto_from_o_e(o_e: ArrayLike, v: ArrayLike) -> tuple[float, float, float]:
    """Peto's pooled log odds ratio Σ(O - E)/ΣV, its SE 1/√ΣV and the heterogeneity statistic
    Σ(O - E)²/V - (Σ(O - E))²/ΣV over tables with V > 0 (metafor ``rma.peto``), from each table's
    observed minus expected events and hypergeometric variance (as RevMan's O - E outcomes store them)."""
    o_e, v = np.asarray(o_e, float), np.asarray(v, float)
    if v.sum() <= 0:
        raise ValueError("Peto's method needs at least one table with events (all V are 0)")
    pos = v > 0
    q = max(0.0, float((o_e[pos] ** 2 / v[pos]).sum() - o_e.sum() ** 2 / v.sum()))
    return float(o_e.sum() / v.sum()), float(1 / np.sqrt(v.sum())), q


_EFFECT_DOC = """
    Parameters
    ----------
    events_1, n_1, events_2, n_2 : array_like
        Events and totals of the experimental (1) and comparator (2) arm;
        counts >= 0 with events <= total (fractions allowed, as in escalc).
    add : float
        Continuity correction added to the cells (metafor's ``add``; 0.5).
    to : {{"only0", "all", "if0all", "none"}}
        Which tables get it (metafor's ``to``; "only0": those with a zero cell).
    drop00 : bool, optional
        Leave out (NaN) tables with no events, or only events, in both arms.
        Default: False under "metafor"; under "revman5" True for OR and RR.
    convention : {{"metafor", "revman5"}}
        Zero-cell convention (module docstring); "revman5" fixes ``add=0.5``
        and ``to="only0"``.

    Returns
    -------
    yi, vi : ndarray
        {what}; NaN where a table is not estimable (a zero variance is returned as escalc returns it; pooling skips it).
"""


def odds_ratio(events_1, n_1, events_2, n_2, *, add=0.5, to="only0", drop00=None, convention="metafor"):
    """Log odds ratio of each 2×2 table and its variance 1/a + 1/b + 1/c + 1/d (metafor ``escalc("OR")``).

    >>> yi, vi = odds_ratio([49], [615], [67], [624])
    >>> round(float(np.exp(yi[0])), 6), round(float(vi[0]), 6)
    (0.719714, 0.038896)
    """
    return _effects(_tables(events_1, n_1, events_2, n_2), "OR", add, to, drop00, convention)


def risk_ratio(events_1, n_1, events_2, n_2, *, add=0.5, to="only0", drop00=None, convention="metafor"):
    """Log risk ratio of each 2×2 table and its variance 1/a - 1/n₁ + 1/c - 1/n₂ (metafor ``escalc("RR")``)."""
    return _effects(_tables(events_1, n_1, events_2, n_2), "RR", add, to, drop00, convention)


def risk_difference(events_1, n_1, events_2, n_2, *, add=0.5, to="only0", drop00=None, convention="metafor"):
    """Risk difference p₁ - p₂ of each 2×2 table and its large-sample variance
    p₁(1-p₁)/n₁ + p₂(1-p₂)/n₂ (metafor ``escalc("RD")``, ``vtype="LS"``)."""
    return _effects(_tables(events_1, n_1, events_2, n_2), "RD", add, to, drop00, convention)


def peto_odds_ratio(events_1, n_1, events_2, n_2, *, add=0.5, to="only0", drop00=None, convention="metafor"):
    """Peto's one-step log odds ratio (O - E)/V of each table and its variance 1/V
    (metafor ``escalc("PETO")``, which applies the correction first)."""
    return _effects(_tables(events_1, n_1, events_2, n_2), "PETO", add, to, drop00, convention)


for _f, _what in (
    (odds_ratio, "Log odds ratios and their variances"),
    (risk_ratio, "Log risk ratios and their variances"),
    (risk_difference, "Risk differences and their variances"),
    (peto_odds_ratio, "Peto log odds ratios and their variances"),
):
    _head, _, _tail = _f.__doc__.partition("\n\n")
    _f.__doc__ = _head + "\n" + _EFFECT_DOC.format(what=_what) + ("\n    " + _tail.strip() if _tail else "")


@dataclass(frozen=True, repr=False)
class BinaryPoolResult(Result):
    """A pooled 2×2-table meta-analysis (:func:`binary_pool`).

    Attributes
    ----------
    measure : "OR", "RR" or "RD".
    pooling : "MH", "Peto" or "IV".
    method : tau² method: "EE" for a common-effect (fixed) model, else the
        random-effects estimator (RevMan's is "DL").
    k : tables given; k_estimable : tables with an estimable study effect
        (they enter Q, I² and the study rows).
    estimate, se, ci_low, ci_high : pooled effect on the analysis scale (log
        for OR and RR) with its SE and CI; statistic, pvalue : its z test.
    exp_estimate, exp_ci_low, exp_ci_high : back-transformed (NaN for RD).
    q, q_df, q_pvalue, i2 (fraction), h2 : heterogeneity; for MH, Q is
        Σ wᵢ(yᵢ - θ_MH)² with inverse-variance wᵢ (metafor ``rma.mh``, RevMan 5);
        for Peto, Σ(O-E)²/V - (Σ(O-E))²/ΣV.
    tau2 : between-study variance (0 for fixed models).
    cmh, cmh_pvalue : Cochran-Mantel-Haenszel test (MH with OR; continuity-
        corrected unless ``correct=False``); tarone, tarone_pvalue : Tarone's
        test of homogeneity of odds ratios (MH with OR).
    yi, vi : each table's effect and variance (NaN where not estimable);
        weights : each table's percentage weight in the pooled estimate (MH
        weights, Peto's V, or inverse-variance weights).
    events_1, n_1, events_2, n_2 : the tables as given.
    """

    measure: str
    pooling: str
    method: str
    k: int
    k_estimable: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    pvalue: float
    q: float
    q_df: int
    q_pvalue: float
    i2: float
    h2: float
    tau2: float
    cmh: float
    cmh_pvalue: float
    tarone: float
    tarone_pvalue: float
    level: float
    convention: str
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    events_1: np.ndarray = field(repr=False)
    n_1: np.ndarray = field(repr=False)
    events_2: np.ndarray = field(repr=False)
    n_2: np.ndarray = field(repr=False)
    notes: tuple[str, ...] = ()
    test: str = "z"
    df: float = float("nan")

    @property
    def log_scale(self) -> bool:
        return self.measure in RATIO_MEASURES

    def _exp(self, x: float) -> float:
        return float(np.exp(x)) if self.log_scale else float("nan")

    @property
    def exp_estimate(self) -> float:
        return self._exp(self.estimate)

    @property
    def exp_ci_low(self) -> float:
        return self._exp(self.ci_low)

    @property
    def exp_ci_high(self) -> float:
        return self._exp(self.ci_high)

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    @property
    def model(self) -> str:
        """RevMan's heading: "M-H, Fixed", "Peto, Fixed", "IV, Random", ..."""
        name = {"MH": "M-H", "Peto": "Peto", "IV": "IV"}[self.pooling]
        return f"{name}, {'Fixed' if self.method == 'EE' else 'Random'}"

    @property
    def label(self) -> str:
        """The measure as RevMan names it ("Odds Ratio", "Peto Odds Ratio", ...)."""
        return MEASURE_LABELS["PETO" if self.pooling == "Peto" else self.measure]

    def to_frame(self) -> pd.DataFrame:
        cols = ["k", "k_estimable", "estimate", "se", "ci_low", "ci_high", "exp_estimate", "exp_ci_low",
                "exp_ci_high", "statistic", "pvalue", "q", "q_df", "q_pvalue", "i2", "h2", "tau2", "cmh",
                "cmh_pvalue", "tarone", "tarone_pvalue"]  # fmt: skip
        frame = pd.DataFrame({c: [getattr(self, c)] for c in cols})
        frame["measure"], frame["pooling"], frame["method"], frame["level"] = (
            self.measure, self.pooling, self.method, self.level,
        )  # fmt: skip
        return frame

    def studies(self) -> pd.DataFrame:
        """One row per table: the counts, its effect (and back-transformed), CI and weight."""
        z = stats.norm.isf((1 - self.level) / 2)
        se = np.sqrt(self.vi)
        frame = pd.DataFrame(
            {"events_1": self.events_1, "n_1": self.n_1, "events_2": self.events_2, "n_2": self.n_2,
             "yi": self.yi, "vi": self.vi, "ci_low": self.yi - z * se, "ci_high": self.yi + z * se,
             "weight": self.weights}
        )  # fmt: skip
        if self.log_scale:
            for c in ("yi", "ci_low", "ci_high"):
                frame[f"exp_{c}"] = np.exp(frame[c])
        return frame

    def forest_data(self, labels=None):
        """What :func:`analysis.plotting.forest_plot` draws: events and totals per arm, a log axis for ratios."""
        from ..plotting.layout import ForestData

        frame = self.studies()
        lab = [f"Study {i + 1}" for i in range(self.k)] if labels is None else list(labels)
        if len(lab) != self.k:
            raise ValueError(f"labels must have one entry per table ({self.k}); got {len(lab)}")
        studies = pd.DataFrame(
            {"label": lab, "yi": frame["yi"], "vi": frame["vi"], "ci_low": frame["ci_low"],
             "ci_high": frame["ci_high"], "events_e": self.events_1, "n_e": self.n_1,
             "events_c": self.events_2, "n_c": self.n_2}
        )  # fmt: skip
        return ForestData(self, studies, measure=self.label, model=self.model, log_scale=self.log_scale)

    def _title(self) -> str:
        pct = int(round(self.level * 100))
        if self.log_scale:
            shown = f"{self.exp_estimate:.4f} [{self.exp_ci_low:.4f}, {self.exp_ci_high:.4f}]"
        else:
            shown = f"{self.estimate:.4f} [{self.ci_low:.4f}, {self.ci_high:.4f}]"
        return f"{self.label} ({self.model}, k = {self.k}): {shown} ({pct}% CI)"

    def _summary_lines(self) -> list[str]:
        lines = [
            f"estimate = {self.estimate:.4f}{' (log scale)' if self.log_scale else ''}, se = {self.se:.4f}, "
            f"z = {self.statistic:.4f}, p = {self.pvalue:.4g}",
            f"Q({self.q_df}) = {self.q:.4f}, p = {self.q_pvalue:.4g}, I^2 = {100 * self.i2:.2f}%, "
            f"H^2 = {self.h2:.4f}, tau^2 = {self.tau2:.4f}",
        ]
        if np.isfinite(self.cmh):
            lines.append(f"Cochran-Mantel-Haenszel test: X^2(1) = {self.cmh:.4f}, p = {self.cmh_pvalue:.4g}")
        if np.isfinite(self.tarone):
            lines.append(f"Tarone's test for heterogeneity: X^2 = {self.tarone:.4f}, p = {self.tarone_pvalue:.4g}")
        return lines + [f"Note: {n}" for n in self.notes]


def _mh(t: _Tables, measure: str) -> tuple[float, float, np.ndarray]:
    """Mantel-Haenszel estimate (log scale for OR and RR), its SE and the MH weights."""
    a, b, c, d, n1, n2, n = t.a, t.b, t.c, t.d, t.n1, t.n2, t.n
    if measure == "OR":
        r_i, s_i = a * d / n, b * c / n
        p_i, q_i = (a + d) / n, (b + c) / n
        r, s = r_i.sum(), s_i.sum()
        if r == 0 or s == 0:
            return np.nan, np.nan, s_i
        var = 0.5 * ((p_i * r_i).sum() / r**2 + (p_i * s_i + q_i * r_i).sum() / (r * s) + (q_i * s_i).sum() / s**2)
        return float(np.log(r / s)), float(np.sqrt(var)), s_i
    if measure == "RR":
        r_i, s_i = a * n2 / n, c * n1 / n
        r, s = r_i.sum(), s_i.sum()
        if r == 0 or s == 0:
            return np.nan, np.nan, s_i
        var = ((n1 * n2 * (a + c) / n**2) - a * c / n).sum() / (r * s)
        return float(np.log(r / s)), float(np.sqrt(var)), s_i
    w = n1 * n2 / n
    est = float((a * n2 / n - c * n1 / n).sum() / w.sum())
    return est, _mh_rd_se(t, est), w


def _cmh_tarone(t: _Tables, log_or: float, correct: bool) -> tuple[float, float, float, float]:
    """Cochran-Mantel-Haenszel test and Tarone's test, as metafor ``rma.mh`` (OR)."""
    a, n1, n2, n = t.a, t.n1, t.n2, t.n
    xt, yt = t.a + t.c, t.b + t.d
    cmh = cmh_p = tarone = tarone_p = np.nan
    if xt.sum() > 0 and yt.sum() > 0:
        cmh = (abs((a - n1 / n * xt).sum()) - (0.5 if correct else 0)) ** 2 / (
            (n1 / n) * (n2 / n) * (xt * (yt / (n - 1)))
        ).sum()
        cmh_p = float(stats.chi2.sf(cmh, 1))
    if np.isfinite(log_or):
        psi = float(np.exp(log_or))
        with np.errstate(divide="ignore", invalid="ignore"):
            if psi == 1:
                n11 = n1 / n * xt
            else:
                big_a = psi * (n1 + xt) + (n2 - xt)
                n11 = (big_a - np.sqrt(big_a**2 - 4 * n1 * xt * psi * (psi - 1))) / (2 * (psi - 1))
        pos = (n11 > 0) & (xt > 0) & (yt > 0)
        n11 = n11[pos]
        n12, n21 = n1[pos] - n11, xt[pos] - n11
        n22 = n11 - n1[pos] - xt[pos] + n[pos]
        inv = 1 / (1 / n11 + 1 / n12 + 1 / n21 + 1 / n22)
        bd = max(0.0, float(((a[pos] - n11) ** 2 / inv).sum()))
        tarone = max(0.0, bd - float((a[pos] - n11).sum() ** 2 / inv.sum()))
        tarone_p = float(stats.chi2.sf(tarone, pos.sum() - 1)) if pos.sum() > 1 else np.nan
    return float(cmh), cmh_p, float(tarone), tarone_p


def binary_pool(
    events_1: ArrayLike,
    n_1: ArrayLike,
    events_2: ArrayLike,
    n_2: ArrayLike,
    *,
    measure: str = "OR",
    method: str = "MH",
    model: str = "fixed",
    tau2_method: str = "DL",
    convention: str = "metafor",
    add: float = 0.5,
    to: str = "only0",
    correct: bool = True,
    level: float = 0.95,
) -> BinaryPoolResult:
    """Pool 2×2 tables by Mantel-Haenszel, Peto or inverse variance.

    Parameters
    ----------
    events_1, n_1, events_2, n_2 : array_like
        Events and totals per arm (arm 1 experimental), one entry per study.
    measure : {"OR", "RR", "RD"}
        Odds ratio, risk ratio (both pooled on the log scale) or risk difference.
    method : {"MH", "Peto", "IV"}
        "MH": Mantel-Haenszel (Robins-Breslow-Greenland variance for OR,
        Greenland-Robins for RR and RD), as metafor ``rma.mh``; "Peto":
        Peto's one-step odds ratio, as ``rma.peto`` (``measure`` must be
        "OR"); "IV": inverse-variance pooling of the study effects through
        :func:`analysis.pool`.
    model : {"fixed", "random"}
        "random" adds between-study variance: for MH, RevMan 5's
        DerSimonian-Laird τ² from the MH-based Q (meta's ``Q.Cochrane``),
        then inverse-variance weights 1/(vᵢ + τ²); for IV, :func:`pool` with
        ``tau2_method``. Peto is fixed only (as in RevMan).
    tau2_method : str
        τ² estimator for ``method="IV", model="random"`` (default "DL", as RevMan).
    convention : {"metafor", "revman5"}
        Zero cells, as the module docstring says. Under "metafor" the MH and
        Peto estimates use the uncorrected counts (``rma.mh``'s ``to="none"``
        for the estimate) and the study effects ``add`` and ``to``; under
        "revman5" both use the corrected tables.
    add, to : continuity correction of the study effects (metafor convention).
    correct : continuity correction of the CMH test (metafor's ``correct``).
    level : confidence level.

    Returns
    -------
    BinaryPoolResult

    Notes
    -----
    Tables whose study effect is not estimable (under "metafor" the
    double-zero tables, dropped from Q as ``rma.mh``'s ``drop00=TRUE``) are
    kept in the MH and Peto estimates, where a double-zero table adds nothing
    to OR and RR. Checked against metafor 3.8-1 (tests/reference/binary_reference.R).

    Examples
    --------
    The aspirin trials of Fleiss (1993), as RevMan 5 stored them (OR 0.8969
    [0.8405, 0.9570], Chi² 9.946 on 6 df):

    >>> from analysis.datasets import fleiss1993
    >>> d = fleiss1993()
    >>> res = binary_pool(d.events_1, d.n_1, d.events_2, d.n_2, measure="OR", method="MH")
    >>> round(res.exp_estimate, 4), round(res.exp_ci_low, 4), round(res.exp_ci_high, 4), round(res.q, 3)
    (0.8969, 0.8405, 0.957, 9.946)
    """
    from .engine import normalise_method
    from .pooling import pool

    if measure not in BINARY_MEASURES:
        raise ValueError(f"measure must be one of {BINARY_MEASURES}; got {measure!r}")
    if method not in BINARY_METHODS:
        raise ValueError(f"method must be one of {BINARY_METHODS}; got {method!r}")
    if model not in ("fixed", "random"):
        raise ValueError(f"model must be 'fixed' or 'random'; got {model!r}")
    if method == "Peto" and (measure != "OR" or model != "fixed"):
        raise ValueError("Peto's method pools odds ratios under a fixed model only (measure='OR', model='fixed')")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    _options(to, convention)
    t = _tables(events_1, n_1, events_2, n_2)
    revman = convention == "revman5"
    kind = "PETO" if method == "Peto" else measure
    # metafor's rma.mh/rma.peto: study effects for Q with drop00=TRUE; RevMan: its own rule
    yi, vi = _effects(t, kind, add, to, None if revman else True, convention)
    ok = np.isfinite(yi) & (vi > 0)
    yi, vi = np.where(ok, yi, np.nan), np.where(ok, vi, np.nan)
    k_yi = int(ok.sum())
    if k_yi == 0 and method == "IV":
        raise ValueError("no table has an estimable effect (every table is a double zero or has no variance)")
    notes = []
    if k_yi < t.a.size:
        notes.append(f"{t.a.size - k_yi} table(s) not estimable (no events, or only events, in both arms)")
    z = stats.norm.isf((1 - level) / 2)
    cmh = cmh_p = tarone = tarone_p = np.nan
    tau2 = 0.0
    if method == "IV":
        res = pool(yi[ok], vi[ok], method="EE" if model == "fixed" else normalise_method(tau2_method), test="z",
                   level=level, i2="q")  # fmt: skip
        est, se, tau2 = res.estimate, res.se, res.tau2
        weights = np.full(t.a.size, np.nan)
        weights[ok] = res.weights
        q = res.q
        tau_method = res.method
    else:
        counts = t.corrected(0.5, "only0") if revman and method == "MH" else t
        if revman and kind != "RD":
            counts = counts.subset(~t.double_zero)
        if method == "MH":
            est, se, w = _mh(counts, measure)
            if revman and measure == "RD":  # RevMan: RD from raw counts, its variance from corrected ones
                est, _, w = _mh(t, measure)
                se = _mh_rd_se(t.corrected(0.5, "only0"), est)
            if measure == "OR":
                cmh, cmh_p, tarone, tarone_p = _cmh_tarone(counts, est, correct)
            q = max(0.0, float((((yi - est) ** 2) / vi)[ok].sum())) if k_yi > 1 else 0.0
        else:
            o_e, w = _peto_terms(counts)
            est, se, q = peto_from_o_e(o_e, w)
        weights = np.full(t.a.size, np.nan)
        keep = ~t.double_zero if (revman and kind != "RD") else np.ones(t.a.size, bool)
        weights[keep] = 100 * w / w.sum() if w.sum() > 0 else np.nan
        tau_method = "EE"
        if model == "random" and k_yi > 1:
            wi = 1 / vi[ok]
            tau2 = max(0.0, (q - (k_yi - 1)) / (wi.sum() - (wi**2).sum() / wi.sum()))
            res = pool(yi[ok], vi[ok], method="DL", tau2=tau2, test="z", level=level)
            est, se = res.estimate, res.se
            weights = np.full(t.a.size, np.nan)
            weights[ok] = res.weights
            tau_method = "DL"
    q_df = max(k_yi - 1, 0)
    q_p = float(stats.chi2.sf(q, q_df)) if q_df > 0 else np.nan
    i2 = max(0.0, (q - q_df) / q) if q_df > 0 and q > 0 else (0.0 if q_df > 0 else np.nan)
    h2 = q / q_df if q_df > 0 else np.nan
    stat = est / se if se > 0 else np.nan  # no variance (every table a double zero, say): no test, as metafor
    return BinaryPoolResult(
        measure=measure, pooling=method, method=tau_method, k=int(t.a.size), k_estimable=k_yi,
        estimate=float(est), se=float(se), ci_low=float(est - z * se), ci_high=float(est + z * se),
        statistic=float(stat), pvalue=float(2 * stats.norm.sf(abs(stat))), q=float(q), q_df=q_df, q_pvalue=q_p,
        i2=float(i2), h2=float(h2), tau2=float(tau2), cmh=float(cmh), cmh_pvalue=float(cmh_p), tarone=float(tarone),
        tarone_pvalue=float(tarone_p), level=level, convention=convention, yi=yi, vi=vi, weights=weights,
        events_1=t.a.copy(), n_1=t.n1.copy(), events_2=t.c.copy(), n_2=t.n2.copy(), notes=tuple(notes),
    )  # fmt: skip


def _mh_rd_se(t: _Tables, est: float) -> float:
    """Greenland-Robins SE of the MH risk difference ``est`` from the tables ``t``."""
    a, c, n1, n2, n = t.a, t.c, t.n1, t.n2, t.n
    w = n1 * n2 / n
    var = (
        est * (c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2).sum()
        + (a * (n2 - c) / n + c * (n1 - a) / n).sum() / 2
    ) / w.sum() ** 2
    return float(np.sqrt(var))


def mantel_haenszel(events_1, n_1, events_2, n_2, *, measure="OR", **options) -> BinaryPoolResult:
    """Mantel-Haenszel pooling of 2×2 tables: :func:`binary_pool` with ``method="MH"``
    (metafor ``rma.mh``; ``model="random"`` as RevMan 5's "M-H, Random")."""
    return binary_pool(events_1, n_1, events_2, n_2, measure=measure, method="MH", **options)


def peto(events_1, n_1, events_2, n_2, **options) -> BinaryPoolResult:
    """Peto's one-step odds ratio: :func:`binary_pool` with ``method="Peto"`` (metafor ``rma.peto``)."""
    return binary_pool(events_1, n_1, events_2, n_2, measure="OR", method="Peto", **options)
