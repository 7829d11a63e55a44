"""Turn validated study rows into effect sizes for one analysis.

:func:`make_contrasts` is the only place that decides which arm is compared
with which, which time point and instrument a trial contributes, post values
or change scores, the direction of the effect, the rescaling to a common
scale, and how a multi-arm trial shares its comparator. Every decision comes
from the :class:`~analysis.specs.AnalysisSpec`; every derived number (a change
score, an SE from a CI, a split comparator) is computed here from the values
as reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..stats import effects
from .specs import AnalysisSpec

__all__ = ["COVERAGE_COLUMNS", "EFFECT_COLUMNS", "make_contrasts", "timepoint_weeks"]

WEEKS_PER = {"days": 1 / 7, "weeks": 1.0, "months": 52 / 12}

EFFECT_COLUMNS = [
    "study_id", "study", "year", "design", "comparison", "experimental_arm", "experimental_program",
    "comparator_arm", "comparator_program", "outcome", "instrument", "timepoint_weeks", "value_type",
    "source", "n_e", "mean_e", "sd_e", "n_c", "mean_c", "sd_c", "n_basis", "split", "sign",
    "yi", "vi", "se", "ci_low", "ci_high", "notes",
]  # fmt: skip
COVERAGE_COLUMNS = ["analysis", "study_id", "study", "year", "comparison", "status", "reason"]


def timepoint_weeks(studies: pd.DataFrame) -> pd.Series:
    """Weeks from baseline of each row: value x unit, plus the programme length
    when the time point is counted from the end of treatment (months = 52/12 weeks)."""
    per = studies["timepoint_unit"].map(WEEKS_PER).astype(float)
    weeks = studies["timepoint_value"].astype(float) * per
    after = studies["timepoint_from"] == "end of treatment"
    return weeks.where(~after, weeks + studies["treatment_weeks"].astype(float))


def _pick_instrument(rows: pd.DataFrame, spec: AnalysisSpec) -> str | None:
    available = list(dict.fromkeys(rows["instrument"]))
    if spec.instruments is not None:
        available = [i for i in spec.instruments if i in available]
    return available[0] if available else None


def _pick_time(times: pd.DataFrame, spec: AnalysisSpec) -> float:
    """One time point (weeks) for a comparison from candidate rows (weeks, treatment)."""
    weeks = times["weeks"].to_numpy(float)
    if np.isnan(weeks).all():
        return float("nan")
    if spec.timepoint == "earliest":
        return float(np.nanmin(weeks))
    if spec.timepoint == "latest":
        return float(np.nanmax(weeks))
    distance = np.abs(weeks - times["treatment"].to_numpy(float))
    distance = np.where(np.isnan(distance), np.inf, distance)
    order = np.lexsort((weeks, distance))
    return float(weeks[order[0]])


def _same_time(series: pd.Series, t: float) -> pd.Series:
    return series.isna() if np.isnan(t) else np.isclose(series.astype(float), t)


def _arm_values(rows: pd.DataFrame, arm: str, spec: AnalysisSpec, kind: str):
    """(n, mean, sd, note) of an arm for value kind 'post' or 'change', or None with a reason."""
    mine = rows[(rows["level"] == "arm") & (rows["arm"] == arm)]
    direct = mine[mine["value_type"] == kind]
    if len(direct):
        r = direct.iloc[0]
        if pd.notna(r["n"]) and pd.notna(r["mean"]) and pd.notna(r["sd"]):
            if r["orientation"] == "reduction":  # reported as baseline minus follow-up
                return (
                    float(r["n"]),
                    -float(r["mean"]),
                    float(r["sd"]),
                    "reported reduction taken as a negative change",
                ), None
            return (float(r["n"]), float(r["mean"]), float(r["sd"]), ""), None
        return None, f"{arm}: {r['missing'] or 'numbers'} not public"
    if kind == "change":
        base, post = mine[mine["value_type"] == "baseline"], mine[mine["value_type"] == "post"]
        if len(base) and len(post):
            b, p = base.iloc[0], post.iloc[0]
            if all(pd.notna(x) for x in (b["mean"], b["sd"], p["mean"], p["sd"], p["n"])):
                sd = float(effects.change_sd(b["sd"], p["sd"], spec.prepost_r))
                note = f"change computed from baseline and follow-up with r = {spec.prepost_r:g}"
                return (float(p["n"]), float(p["mean"] - b["mean"]), sd, note), None
    return None, f"{arm}: no {kind} values reported"


def _direction(row: pd.Series, outcome: str) -> float:
    """+1 or -1 so that pain is 'higher = worse' and function 'higher = better'.

    ``higher_is_better`` is the instrument's direction; a difference reported
    as a reduction (``orientation == "reduction"``) counts the other way.
    """
    higher_better = bool(row["higher_is_better"])
    sign = (-1.0 if higher_better else 1.0) if outcome == "pain" else (1.0 if higher_better else -1.0)
    return -sign if row.get("orientation", "") == "reduction" else sign


def _rescale(row: pd.Series, spec: AnalysisSpec) -> tuple[float | None, str | None]:
    if spec.measure != "MD" or spec.common_scale is None:
        return 1.0, None
    if pd.isna(row["scale_min"]) or pd.isna(row["scale_max"]):
        return (
            None,
            f"{row['instrument']}: scale range not public, cannot rescale to {spec.common_scale[0]:g}-{spec.common_scale[1]:g}",
        )
    lo, hi = spec.common_scale
    return (hi - lo) / (row["scale_max"] - row["scale_min"]), None


def make_contrasts(studies: pd.DataFrame, spec: AnalysisSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Effect sizes for ``spec`` and the coverage of every trial.

    Parameters
    ----------
    studies : DataFrame from :func:`analysis.load_studies` (not modified).
    spec : the analysis.

    Returns
    -------
    effects : DataFrame
        One row per usable comparison (:data:`EFFECT_COLUMNS`): the arms, the
        time point, the inputs (arm values or the reported contrast), ``yi``
        and ``vi`` oriented and scaled as the spec says, and ``split`` (how
        many comparisons share the comparator arm, 1 if none).
    coverage : DataFrame
        One row per trial (:data:`COVERAGE_COLUMNS`): "used", "missing" (the
        trial has the arms but the numbers are not public or not usable, with
        the reason) or "not in scope" (no such arms).

    Notes
    -----
    Arm-level data are preferred; a reported between-group contrast enters
    through the generic inverse-variance path (SE from its CI) and cannot give
    an SMD. A comparator arm shared by m comparisons in one analysis is split
    (Cochrane Handbook 23.3.4): arm-level n is divided by m; for a contrast,
    whose arm SDs are not public, the variance is rescaled assuming equal SDs,
    var x (m_e/n_e + m_c/n_c)/(1/n_e + 1/n_c) with the randomised n.
    """
    rows = studies[studies["outcome"] == spec.outcome].copy()
    rows["weeks"] = timepoint_weeks(rows)
    rows["treatment"] = rows["treatment_weeks"].astype(float)
    found, coverage = [], []
    for study_id, srows in studies.groupby("study_id", sort=False):
        first = srows.iloc[0]
        base = {"analysis": spec.name, "study_id": study_id, "study": first["study"], "year": first["year"]}
        if spec.evidence == "paper_era" and (pd.isna(first["year"]) or first["year"] > 2020):
            coverage.append(
                {
                    **base,
                    "comparison": "",
                    "status": "not in scope",
                    "reason": "published after 2020 or undated (evidence='paper_era')",
                }
            )
            continue
        mine = rows[rows["study_id"] == study_id]
        instrument = _pick_instrument(mine, spec)
        if instrument is None:
            why = "outcome not measured" if mine.empty else f"no {'/'.join(spec.instruments or ())} data"
            coverage.append({**base, "comparison": "", "status": "not in scope", "reason": why})
            continue
        mine = mine[mine["instrument"] == instrument]
        arms = pd.concat(
            [
                mine[["arm", "program"]],
                mine.loc[mine["level"] == "contrast", ["comparator_arm", "comparator_program"]].set_axis(
                    ["arm", "program"], axis=1
                ),
            ]
        ).drop_duplicates()
        e_arms = arms[arms["program"].isin(spec.experimental)]
        c_arms = arms[arms["program"] == spec.comparator]
        pairs = [
            (e, c) for e in e_arms.itertuples(index=False) for c in c_arms.itertuples(index=False) if e.arm != c.arm
        ]
        if not pairs:
            coverage.append(
                {
                    **base,
                    "comparison": "",
                    "status": "not in scope",
                    "reason": f"no {'/'.join(spec.experimental)} arm with a {spec.comparator} arm",
                }
            )
            continue
        for e, c in pairs:
            label = f"{e.arm} vs {c.arm}"
            outcome_rows = mine[
                (
                    (mine["level"] == "arm")
                    & (mine["arm"].isin([e.arm, c.arm]))
                    & mine["program"].isin([e.program, c.program])
                )
                | (
                    (mine["level"] == "contrast")
                    & (
                        ((mine["arm"] == e.arm) & (mine["comparator_arm"] == c.arm))
                        | ((mine["arm"] == c.arm) & (mine["comparator_arm"] == e.arm))
                    )
                )
            ]
            t = _pick_time(outcome_rows[["weeks", "treatment"]], spec)
            at = outcome_rows[_same_time(outcome_rows["weeks"], t)]
            item, reason = _one_comparison(at, e, c, spec)
            if item is None:
                coverage.append({**base, "comparison": label, "status": "missing", "reason": reason})
                continue
            item.update(
                study_id=study_id,
                study=first["study"],
                year=first["year"],
                design=first["design"],
                comparison=label,
                experimental_arm=e.arm,
                experimental_program=e.program,
                comparator_arm=c.arm,
                comparator_program=c.program,
                outcome=spec.outcome,
                instrument=instrument,
                timepoint_weeks=t,
            )
            found.append(item)
            coverage.append({**base, "comparison": label, "status": "used", "reason": item["notes"]})
    effects_frame = _finish(found, spec)
    return effects_frame, pd.DataFrame(coverage, columns=COVERAGE_COLUMNS)


