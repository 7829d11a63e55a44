"""Figures of a network meta-analysis: the network graph, the forest against the reference and the league table.

Each takes a :class:`analysis.stats.network.NetworkResult`, ``ax=None``, display
``names`` for the treatment codes and a ``title``, and returns the Axes.
"""

from __future__ import annotations

import numpy as np

from .forest import STYLE, interval_plot

__all__ = ["league_plot", "network_forest", "network_graph"]


def network_graph(result, *, ax=None, names: dict | None = None, title: str | None = None):
    """Treatments on a circle; node area by patients (equal when unknown), edge
    width and label by the number of studies comparing the pair directly."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    t = list(result.treatments)
    angle = np.pi / 2 - 2 * np.pi * np.arange(len(t)) / len(t)
    pos = {name: (np.cos(a), np.sin(a)) for name, a in zip(t, angle)}
    for e in result.edges.itertuples(index=False):
        (x1, y1), (x2, y2) = pos[e.treat1], pos[e.treat2]
        ax.plot([x1, x2], [y1, y2], color="#555555", lw=1.5 * e.k, zorder=1)
        ax.text(
            (x1 + x2) / 2,
            (y1 + y2) / 2,
            str(e.k),
            fontsize=8,
            ha="center",
            va="center",
            bbox=dict(fc="white", ec="none", pad=1),
        )
    pts = result.patients.reindex(t)
    sizes = np.where(pts.notna(), 300 + 1500 * pts.fillna(0) / max(pts.max(), 1), 500)
    for (name, (x, y)), s, n in zip(pos.items(), sizes, pts):
        ax.scatter([x], [y], s=s, color=STYLE["study"], zorder=2)
        shown = (names or {}).get(name, name)
        label = shown if np.isnan(n) else f"{shown}\n(n = {n:.0f})"
        radius = 4 + np.sqrt(s) / 2  # points: clear of the node whatever its size
        ha = "left" if x > 0.1 else "right" if x < -0.1 else "center"
        va = "bottom" if y > 0.1 else "top" if y < -0.1 else "center"
        ax.annotate(
            label, (x, y), xytext=(radius * x, radius * y), textcoords="offset points", ha=ha, va=va, fontsize=8
        )
    ax.set_xlim(-1.7, 1.7)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or f"Network of {len(t)} treatments, {result.k} studies (edges: studies)", fontsize=9)
    return ax


def network_forest(result, *, ax=None, names: dict | None = None, title: str | None = None, favours=None):
    """Forest of every treatment against the reference, labelled with the
    measure and method; ``names`` maps treatment codes to display names."""
    rel = result.relative_effects.drop(index=result.reference)
    show = names or {}
    ref = show.get(result.reference, result.reference)
    labels = [f"{show.get(t, t)} vs {ref}" for t in rel.index]
    xlabel = f"{result.measure} ({result.method}): treatment minus {ref}"
    return interval_plot(rel.reset_index(), labels=labels, ax=ax, xlabel=xlabel, title=title, favours=favours)


def league_plot(result, *, ax=None, digits: int = 2, names: dict | None = None, title: str | None = None):
    """The league table as a figure: each cell is the row treatment minus the
    column treatment (measure, CI), the diagonal names the treatments."""
    import matplotlib.pyplot as plt

    table = result.league_table(digits)
    show = names or {}
    table = table.rename(index=show, columns=show)
    for i, name in enumerate(table.index):
        table.iloc[i, i] = name
    if ax is None:
        _, ax = plt.subplots(figsize=(2.1 * len(table) + 0.5, 0.5 * len(table) + 0.6))
    ax.axis("off")
    tab = ax.table(cellText=table.to_numpy(), loc="center", cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7.5)
    for i in range(len(table)):
        tab[i, i].set_facecolor("#dde6f2")
    pct = int(round(result.level * 100))
    ax.set_title(title or f"{result.measure} ({result.method}, {pct}% CI): row minus column", fontsize=9)
    return ax
