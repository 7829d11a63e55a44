"""A general meta-analysis library: it knows nothing of any one review.

Arrays or tidy frames in, frozen results out; every result speaks the
protocol of :mod:`analysis.stats.results`. Numbers follow R's metafor (and
name the convention where metafor, meta and RevMan differ).
"""

from .bayes import BayesResult, bayesian_pool
from .bias import (
    EggerResult,
    PermutationResult,
    RankTestResult,
    TrimFillResult,
    egger_test,
    permutation_test,
    rank_test,
    trim_and_fill,
)
from .binary import (
    BINARY_MEASURES,
    BINARY_METHODS,
    BinaryPoolResult,
    binary_pool,
    mantel_haenszel,
    odds_ratio,
    peto,
    peto_odds_ratio,
    risk_difference,
    risk_ratio,
)
from .conversions import (
    FIVENUM_METHODS,
    MeanSD,
    mean_sd_from_fivenum,
    r_from_sds,
    sd_from_ci,
    sd_from_se,
    se_from_ci,
    se_from_p,
    se_from_t,
)
from .effects import (
    SMD_CONVENTIONS,
    change_sd,
    combine_arms,
    from_ci,
    from_se,
    hedges_correction,
    hedges_g,
    mean_change,
    mean_difference,
    smcc,
    smcr,
)
from .engine import ROOT_RULES, TAU2_METHODS
from .inference import TESTS
from .multiverse import MultiverseResult, multiverse
from .network import NMA_METHODS, NetworkResult, network_meta_analysis
from .pooling import PoolBatch, PoolResult, Tau2Interval, pool, tau2_confint
from .priors import TauPrior, rhodes_prior, tau_prior, turner_prior
from .regression import MetaRegression, meta_regression, regression_permutation_test
from .results import Result, TableResult, format_p
from .robustness import baujat, cumulative, gosh, influence, leave_one_out
from .subgroups import TAU2_SCOPES, SubgroupResult, subgroup_analysis

__all__ = [
    "BINARY_MEASURES",
    "BINARY_METHODS",
    "BinaryPoolResult",
    "binary_pool",
    "mantel_haenszel",
    "odds_ratio",
    "peto",
    "peto_odds_ratio",
    "risk_difference",
    "risk_ratio",
    "FIVENUM_METHODS",
    "NMA_METHODS",
    "ROOT_RULES",
    "SMD_CONVENTIONS",
    "TAU2_METHODS",
    "TAU2_SCOPES",
    "TESTS",
    "BayesResult",
    "EggerResult",
    "MeanSD",
    "MetaRegression",
    "MultiverseResult",
    "NetworkResult",
    "PermutationResult",
    "PoolBatch",
    "PoolResult",
    "RankTestResult",
    "Result",
    "SubgroupResult",
    "TableResult",
    "TauPrior",
    "Tau2Interval",
    "TrimFillResult",
    "baujat",
    "bayesian_pool",
    "change_sd",
    "combine_arms",
    "cumulative",
    "egger_test",
    "format_p",
    "from_ci",
    "from_se",
    "gosh",
    "hedges_correction",
    "hedges_g",
    "influence",
    "leave_one_out",
    "mean_change",
    "mean_difference",
    "mean_sd_from_fivenum",
    "meta_regression",
    "multiverse",
    "network_meta_analysis",
    "permutation_test",
    "pool",
    "r_from_sds",
    "rank_test",
    "regression_permutation_test",
    "rhodes_prior",
    "sd_from_ci",
    "sd_from_se",
    "se_from_ci",
    "se_from_p",
    "se_from_t",
    "smcc",
    "smcr",
    "subgroup_analysis",
    "tau_prior",
    "tau2_confint",
    "trim_and_fill",
    "turner_prior",
]
