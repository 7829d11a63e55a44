"""Few trials: the exact Bayesian random-effects result beside REML and REML with Hartung-Knapp.

With k ≤ ``spec.bayes_max_k`` comparisons τ² is barely estimable: REML often
lands on 0 and Wald intervals are too narrow. For such analyses every pooled
row (each subgroup and the overall) is also computed with Hartung-Knapp and by
:func:`analysis.bayesian_pool` under the spec's prior on τ and a second prior
for sensitivity (:func:`priors`), all stated in the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.bayes import BayesResult, bayesian_pool
from ..stats.pooling import pool
from ..stats.priors import TauPrior, rhodes_prior, tau_prior, turner_prior
from .specs import PROGRAM_LABELS, AnalysisSpec

__all__ = ["BAYES_COLUMNS", "bayes_fits", "bayes_table", "priors"]

BAYES_COLUMNS = ["analysis", "group", "k", "model", "prior", "estimate", "ci_low", "ci_high", "tau", "tau_ci_high"]

#: Rhodes et al. 2015's setting for exercise trials' pain and function (SMD).
RHODES_SETTING = (
    "general physical health and adverse event and pain and quality of life / functioning",
    "non-pharmacological (any)",
    "other",
)


def _scale(spec: AnalysisSpec, effects: pd.DataFrame) -> float:
    """1/10 of the range of the scale the MDs are on (the common scale, else the instrument's)."""
    if spec.common_scale is not None:
        return (spec.common_scale[1] - spec.common_scale[0]) / 10
    return 10.0 if spec.instruments == ("AKPS",) else float(np.nanmax(np.abs(effects["yi"]))) or 1.0


#: Turner et al. 2015's outcome type for a responder outcome defined by pain or function change.
TURNER_OUTCOME = "subjective outcomes (various)"


def priors(spec: AnalysisSpec, effects: pd.DataFrame) -> list[tuple[str, TauPrior]]:
    """(role, prior) for the spec's primary prior on tau and the sensitivity prior.

    "auto": SMD, Rhodes et al. 2015; OR, Turner et al. 2015 (subjective outcomes; non-pharmacological
    versus control, or versus non-pharmacological); RR and RD, half-normal with scale 0.5 on the log
    risk ratio and 0.1 on the risk difference (no published predictive distribution); MD, half-normal
    with 1/10 of the scale's range."""
    out = []
    binary_scale = {"OR": 0.5, "RR": 0.5, "RD": 0.1}
    for role, name in (("primary", spec.tau_prior), ("sensitivity", spec.tau_prior_sensitivity)):
        if spec.measure == "SMD":
            prior = rhodes_prior(*RHODES_SETTING) if name in ("auto", "rhodes") else tau_prior(name, scale=0.5)
        elif spec.measure == "OR" and name in ("auto", "turner"):
            versus = "placebo / control" if spec.comparator == "control" else "non-pharmacological"
            prior = turner_prior(TURNER_OUTCOME, f"non-pharmacological vs. {versus}")
        elif spec.measure in binary_scale:
            prior = tau_prior("half_normal" if name == "auto" else name, scale=binary_scale[spec.measure])
        else:
            scale = _scale(spec, effects)
            prior = tau_prior("half_normal" if name == "auto" else name, scale=scale)
        out.append((role, prior))
    return out


def _groups(spec: AnalysisSpec, effects: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    groups = [("overall", effects)]
    if spec.subgroup == "program" and effects["experimental_program"].nunique() > 1:
        groups += [(PROGRAM_LABELS[g], e) for g, e in effects.groupby("experimental_program", sort=False)]
    return groups


def bayes_fits(spec: AnalysisSpec, effects: pd.DataFrame) -> dict[tuple[str, str], BayesResult]:
    """(group, "primary" | "sensitivity") -> the Bayesian fit, for analyses with 1 to ``spec.bayes_max_k``
    comparisons (empty otherwise)."""
    if len(effects) == 0 or len(effects) > spec.bayes_max_k:
        return {}
    the_priors = priors(spec, effects)
    return {
        (group, role): bayesian_pool(
            e["yi"].to_numpy(float), e["vi"].to_numpy(float), tau_prior=prior, level=spec.level
        )
        for group, e in _groups(spec, effects)
        for role, prior in the_priors
    }


def bayes_table(spec: AnalysisSpec, effects: pd.DataFrame, fits: dict | None = None) -> pd.DataFrame:
    """REML, REML + Hartung-Knapp and the Bayesian results (both priors) for every pooled row of an
    analysis with 1 to ``spec.bayes_max_k`` comparisons; empty otherwise. ``fits``: :func:`bayes_fits`,
    if already computed."""
    fits = bayes_fits(spec, effects) if fits is None else fits
    if not fits:
        return pd.DataFrame(columns=BAYES_COLUMNS)
    rows = []
    for group, e in _groups(spec, effects):
        y, v = e["yi"].to_numpy(float), e["vi"].to_numpy(float)
        base = dict(analysis=spec.name, group=group, k=len(y))
        for test, model in (("z", spec.method), ("knha", f"{spec.method} + Hartung-Knapp")):
            if test == "knha" and len(y) < 2:
                continue
            r = pool(y, v, method=spec.method, test=test, level=spec.level)
            rows.append({**base, "model": model, "prior": "", "estimate": r.estimate, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "tau": np.sqrt(r.tau2), "tau_ci_high": np.nan})  # fmt: skip
        for role in ("primary", "sensitivity"):
            b = fits[(group, role)]
            post = b.posterior
            rows.append({**base, "model": f"Bayesian ({role} prior)", "prior": b.prior,
                         "estimate": post.loc["median", "mu"], "ci_low": post.loc["ci_low", "mu"],
                         "ci_high": post.loc["ci_high", "mu"], "tau": post.loc["median", "tau"],
                         "tau_ci_high": post.loc["ci_high", "tau"]})  # fmt: skip
    return pd.DataFrame(rows, columns=BAYES_COLUMNS)
