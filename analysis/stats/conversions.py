"""Conversions of what trials print into what pooling needs: means and SDs from medians and
ranges, SDs from SEs and CIs, SEs of differences from CIs, t and p, and the pre-post correlation.

Each function is vectorised (scalars, arrays or Series in, numpy arrays out),
names its method after metafor 5's ``conv.*`` functions where metafor has one,
and says where its formula comes from. Values were checked against metafor
5.1-12 (``conv.fivenum``, ``conv.wald``) and against R's ``qt``/``qnorm`` for
the Cochrane Handbook formulas: ``tests/reference/conversions_reference.R``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import integrate, stats

from .results import Result

__all__ = [
    "FIVENUM_METHODS",
    "MeanSD",
    "mean_sd_from_fivenum",
    "r_from_sds",
    "sd_from_ci",
    "sd_from_se",
    "se_from_ci",
    "se_from_p",
    "se_from_t",
]

#: Scenarios of :func:`mean_sd_from_fivenum`, by the numbers given besides the median and n.
SCENARIOS = ("min/median/max", "quartiles", "five numbers")

#: Method names (as metafor 5's ``conv.fivenum``) and the scenarios in which each estimates
#: the mean and the SD. "luo/wan/shi" is the default: Luo et al. 2016 for the mean, Wan et
#: al. 2014 (min/max or quartiles) and Shi et al. 2020 (all five) for the SD.
FIVENUM_METHODS: dict[str, dict[str, tuple[str, ...]]] = {
    "luo/wan/shi": {"mean": SCENARIOS, "sd": SCENARIOS},
    "luo2016": {"mean": SCENARIOS, "sd": ()},
    "shi2020": {"mean": (), "sd": ("five numbers",)},
    "wan2014": {"mean": SCENARIOS, "sd": SCENARIOS},
    "hozo2005": {"mean": ("min/median/max",), "sd": ("min/median/max",)},
    "bland2015": {"mean": ("five numbers",), "sd": ("five numbers",)},
    "walter2007": {"mean": ("min/median/max",), "sd": ("min/median/max",)},
}

_CITE = {
    "luo2016": "Luo et al. 2016",
    "wan2014": "Wan et al. 2014",
    "shi2020": "Shi et al. 2020",
    "hozo2005": "Hozo et al. 2005",
    "bland2015": "Bland 2015",
    "walter2007": "Walter & Yao 2007",
}


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    out = [np.asarray(v, dtype=float) for v in values]
    shape = np.broadcast_shapes(*(a.shape for a in out))  # raises on mismatched lengths
    return [np.broadcast_to(a, shape).astype(float) for a in out]


def _level_quantile(level: float, dist: str, df: ArrayLike | None) -> np.ndarray:
    """The (1 + level)/2 quantile of the standard normal (``dist="z"``) or of t with ``df``."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95; got {level}")
    if dist == "z":
        return np.asarray(stats.norm.ppf((1 + level) / 2))
    if dist == "t":
        if df is None:
            raise ValueError("dist='t' needs the degrees of freedom")
        return stats.t.ppf((1 + level) / 2, _positive("df", np.asarray(df, float)))
    raise ValueError(f"dist must be 't' or 'z'; got {dist!r}")


