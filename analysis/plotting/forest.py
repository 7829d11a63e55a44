"""The forest renderers: RevMan-style forest plots and plain interval forests.

:func:`forest_plot` draws the rows of :func:`analysis.plotting.layout.forest_rows`;
:func:`interval_plot` draws any table of estimates with intervals (leave-one-out,
cumulative, network and published estimates use it). Plot functions take
``ax=None``, return the Axes and take their words (measure, favours labels)
as arguments; nothing is shown or saved.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .layout import forest_data, forest_rows

__all__ = ["forest_plot", "interval_plot"]

#: Colours and sizes used by every forest-like figure.
STYLE = {"study": "#1f5fa8", "extra": "#c0392b", "subtotal": "#555555", "overall": "black", "font": 8}


def _nice(x: float) -> float:
    if not np.isfinite(x) or x <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= x:
            return m * exp
    return 10 * exp


def _fmt(x, digits: int = 1) -> str:
    return "" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def forest_plot(
    result,
    *,
    ax=None,
    labels=None,
    xlim: tuple[float, float] | None = None,
    digits: int = 2,
    title: str | None = None,
    measure: str | None = None,
    favours: tuple[str, str] | None = None,
    arms: tuple[str, str] | None = None,
    weights: str = "total",
):
    """Draw a RevMan-style forest plot and return its Axes.

    Study labels, per-arm n (with mean and SD, or events, where given), weights,
    estimates with CIs as text (ratios back-transformed, on a log axis), squares scaled by weight, CI lines with arrows
    where clipped by ``xlim``, subgroup and overall diamonds, heterogeneity
    lines, tests for the overall effect and for subgroup differences, the
    total under other models where the data carry ``alternatives`` (open
    diamonds), and "favours" labels. Without ``ax`` a figure sized to the number of rows is
    created. The text columns are drawn to the left of the Axes.

    Parameters
    ----------
    result : as for :func:`analysis.plotting.layout.forest_rows`.
    ax : matplotlib Axes, optional.
    labels : study labels for a PoolResult or SubgroupResult.
    xlim : x range of the plot (log ratios for ratio measures); CIs beyond it
        end in arrows. Default: a symmetric range around 0 covering the
        estimates and pooled intervals.
    digits : decimals of the estimate column.
    title : optional title.
    measure : the effect measure's label in the column heading (default: the
        result's own, else "Estimate").
    favours : (left, right) labels under the axis (default: the result's
        own, else "Favours experimental" / "Favours control").
    arms : headings of the two arms' columns.
    weights : "total" or "subgroup", as for ``forest_rows``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon
    from matplotlib.transforms import blended_transform_factory

    data = forest_data(result, labels, measure=measure, favours=favours, arms=arms)
    rows = forest_rows(data, weights=weights)
    n = len(rows)
    binary = rows["events_e"].notna().any()
    arm = [("events_e", 0.55), ("n_e", 0.5), ("events_c", 0.55), ("n_c", 0.5)] if binary else [
        ("mean_e", 0.55), ("sd_e", 0.5), ("n_e", 0.5), ("mean_c", 0.55), ("sd_c", 0.5), ("n_c", 0.5)
    ]  # fmt: skip
    cols_in = [("label", 3.2), *arm, ("weight", 0.65), ("ci", 1.55)]
    shown = np.exp if data.log_scale else (lambda x: x)
    text_width = sum(w for _, w in cols_in)
    plot_width = 3.0
    if ax is None:
        height = 0.24 * (n + 4) + 0.6
        fig = plt.figure(figsize=(text_width + plot_width + 0.4, height))
        ax = fig.add_axes(
            [
                (text_width + 0.1) / (text_width + plot_width + 0.4),
                0.9 / height,
                plot_width / (text_width + plot_width + 0.4),
                (0.24 * (n + 1.5)) / height,
            ]
        )
    fig = ax.figure
    ax_w = fig.get_size_inches()[0] * ax.get_position().width
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    overall = getattr(data.result, "overall", data.result)
    level = overall.level
    headers = {
        "label": "Study or subgroup",
        "mean_e": "Mean",
        "sd_e": "SD",
        "events_e": "Events",
        "n_e": "Total",
        "mean_c": "Mean",
        "sd_c": "SD",
        "events_c": "Events",
        "n_c": "Total",
        "weight": "Weight",
        "ci": data.heading,
    }
    x_positions = {}
    x = -text_width / ax_w
    for name, width in cols_in:
        x_positions[name] = x
        x += width / ax_w
    top = 1.6
    for name, _ in cols_in:
        ax.text(
            x_positions[name], top - 0.6, headers[name], transform=trans, fontsize=8, fontweight="bold", va="center"
        )
    for key, arm in zip(("events_e", "events_c") if binary else ("mean_e", "mean_c"), data.arms):
        ax.text(x_positions[key], top + 0.2, arm, transform=trans, fontsize=8, fontweight="bold", va="center")
    est = rows["estimate"].to_numpy(float)
    pooled = rows["kind"].isin(["subtotal", "overall", "alternative"]).to_numpy()
    if xlim is None:
        ends = np.concatenate([est, rows.loc[pooled, ["ci_low", "ci_high"]].to_numpy(float).ravel()])
        ends = np.abs(ends[np.isfinite(ends)])
        span = ends.max() if ends.size else 0.5  # nothing estimable: an axis of its own
        if data.log_scale:  # a ratio range symmetric on the log axis: 1/2 to 2, 1/5 to 5, ...
            ratio = next((r for r in (2, 5, 10, 20, 50, 100) if np.log(r) >= 1.2 * span), 1000)
            lim = float(np.log(ratio))
        else:
            lim = _nice(1.2 * span)
        xlim = (-lim, lim)
    ax.set_xlim(*xlim)
    ax.set_ylim(-n + 0.5, top + 0.6)
    ax.axvline(0, color="black", lw=0.8)
    for r in rows.itertuples(index=False):
        y = r.y
        if r.kind in ("group",):
            ax.text(x_positions["label"], y, r.label, transform=trans, fontsize=8, fontweight="bold", va="center")
            continue
        if r.kind in ("heterogeneity", "effect_test", "subgroup_test"):
            ax.text(x_positions["label"], y, r.text, transform=trans, fontsize=7.5, va="center")
            continue
        if r.kind == "alternative":  # the total under another model: an open diamond and its interval
            label = r.label if len(r.label) <= 60 else r.label[:59] + "…"  # the full label is in forest_rows()
            ax.text(x_positions["label"], y, label, transform=trans, fontsize=7.5, va="center", style="italic",
                    color=STYLE["extra"])  # fmt: skip
            ax.text(x_positions["ci"], y, f"{shown(r.estimate):.{digits}f} [{shown(r.ci_low):.{digits}f}, "
                    f"{shown(r.ci_high):.{digits}f}]", transform=trans, fontsize=8, va="center", color=STYLE["extra"])  # fmt: skip
            lo, hi = max(r.ci_low, xlim[0]), min(r.ci_high, xlim[1])
            diamond = [(lo, y), (r.estimate, y + 0.28), (hi, y), (r.estimate, y - 0.28)]
            ax.add_patch(Polygon(diamond, closed=True, facecolor="white", edgecolor=STYLE["extra"], lw=1.2, zorder=3))
            continue
        bold = "bold" if r.kind in ("subtotal", "overall") else "normal"
        label = r.label if len(r.label) <= 50 else r.label[:49] + "…"  # the full label is in forest_rows()
        cells = {
            "label": f"{label} ({int(round(level * 100))}% CI)" if r.kind in ("subtotal", "overall") else label,
            "mean_e": _fmt(r.mean_e),
            "sd_e": _fmt(r.sd_e),
            "n_e": _fmt(r.n_e, 0),
            "events_e": _fmt(r.events_e, 0),
            "mean_c": _fmt(r.mean_c),
            "sd_c": _fmt(r.sd_c),
            "n_c": _fmt(r.n_c, 0),
            "events_c": _fmt(r.events_c, 0),
            "weight": f"{r.weight:.1f}%" if pd.notna(r.weight) else "",
            "ci": "Not estimable"
            if pd.isna(r.estimate)
            else f"{shown(r.estimate):.{digits}f} [{shown(r.ci_low):.{digits}f}, {shown(r.ci_high):.{digits}f}]",
        }
        for name, _ in cols_in:
            ax.text(
                x_positions[name],
                y,
                cells[name],
                transform=trans,
                fontsize=8,
                va="center",
                fontweight=bold,
                clip_on=False,
            )
        if r.kind == "study" and pd.isna(r.estimate):
            continue
        if r.kind == "study":
            lo, hi = max(r.ci_low, xlim[0]), min(r.ci_high, xlim[1])
            ax.plot([lo, hi], [y, y], color="black", lw=1)
            for edge, clipped in ((xlim[0], r.ci_low < xlim[0]), (xlim[1], r.ci_high > xlim[1])):
                if clipped:
                    start = edge + (0.04 if edge == xlim[0] else -0.04) * (xlim[1] - xlim[0])
                    ax.annotate(
                        "", xy=(edge, y), xytext=(start, y), arrowprops=dict(arrowstyle="->", lw=1, color="black")
                    )
            if xlim[0] <= r.estimate <= xlim[1]:
                size = 10 + 140 * (r.weight / 100 if pd.notna(r.weight) else 0.1)
                ax.scatter([r.estimate], [y], marker="s", s=size, color="#1f5fa8", zorder=3)
        else:
            diamond = [(r.ci_low, y), (r.estimate, y + 0.32), (r.ci_high, y), (r.estimate, y - 0.32)]
            ax.add_patch(Polygon(diamond, closed=True, color="black" if r.kind == "overall" else "#555555", zorder=3))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=8)
    if data.log_scale:  # the axis is log(ratio); ticks name the ratios, 1-2-5 steps or decades on wide axes
        wide = xlim[1] - xlim[0] > 2 * np.log(20)
        ratios = np.array([0.001, 0.01, 0.1, 1, 10, 100, 1000] if wide else [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20])
        inside = ratios[(np.log(ratios) >= xlim[0] - 1e-9) & (np.log(ratios) <= xlim[1] + 1e-9)]
        ax.set_xticks(np.log(inside), [f"{x:g}" for x in inside])
    left, right = data.favours
    for x_frac, text, ha in ((0.48, left, "right"), (0.52, right, "left")):
        ax.annotate(
            text,
            xy=(x_frac, 0),
            xycoords="axes fraction",
            xytext=(0, -24),
            textcoords="offset points",
            fontsize=7.5,
            ha=ha,
            va="top",
        )
    if title:
        ax.set_title(title, fontsize=9, loc="right")
    return ax


