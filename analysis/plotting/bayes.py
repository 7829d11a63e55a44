"""Figures of a Bayesian random-effects meta-analysis: the shrinkage forest and prior against posterior."""

from __future__ import annotations

import numpy as np

from .forest import STYLE

__all__ = ["bayes_forest", "bayes_posterior"]


def bayes_forest(result, *, labels=None, ax=None, title: str | None = None, measure: str = "Effect"):
    """Each study's estimate with its 95% CI (grey) and its shrinkage estimate with its credible interval
    (blue), then the effect mu (diamond) and the predictive interval of a new trial's effect.

    ``result``: :class:`analysis.BayesResult`. Returns the Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    theta, post = result.theta, result.posterior
    k = len(theta)
    labels = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(k)]
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.42 * (k + 3) + 1.2))
    y = np.arange(k + 2)[::-1].astype(float)
    for yy, (_, r) in zip(y[:k], theta.iterrows()):
        ax.plot(
            [r["y"] - 1.959964 * r["sigma"], r["y"] + 1.959964 * r["sigma"]], [yy + 0.15] * 2, color="#9a9a9a", lw=1
        )
        ax.plot(r["y"], yy + 0.15, "s", color="#9a9a9a", ms=4)
        ax.plot([r["ci_low"], r["ci_high"]], [yy - 0.15] * 2, color=STYLE["study"], lw=1.2)
        ax.plot(r["median"], yy - 0.15, "o", color=STYLE["study"], ms=4)
    mu = post["mu"]
    ym = y[k]
    ax.add_patch(Polygon([[mu["ci_low"], ym], [mu["median"], ym + 0.25], [mu["ci_high"], ym], [mu["median"], ym - 0.25]],
                         closed=True, color=STYLE["overall"]))  # fmt: skip
    pred = post["predictive"]
    ax.plot([pred["ci_low"], pred["ci_high"]], [y[k + 1]] * 2, color=STYLE["extra"], lw=2)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, [*labels, "Effect (mu)", "Prediction (new trial)"])
    ax.set_xlabel(f"{measure} ({100 * result.level:g}% {result.interval} intervals)")
    ax.plot([], [], "s", color="#9a9a9a", label="as reported")
    ax.plot([], [], "o", color=STYLE["study"], label="shrinkage estimate")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.6 / (k + 3)), ncol=2, fontsize=8, frameon=False)
    ax.set_title(title or f"Bayesian random effects; tau prior: {result.prior}", loc="left", fontsize=9)
    return ax


def bayes_posterior(
    result, prior=None, *, parameter: str = "tau", ax=None, title: str | None = None, measure: str = "mu"
):
    """A posterior density: ``parameter="tau"`` (with the prior's density dashed when ``prior``, a
    :class:`analysis.TauPrior`, is given), ``"mu"`` or ``"predictive"`` (a new trial's effect), with the
    credible interval shaded. Returns the Axes."""
    import matplotlib.pyplot as plt

    if parameter not in ("tau", "mu", "predictive"):
        raise ValueError(f"parameter must be 'tau', 'mu' or 'predictive'; got {parameter!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.2))
    quantile = getattr(result, f"{parameter}_quantile")
    pdf = getattr(result, f"{parameter}_pdf")
    lo = 0.0 if parameter == "tau" else quantile(0.0005)
    hi = quantile(0.9995)
    x = np.linspace(lo, hi, 400)
    ax.plot(x, pdf(x), color=STYLE["study"], lw=1.5, label="posterior")
    ci = result.posterior.loc[["ci_low", "ci_high"], parameter].to_numpy(float)
    inside = (x >= ci[0]) & (x <= ci[1])
    ax.fill_between(x[inside], pdf(x[inside]), color=STYLE["study"], alpha=0.15, lw=0,
                    label=f"{100 * result.level:g}% {result.interval} interval")  # fmt: skip
    if prior is not None and parameter == "tau":
        ax.plot(x, prior.pdf(x), color=STYLE["extra"], lw=1.2, ls="--", label=f"prior: {prior.label}")
    if parameter != "tau":
        ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlim(lo, hi)
    ax.set_ylim(bottom=0)
    names = {"tau": "tau (between-trial standard deviation)", "mu": measure, "predictive": f"{measure} of a new trial"}
    ax.set_xlabel(names[parameter])
    ax.set_ylabel("density")
    ax.legend(fontsize=8, frameon=False)
    if title:
        ax.set_title(title, loc="left", fontsize=9)
    return ax
