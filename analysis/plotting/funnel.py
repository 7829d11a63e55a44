"""The contour-enhanced funnel plot."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from ..stats.pooling import pool
from .forest import STYLE

__all__ = ["funnel_plot"]


def funnel_plot(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    ax=None,
    estimate: float | None = None,
    contours=(0.90, 0.95, 0.99),
    groups: ArrayLike | None = None,
    filled=None,
    xlabel: str = "Effect size",
):
    """Contour-enhanced funnel plot: effects against their SE (inverted axis).

    Shaded contours mark where a study's own z test is significant at each
    level around 0; the vertical line and pseudo-confidence region are centred
    on ``estimate`` (default: the common-effect estimate). ``groups`` colours
    the points by subgroup; ``filled`` (a :class:`analysis.stats.bias.TrimFillResult`)
    adds trim-and-fill's studies (open). Returns the Axes.

    References
    ----------
    Peters JL et al. (2008). Contour-enhanced meta-analysis funnel plots help
    distinguish publication bias from other causes of asymmetry. J Clin
    Epidemiol 61:991-996.
    """
    import matplotlib.pyplot as plt

    y, v = np.asarray(yi, float), np.asarray(vi, float)
    se = np.sqrt(v)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    centre = pool(y, v, method="EE").estimate if estimate is None else estimate
    top = max(se.max(), np.sqrt(filled.filled_vi).max() if filled is not None and filled.k0 else 0) * 1.1
    s_grid = np.linspace(0, top, 100)
    shades = ["#f2f2f2", "#d9d9d9", "#bfbfbf"]
    for level, shade in sorted(zip(contours, shades), reverse=True):
        z = stats.norm.isf((1 - level) / 2)
        ax.fill_betweenx(s_grid, -z * s_grid, z * s_grid, color=shade, zorder=0, label=f"p > {1 - level:.2f}")
    z95 = stats.norm.isf(0.025)
    ax.plot(centre - z95 * s_grid, s_grid, color="black", lw=0.6, ls="--")
    ax.plot(centre + z95 * s_grid, s_grid, color="black", lw=0.6, ls="--")
    ax.axvline(centre, color="black", lw=0.8)
    if groups is None:
        ax.scatter(y, se, color=STYLE["study"], zorder=3, s=18)
    else:
        labels = np.asarray(groups, dtype=object)
        for g in dict.fromkeys(labels.tolist()):
            sel = labels == g
            ax.scatter(y[sel], se[sel], zorder=3, s=18, label=str(g))
    if filled is not None and filled.k0:
        ax.scatter(
            filled.filled_yi,
            np.sqrt(filled.filled_vi),
            facecolors="white",
            edgecolors=STYLE["study"],
            zorder=3,
            s=18,
            label="filled",
        )
    ax.set_ylim(top, 0)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("Standard error", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return ax
