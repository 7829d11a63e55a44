"""The one tau² engine: every between-study variance estimator, for any design, many analyses at once.

The estimators are written once against the data layouts of
:mod:`analysis.stats.designs` (group means, the one-group model with fused
sums, any design matrix), so pooling, subgroups, meta-regression, Egger's test
and trim-and-fill share them; the equations are solved by
:mod:`analysis.stats.roots`, which the network model uses too.

Every estimator is truncated at 0 as metafor 3.8-1 ``rma.uni`` does. PM and EB
solve Q(tau²) = k - p, ML and REML the score equation, by a vectorised
safeguarded Newton method that converges on every input. ML and REML return
the global maximum of the (restricted) likelihood over tau² >= 0 by default
(``root="global"``); ``root="metafor"`` reproduces metafor's rule (the local
maximum nearest its Hedges start, then tau² = 0 whenever the likelihood at 0
is higher).

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin
Trials 7:177-188.
Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis (HE).
Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis (HS).
Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for
meta-analysis. J R Stat Soc C 54:367-384 (SJ).
Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl
Bur Stand 87:377-385 (PM).
Morris CN (1983). Parametric empirical Bayes inference. JASA 78:47-55 (EB).
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators
in the random-effects model. J Educ Behav Stat 30:261-293 (ML, REML).
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
meta-analysis. Stat Med 26:37-52 (Q-profile).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .designs import Data, DesignData, FlatData, _centred, _sum
from .roots import likelihood_root, loglik, q_root

__all__ = [
    "ROOT_RULES",
    "TAU2_METHODS",
    "Data",
    "DesignData",
    "FlatData",
    "estimate_tau2",
    "loglik",
    "normalise_method",
    "q_gen",
    "q_profile",
]

#: Estimators, spelled as in metafor; "FE" is accepted as an alias of "EE".
TAU2_METHODS = ("EE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")
#: How ML/REML choose among several local maxima of the likelihood.
ROOT_RULES = ("global", "metafor")


def normalise_method(method: str) -> str:
    """The estimator's canonical name ("FE" -> "EE"); ValueError for an unknown one."""
    name = str(method).upper()
    name = "EE" if name == "FE" else name
    if name not in TAU2_METHODS:
        raise ValueError(f"method must be one of {TAU2_METHODS} (or 'FE'); got {method!r}")
    return name


def q_gen(d: Data, tau2: np.ndarray) -> np.ndarray:
    """Generalised Q statistic Σ w*(y - Xβ̂(tau²))² (Cochran's Q at tau² = 0)."""
    w = d.weights(tau2)
    r = d.residuals(w)
    return _sum(w * r**2)


def estimate_tau2(d: Data, method: str, *, root: str = "global", with_modes: bool = False):
    """tau² for every row of ``d`` by ``method`` (one of :data:`TAU2_METHODS`).

    Formulas follow metafor 3.8-1 ``rma.uni`` (p = number of coefficients):

    - EE: 0.
    - DL: (Q - (k - p)) / tr(P), P at tau² = 0.
    - HE: (RSS_OLS - tr(P_OLS V)) / (k - p).
    - HS: (Q - k) / Σ 1/v.
    - SJ: tau0² Q(tau0²)/(k - p) with tau0² = var(y)(k - 1)/k.
    - PM and EB: Q(tau²) = k - p (EB's scoring equation Q k/(k-p) = k has the
      same root).
    - ML and REML: the likelihood's maximum over tau² >= 0, chosen by ``root``
      (:data:`ROOT_RULES`).

    All are truncated at 0; rows with k <= p get 0. With ``with_modes`` the
    number of local maxima of the likelihood found (1 for other methods) is
    returned as well.
    """
    if root not in ROOT_RULES:
        raise ValueError(f"root must be one of {ROOT_RULES}; got {root!r}")
    k, p = d.k, d.p
    df = k - p
    zero = np.zeros(k.shape)
    modes = np.ones(k.shape, int)
    if method == "EE":
        tau2 = zero
    elif method in ("ML", "REML"):
        start = np.maximum(estimate_tau2(d, "HE"), 0.0) if root == "metafor" else None  # metafor's start
        tau2, modes = likelihood_root(d, method == "REML", start, root)
    else:
        q0, tr_p0, sum_w0 = d.common_effect
        if method == "DL":
            tau2 = (q0 - df) / tr_p0
        elif method == "HE":
            rss, tr_pv = d.ols()
            tau2 = (rss - tr_pv) / np.maximum(df, 1)
        elif method == "HS":
            tau2 = (q0 - k) / sum_w0
        elif method == "SJ":
            tau0 = (_centred(d.y, d.mask, (0, 1)) ** 2).sum(axis=(0, 1)) / k
            tau2 = tau0 * q_gen(d, tau0) / np.maximum(df, 1)
        elif method in ("PM", "EB"):
            tau2 = q_root(d, df.astype(float), start=np.maximum((q0 - df) / tr_p0, 0.0))  # from DL
        else:
            raise ValueError(f"method must be one of {TAU2_METHODS} (or 'FE'); got {method!r}")
    tau2 = np.where(df > 0, np.maximum(tau2, 0.0), 0.0)
    return (tau2, modes) if with_modes else tau2


def q_profile(d: Data, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Q-profile confidence bounds for tau² (metafor ``confint``, type "QP").

    The lower bound solves Q(tau²) = χ²_{k-p, 1-α/2} and the upper bound
    Q(tau²) = χ²_{k-p, α/2}; a bound whose equation has no non-negative root is
    0 (both are 0 when Q(0) is below the lower quantile).
    """
    df = (d.k - d.p).astype(float)
    alpha = 1 - level
    safe = np.maximum(df, 1)
    crit_u = stats.chi2.isf(alpha / 2, safe)
    crit_l = stats.chi2.ppf(alpha / 2, safe)
    lower, upper = q_root(d, crit_u), q_root(d, crit_l)
    undefined = df < 1
    return np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)