def _one_comparison(at: pd.DataFrame, e, c, spec: AnalysisSpec) -> tuple[dict | None, str | None]:
    """Inputs of one comparison at one time point, from arm values or a contrast."""
    reasons = []
    kinds = {"post": ["post"], "change": ["change"], "any": ["post", "change"]}[spec.values]
    for kind in kinds:
        ev, why_e = _arm_values(at, e.arm, spec, kind)
        cv, why_c = _arm_values(at, c.arm, spec, kind)
        if ev and cv:
            ref = at[(at["level"] == "arm") & (at["arm"] == e.arm)].iloc[0]
            scale, why = _rescale(ref, spec)
            if why:
                return None, why
            note = "; ".join(x for x in (ev[3], cv[3]) if x)
            return dict(
                source="arm",
                value_type=kind,
                n_e=ev[0],
                mean_e=ev[1],
                sd_e=ev[2],
                n_c=cv[0],
                mean_c=cv[1],
                sd_c=cv[2],
                n_basis="analysed",
                sign="",
                direction=_direction(ref, spec.outcome),
                scale=scale,
                notes=note or "arm-level values",
            ), None
        reasons += [r for r in (why_e, why_c) if r]
    contrast = at[(at["level"] == "contrast") & (at["status"] == "verified")]
    contrast = contrast[contrast["value_type"].isin(kinds)]
    if not contrast.empty:
        r = contrast.iloc[0]
        if spec.measure == "SMD":
            return None, "only a between-group MD is public; an SMD needs the arm SDs (" + "; ".join(
                dict.fromkeys(reasons)
            ) + ")"
        if r["sign"] == "inferred" and not spec.include_inferred_sign:
            return None, "the contrast's sign convention is inferred, not stated (include_inferred_sign=False)"
        scale, why = _rescale(r, spec)
        if why:
            return None, why
        flip = -1.0 if r["arm"] == c.arm else 1.0
        note = f"reported contrast {r['arm']} vs {r['comparator_arm']} = {r['estimate']:g} [{r['ci_low']:g}, {r['ci_high']:g}]"
        if flip < 0:
            note += ", reversed to " + f"{e.arm} vs {c.arm}"
        return dict(
            source="contrast",
            value_type=r["value_type"],
            n_e=r["comparator_n_randomised"] if flip < 0 else r["n_randomised"],
            n_c=r["n_randomised"] if flip < 0 else r["comparator_n_randomised"],
            n_basis="randomised",
            sign=r["sign"],
            estimate=r["estimate"],
            ci=(r["ci_low"], r["ci_high"]),
            ci_level=r["ci_level"],
            flip=flip,
            direction=_direction(r, spec.outcome),
            scale=scale,
            notes=note,
        ), None
    if not reasons:
        reasons.append("no outcome rows at this time point")
    where = at.loc[at["status"] != "verified", "location"]
    located = f" (where: {where.iloc[0]})" if len(where) and where.iloc[0] else ""
    return None, "; ".join(dict.fromkeys(reasons)) + located