def _positive(name: str, a: np.ndarray) -> np.ndarray:
    if np.any(~np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be finite and > 0")
    return a


@dataclass(frozen=True, repr=False)
class MeanSD(Result):
    """Means and SDs estimated from medians with ranges or quartiles (:func:`mean_sd_from_fivenum`).

    ``mean`` and ``sd`` are NaN where a row is not estimated, and ``reason`` says why
    (n < 5, a significant skewness test, or no formula of the method for the row's
    scenario). ``skew_statistic`` and ``skew_critical`` are the test of Shi et al. 2023
    as metafor 5 computes it.
    """

    mean: np.ndarray
    sd: np.ndarray
    n: np.ndarray
    scenario: np.ndarray
    method: tuple[str, str]
    skew_statistic: np.ndarray
    skew_critical: np.ndarray
    skewed: np.ndarray
    reason: np.ndarray

    @property
    def derivation(self) -> np.ndarray:
        """Per row, how the numbers were derived, in words (for reports and effect tables)."""
        m, s = (_CITE.get(x, x) for x in self.method)
        if self.method[0] == "luo/wan/shi":
            m = _CITE["luo2016"]
        out = []
        for scen, n in zip(self.scenario.ravel(), self.n.ravel()):
            sd = s
            if self.method[1] == "luo/wan/shi":
                sd = _CITE["shi2020"] if scen == "five numbers" else _CITE["wan2014"]
            out.append(f"derived: mean ({m}) and SD ({sd}) from {scen} (n = {n:g})")
        return np.array(out, dtype=object).reshape(self.scenario.shape)

    def to_frame(self) -> pd.DataFrame:
        cols = {
            "mean": self.mean,
            "sd": self.sd,
            "n": self.n,
            "scenario": self.scenario,
            "skew_statistic": self.skew_statistic,
            "skew_critical": self.skew_critical,
            "skewed": self.skewed,
            "reason": self.reason,
            "derivation": self.derivation,
        }
        return pd.DataFrame({k: np.ravel(v) for k, v in cols.items()})

    def _title(self) -> str:
        done = int(np.isfinite(self.mean).sum())
        return (
            f"Mean and SD from medians (method {self.method[0]}/{self.method[1]}; {done} of {self.mean.size} estimated)"
        )


@lru_cache(maxsize=256)
def _expected_range(n: float) -> float:
    """E(max - min) of n standard normal draws, ∫ 1 - (1 - Φ(x))^n - Φ(x)^n dx (Walter & Yao 2007)."""
    f = lambda x: 1 - stats.norm.sf(x) ** n - stats.norm.cdf(x) ** n  # noqa: E731
    return 2 * integrate.quad(f, 0, np.inf, epsabs=1e-13, epsrel=1e-13)[0]  # symmetric about 0


def mean_sd_from_fivenum(
    n: ArrayLike,
    *,
    median: ArrayLike,
    q1: ArrayLike | None = None,
    q3: ArrayLike | None = None,
    minimum: ArrayLike | None = None,
    maximum: ArrayLike | None = None,
    method: str | tuple[str, str] = "luo/wan/shi",
    test: bool = True,
) -> MeanSD:
    """Mean and SD of a sample from its median and range, quartiles, or both (normal data).

    Three scenarios, per row by which numbers are given (NaN = not given):
    min/median/max, quartiles (q1/median/q3), or all five.

    Parameters
    ----------
    n : sample size per row.
    median, q1, q3, minimum, maximum : the reported numbers.
    method : one name for both, or (mean method, SD method), as metafor 5's
        ``conv.fivenum`` names them (see :data:`FIVENUM_METHODS`):
        ``"luo/wan/shi"`` (default; Luo et al. 2016 means, Wan et al. 2014 and
        Shi et al. 2020 SDs), ``"luo2016"`` (means), ``"shi2020"`` (SDs from all
        five), ``"wan2014"``, ``"hozo2005"``, ``"bland2015"``, ``"walter2007"``.
    test : if True (metafor's default), rows whose numbers show significant
        skewness (Shi et al. 2023) are not estimated: the formulas assume
        normal data.

    Returns
    -------
    MeanSD
        ``mean``, ``sd`` (NaN where not estimated, with ``reason``), the
        skewness test and ``derivation`` strings.

    Raises
    ------
    ValueError
        An unknown method, numbers out of order (min <= q1 <= median <= q3 <=
        max must hold), a row without a scenario, or a method with no formula
        for any row's scenario.

    References
    ----------
    Hozo, Djulbegovic & Hozo 2005, BMC Med Res Methodol 5:13. Walter & Yao
    2007, J Clin Epidemiol 60:849. Wan et al. 2014, BMC Med Res Methodol 14:135.
    Bland 2015, Int J Stat Med Res 4:57. Luo et al. 2016, Stat Methods Med Res
    27:1785. Shi et al. 2020, Res Synth Methods 11:641; 2023, Stat Methods Med
    Res 32:1338. Checked against metafor 5.1-12 ``conv.fivenum`` in every
    method and scenario it defines (tests/reference/conversions_reference.R).

    Examples
    --------
    >>> r = mean_sd_from_fivenum(40, median=12.0, q1=9.0, q3=16.0)
    >>> round(float(r.mean), 4), round(float(r.sd), 4)
    (12.3549, 5.3825)
    """
    means_m, sd_m = (method, method) if isinstance(method, str) else tuple(method)
    for name, kind in ((means_m, "mean"), (sd_m, "sd")):
        if name not in FIVENUM_METHODS or not FIVENUM_METHODS[name][kind]:
            usable = [k for k, v in FIVENUM_METHODS.items() if v[kind]]
            raise ValueError(f"no {kind} method {name!r}; use one of {usable}")
    nan = np.nan
    n, med, a, b, lo, hi = _arrays(n, median, *(nan if x is None else x for x in (q1, q3, minimum, maximum)))
    given = [~np.isnan(x) for x in (lo, a, b, hi)]
    g_lo, g_q1, g_q3, g_hi = given
    scenario = np.full(n.shape, "", dtype=object)
    scenario[g_lo & g_hi & ~g_q1 & ~g_q3] = SCENARIOS[0]
    scenario[~g_lo & ~g_hi & g_q1 & g_q3] = SCENARIOS[1]
    scenario[g_lo & g_hi & g_q1 & g_q3] = SCENARIOS[2]
    if np.any(np.isnan(med)) or np.any(scenario == ""):
        raise ValueError("each row needs n, the median and either min and max, q1 and q3, or all five")
    seq = (lo, a, med, b, hi)
    if any(np.any(seq[i] > seq[j]) for i in range(5) for j in range(i + 1, 5)):  # NaN compares False
        raise ValueError("the numbers must satisfy min <= q1 <= median <= q3 <= max")
    for name, kind in ((means_m, "mean"), (sd_m, "sd")):
        missing = sorted(set(scenario.ravel()) - set(FIVENUM_METHODS[name][kind]))
        if missing:
            raise ValueError(f"method {name!r} has no {kind} formula for {', '.join(missing)}")
    s1, s2, s3 = (scenario == s for s in SCENARIOS)
    small = ~(n >= 5)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Skewness test (Shi et al. 2023), as conv.fivenum.
        t1 = np.abs((lo + hi - 2 * med) / (hi - lo))
        t2 = np.abs((a + b - 2 * med) / (b - a))
        stat = np.select([s1, s2], [t1, t2], np.maximum(2.65 * np.log(0.6 * n) / np.sqrt(n) * t1, t2))
        crit = np.select(
            [s1, s2],
            [1 / np.log(n + 9) + 2.5 / (n + 1), 2.65 / np.sqrt(n) - 6 / n**2],
            3 / np.sqrt(n) - 40 / n**3,
        )
        skewed = ~small & (stat >= crit)
        xi = 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))
        eta = 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
        mean = _fivenum_mean(means_m, n, med, a, b, lo, hi, s1, s2)
        sd = _fivenum_sd(sd_m, n, med, a, b, lo, hi, s1, s2, xi, eta)
    reason = np.full(n.shape, "", dtype=object)
    reason[skewed & test] = "skewed (Shi et al. 2023 test): the normal-data formulas do not apply"
    reason[small] = "n < 5"
    drop = small | (skewed & test)
    mean, sd = np.where(drop, np.nan, mean), np.where(drop, np.nan, sd)
    return MeanSD(mean, sd, n, scenario, (means_m, sd_m), stat, crit, skewed, reason)


