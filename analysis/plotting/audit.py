"""The audit figure: printed and recomputed estimates and CIs side by side, discrepant rows marked."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .forest import STYLE

__all__ = ["audit_plot"]


def audit_plot(
    intervals: pd.DataFrame,
    *,
    ax=None,
    title: str | None = None,
    xlabel: str = "Estimate (95% CI)",
    labels: tuple[str, str] = ("printed", "recomputed"),
):
    """Printed (filled squares) and recomputed (open circles) intervals per row; discrepant rows in red.

    ``intervals``: one row per forest-plot row with ``label``, ``printed_estimate``,
    ``printed_low``, ``printed_high``, ``recomputed_estimate``, ``recomputed_low``,
    ``recomputed_high`` and ``discrepant`` (:attr:`analysis.audit.AuditResult.intervals`).
    Returns the Axes.
    """
    import matplotlib.pyplot as plt

    n = len(intervals)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.38 * n + 1.4))
    y = np.arange(n)[::-1].astype(float)
    red = STYLE["extra"]
    for yy, (_, r) in zip(y, intervals.iterrows()):
        colour = red if r["discrepant"] else "black"
        if pd.notna(r["printed_estimate"]):
            ax.plot([r["printed_low"], r["printed_high"]], [yy + 0.12] * 2, color=colour, lw=1.2)
            ax.plot(r["printed_estimate"], yy + 0.12, "s", color=colour, ms=5)
        ax.plot([r["recomputed_low"], r["recomputed_high"]], [yy - 0.12] * 2, color=colour, lw=1.0, ls="--")
        ax.plot(r["recomputed_estimate"], yy - 0.12, "o", mfc="white", mec=colour, ms=5)
    ax.set_yticks(y, intervals["label"])
    for tick, bad in zip(ax.get_yticklabels(), intervals["discrepant"]):
        tick.set_color(red if bad else "black")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylim(-0.7, n - 0.3)
    ax.plot([], [], "s", color="black", label=labels[0])
    ax.plot([], [], "o", mfc="white", mec="black", label=labels[1])
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=8, frameon=False)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return ax
