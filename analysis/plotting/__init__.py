"""Figures of the general library: one forest layout and its renderers, funnel, network and diagnostics.

Plot functions take ``ax=None``, return the Axes, never show, save or switch
the backend, and take their words (measure, favours labels, titles) as arguments.
"""

from .audit import audit_plot
from .bayes import bayes_forest, bayes_posterior
from .diagnostics import baujat_plot, bubble_plot, cumulative_plot, gosh_plot, influence_plot, leave_one_out_plot
from .forest import forest_plot, interval_plot
from .funnel import funnel_plot
from .layout import ROW_KINDS, ForestData, forest_data, forest_rows
from .multiverse import specification_curve
from .network import league_plot, network_forest, network_graph

__all__ = [
    "ROW_KINDS",
    "ForestData",
    "audit_plot",
    "bayes_forest",
    "bayes_posterior",
    "bubble_plot",
    "baujat_plot",
    "cumulative_plot",
    "forest_data",
    "forest_plot",
    "forest_rows",
    "funnel_plot",
    "gosh_plot",
    "influence_plot",
    "interval_plot",
    "league_plot",
    "leave_one_out_plot",
    "network_forest",
    "network_graph",
    "specification_curve",
]
