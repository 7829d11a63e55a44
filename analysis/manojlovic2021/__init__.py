"""The reproduction of Manojlović, Kozinc & Šarabon (J Pain Res 2021;14:1431-1449).

The paper's layer: the data schema and loader, the declared analyses and every
decision they make, the contrasts built from trial arms, the pipeline, the
report, the project's own figures and the command line. It uses the general
library (:mod:`analysis.stats`, :mod:`analysis.plotting`); the library never
imports it.
"""

from .load import DataError, MissingDataWarning, Problem, load_reviews, load_studies, missing_values
from .multiverse import sensitivity, spec_multiverse
from .pipeline import (
    AnalysisResult,
    coverage_matrix,
    network_contrasts,
    network_data,
    run_analysis,
    run_network,
)
from .specs import ANALYSES, NETWORKS, PROGRAM_LABELS, AnalysisSpec, NetworkSpec, get_spec

__all__ = [
    "ANALYSES",
    "NETWORKS",
    "PROGRAM_LABELS",
    "AnalysisResult",
    "AnalysisSpec",
    "DataError",
    "MissingDataWarning",
    "NetworkSpec",
    "Problem",
    "coverage_matrix",
    "get_spec",
    "load_reviews",
    "load_studies",
    "missing_values",
    "network_contrasts",
    "network_data",
    "run_analysis",
    "run_network",
    "sensitivity",
    "spec_multiverse",
]
