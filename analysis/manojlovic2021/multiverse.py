"""The multiverse of the decisions the paper does not state, for every declared analysis.

The paper names neither its τ² estimator nor its test, its time points, whether
it pooled follow-up values or change scores (and with which pre-post
correlation), how a multi-arm trial shares its control, nor exactly which
trials it included. :data:`DATA_DECISIONS` and :data:`POOL_DECISIONS` list
the options; :func:`spec_multiverse` builds the data of every combination with
:func:`~analysis.manojlovic2021.contrasts.make_contrasts` and pools them all
through :func:`analysis.multiverse` (the batch path), per subgroup where the
analysis has subgroups. Combinations that give identical data are built once.
"""

from __future__ import annotations

import itertools

import pandas as pd

from ..stats.multiverse import MultiverseResult, multiverse
from .contrasts import make_contrasts, prepare
from .specs import PROGRAM_LABELS, TIMEPOINT_RULES, AnalysisSpec

__all__ = [
    "DATA_DECISIONS",
    "POOL_DECISIONS",
    "held",
    "multiverse_stem",
    "multiverse_summary",
    "paper_reference",
    "sensitivity",
    "spec_multiverse",
]

#: Data decisions the paper does not state, and the options of each.
DATA_DECISIONS: dict[str, tuple] = {
    "timepoint": TIMEPOINT_RULES,
    "values": ("post", "change", "any"),
    "prepost_r": (0.2, 0.5, 0.8),
    "multi_arm": ("split", "reuse"),
    "evidence": ("all", "paper_era"),
    "designs": (("RCT", "quasi-randomised"), ("RCT",)),
    "include_inferred_sign": (True, False),
}

#: Pooling decisions the paper does not state.
POOL_DECISIONS: dict[str, tuple[str, ...]] = {"methods": ("DL", "REML", "PM"), "tests": ("z", "knha")}


def held(spec: AnalysisSpec, studies: pd.DataFrame) -> dict[str, str]:
    """Decisions that cannot change this analysis's numbers on these data, and why: they are held
    at the spec's own value (varying them would only repeat specifications)."""
    rows = studies[(studies["outcome"] == spec.outcome) & (studies["status"] != "not public")]
    out = {}
    if not (rows["value_type"] != "post").any():
        out["values"] = "no change score or baseline value is public"
    if not (rows["value_type"] == "baseline").any():
        out["prepost_r"] = "no baseline value is public, so no change score is computed"
    if not (rows["year"].isna() | (rows["year"] > 2020)).any():
        out["evidence"] = "no trial after 2020 or undated has public numbers"
    if not (rows["design"] != "RCT").any():
        out["designs"] = "no quasi-randomised trial has public numbers"
    if not ((rows["level"] == "contrast") & (rows["sign"] == "inferred")).any():
        out["include_inferred_sign"] = "no contrast with an inferred sign has public numbers"
    return out


def _combinations(spec: AnalysisSpec, fixed: dict[str, str]):
    """Every combination of :data:`DATA_DECISIONS` that means something for ``spec``: SMDs do not
    mix post values and change scores; the pre-post r matters only where change scores may be
    computed; decisions in ``fixed`` keep the spec's value."""
    names = list(DATA_DECISIONS)
    options = [(getattr(spec, n),) if n in fixed else DATA_DECISIONS[n] for n in names]
    for values in itertools.product(*options):
        d = dict(zip(names, values))
        if spec.measure == "SMD" and d["values"] == "any":
            continue
        if d["values"] == "post" and d["prepost_r"] != options[names.index("prepost_r")][0]:
            continue  # r is unused: one value stands for all
        yield d


def _label(value) -> str:
    if isinstance(value, tuple):
        return "RCT only" if value == ("RCT",) else "all designs"
    return str(value)


def paper_reference(spec: AnalysisSpec, target: str, reviews: pd.DataFrame) -> dict | None:
    """The paper's published estimate for this analysis and subgroup, from ``data/reviews.csv`` (or None)."""
    if not spec.name.startswith("paper_") or spec.name == "paper_function_akps":
        return None
    rows = reviews[
        (reviews["review_id"] == "manojlovic2021")
        & (reviews["outcome"] == spec.outcome)
        & (reviews["measure"] == spec.measure)
        & (reviews["program"].map(PROGRAM_LABELS) == target)
    ]
    if rows.empty:
        return None
    r = rows.iloc[0]
    return {"estimate": float(r["estimate"]), "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"])}


