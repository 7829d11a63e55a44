"""Diagnoses for discrepant printed numbers: the single change that makes them reproduce.

Study rows (arm data): ``se_as_sd`` (an arm's SD is really an SE, or an SE was
used where the SD is printed), ``arms_swapped`` (experimental and control
exchanged), ``sign_flipped`` (one arm's mean with the wrong sign), ``typo``
(one of the six numbers off; the value that reproduces the row is given); a
weight alone: ``weight_convention`` (percent of the subtotal where the plot has
a total, or the reverse) or ``study_rows`` (other rows are wrong). Subtotals
and totals: ``model_mismatch`` (the other model, or another tau² estimator,
reproduces them), ``i2_convention`` (I² from tau² as metafor computes it),
``study_rows`` (they follow the printed study rows, whose inputs are
discrepant). Otherwise ``unexplained``. A change counts when every printed
estimate and CI bound of the row is then within rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize

from ..stats.effects import hedges_g, mean_difference
from ..stats.engine import TAU2_METHODS
from ..stats.pooling import pool
from ..stats.subgroups import subgroup_analysis

__all__ = ["diagnose_pooled", "diagnose_study"]

_Z = 1.959963984540054
_INTERVAL = ("estimate", "ci_low", "ci_high")
ARM = ["mean_1", "sd_1", "n_1", "mean_2", "sd_2", "n_2"]


def _effect(arms: dict[str, np.ndarray], measure: str) -> dict[str, np.ndarray]:
    args = [np.asarray(arms[c], float) for c in ARM]
    with np.errstate(all="ignore"):
        y, v = mean_difference(*args) if measure == "MD" else hedges_g(*args, convention="revman5")
    se = np.sqrt(v)
    return {"estimate": y, "ci_low": y - _Z * se, "ci_high": y + _Z * se}


def _deviation(values: dict[str, np.ndarray], printed: dict) -> np.ndarray:
    """Largest distance of the recomputed interval from the printed one, in units of the last printed digit."""
    dev = 0.0
    for q in _INTERVAL:
        if q in printed:
            dev = np.maximum(dev, np.abs(values[q] - printed[q].value) / printed[q].unit)
    return np.where(np.isfinite(dev), dev, np.inf)


def _reproduces(arms, measure, printed) -> bool:
    return bool(_deviation(_effect(arms, measure), printed) <= 1 + 1e-9)


def _fmt(x: float, like: str) -> str:
    decimals = len(like.split(".", 1)[1]) if "." in like else 0
    return f"{x:.{decimals}f}"


def _solve(arms: dict, key: str, measure: str, printed: dict, text: pd.Series) -> tuple[str, bool] | None:
    """The value of input ``key`` that reproduces the row, as text, and whether it has the printed
    precision (a typed value, not a fitted one); None when no value does."""
    x0 = float(arms[key])
    if key.startswith("mean"):  # the estimate is linear in each mean
        base = _effect(arms, measure)["estimate"]
        other = {**arms, key: x0 + 1.0}
        slope = _effect(other, measure)["estimate"] - base
        if "estimate" not in printed or slope == 0:
            return None
        candidates = np.array([x0 + (printed["estimate"].value - base) / slope])
    else:  # SD or n: scan four decades either side, then refine
        grid = x0 * np.geomspace(1e-4, 1e4, 4001)
        if key.startswith("n"):
            grid = grid[grid >= 2]
        dev = _deviation(_effect({**arms, key: grid}, measure), printed)
        best = int(np.argmin(dev))
        lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        f = lambda x: float(_deviation(_effect({**arms, key: np.array([x])}, measure), printed)[0])  # noqa: E731
        res = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12 * hi})
        candidates = np.array([res.x])
        if key.startswith("n"):
            candidates = np.unique(np.maximum(np.round([res.x - 1, res.x, res.x + 1]), 1))
    for x in candidates:
        for value in (float(_fmt(x, text[key])), x):  # the printed precision first
            if _reproduces({**arms, key: value}, measure, printed):
                clean = value != x or key.startswith("n") or _fmt(x, text[key]) == f"{x:g}"
                return (_fmt(value, text[key]) if clean else f"{x:.6g}"), clean
    return None


def _set(records: list[dict], code: str, detail: str, quantities=None) -> None:
    for r in records:
        if r["verdict"] == "discrepant" and not r["diagnosis"] and (quantities is None or r["quantity"] in quantities):
            r["diagnosis"], r["detail"] = code, detail


def diagnose_study(records, row, text, measure, fig, j, has_total, other_model) -> dict | None:
    """Fill ``diagnosis`` and ``detail`` of the discrepant records of one study row (in place);
    return the corrected arm numbers when a diagnosis found them.

    ``fig`` and ``other_model`` are :func:`analysis.audit.forest.recompute` under the stated
    model and under the other one (for weights that follow the other model).
    """
    printed = {r["quantity"]: r["_printed"] for r in records}
    interval_bad = any(r["verdict"] == "discrepant" and r["quantity"] in _INTERVAL for r in records)
    weight_bad = any(r["verdict"] == "discrepant" and r["quantity"] == "weight" for r in records)
    if weight_bad and not interval_bad:
        w = printed["weight"]
        other = fig["weights_subgroup"] if has_total else fig["weights_total"]
        model = other_model["weights_total"] if has_total else other_model["weights_subgroup"]
        if abs(other[j] - w.value) <= w.unit:
            where = "its subtotal" if has_total else "the total"
            _set(records, "weight_convention", f"the printed weight is the percentage of {where} ({other[j]:.2f}%)")
        elif abs(model[j] - w.value) <= w.unit:
            _set(records, "model_mismatch", f"the printed weight is the other model's ({model[j]:.2f}%)")
        else:
            _set(records, "study_rows", "the weights depend on every study: see the discrepant rows of this figure")
        return None
    has_arms = all(pd.notna(row[c]) for c in ARM)
    if not has_arms:
        _set(records, "unexplained", "generic inverse-variance row: the estimate and CI are the inputs")
        return None
    arms = {c: float(row[c]) for c in ARM}
    found: list[tuple[str, str, dict]] = []
    for k in ("1", "2"):
        n, sd = arms[f"n_{k}"], arms[f"sd_{k}"]
        fix = {**arms, f"sd_{k}": sd * np.sqrt(n)}
        if _reproduces(fix, measure, printed):
            found.append(
                (
                    "se_as_sd",
                    f"sd_{k} {text[f'sd_{k}']} is an SE: SD = SE x sqrt(n) = {sd * np.sqrt(n):.4g} reproduces the row",
                    fix,
                )
            )
        fix = {**arms, f"sd_{k}": sd / np.sqrt(n)}
        if _reproduces(fix, measure, printed):
            found.append(
                (
                    "se_as_sd",
                    f"the row was computed with SE = sd_{k}/sqrt(n) = {sd / np.sqrt(n):.4g} in place of the SD",
                    fix,
                )
            )
    both = {**arms, "sd_1": arms["sd_1"] * np.sqrt(arms["n_1"]), "sd_2": arms["sd_2"] * np.sqrt(arms["n_2"])}
    if not found and _reproduces(both, measure, printed):
        found.append(("se_as_sd", "both SDs are SEs: SD = SE x sqrt(n) reproduces the row", both))
    if not found:
        swapped = {f"{c[:-1]}{'2' if c[-1] == '1' else '1'}": v for c, v in arms.items()}
        if _reproduces(swapped, measure, printed):
            found.append(("arms_swapped", "the experimental and control arms are exchanged", swapped))
    if not found:
        for k in ("1", "2"):
            fix = {**arms, f"mean_{k}": -arms[f"mean_{k}"]}
            if arms[f"mean_{k}"] != 0 and _reproduces(fix, measure, printed):
                found.append(
                    ("sign_flipped", f"mean_{k} has the wrong sign: {-arms[f'mean_{k}']:g} reproduces the row", fix)
                )
    if not found:
        typos = [(key, _solve(arms, key, measure, printed, text)) for key in ARM]
        typos = [(k, v[0], v[1]) for k, v in typos if v is not None]
        if any(clean for *_, clean in typos):  # a value with the printed precision is a typo; a fitted one is not
            typos = [t for t in typos if t[2]]
        typos = [(k, v) for k, v, _ in typos]
        if typos:
            options = " or ".join(f"{k} = {v} (printed {text[k]})" for k, v in typos)
            found.append(
                ("typo", f"one number is off: {options} reproduces the row", {**arms, typos[0][0]: float(typos[0][1])})
            )
    code, detail, fix = (
        found[0] if found else ("unexplained", "no single change of the arm numbers reproduces the row", None)
    )
    _set(records, code, detail)
    return fix


def _pooled(yi, vi, groups, method: str, total: bool) -> dict[str, float]:
    res = pool(yi, vi, method=method, test="z")
    out = {
        "estimate": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high, "tau2": res.tau2, "z": abs(res.statistic),
        "p_overall": res.pvalue, "chi2": res.q, "df": res.q_df, "p_heterogeneity": res.q_pvalue, "i2": 100 * res.i2,
    }  # fmt: skip
    if total and len(set(groups)) > 1:
        sub = subgroup_analysis(yi, vi, groups, method=method, test="z", tau2="separate")
        out.update(chi2_subgroups=sub.q_between, df_subgroups=sub.df_between, p_subgroups=sub.p_between)
        out.update(i2_subgroups=100 * sub.i2_between)
    return out


def _all_within(records, values, quantities) -> bool:
    from .forest import verdict

    return all(
        verdict(r["_printed"], values.get(r["quantity"], np.nan)) != "discrepant"
        for r in records
        if r["quantity"] in quantities
    )


def diagnose_pooled(records, yi, vi, groups, model, row, bad_studies, fixed=None, figure_bad=False) -> None:
    """Fill ``diagnosis`` and ``detail`` of the discrepant records of a subtotal or total row (in place).

    ``fixed``: (yi, vi) of the same studies with the diagnosed corrections of discrepant study rows;
    ``figure_bad``: some study row of the figure is discrepant (weights depend on every study).
    """
    total = row["row_type"] == "total"
    bad = {r["quantity"] for r in records if r["verdict"] == "discrepant"}
    if "weight" in bad and figure_bad:
        _set(
            records,
            "study_rows",
            "the weights depend on every study: see the discrepant rows of this figure",
            {"weight"},
        )
        bad -= {"weight"}
        if not bad:
            return
    model_numbers = {"estimate", "ci_low", "ci_high", "tau2", "z", "p_overall"}
    for method in ["EE" if model == "IV, Random" else "DL", *(m for m in TAU2_METHODS if m not in ("EE", "DL"))]:
        if not bad & model_numbers:  # the model's own numbers agree: not a model question
            break
        values = _pooled(yi, vi, groups, method, total)
        if _all_within(records, values, bad - {"weight"}):
            name = (
                "IV, Fixed"
                if method == "EE"
                else "IV, Random"
                if method == "DL"
                else f"random effects with {method} tau²"
            )
            _set(records, "model_mismatch", f"the printed numbers match {name}")
            return
    if bad_studies and fixed is not None:
        # Corrections found from rounded numbers are themselves rounded: the pooled numbers then land
        # within rounding, or at least 90% of the way from the recomputed to the printed value.
        values = _pooled(fixed[0], fixed[1], groups, "EE" if model == "IV, Fixed" else "DL", total)
        close = all(
            r["quantity"] in values
            and abs(values[r["quantity"]] - r["_printed"].value)
            <= max(r["_printed"].unit, 0.1 * abs(r["recomputed"] - r["_printed"].value))
            for r in records
            if r["verdict"] == "discrepant" and not r["diagnosis"] and r["_printed"].relation == "="
        )
        if close:
            names = ", ".join(sorted(bad_studies))
            _set(records, "study_rows", f"follows the discrepant study rows ({names}): corrected, they reproduce it")
            return
    if "i2" in bad:
        p = next(r["_printed"] for r in records if r["quantity"] == "i2")
        for method in ("REML", "ML", "PM", "HS", "SJ", "HE"):
            res = pool(yi, vi, method=method, test="z")
            if abs(100 * res.i2 - p.value) <= p.unit:
                _set(
                    records,
                    "i2_convention",
                    f"I² = {100 * res.i2:.1f}% from tau² ({method}) as metafor computes it",
                    {"i2"},
                )
                break
    _set(records, "unexplained", "no other model, I² convention or study row explains it")
