"""The specification curve: a multiverse's estimates sorted, with the decisions beneath."""

from __future__ import annotations

import numpy as np

from .forest import STYLE

__all__ = ["specification_curve"]


def specification_curve(
    result,
    *,
    ax=None,
    title: str | None = None,
    measure: str = "Estimate",
    reference_label: str = "published",
):
    """Draw :class:`analysis.stats.multiverse.MultiverseResult` as a specification curve.

    Top panel (the returned Axes): every specification's estimate and CI,
    sorted; those that agree with the reference in sign and significance in
    the study colour, the others grey; the reference estimate and CI as a line
    and band. Bottom panel (``ax.decisions_ax``): one line per decision value,
    a mark where a specification uses it.
    """
    import matplotlib.pyplot as plt
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    t = result.table
    levels = [(d, v) for d in result.decisions for v in dict.fromkeys(t[d].astype(str))] if len(t) else []
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2 + 0.17 * len(levels)))
    dax = make_axes_locatable(ax).append_axes("bottom", size=f"{max(60, 9 * len(levels))}%", pad=0.08, sharex=ax)
    ax.decisions_ax = dax
    x = np.arange(len(t))
    if len(t):
        good = t["agrees"].to_numpy(bool) if "agrees" in t else t["significant"].to_numpy(bool)
        for mask, colour in ((good, STYLE["study"]), (~good, "#9a9a9a")):
            ax.vlines(x[mask], t["ci_low"][mask], t["ci_high"][mask], color=colour, lw=0.6, alpha=0.6)
            ax.plot(x[mask], t["estimate"][mask], "o", color=colour, ms=2.5)
    ax.axhline(0, color="black", lw=0.8)
    if result.reference is not None:
        r = result.reference
        ax.axhspan(r["ci_low"], r["ci_high"], color=STYLE["extra"], alpha=0.12, lw=0)
        ax.axhline(r["estimate"], color=STYLE["extra"], lw=1, ls="--", label=f"{reference_label} {r['estimate']:.2f}")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_ylabel(f"{measure} ({100 * result.level:g}% CI)")
    ax.tick_params(labelbottom=False)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    for row, (d, v) in enumerate(levels):
        used = (t[d].astype(str) == v).to_numpy()
        dax.plot(x[used], np.full(used.sum(), row), "|", color="black", ms=5)
    dax.set_yticks(range(len(levels)), [f"{d} = {v}" for d, v in levels], fontsize=7)
    dax.set_ylim(len(levels) - 0.5, -0.5)
    dax.set_xlabel(f"{len(t)} specifications, sorted by estimate")
    dax.set_xlim(-1, max(len(t), 1))
    return ax
