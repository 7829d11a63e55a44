"""pfp-meta: reproduce and extend a meta-analysis of exercise for patellofemoral pain.

The statistical core follows R's metafor and names every convention where
metafor, RevMan 5 and meta differ.
"""

from . import examples
from .analyses import AnalysisResult, coverage_matrix, network_contrasts, run_analysis, run_network, sensitivity
from .bias import egger_test, funnel_plot, meta_regression, permutation_test, rank_test, trim_and_fill
from .data import DataError, MissingDataWarning, load_reviews, load_studies, missing_values
from .effects import change_sd, from_ci, from_se, hedges_correction, hedges_g, mean_change, mean_difference, smcc, smcr
from .estimators import TAU2_METHODS
from .network import league_plot, network_forest, network_graph, network_meta_analysis
from .plotting import coverage_chart, forest_plot, forest_rows, reviews_forest
from .pooling import PoolResult, Tau2Interval, pool, tau2_confint
from .robustness import (
    baujat,
    baujat_plot,
    cumulative,
    cumulative_plot,
    gosh,
    gosh_plot,
    influence,
    influence_plot,
    leave_one_out,
    leave_one_out_plot,
)
from .specs import ANALYSES, NETWORKS, AnalysisSpec, NetworkSpec, get_spec
from .subgroups import SubgroupResult, subgroup_analysis

__version__ = "0.1.0"

__all__ = [
    "ANALYSES",
    "NETWORKS",
    "TAU2_METHODS",
    "AnalysisResult",
    "AnalysisSpec",
    "DataError",
    "MissingDataWarning",
    "NetworkSpec",
    "PoolResult",
    "SubgroupResult",
    "Tau2Interval",
    "baujat",
    "baujat_plot",
    "change_sd",
    "coverage_chart",
    "coverage_matrix",
    "cumulative",
    "cumulative_plot",
    "egger_test",
    "examples",
    "forest_plot",
    "forest_rows",
    "from_ci",
    "from_se",
    "funnel_plot",
    "get_spec",
    "gosh",
    "gosh_plot",
    "hedges_correction",
    "hedges_g",
    "influence",
    "influence_plot",
    "league_plot",
    "leave_one_out",
    "leave_one_out_plot",
    "load_reviews",
    "load_studies",
    "mean_change",
    "mean_difference",
    "meta_regression",
    "missing_values",
    "network_contrasts",
    "network_forest",
    "network_graph",
    "network_meta_analysis",
    "permutation_test",
    "pool",
    "rank_test",
    "reviews_forest",
    "run_analysis",
    "run_network",
    "sensitivity",
    "smcc",
    "smcr",
    "subgroup_analysis",
    "tau2_confint",
    "trim_and_fill",
]
