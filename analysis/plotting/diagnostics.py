"""Figures of the robustness diagnostics (:mod:`analysis.stats.robustness`).

Each takes the diagnostic's result (or its table), ``ax=None``, and returns
the Axes; words on the axes are arguments.
"""

from __future__ import annotations

import numpy as np

from .forest import STYLE, interval_plot

__all__ = ["baujat_plot", "bubble_plot", "cumulative_plot", "gosh_plot", "influence_plot", "leave_one_out_plot"]


def _table(result):
    return result.to_frame() if hasattr(result, "to_frame") else result


def baujat_plot(
    result, *, ax=None, xlabel="Contribution to overall heterogeneity", ylabel="Influence on overall result"
):
    """Scatter of :func:`analysis.baujat` with study labels; returns the Axes."""
    import matplotlib.pyplot as plt

    frame = _table(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(frame["x"], frame["y"], color=STYLE["study"])
    for r in frame.itertuples(index=False):
        ax.annotate(r.study, (r.x, r.y), xytext=(3, 3), textcoords="offset points", fontsize=7)
    ax.set_xlabel(xlabel, fontsize=STYLE["font"])
    ax.set_ylabel(ylabel, fontsize=STYLE["font"])
    return ax


def gosh_plot(result, *, ax=None, xlabel="Pooled estimate"):
    """I² against the pooled estimate for every subset of :func:`analysis.gosh`; returns the Axes."""
    import matplotlib.pyplot as plt

    frame = _table(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    sel = frame[frame["k"] > 1]
    ax.scatter(sel["estimate"], 100 * sel["i2"], s=4, alpha=0.4, color=STYLE["study"], linewidths=0)
    ax.set_xlabel(xlabel, fontsize=STYLE["font"])
    ax.set_ylabel("I² (%)", fontsize=STYLE["font"])
    return ax


def influence_plot(result, *, ax=None, title: str | None = None):
    """Cook's distances from :func:`analysis.influence`, influential studies in red; returns the Axes."""
    import matplotlib.pyplot as plt

    frame = _table(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(frame) + 1.2))
    y = -np.arange(len(frame))
    colours = np.where(frame["influential"], STYLE["extra"], STYLE["study"])
    ax.barh(y, frame["cook_d"], color=colours)
    ax.set_yticks(y, frame["study"], fontsize=7.5)
    ax.set_xlabel("Cook's distance (red: influential by metafor's rule)", fontsize=STYLE["font"])
    if title:
        ax.set_title(title, fontsize=STYLE["font"] + 1, loc="left")
    return ax


def leave_one_out_plot(result, *, ax=None, xlabel: str = "Pooled estimate without the study", title=None):
    """Pooled estimate and CI with each study left out (:func:`analysis.leave_one_out`); returns the Axes."""
    frame = _table(result)
    return interval_plot(frame, labels=[f"without {s}" for s in frame["study"]], ax=ax, xlabel=xlabel, title=title)


def cumulative_plot(result, *, ax=None, xlabel: str = "Cumulative pooled estimate", title=None):
    """Pooled estimate and CI as studies are added (:func:`analysis.cumulative`); returns the Axes."""
    frame = _table(result)
    return interval_plot(frame, labels=[f"+ {s}" for s in frame["study"]], ax=ax, xlabel=xlabel, title=title)


def bubble_plot(fit, yi=None, vi=None, x=None, *, ax=None, xlabel: str | None = None, ylabel: str = "Effect"):
    """Meta-regression bubble plot: each study's effect ``yi`` against its moderator value ``x``, the
    point's area proportional to its weight 1/(vi + tau²) in ``fit`` (a :class:`analysis.MetaRegression`
    with an intercept and this one moderator), with the fitted line and its confidence band.
    ``yi``, ``vi`` and ``x`` default to the fit's own data; ``xlabel`` to the moderator's name.
    Returns the Axes."""
    import matplotlib.pyplot as plt

    if len(fit.names) != 2:
        raise ValueError(f"bubble_plot needs a fit with an intercept and one moderator; got terms {list(fit.names)}")
    yi = fit.yi if yi is None else yi
    vi = fit.vi if vi is None else vi
    x = fit.X[:, 1] if x is None else x
    xlabel = fit.names[1] if xlabel is None else xlabel
    y, v, x = (np.asarray(a, float) for a in (yi, vi, x))
    if not (y.shape == v.shape == x.shape):
        raise ValueError("yi, vi and x need one value per study")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.0))
    w = 1 / (v + fit.tau2)
    ax.scatter(x, y, s=400 * w / w.max(), facecolor="none", edgecolor=STYLE["study"], lw=1.2)
    grid = np.linspace(x.min(), x.max(), 100)
    pred = fit.predict(np.column_stack([np.ones_like(grid), grid])).to_frame()
    ax.plot(grid, pred["pred"], color="black", lw=1.2)
    ax.fill_between(grid, pred["ci_low"], pred["ci_high"], color="grey", alpha=0.2, lw=0)
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
