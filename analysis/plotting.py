"""Forest plots (RevMan style), the reviews' forest plot and the coverage chart.

:func:`forest_rows` is a pure layout function: it returns every row of a
forest plot as a DataFrame, so the layout is testable without pixels and the
same numbers feed the CSV tables. :func:`forest_plot` only draws those rows.
Plot functions take ``ax=None`` and return the Axes; nothing is shown or saved.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .analyses import AnalysisResult
from .pooling import PoolResult
from .specs import PROGRAM_LABELS
from .subgroups import SubgroupResult

__all__ = ["ROW_KINDS", "coverage_chart", "forest_plot", "forest_rows", "reviews_forest"]

#: Row kinds of :func:`forest_rows`, top to bottom within a block.
ROW_KINDS = ("group", "study", "subtotal", "heterogeneity", "effect_test", "overall", "subgroup_test")

_LAYOUT_COLUMNS = [
    "y", "kind", "group", "label", "n_e", "mean_e", "sd_e", "n_c", "mean_c", "sd_c",
    "estimate", "ci_low", "ci_high", "weight", "text",
]  # fmt: skip


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "P = NA"
    return (
        "P < 0.00001"
        if p < 0.00001
        else f"P = {p:.2f}"
        if p >= 0.01
        else f"P = {p:.3f}"
        if p >= 0.001
        else f"P = {p:.4f}"
    )


def _heterogeneity_text(res: PoolResult) -> str:
    if res.k < 2:
        return "Heterogeneity: Not applicable"
    tau = "" if res.method == "EE" else f"Tau² = {res.tau2:.2f}; "
    return f"Heterogeneity: {tau}Chi² = {res.q:.2f}, df = {res.q_df} ({_p(res.q_pvalue)}); I² = {100 * res.i2:.0f}%"


def _effect_text(res: PoolResult) -> str:
    name = "Z" if res.test == "z" else "t"
    df = "" if res.test == "z" or not np.isfinite(res.df) else f"({res.df:g})"
    return f"Test for overall effect: {name}{df} = {abs(res.statistic):.2f} ({_p(res.pvalue)})"


def _subgroup_text(sg: SubgroupResult) -> str:
    if sg.df_between < 1:
        return "Test for subgroup differences: Not applicable"
    if sg.df_resid is not None:
        return f"Test for subgroup differences: F({sg.df_between}, {sg.df_resid}) = {sg.q_between:.2f} ({_p(sg.p_between)})"
    return (
        f"Test for subgroup differences: Chi² = {sg.q_between:.2f}, df = {sg.df_between} "
        f"({_p(sg.p_between)}), I² = {100 * sg.i2_between:.0f}%"
    )


def _study_block(frame: pd.DataFrame, weights: np.ndarray) -> list[dict]:
    rows = []
    for i, r in enumerate(frame.itertuples(index=False)):
        rows.append(
            dict(
                kind="study",
                label=r.label,
                n_e=r.n_e,
                mean_e=r.mean_e,
                sd_e=r.sd_e,
                n_c=r.n_c,
                mean_c=r.mean_c,
                sd_c=r.sd_c,
                estimate=r.yi,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                weight=weights[i],
                text="",
            )
        )
    return rows


def _pooled_row(kind: str, label: str, res: PoolResult, frame: pd.DataFrame, weight: float) -> dict:
    return dict(
        kind=kind,
        label=label,
        n_e=frame["n_e"].sum(min_count=1),
        n_c=frame["n_c"].sum(min_count=1),
        mean_e=np.nan,
        sd_e=np.nan,
        mean_c=np.nan,
        sd_c=np.nan,
        estimate=res.estimate,
        ci_low=res.ci_low,
        ci_high=res.ci_high,
        weight=weight,
        text="",
    )


def _as_blocks(
    result, labels
) -> tuple[list[tuple[str | None, PoolResult, pd.DataFrame]], PoolResult, SubgroupResult | None]:
    """(group label, pooled result, study frame) blocks, the overall result and the subgroup result."""
    if isinstance(result, AnalysisResult):
        if result.result is None:
            raise ValueError(f"analysis {result.spec.name!r} has no usable comparisons; nothing to plot")
        eff = result.effects.assign(label=result.effects["study"] + ": " + result.effects["comparison"])
        if isinstance(result.result, SubgroupResult):
            group_of = eff["experimental_program"].map(PROGRAM_LABELS)
            blocks = [(g, res, eff[group_of == g]) for g, res in result.result.groups.items()]
            return blocks, result.result.overall, result.result
        return [(None, result.result, eff)], result.result, None
    if isinstance(result, PoolResult):
        if result.batch:
            raise ValueError("forest plots take one meta-analysis, not a batch")
        lab = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(result.k)]
        if len(lab) != result.k:
            raise ValueError(f"labels must have one entry per study ({result.k}); got {len(lab)}")
        frame = pd.DataFrame({"label": lab, "yi": result.yi, "vi": result.vi})
        return [(None, result, _with_ci(frame, result.level))], result, None
    if isinstance(result, SubgroupResult):
        if not isinstance(labels, dict):
            raise ValueError("for a SubgroupResult pass labels as {group: [study labels]}")
        blocks = []
        for g, res in result.groups.items():
            frame = pd.DataFrame({"label": list(labels[g]), "yi": res.yi, "vi": res.vi})
            blocks.append((g, res, _with_ci(frame, res.level)))
        return blocks, result.overall, result
    raise TypeError(f"cannot draw a forest plot of {type(result).__name__}")


def _with_ci(frame: pd.DataFrame, level: float) -> pd.DataFrame:
    from scipy import stats

    z = stats.norm.isf((1 - level) / 2)
    se = np.sqrt(frame["vi"])
    return frame.assign(
        ci_low=frame["yi"] - z * se,
        ci_high=frame["yi"] + z * se,
        n_e=np.nan,
        n_c=np.nan,
        mean_e=np.nan,
        sd_e=np.nan,
        mean_c=np.nan,
        sd_c=np.nan,
    )


def forest_rows(result: AnalysisResult | PoolResult | SubgroupResult, labels=None) -> pd.DataFrame:
    """Every row of a RevMan-style forest plot, top to bottom.

    Parameters
    ----------
    result : AnalysisResult, PoolResult or SubgroupResult
        An analysis from :func:`analysis.run_analysis`, or a pooled result of
        your own (then pass study ``labels``: a list, or for a SubgroupResult a
        dict ``{group: [labels]}``).

    Returns
    -------
    DataFrame
        Columns ``y`` (0 at the top, decreasing by 1 per row), ``kind`` (one of
        :data:`ROW_KINDS`), ``group``, ``label``, per-arm ``n_e, mean_e, sd_e,
        n_c, mean_c, sd_c`` (NaN where not arm-level), ``estimate, ci_low,
        ci_high``, ``weight`` (% of the overall analysis) and ``text`` (the
        heterogeneity and test lines).
    """
    blocks, overall, sg = _as_blocks(result, labels)
    overall_w = overall.weights
    rows: list[dict] = []
    offset = 0
    for group, res, frame in blocks:
        w = overall_w[offset : offset + len(frame)] if sg is not None else res.weights
        offset += len(frame)
        if group is not None:
            rows.append(dict(kind="group", group=group, label=group, text=""))
        rows += [{**r, "group": group} for r in _study_block(frame, w)]
        if group is not None:
            rows.append({**_pooled_row("subtotal", "Subtotal", res, frame, float(np.nansum(w))), "group": group})
            rows.append(dict(kind="heterogeneity", group=group, label="", text=_heterogeneity_text(res)))
            rows.append(dict(kind="effect_test", group=group, label="", text=_effect_text(res)))
    all_frames = pd.concat([b[2] for b in blocks], ignore_index=True)
    rows.append({**_pooled_row("overall", "Total", overall, all_frames, 100.0), "group": None})
    rows.append(dict(kind="heterogeneity", group=None, label="", text=_heterogeneity_text(overall)))
    rows.append(dict(kind="effect_test", group=None, label="", text=_effect_text(overall)))
    if sg is not None:
        rows.append(dict(kind="subgroup_test", group=None, label="", text=_subgroup_text(sg)))
    out = pd.DataFrame(rows).reindex(columns=_LAYOUT_COLUMNS)
    out["y"] = -np.arange(len(out), dtype=float)
    out["text"] = out["text"].fillna("")
    return out


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


def _favours(result) -> tuple[str, str]:
    if isinstance(result, AnalysisResult):
        spec = result.spec
        e = PROGRAM_LABELS[spec.experimental[0]] if len(spec.experimental) == 1 else "exercise"
        c = PROGRAM_LABELS[spec.comparator]
        left_is_e = spec.outcome == "pain"
        return (f"Favours {e}", f"Favours {c}") if left_is_e else (f"Favours {c}", f"Favours {e}")
    return ("Favours experimental", "Favours control")


def forest_plot(
    result: AnalysisResult | PoolResult | SubgroupResult,
    *,
    ax=None,
    labels=None,
    xlim: tuple[float, float] | None = None,
    digits: int = 2,
    title: str | None = None,
):
    """Draw a RevMan-style forest plot and return its Axes.

    Study labels, per-arm n (and mean and SD where arm-level), weights,
    estimates with CIs as text, squares scaled by weight, CI lines with arrows
    where clipped by ``xlim``, subgroup and overall diamonds, heterogeneity
    lines, tests for the overall effect and for subgroup differences, and
    "favours" labels. Without ``ax`` a figure sized to the number of rows is
    created. The text columns are drawn to the left of the Axes.

    Parameters
    ----------
    result : as for :func:`forest_rows`.
    ax : matplotlib Axes, optional.
    labels : study labels for a PoolResult or SubgroupResult.
    xlim : x range of the plot; CIs beyond it end in arrows. Default: a
        symmetric range around 0 covering the estimates and pooled intervals.
    digits : decimals of the estimate column.
    title : optional title.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon
    from matplotlib.transforms import blended_transform_factory

    rows = forest_rows(result, labels)
    n = len(rows)
    cols_in = [
        ("label", 3.2),
        ("mean_e", 0.55),
        ("sd_e", 0.5),
        ("n_e", 0.5),
        ("mean_c", 0.55),
        ("sd_c", 0.5),
        ("n_c", 0.5),
        ("weight", 0.65),
        ("ci", 1.55),
    ]
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
    overall = result.overall if isinstance(result, (AnalysisResult, SubgroupResult)) else result
    level = overall.level
    measure = result.spec.measure if isinstance(result, AnalysisResult) else "Estimate"
    model = "IV, Fixed" if overall.method == "EE" else "IV, Random"
    headers = {
        "label": "Study or subgroup",
        "mean_e": "Mean",
        "sd_e": "SD",
        "n_e": "Total",
        "mean_c": "Mean",
        "sd_c": "SD",
        "n_c": "Total",
        "weight": "Weight",
        "ci": f"{measure} {model}, {int(round(level * 100))}% CI",
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
    ax.text(
        x_positions["mean_e"], top + 0.2, "Experimental", transform=trans, fontsize=8, fontweight="bold", va="center"
    )
    ax.text(x_positions["mean_c"], top + 0.2, "Comparator", transform=trans, fontsize=8, fontweight="bold", va="center")
    est = rows["estimate"].to_numpy(float)
    pooled = rows["kind"].isin(["subtotal", "overall"]).to_numpy()
    if xlim is None:
        span = np.nanmax(
            np.abs(
                np.concatenate([est[np.isfinite(est)], rows.loc[pooled, ["ci_low", "ci_high"]].to_numpy(float).ravel()])
            )
        )
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
        bold = "bold" if r.kind in ("subtotal", "overall") else "normal"
        label = r.label if len(r.label) <= 50 else r.label[:49] + "…"  # the full label is in forest_rows()
        cells = {
            "label": f"{label} ({int(round(level * 100))}% CI)" if r.kind in ("subtotal", "overall") else label,
            "mean_e": _fmt(r.mean_e),
            "sd_e": _fmt(r.sd_e),
            "n_e": _fmt(r.n_e, 0),
            "mean_c": _fmt(r.mean_c),
            "sd_c": _fmt(r.sd_c),
            "n_c": _fmt(r.n_c, 0),
            "weight": f"{r.weight:.1f}%" if pd.notna(r.weight) else "",
            "ci": f"{r.estimate:.{digits}f} [{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]",
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
    left, right = _favours(result)
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


def reviews_forest(reviews: pd.DataFrame, *, measure: str = "SMD", ax=None, extra: pd.DataFrame | None = None):
    """Forest plot of published pooled estimates (``data/reviews.csv``) for one measure.

    Rows are grouped by outcome; rows without a CI are listed without a line.
    ``extra`` may add rows (columns ``label, outcome, estimate, ci_low,
    ci_high``), e.g. this project's own results, drawn in another colour.
    """
    import matplotlib.pyplot as plt

    sel = reviews[reviews["measure"] == measure].copy()
    sel["label"] = sel["review"] + ": " + sel["comparison"]
    sel["mine"] = False
    if extra is not None and len(extra):
        sel = pd.concat([sel, extra.assign(mine=True)], ignore_index=True)
    sel = sel.sort_values(["outcome", "mine"], kind="stable").reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.34 * (len(sel) + len(sel["outcome"].unique()) * 1.2) + 1.2))
    y, ticks, labels = 0.0, [], []
    for outcome, group in sel.groupby("outcome", sort=False):
        ax.text(
            0,
            y + 0.1,
            outcome.capitalize(),
            transform=ax.get_yaxis_transform(),
            fontsize=9,
            fontweight="bold",
            ha="right",
        )
        y -= 1
        for r in group.itertuples(index=False):
            colour = "#c0392b" if r.mine else "#1f5fa8"
            if pd.notna(r.ci_low):
                ax.plot([r.ci_low, r.ci_high], [y, y], color=colour, lw=1.2)
            ax.plot([r.estimate], [y], marker="D" if r.mine else "s", color=colour, ms=5)
            ticks.append(y)
            ci = f"[{r.ci_low:.2f}, {r.ci_high:.2f}]" if pd.notna(r.ci_low) else "(no CI reported)"
            labels.append(f"{r.label}  {r.estimate:.2f} {ci}")
            y -= 1
        y -= 0.4
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(ticks, labels, fontsize=7.5)
    ax.set_xlabel(f"{measure} (pain: negative favours the first-named programme; function: positive does)", fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


_STATUS_COLOURS = {"used": "#2e8b57", "missing": "#f0a030", "not in scope": "#e6e6e6"}


def coverage_chart(matrix: pd.DataFrame, *, ax=None):
    """Trial x analysis chart: which trial feeds which analysis and what is missing.

    ``matrix`` is :func:`analysis.analyses.coverage_matrix` output (cells
    "used", "missing", "not in scope").
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(0.42 * matrix.shape[1] + 3.5, 0.3 * matrix.shape[0] + 2.6))
    colours = {k: i for i, k in enumerate(_STATUS_COLOURS)}
    codes = matrix.fillna("not in scope").apply(lambda s: s.map(colours)).to_numpy(float)
    from matplotlib.colors import ListedColormap

    ax.imshow(codes, cmap=ListedColormap(list(_STATUS_COLOURS.values())), vmin=-0.5, vmax=2.5, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=7.5)
    ax.set_xticks(np.arange(-0.5, matrix.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, matrix.shape[0]), minor=True)
    ax.grid(which="minor", color="white", lw=1)
    ax.tick_params(which="minor", length=0)
    ax.legend(
        handles=[Patch(color=c, label=k) for k, c in _STATUS_COLOURS.items()],
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize=7.5,
        frameon=False,
    )
    return ax
