"""The project's own figures: the published reviews' estimates and the coverage chart.

Forest plots of the declared analyses are drawn by the library's
:func:`analysis.plotting.forest_plot` from :meth:`AnalysisResult.forest_data`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..plotting.forest import interval_plot

__all__ = ["coverage_chart", "reviews_forest"]


def reviews_forest(reviews: pd.DataFrame, *, measure: str = "SMD", ax=None, extra: pd.DataFrame | None = None):
    """Forest plot of published pooled estimates (``data/reviews.csv``) for one measure.

    Rows are grouped by outcome; rows without a CI are listed without a line.
    ``extra`` may add rows (columns ``label, outcome, estimate, ci_low,
    ci_high``), e.g. this project's own results, drawn in another colour.
    """
    sel = reviews[reviews["measure"] == measure].copy()
    sel["label"] = sel["review"] + ": " + sel["comparison"]
    sel["mine"] = False
    if extra is not None and len(extra):
        sel = pd.concat([sel, extra.assign(mine=True)], ignore_index=True)
    sel = sel.sort_values(["outcome", "mine"], kind="stable").reset_index(drop=True)
    return interval_plot(
        sel,
        ax=ax,
        highlight=sel["mine"].to_numpy(bool),
        groups=[str(o).capitalize() for o in sel["outcome"]],
        xlabel=f"{measure} (pain: negative favours the first-named programme; function: positive does)",
        title=f"Published pooled estimates ({measure})",
    )


_STATUS_COLOURS = {"used": "#2e8b57", "missing": "#f0a030", "not in scope": "#e6e6e6"}


def coverage_chart(matrix: pd.DataFrame, *, ax=None):
    """Trial x analysis chart: which trial feeds which analysis and what is missing.

    ``matrix`` is :func:`analysis.manojlovic2021.pipeline.coverage_matrix` output (cells
    "used", "missing", "not in scope").
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(0.42 * matrix.shape[1] + 3.5, 0.3 * matrix.shape[0] + 2.6))
    colours = {k: i for i, k in enumerate(_STATUS_COLOURS)}
    codes = matrix.fillna("not in scope").apply(lambda s: s.map(colours)).to_numpy(float)
    from matplotlib.colors import ListedColormap

    n_rows, n_cols = matrix.shape
    # Cells as a mesh with white edges: an image would be resampled to the figure's full size (slow for many trials).
    ax.pcolormesh(
        np.arange(-0.5, n_cols),
        np.arange(-0.5, n_rows),
        codes,
        cmap=ListedColormap(list(_STATUS_COLOURS.values())),
        vmin=-0.5,
        vmax=2.5,
        edgecolors="white",
        linewidth=1,
    )
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)  # first trial on top
    ax.set_xticks(range(n_cols), matrix.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n_rows), matrix.index, fontsize=7.5)
    ax.legend(
        handles=[Patch(color=c, label=k) for k, c in _STATUS_COLOURS.items()],
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize=7.5,
        frameon=False,
    )
    return ax