def interval_plot(
    frame: pd.DataFrame,
    *,
    labels=None,
    ax=None,
    xlabel: str = "Estimate",
    reference: float | None = 0.0,
    highlight=None,
    title: str | None = None,
    groups=None,
    favours: tuple[str, str] | None = None,
):
    """Estimates with intervals, one row each (``estimate, ci_low, ci_high``; NaN CI: point only).

    ``labels`` (default: the frame's ``label`` column) name the rows, shown
    with the estimate and CI; ``highlight`` (booleans) draws rows in the
    second colour with diamonds; ``groups`` (one label per row) adds a bold
    heading above each run of rows; ``reference`` draws a vertical line.
    Returns the Axes.
    """
    import matplotlib.pyplot as plt

    frame = frame.reset_index(drop=True)
    labels = list(frame["label"] if labels is None else labels)
    marks = np.zeros(len(frame), bool) if highlight is None else np.asarray(highlight, bool)
    heads = [None] * len(frame) if groups is None else list(groups)
    n_heads = len(dict.fromkeys(h for h in heads if h is not None))
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.32 * (len(frame) + 1.2 * n_heads) + 1.3))
    y, ticks, texts, last = 0.0, [], [], object()
    font = STYLE["font"]
    for i, r in frame.iterrows():
        if heads[i] is not None and heads[i] != last:
            ax.text(0, y + 0.1, str(heads[i]), transform=ax.get_yaxis_transform(), fontsize=font + 1,
                    fontweight="bold", ha="right")  # fmt: skip
            y -= 1
        last = heads[i]
        colour = STYLE["extra"] if marks[i] else STYLE["study"]
        has_ci = pd.notna(r["ci_low"]) and pd.notna(r["ci_high"])
        if has_ci:
            ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=colour, lw=1.2)
        ax.plot([r["estimate"]], [y], marker="D" if marks[i] else "s", color=colour, ms=5)
        ci = f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]" if has_ci else "(no CI)"
        ticks.append(y)
        texts.append(f"{labels[i]}  {r['estimate']:.2f} {ci}")
        y -= 1
    if reference is not None:
        ax.axvline(reference, color="black", lw=0.8)
    ax.set_yticks(ticks, texts, fontsize=font - 0.5)
    ax.set_ylim(y + 0.5, 0.8 if n_heads else 0.6)
    ax.set_xlabel(xlabel, fontsize=font)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if favours:
        for x_frac, text, ha in ((0.48, favours[0], "right"), (0.52, favours[1], "left")):
            ax.annotate(text, xy=(x_frac, 0), xycoords="axes fraction", xytext=(0, -28), textcoords="offset points",
                        fontsize=font - 0.5, ha=ha, va="top")  # fmt: skip
    if title:
        ax.set_title(title, fontsize=font + 1, loc="left")
    return ax