def _finish(found: list[dict], spec: AnalysisSpec) -> pd.DataFrame:
    """Apply the multi-arm rule and compute yi, vi."""
    if not found:
        return pd.DataFrame(columns=EFFECT_COLUMNS)

    def key(it: dict, arm: str) -> tuple:
        t = it["timepoint_weeks"]
        return (
            it["study_id"],
            arm,
            None if pd.isna(t) else float(t),
        )  # NaN never equals itself: an unknown time is one key

    uses: dict[tuple, int] = {}
    for it in found:
        for arm in (it["experimental_arm"], it["comparator_arm"]):
            uses[key(it, arm)] = uses.get(key(it, arm), 0) + 1
    out = []
    for it in found:
        m_e = uses[key(it, it["experimental_arm"])] if spec.multi_arm == "split" else 1
        m_c = uses[key(it, it["comparator_arm"])] if spec.multi_arm == "split" else 1
        row = {k: it.get(k, np.nan) for k in EFFECT_COLUMNS}
        row["split"] = max(m_e, m_c)
        d, s = it["direction"], it["scale"]
        if it["source"] == "arm":
            n_e, n_c = it["n_e"] / m_e, it["n_c"] / m_c
            if spec.measure == "MD":
                yi, vi = effects.mean_difference(it["mean_e"], it["sd_e"], n_e, it["mean_c"], it["sd_c"], n_c)
            else:
                yi, vi = effects.hedges_g(
                    it["mean_e"], it["sd_e"], n_e, it["mean_c"], it["sd_c"], n_c, convention=spec.smd_convention
                )
            row["n_e"], row["n_c"] = n_e, n_c
            yi, vi = float(yi) * d * s, float(vi) * s * s
        else:
            lo, hi = it["ci"]
            reported, vi = effects.from_ci(it["estimate"], lo, hi, level=it["ci_level"])
            yi, vi = float(reported) * it["flip"] * d * s, float(vi) * s * s
            if max(m_e, m_c) > 1:
                n_e, n_c = it["n_e"], it["n_c"]
                if pd.notna(n_e) and pd.notna(n_c):
                    vi *= (m_e / n_e + m_c / n_c) / (1 / n_e + 1 / n_c)
                    row["n_e"], row["n_c"] = n_e / m_e, n_c / m_c
                    row["notes"] = (
                        it["notes"] + f"; shared arm split {max(m_e, m_c)} ways (variance rescaled, equal SDs assumed)"
                    )
                else:
                    row["split"] = 1
                    row["notes"] = it["notes"] + "; shared arm NOT split: n not public"
        if d < 0:
            row["notes"] = (
                f"{row['notes']}; sign reversed so that {'lower = less pain' if spec.outcome == 'pain' else 'higher = better function'}"
            )
        if s != 1:
            row["notes"] = f"{row['notes']}; rescaled x{s:g} to {spec.common_scale[0]:g}-{spec.common_scale[1]:g}"
        z = float(stats.norm.isf((1 - spec.level) / 2))
        row.update(yi=yi, vi=vi, se=np.sqrt(vi), ci_low=yi - z * np.sqrt(vi), ci_high=yi + z * np.sqrt(vi))
        out.append(row)
    return pd.DataFrame(out, columns=EFFECT_COLUMNS)