def _datasets(spec: AnalysisSpec, studies: pd.DataFrame, combos, by_subgroup: bool) -> dict[str, list]:
    """Per target ("overall" and, with ``by_subgroup``, each programme's label) the (decisions, yi, vi)
    of every combination of options; each outcome's rows are prepared once."""
    per_target: dict[str, list] = {}
    prepared = {}
    for d in combos:
        variant = spec.with_options(**d)
        if variant.outcome not in prepared:
            prepared[variant.outcome] = prepare(studies, variant.outcome)
        effects, _ = make_contrasts(studies, variant, prepared=prepared[variant.outcome])
        labels = {k: _label(v) for k, v in d.items()}
        per_target.setdefault("overall", []).append((labels, effects["yi"].to_numpy(), effects["vi"].to_numpy()))
        if by_subgroup and spec.subgroup == "program":
            for program, rows in effects.groupby("experimental_program", sort=False):
                target = PROGRAM_LABELS[program]
                per_target.setdefault(target, []).append((labels, rows["yi"].to_numpy(), rows["vi"].to_numpy()))
    return per_target


def spec_multiverse(
    spec: AnalysisSpec, studies: pd.DataFrame, reviews: pd.DataFrame | None = None, fixed: dict | None = None
) -> dict[str, MultiverseResult]:
    """The multiverse of ``spec``: one :class:`analysis.MultiverseResult` per target ("overall",
    or each subgroup's label for an analysis by programme), with the paper's number as the
    reference where it published one. ``fixed``: :func:`held` (spec, studies), if already known."""
    fixed = held(spec, studies) if fixed is None else fixed
    per_target = _datasets(spec, studies, _combinations(spec, fixed), by_subgroup=True)
    out = {}
    for target, datasets in per_target.items():
        reference = paper_reference(spec, target, reviews) if reviews is not None else None
        out[target] = multiverse(datasets, **POOL_DECISIONS, reference=reference, level=spec.level)
    return out


def sensitivity(spec: AnalysisSpec, studies: pd.DataFrame, **options) -> pd.DataFrame:
    """Rerun ``spec`` over every combination of the given options (any :class:`AnalysisSpec` field).

    Example: ``sensitivity(spec, studies, method=["DL", "REML"], timepoint=["end_of_treatment", "latest"])``.
    Returns one row per combination, in the order of the options: the options, k, and the
    overall pooled estimate, CI, tau² and I² (NaN where no comparison is usable). The data
    of each combination come from :func:`make_contrasts` and are pooled through the batch
    path of :func:`analysis.multiverse`, as the multiverse is.
    """
    order = list(options)  # the caller's order of options, for columns and rows
    options = {k: list(v) for k, v in options.items()}
    methods = tuple(options.pop("method", (spec.method,)))
    tests = tuple(options.pop("test", (spec.test,)))
    names = list(options)
    combos = [dict(zip(names, c)) for c in itertools.product(*options.values())]
    data = _datasets(spec, studies, combos, by_subgroup=False).get("overall", [])
    data = [({**labels, "_combo": i}, y, v) for i, (labels, y, v) in enumerate(data)]
    table = multiverse(data, methods=methods, tests=tests, level=spec.level, min_k=1).table
    grid = pd.DataFrame(
        [{**c, "_combo": i, "method": m, "test": t} for i, c in enumerate(combos) for m in methods for t in tests]
    )
    cols = ["_combo", "method", "test", "k", "estimate", "ci_low", "ci_high", "tau2", "i2"]
    out = grid.merge(table[cols] if len(table) else pd.DataFrame(columns=cols), how="left", on=cols[:3])
    out["k"] = out["k"].fillna(0).astype(int)
    out[cols[4:]] = out[cols[4:]].astype(float)
    values = {**options, "method": list(methods), "test": list(tests)}
    position = pd.DataFrame({n: [values[n].index(x) for x in out[n]] for n in order}, index=out.index)
    out = out.loc[position.sort_values(order, kind="stable").index].reset_index(drop=True)
    return out[order + cols[3:]]


def multiverse_stem(analysis: str, target: str) -> str:
    """File stem of a multiverse's table and figure: the analysis, and the subgroup when not "overall"."""
    if target == "overall":
        return f"multiverse_{analysis}"
    return f"multiverse_{analysis}_{target.replace('&', '_').replace('-', '_').lower()}"


def multiverse_summary(multiverses: list[tuple[AnalysisSpec, str, MultiverseResult, dict[str, str]]]) -> pd.DataFrame:
    """One row per analysis and target: how many specifications, their range, the shares significant and
    agreeing with the paper, and the decisions held fixed (with why)."""
    rows = []
    for spec, target, mv, fixed in multiverses:
        t = mv.table
        ref = mv.reference
        rows.append(
            dict(
                analysis=spec.name,
                target=target,
                specifications=len(t),
                too_few_studies=mv.not_poolable,
                estimate_min=t["estimate"].min() if len(t) else float("nan"),
                estimate_median=t["estimate"].median() if len(t) else float("nan"),
                estimate_max=t["estimate"].max() if len(t) else float("nan"),
                share_significant=mv.share_significant,
                paper="" if ref is None else f"{ref['estimate']:.2f} [{ref['ci_low']:.2f}, {ref['ci_high']:.2f}]",
                share_agreeing=mv.share_agreeing,
                held="; ".join(f"{k}: {v}" for k, v in fixed.items()),
            )
        )
    return pd.DataFrame(rows)
