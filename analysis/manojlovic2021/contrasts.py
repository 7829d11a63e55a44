"""Turn validated study rows into effect sizes for one analysis.

:func:`make_contrasts` is the only place that decides which arm is compared
with which, which time point and instrument a trial contributes, post values
or change scores, the direction of the effect, the rescaling to a common
scale, and how a multi-arm trial shares its comparator. Every decision comes
from the :class:`~analysis.manojlovic2021.specs.AnalysisSpec`; every derived number (a change
score, an SE from a CI, a split comparator) is computed here from the values
as reported.
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pandas as pd
from scipy import stats

from ..stats import binary, conversions, effects
from .load import REPORTED_AS
from .specs import AnalysisSpec

__all__ = [
    "COVERAGE_COLUMNS",
    "EFFECT_COLUMNS",
    "make_contrasts",
    "mean_sd",
    "prepare",
    "prepost_correlations",
    "timepoint_weeks",
]

WEEKS_PER = {"days": 1 / 7, "weeks": 1.0, "months": 52 / 12}

EFFECT_COLUMNS = [
    "study_id", "study", "year", "design", "comparison", "experimental_arm", "experimental_program",
    "comparator_arm", "comparator_program", "outcome", "instrument", "timepoint_weeks", "value_type",
    "source", "n_e", "mean_e", "sd_e", "events_e", "n_c", "mean_c", "sd_c", "events_c", "n_basis", "split", "sign",
    "direction", "scale", "yi", "vi", "se", "ci_low", "ci_high", "notes",
]  # fmt: skip
COVERAGE_COLUMNS = ["analysis", "study_id", "study", "year", "comparison", "status", "reason"]


def timepoint_weeks(studies: pd.DataFrame) -> pd.Series:
    """Weeks from baseline of each row: value x unit, plus the programme length
    when the time point is counted from the end of treatment (months = 52/12 weeks)."""
    per = studies["timepoint_unit"].map(WEEKS_PER).astype(float)
    weeks = studies["timepoint_value"].astype(float) * per
    after = studies["timepoint_from"] == "end of treatment"
    return weeks.where(~after, weeks + studies["treatment_weeks"].astype(float))


# Per trial the rows are few, so the decisions below work on plain records (dicts), one
# per row: pandas' per-call cost on tiny frames made make_contrasts slow on big files.
Record = dict


def _pick_instrument(rows: list[Record], spec: AnalysisSpec) -> str | None:
    available = list(dict.fromkeys(r["instrument"] for r in rows))
    if spec.instruments is not None:
        available = [i for i in spec.instruments if i in available]
    return available[0] if available else None


def _pick_time(rows: list[Record], spec: AnalysisSpec) -> float:
    """One time point (weeks) for a comparison from its candidate rows."""
    weeks = np.array([r["weeks"] for r in rows], dtype=float)
    if np.isnan(weeks).all():
        return float("nan")
    if spec.timepoint == "earliest":
        return float(np.nanmin(weeks))
    if spec.timepoint == "latest":
        return float(np.nanmax(weeks))
    distance = np.abs(weeks - np.array([r["treatment"] for r in rows], dtype=float))
    distance = np.where(np.isnan(distance), np.inf, distance)
    order = np.lexsort((weeks, distance))
    return float(weeks[order[0]])


def _same_time(week: float, t: float) -> bool:
    """Equal time points (numpy's isclose tolerances, rtol 1e-5 and atol 1e-8, on plain floats); NaN equals NaN."""
    week, t = float(week), float(t)
    if math.isnan(t) or math.isnan(week):
        return math.isnan(t) and math.isnan(week)
    return abs(week - t) <= 1e-8 + 1e-5 * abs(t)


def mean_sd(r: Record, spec: AnalysisSpec) -> tuple[tuple[float, float, str] | None, str | None]:
    """An arm row's (mean, SD, how it was derived), or None with the reason.

    Rows printed in another form (``reported_as``) are converted here, by the
    spec's ``median_method`` and ``ci_dist``: SD = SE √n; SD from the CI of the
    mean (t with n - 1 df, or z); mean and SD from a median with quartiles
    and/or range (:func:`analysis.mean_sd_from_fivenum`; a skewed arm is not
    used). The derivation is said in words for the effect table and the report.
    """
    form = r.get("reported_as") or "mean_sd"
    if any(pd.isna(r[c]) for c in REPORTED_AS[form]):
        return None, f"{r['arm']}: {r['missing'] or 'numbers'} not public"
    n = float(r["n"])
    if form == "mean_sd":
        return (float(r["mean"]), float(r["sd"]), ""), None
    if form == "mean_se":
        return (float(r["mean"]), float(conversions.sd_from_se(r["se"], n)), f"derived: SD = SE x sqrt({n:g})"), None
    if form == "mean_ci":
        sd = float(conversions.sd_from_ci(r["ci_low"], r["ci_high"], n, level=r["ci_level"], dist=spec.ci_dist))
        how = f"t, {n - 1:g} df" if spec.ci_dist == "t" else "z"
        return (float(r["mean"]), sd, f"derived: SD from the {100 * r['ci_level']:g}% CI of the mean ({how})"), None
    five = {k: r[k] for k in ("q1", "q3", "minimum", "maximum") if k in REPORTED_AS[form]}
    res = conversions.mean_sd_from_fivenum(n, median=r["median"], method=spec.median_method, **five)
    if not np.isfinite(res.mean):
        return None, f"{r['arm']}: {res.reason[()]} ({form.replace('_', ' ')})"
    return (float(res.mean), float(res.sd), f"{res.derivation[()]}, method {spec.median_method}"), None


def prepost_correlations(studies: pd.DataFrame, outcome: str | None = None) -> pd.DataFrame:
    """Correlations between baseline and follow-up from arms that report all three SDs (baseline,
    follow-up and change, at the same time point and instrument; Cochrane Handbook 6.5.2.8):
    one row per such arm with ``sd_baseline, sd_followup, sd_change, r``."""
    arms = studies[(studies["level"] == "arm") & studies["sd"].notna()]
    if outcome is not None:
        arms = arms[arms["outcome"] == outcome]
    arms = arms.assign(weeks=timepoint_weeks(arms))
    key = ["study_id", "study", "arm", "outcome", "instrument"]
    base = arms[arms["value_type"] == "baseline"][key + ["sd"]].rename(columns={"sd": "sd_baseline"})
    later = arms[arms["value_type"] != "baseline"]
    post = later[later["value_type"] == "post"][key + ["weeks", "sd"]].rename(columns={"sd": "sd_followup"})
    change = later[later["value_type"] == "change"][key + ["weeks", "sd"]].rename(columns={"sd": "sd_change"})
    out = base.merge(post, on=key).merge(change, on=key + ["weeks"])
    if out.empty:
        return out.assign(r=pd.Series(dtype=float))
    return out.assign(r=conversions.r_from_sds(out["sd_baseline"], out["sd_followup"], out["sd_change"]))


def _correlation(found: pd.DataFrame, spec: AnalysisSpec) -> tuple[float | None, str]:
    """The pre-post r this analysis uses, and how it was chosen (``found``: :func:`prepost_correlations`)."""
    if spec.prepost_r != "trials":
        return float(spec.prepost_r), f"r = {spec.prepost_r:g}"
    if found.empty:
        return None, "no trial reports baseline, follow-up and change SDs to estimate r from (prepost_r='trials')"
    r = float(found["r"].mean())
    return r, f"r = {r:.3g}, the mean of {len(found)} arm(s) reporting baseline, follow-up and change SDs"


def _arm_values(rows: list[Record], arm: str, spec: AnalysisSpec, kind: str, prepost: tuple[float | None, str]):
    """(n, mean, sd, note) of an arm for value kind 'post' or 'change', or None with a reason.
    ``prepost``: the pre-post correlation and how it was chosen (:func:`_correlation`)."""
    mine = [r for r in rows if r["level"] == "arm" and r["arm"] == arm]
    direct = [r for r in mine if r["value_type"] == kind]
    if direct:
        r = direct[0]
        values, why = mean_sd(r, spec)
        if values is None:
            return None, why
        m, sd, derived = values
        if r["orientation"] == "reduction":  # reported as baseline minus follow-up
            note = "; ".join(x for x in ("reported reduction taken as a negative change", derived) if x)
            return (float(r["n"]), -m, sd, note), None
        return (float(r["n"]), m, sd, derived), None
    if kind == "change":
        base = [r for r in mine if r["value_type"] == "baseline"]
        post = [r for r in mine if r["value_type"] == "post"]
        if base and post:
            (bv, _), (pv, _) = mean_sd(base[0], spec), mean_sd(post[0], spec)
            if bv is not None and pv is not None:
                if prepost[0] is None:
                    return None, f"{arm}: {prepost[1]}"
                sd = float(effects.change_sd(bv[1], pv[1], prepost[0]))
                note = f"change computed from baseline and follow-up with {prepost[1]}"
                note = "; ".join(x for x in (note, bv[2] and f"baseline {bv[2]}", pv[2] and f"follow-up {pv[2]}") if x)
                return (float(post[0]["n"]), pv[0] - bv[0], sd, note), None
    return None, f"{arm}: no {kind} values reported"


def _direction(row: Record, outcome: str) -> float:
    """+1 or -1 so that pain is 'higher = worse' and function 'higher = better'.

    ``higher_is_better`` is the instrument's direction; a difference reported
    as a reduction (``orientation == "reduction"``) counts the other way.
    """
    higher_better = bool(row["higher_is_better"])
    sign = (-1.0 if higher_better else 1.0) if outcome == "pain" else (1.0 if higher_better else -1.0)
    return -sign if row.get("orientation", "") == "reduction" else sign


def _rescale(row: Record, spec: AnalysisSpec) -> tuple[float | None, str | None]:
    if spec.measure != "MD" or spec.common_scale is None:
        return 1.0, None
    if pd.isna(row["scale_min"]) or pd.isna(row["scale_max"]):
        return (
            None,
            f"{row['instrument']}: scale range not public, cannot rescale to {spec.common_scale[0]:g}-{spec.common_scale[1]:g}",
        )
    lo, hi = spec.common_scale
    return (hi - lo) / (row["scale_max"] - row["scale_min"]), None


def _records(frame: pd.DataFrame) -> list[Record]:
    """``frame.to_dict("records")`` (Python values; a missing nullable integer or boolean is None),
    built column by column: many times faster."""
    columns = []
    for _, col in frame.items():
        nullable = isinstance(col.dtype, pd.api.extensions.ExtensionDtype) and col.dtype.kind in "biu"
        columns.append(col.to_numpy(dtype=object, na_value=None) if nullable else col.to_numpy(dtype=object))
    names = list(frame.columns)
    return [dict(zip(names, values)) for values in zip(*(c.tolist() for c in columns))]


class Prepared:
    """One outcome's rows of a studies frame as records per trial, each trial's first row, and the
    pre-post correlations: what :func:`make_contrasts` reads, built once for many specs (the multiverse)."""

    def __init__(self, studies: pd.DataFrame, outcome: str):
        studies = studies.copy(deep=False)
        studies.attrs = {}  # pandas deep-copies attrs on every operation: a cost, and nothing here needs them
        rows = studies[studies["outcome"] == outcome].copy()
        rows["weeks"] = timepoint_weeks(rows)
        rows["treatment"] = rows["treatment_weeks"].astype(float)
        self.outcome = outcome
        self.by_study: dict[str, list[Record]] = {}
        for r in _records(rows):
            self.by_study.setdefault(r["study_id"], []).append(r)
        self.firsts = _records(studies.drop_duplicates("study_id"))
        self.correlations = prepost_correlations(studies, outcome)
        self.memo: dict[tuple, tuple[list, list]] = {}  # a trial's comparisons per spec (see _trial_key)


def prepare(studies: pd.DataFrame, outcome: str) -> Prepared:
    """:class:`Prepared` rows of ``outcome`` for :func:`make_contrasts`."""
    return Prepared(studies, outcome)


def make_contrasts(
    studies: pd.DataFrame, spec: AnalysisSpec, *, prepared: Prepared | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Effect sizes for ``spec`` and the coverage of every trial.

    Parameters
    ----------
    studies : DataFrame from :func:`analysis.load_studies` (not modified).
    spec : the analysis.
    prepared : :func:`prepare` (studies, spec.outcome), to reuse across many specs.

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
    if prepared is None or prepared.outcome != spec.outcome:
        prepared = prepare(studies, spec.outcome)
    prepost = _correlation(prepared.correlations, spec)
    by_study = prepared.by_study
    found, coverage = [], []
    spec_key = (_trial_key(spec), prepost)
    for first in prepared.firsts:
        study_id = first["study_id"]
        base = {"analysis": spec.name, "study_id": study_id, "study": first["study"], "year": first["year"]}
        if spec.evidence == "paper_era" and (pd.isna(first["year"]) or first["year"] > 2020):
            reason = "published after 2020 or undated (evidence='paper_era')"
            coverage.append({**base, "comparison": "", "status": "not in scope", "reason": reason})
            continue
        if first["design"] not in spec.designs:
            reason = f"{first['design']} design (designs={list(spec.designs)})"
            coverage.append({**base, "comparison": "", "status": "not in scope", "reason": reason})
            continue
        key = (study_id, spec_key)
        if key not in prepared.memo:
            prepared.memo[key] = _trial(first, by_study.get(study_id, []), spec, prepost, base)
        items, rows = prepared.memo[key]
        found += items
        coverage += rows
    effects_frame = _finish(found, spec)
    return effects_frame, pd.DataFrame(coverage, columns=COVERAGE_COLUMNS)


#: Spec fields that act after each trial's comparisons are found (filters and pooling): the
#: comparisons of a trial are computed once for every spec that differs only in these.
_AFTER_TRIAL = {"evidence", "designs", "multi_arm", "method", "test", "level", "smd_convention", "description"}


def _trial_key(spec: AnalysisSpec) -> tuple:
    return tuple((f.name, getattr(spec, f.name)) for f in fields(spec) if f.name not in _AFTER_TRIAL)


def _trial(first: Record, mine: list[Record], spec: AnalysisSpec, prepost, base: dict) -> tuple[list, list]:
    """One trial's comparisons for ``spec`` (items for :func:`_finish`) and its coverage rows."""
    found, coverage = [], []
    instrument = _pick_instrument(mine, spec)
    if instrument is None:
        why = "outcome not measured" if not mine else f"no {'/'.join(spec.instruments or ())} data"
        return [], [{**base, "comparison": "", "status": "not in scope", "reason": why}]
    mine = [r for r in mine if r["instrument"] == instrument]
    arms = list(
        dict.fromkeys(
            [(r["arm"], r["program"]) for r in mine]
            + [(r["comparator_arm"], r["comparator_program"]) for r in mine if r["level"] == "contrast"]
        )
    )
    e_arms = [a for a in arms if a[1] in spec.experimental]
    c_arms = [a for a in arms if a[1] == spec.comparator]
    pairs = [(e, c) for e in e_arms for c in c_arms if e[0] != c[0]]
    trial_time = _pick_time(mine, spec) if spec.timepoint_scope == "trial" and mine else None
    if not pairs:
        reason = f"no {'/'.join(spec.experimental)} arm with a {spec.comparator} arm"
        return [], [{**base, "comparison": "", "status": "not in scope", "reason": reason}]
    for (e_arm, e_prog), (c_arm, c_prog) in pairs:
        label = f"{e_arm} vs {c_arm}"
        outcome_rows = [
            r
            for r in mine
            if (r["level"] == "arm" and r["arm"] in (e_arm, c_arm) and r["program"] in (e_prog, c_prog))
            or (r["level"] == "contrast" and ((r["arm"], r["comparator_arm"]) in ((e_arm, c_arm), (c_arm, e_arm))))
        ]
        if trial_time is not None:
            t = trial_time
        else:
            t = _pick_time(outcome_rows, spec) if outcome_rows else float("nan")
        at = [r for r in outcome_rows if _same_time(r["weeks"], t)]
        item, reason = _one_comparison(at, e_arm, c_arm, spec, prepost)
        if item is None:
            coverage.append({**base, "comparison": label, "status": "missing", "reason": reason})
            continue
        item.update(
            study_id=first["study_id"],
            study=first["study"],
            year=first["year"],
            design=first["design"],
            comparison=label,
            experimental_arm=e_arm,
            experimental_program=e_prog,
            comparator_arm=c_arm,
            comparator_program=c_prog,
            outcome=spec.outcome,
            instrument=instrument,
            timepoint_weeks=t,
        )
        found.append(item)
        coverage.append({**base, "comparison": label, "status": "used", "reason": item["notes"]})
    return found, coverage


def _one_comparison(
    at: list[Record], e_arm: str, c_arm: str, spec: AnalysisSpec, prepost
) -> tuple[dict | None, str | None]:
    """Inputs of one comparison at one time point, from arm values or a contrast."""
    if spec.measure in binary.BINARY_MEASURES:
        return _events_comparison(at, e_arm, c_arm, spec)
    reasons = []
    kinds = {"post": ["post"], "change": ["change"], "any": ["post", "change"]}[spec.values]
    for kind in kinds:
        ev, why_e = _arm_values(at, e_arm, spec, kind, prepost)
        cv, why_c = _arm_values(at, c_arm, spec, kind, prepost)
        if ev and cv:
            ref = next(r for r in at if r["level"] == "arm" and r["arm"] == e_arm)
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
    contrast = [r for r in at if r["level"] == "contrast" and r["status"] == "verified" and r["value_type"] in kinds]
    if contrast:
        r = contrast[0]
        if spec.measure == "SMD":
            return None, "only a between-group MD is public; an SMD needs the arm SDs (" + "; ".join(
                dict.fromkeys(reasons)
            ) + ")"
        if r["sign"] == "inferred" and not spec.include_inferred_sign:
            return None, "the contrast's sign convention is inferred, not stated (include_inferred_sign=False)"
        scale, why = _rescale(r, spec)
        if why:
            return None, why
        flip = -1.0 if r["arm"] == c_arm else 1.0
        note = f"reported contrast {r['arm']} vs {r['comparator_arm']} = {r['estimate']:g} [{r['ci_low']:g}, {r['ci_high']:g}]"
        if flip < 0:
            note += ", reversed to " + f"{e_arm} vs {c_arm}"
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
    where = [r["location"] for r in at if r["status"] != "verified"]
    located = f" (where: {where[0]})" if where and where[0] else ""
    return None, "; ".join(dict.fromkeys(reasons)) + located


def _arm_events(at: list[Record], arm: str) -> tuple[tuple[float, float] | None, str | None]:
    """(n, events) of an arm at this time point, or None with the reason."""
    mine = [r for r in at if r["level"] == "arm" and r["arm"] == arm and r["value_type"] == "post"]
    if not mine:
        return None, f"{arm}: no events reported at this time point"
    r = mine[0]
    if pd.isna(r["events"]) or pd.isna(r["n"]):
        return None, f"{arm}: {r['missing'] or 'events and total'} not public"
    return (float(r["n"]), float(r["events"])), None


def _events_comparison(at: list[Record], e_arm: str, c_arm: str, spec: AnalysisSpec):
    """A binary outcome's comparison: each arm's events and total (a 2×2 table)."""
    (ev, why_e), (cv, why_c) = _arm_events(at, e_arm), _arm_events(at, c_arm)
    if ev is None or cv is None:
        where = [r["location"] for r in at if r["status"] != "verified" and r["location"]]
        located = f" (where: {where[0]})" if where else ""
        return None, "; ".join(x for x in (why_e, why_c) if x) + located
    none_or_all = (ev[1] == 0 and cv[1] == 0) or (ev[1] == ev[0] and cv[1] == cv[0])
    if none_or_all and spec.zero_cells == "revman5" and spec.measure != "RD":
        return None, f"no events (or only events) in both arms: not estimable for {spec.measure} (zero_cells='revman5')"
    return dict(source="arm", value_type="post", n_e=ev[0], events_e=ev[1], n_c=cv[0], events_c=cv[1],
                n_basis="analysed", sign="", direction=1.0, scale=1.0,
                notes="events and totals per arm"), None  # fmt: skip


_BINARY_EFFECTS = {"OR": binary.odds_ratio, "RR": binary.risk_ratio, "RD": binary.risk_difference}


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

    z = float(stats.norm.isf((1 - spec.level) / 2))
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
        if it["source"] == "arm" and spec.measure in _BINARY_EFFECTS:  # a shared arm's events split with its n
            n_e, n_c, x_e, x_c = it["n_e"] / m_e, it["n_c"] / m_c, it["events_e"] / m_e, it["events_c"] / m_c
            yi, vi = _BINARY_EFFECTS[spec.measure](x_e, n_e, x_c, n_c, convention=spec.zero_cells)
            yi, vi = float(yi[0]), float(vi[0])
            row.update(n_e=n_e, n_c=n_c, events_e=x_e, events_c=x_c)
            zero = min(x_e, x_c, n_e - x_e, n_c - x_c) == 0
            if zero and spec.measure != "RD":
                row["notes"] = f"{row['notes']}; a zero cell: 0.5 added to each cell ({spec.zero_cells} convention)"
        elif it["source"] == "arm":
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
        row.update(yi=yi, vi=vi, se=np.sqrt(vi), ci_low=yi - z * np.sqrt(vi), ci_high=yi + z * np.sqrt(vi))
        out.append(row)
    return pd.DataFrame(out, columns=EFFECT_COLUMNS)