def _fivenum_mean(method, n, med, q1, q3, lo, hi, s1, s2):
    if method in ("luo/wan/shi", "luo2016"):
        w = 4 / (4 + n**0.75)
        w1, w2 = 2.2 / (2.2 + n**0.75), 0.7 - 0.72 / n**0.55
        wq = 0.7 + 0.39 / n
        five = w1 * (lo + hi) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * med
        return np.select([s1, s2], [w * (lo + hi) / 2 + (1 - w) * med, wq * (q1 + q3) / 2 + (1 - wq) * med], five)
    if method in ("wan2014", "bland2015"):
        five = (lo + 2 * q1 + 2 * med + 2 * q3 + hi) / 8
        return np.select([s1, s2], [(lo + 2 * med + hi) / 4, (q1 + med + q3) / 3], five)
    if method == "hozo2005":
        return np.where(n <= 25, (lo + 2 * med + hi) / 4, med)
    return med  # walter2007


def _fivenum_sd(method, n, med, q1, q3, lo, hi, s1, s2, xi, eta):
    if method in ("luo/wan/shi", "wan2014", "shi2020"):
        by_range, by_iqr = (hi - lo) / xi, (q3 - q1) / eta
        if method == "wan2014":
            five = 0.5 * (by_range + by_iqr)
        else:
            w = 1 / (1 + 0.07 * n**0.6)
            five = w * by_range + (1 - w) * by_iqr
        return np.select([s1, s2], [by_range, by_iqr], five)
    if method == "hozo2005":
        small = np.sqrt(((lo - 2 * med + hi) ** 2 / 4 + (hi - lo) ** 2) / 12)
        return np.select([n <= 15, n <= 70], [small, (hi - lo) / 4], (hi - lo) / 6)
    if method == "bland2015":
        return np.sqrt(
            (lo**2 + 2 * q1**2 + 2 * med**2 + 2 * q3**2 + hi**2) / 16
            + (lo * q1 + q1 * med + med * q3 + q3 * hi) / 8
            - (lo + 2 * q1 + 2 * med + 2 * q3 + hi) ** 2 / 64
        )
    ranges = np.vectorize(lambda m: _expected_range(float(m)) if m >= 2 else np.nan, otypes=[float])(n)
    return (hi - lo) / ranges  # walter2007


