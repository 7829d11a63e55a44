"""Priors on the between-study standard deviation tau for :func:`analysis.bayesian_pool`.

The families bayesmeta offers (half-normal, half-Cauchy, half-Student-t, uniform, Jeffreys), and the
published predictive distributions of tau² (Turner et al. 2015 for log odds ratios, Rhodes et al. 2015
for standardised mean differences), whose parameters are in ``heterogeneity_priors.csv`` as tabulated
in bayesmeta 3.4 (written by tests/reference/heterogeneity_priors.R, which pins their densities).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

__all__ = ["TauPrior", "rhodes_prior", "tau_prior", "turner_prior"]


@dataclass(frozen=True)
class TauPrior:
    """A prior on τ ≥ 0: its log density (vectorised), whether it is proper, and a label."""

    label: str
    logpdf: object = field(repr=False)
    proper: bool = True
    upper: float = np.inf  # end of the support (a finite one is integrated on [0, upper] directly)

    def pdf(self, tau: ArrayLike) -> np.ndarray:
        return np.exp(self.logpdf(np.asarray(tau, float)))


def tau_prior(name: str, *, scale: float = 0.5, df: float = 3.0, upper: float = np.inf,
              mean: float | None = None, sd: float | None = None, sigma: ArrayLike | None = None) -> TauPrior:  # fmt: skip
    """A named prior on τ, as bayesmeta parametrises it.

    - ``"half_normal"`` (``scale``): density 2 φ(τ/s)/s (bayesmeta ``dhalfnormal``);
    - ``"half_cauchy"`` (``scale``); ``"half_t"`` (``df``, ``scale``);
    - ``"uniform"`` on [0, ``upper``] (improper when ``upper`` is infinite);
    - ``"jeffreys"``: √Σ(τ/(σᵢ² + τ²))² (needs the studies' ``sigma``; improper);
    - ``"lognormal_tau2"``: log τ² ~ N(``mean``, ``sd``²), the form of the predictive
      distributions of Turner et al. 2015 (Stat Med 34:984) and Rhodes et al. 2015
      (J Clin Epidemiol 68:52), whose parameters are given on the log-τ² scale.
    """
    name = name.lower()
    if name in ("half_normal", "halfnormal"):
        _positive(scale, "scale")
        return TauPrior(
            f"half-normal(scale={scale:g})", lambda t: _on_half(t, _normal_logpdf(t, 0.0, scale) + np.log(2.0))
        )
    if name in ("half_cauchy", "halfcauchy"):
        _positive(scale, "scale")
        return TauPrior(
            f"half-Cauchy(scale={scale:g})", lambda t: _on_half(t, _t_logpdf(t, 1.0, 0.0, scale) + np.log(2.0))
        )
    if name in ("half_t", "half_student_t"):
        _positive(scale, "scale")
        _positive(df, "df")
        return TauPrior(
            f"half-Student-t(df={df:g}, scale={scale:g})",
            lambda t: _on_half(t, np.log(2.0) + _t_logpdf(t, df, 0.0, scale)),
        )
    if name == "uniform":
        if np.isinf(upper):
            return TauPrior("uniform(0, Inf)", lambda t: np.where(np.asarray(t) >= 0, 0.0, -np.inf), proper=False)
        _positive(upper, "upper")
        return TauPrior(
            f"uniform(0, {upper:g})",
            lambda t: np.where((np.asarray(t) >= 0) & (np.asarray(t) <= upper), -np.log(upper), -np.inf),
            upper=upper,
        )
    if name == "jeffreys":
        if sigma is None:
            raise ValueError("the Jeffreys prior needs the studies' standard errors (sigma)")
        s2 = np.asarray(sigma, float) ** 2

        def logpdf(t):
            t = np.asarray(t, float)
            terms = (t[..., None] / (s2 + t[..., None] ** 2)) ** 2
            with np.errstate(divide="ignore"):
                return np.where(t >= 0, 0.5 * np.log(terms.sum(axis=-1)), -np.inf)

        return TauPrior("Jeffreys", logpdf, proper=False)
    if name in ("lognormal_tau2", "log_normal_tau2"):
        if mean is None or sd is None:
            raise ValueError("a log-normal prior on tau² needs mean and sd (of log tau²)")
        _positive(sd, "sd")

        def logpdf(t):
            t = np.asarray(t, float)
            with np.errstate(divide="ignore", invalid="ignore"):
                lt2 = np.log(t * t)
                out = np.log(2.0) - np.log(t) + _normal_logpdf(lt2, mean, sd)
            return np.where(t > 0, out, -np.inf)

        return TauPrior(f"log-normal on tau² (log tau² ~ N({mean:g}, {sd:g}²))", logpdf)
    if name in ("log_t_tau2", "log_student_t_tau2"):
        if mean is None or sd is None:
            raise ValueError("a log-t prior on tau² needs mean (location) and sd (scale) of log tau²")
        _positive(sd, "sd")
        _positive(df, "df")

        def logpdf(t):
            t = np.asarray(t, float)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.log(2.0) - np.log(t) + _t_logpdf(np.log(t * t), df, mean, sd)
            return np.where(t > 0, out, -np.inf)

        return TauPrior(f"log-Student-t({df:g} df) on tau² (location {mean:g}, scale {sd:g})", logpdf)
    raise ValueError(
        f"unknown tau prior {name!r}; use half_normal, half_cauchy, half_t, uniform, jeffreys, lognormal_tau2 or log_t_tau2"
    )


def _published_priors() -> pd.DataFrame:
    from pathlib import Path

    return pd.read_csv(Path(__file__).with_name("heterogeneity_priors.csv"), keep_default_na=False)


def turner_prior(outcome: str | None = None, comparison: str | None = None) -> TauPrior:
    """Turner et al. 2015's predictive distribution of tau² for log odds ratios (Stat Med 34:984, Table IV):
    log tau² ~ N(location, scale²) by ``outcome`` and ``comparison`` (the table's wording, e.g. "pain" and
    "non-pharmacological vs. placebo / control"; see ``heterogeneity_priors.csv``); without arguments the
    marginal setting (location -2.56, scale 1.74). Values as tabulated in bayesmeta 3.4 (TurnerEtAlPrior)."""
    if outcome is None and comparison is None:
        return tau_prior("lognormal_tau2", mean=-2.56, sd=1.74)
    row = _pick(_published_priors(), "lognormal", outcome, comparison, "")
    prior = tau_prior("lognormal_tau2", mean=row["location"], sd=row["scale"])
    return TauPrior(f"Turner 2015 ({outcome}; {comparison}): {prior.label}", prior.logpdf)


def rhodes_prior(outcome: str | None = None, comparison: str | None = None, area: str = "other") -> TauPrior:
    """Rhodes et al. 2015's predictive distribution of tau² for standardised mean differences (J Clin
    Epidemiol 68:52, Tables 3, A.3.1, A.3.2): log tau² ~ t with 5 df (location, scale) by ``outcome``,
    ``comparison`` and medical ``area`` ("other", "respiratory", "cancer"); without arguments the marginal
    setting (location -3.44, scale 2.59). Values as tabulated in bayesmeta 3.4 (RhodesEtAlPrior)."""
    if outcome is None and comparison is None:
        return tau_prior("log_t_tau2", mean=-3.44, sd=2.59, df=5)
    row = _pick(_published_priors(), "log_t5", outcome, comparison, area)
    prior = tau_prior("log_t_tau2", mean=row["location"], sd=row["scale"], df=5)
    return TauPrior(f"Rhodes 2015 ({outcome}; {comparison}; {area}): {prior.label}", prior.logpdf)


def _pick(table: pd.DataFrame, family: str, outcome, comparison, area) -> pd.Series:
    rows = table[(table["family"] == family) & (table["outcome"] == outcome) & (table["comparison"] == comparison)
                 & (table["area"] == area)]  # fmt: skip
    if len(rows) != 1:
        options = table[table["family"] == family]
        raise ValueError(
            f"no {family} prior for outcome {outcome!r}, comparison {comparison!r}, area {area!r}; outcomes: "
            f"{sorted(set(options['outcome']))}; comparisons: {sorted(set(options['comparison']))}"
        )
    return rows.iloc[0]


def _normal_logpdf(x, loc: float, scale: float):
    """log N(x; loc, scale²), written out (scipy.stats' per-call overhead dominates a quadrature)."""
    z = (np.asarray(x, float) - loc) / scale
    return -0.5 * z * z - np.log(scale) - 0.5 * np.log(2 * np.pi)


def _t_logpdf(x, df: float, loc: float, scale: float):
    """log of Student's t density with ``df`` degrees of freedom, location and scale, written out."""
    z = (np.asarray(x, float) - loc) / scale
    const = special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * np.log(df * np.pi) - np.log(scale)
    return const - (df + 1) / 2 * np.log1p(z * z / df)


def _on_half(t, logpdf):
    return np.where(np.asarray(t) >= 0, logpdf, -np.inf)


def _positive(x: float, name: str) -> None:
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be finite and > 0; got {x}")
