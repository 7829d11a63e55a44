"""pfp-meta: reproduce and extend a meta-analysis of exercise for patellofemoral pain.

The statistical core follows R's metafor and names every convention where
metafor, RevMan 5 and meta differ.
"""

from .effects import change_sd, from_ci, from_se, hedges_correction, hedges_g, mean_change, mean_difference, smcc, smcr
from .estimators import TAU2_METHODS
from .pooling import PoolResult, Tau2Interval, pool, tau2_confint
from .subgroups import SubgroupResult, subgroup_analysis

__version__ = "0.1.0"

__all__ = [
    "TAU2_METHODS",
    "PoolResult",
    "SubgroupResult",
    "Tau2Interval",
    "change_sd",
    "from_ci",
    "from_se",
    "hedges_correction",
    "hedges_g",
    "mean_change",
    "mean_difference",
    "pool",
    "smcc",
    "smcr",
    "subgroup_analysis",
    "tau2_confint",
]