def sd_from_se(se: ArrayLike, n: ArrayLike) -> np.ndarray:
    """SD of a group from the SE of its mean: SD = SE √n (Cochrane Handbook 6.5.2.2).

    >>> float(sd_from_se(1.5, 25))
    7.5
    """
    s, nn = _arrays(se, n)
    return _positive("se", s) * np.sqrt(_positive("n", nn))


def sd_from_ci(lower: ArrayLike, upper: ArrayLike, n: ArrayLike, *, level: float = 0.95, dist: str = "t") -> np.ndarray:
    """SD of a group from the CI of its mean: SD = √n (upper - lower) / (2 q).

    ``dist="t"`` (default): q is the t quantile with n - 1 degrees of freedom,
    as the Cochrane Handbook 6.5.2.2 asks for small samples (2 x 2.064 = 4.128
    replaces 3.92 for n = 25); ``dist="z"``: the normal quantile (3.92 for a 95%
    CI), for large samples. Checked against R's ``qt``/``qnorm``.

    >>> round(float(sd_from_ci(10.0, 14.128, 25)), 4)
    5.0002
    """
    lo, hi, nn = _arrays(lower, upper, n)
    _positive("upper - lower", hi - lo)
    _positive("n - 1", nn - 1)
    q = _level_quantile(level, dist, nn - 1 if dist == "t" else None)
    return np.sqrt(nn) * (hi - lo) / (2 * q)


def se_from_ci(
    lower: ArrayLike, upper: ArrayLike, *, level: float = 0.95, dist: str = "z", df: ArrayLike | None = None
) -> np.ndarray:
    """SE of an estimate (e.g. a between-group difference) from its CI: (upper - lower) / (2 q).

    q is the normal quantile (``dist="z"``, as metafor's ``conv.wald``) or the t
    quantile with ``df`` (for a difference in means from a t-based interval, df =
    n1 + n2 - 2; Cochrane Handbook 6.5.2.3). For ratio measures pass the logs of
    the bounds.
    """
    lo, hi = _arrays(lower, upper)
    _positive("upper - lower", hi - lo)
    return (hi - lo) / (2 * _level_quantile(level, dist, df))


def se_from_t(estimate: ArrayLike, t: ArrayLike) -> np.ndarray:
    """SE of an estimate from its t (or z) statistic: |estimate / t| (Cochrane Handbook 6.5.2.3)."""
    est, tt = _arrays(estimate, t)
    if np.any(tt == 0) or np.any(~np.isfinite(tt)):
        raise ValueError("t must be finite and non-zero")
    return np.abs(est / tt)


def se_from_p(estimate: ArrayLike, p: ArrayLike, *, dist: str = "z", df: ArrayLike | None = None) -> np.ndarray:
    """SE of an estimate from its exact two-sided p-value: |estimate| / q_{1 - p/2}.

    q is the normal quantile (``dist="z"``, as metafor's ``conv.wald``) or the t
    quantile with ``df`` (Cochrane Handbook 6.5.2.3). A p-value reported as an
    inequality ("P < 0.05") gives no SE.
    """
    est, pp = _arrays(estimate, p)
    if np.any(~((pp > 0) & (pp < 1))):
        raise ValueError("p must be an exact two-sided p-value in (0, 1)")
    if dist == "z":
        q = stats.norm.isf(pp / 2)
    elif dist == "t":
        if df is None:
            raise ValueError("dist='t' needs the degrees of freedom")
        q = stats.t.isf(pp / 2, _positive("df", np.asarray(df, float)))
    else:
        raise ValueError(f"dist must be 't' or 'z'; got {dist!r}")
    return np.abs(est) / q


def r_from_sds(sd_pre: ArrayLike, sd_post: ArrayLike, sd_change: ArrayLike) -> np.ndarray:
    """Correlation between baseline and follow-up from a trial that reports all three SDs:
    r = (sd_pre² + sd_post² - sd_change²) / (2 sd_pre sd_post) (Cochrane Handbook 6.5.2.8).

    Raises ValueError when the three SDs are inconsistent (|r| > 1).

    >>> round(float(r_from_sds(10.0, 12.0, 8.0)), 4)
    0.75
    """
    s1, s2, sc = _arrays(sd_pre, sd_post, sd_change)
    for name, x in (("sd_pre", s1), ("sd_post", s2), ("sd_change", sc)):
        _positive(name, x)
    r = (s1**2 + s2**2 - sc**2) / (2 * s1 * s2)
    if np.any(np.abs(r) > 1):
        raise ValueError("the SDs are inconsistent: the implied correlation is outside [-1, 1]")
    return r
