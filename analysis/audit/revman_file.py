"""RevMan 5 review files (``.rm5``): read every analysis, recompute every stored number.

A RevMan 5 file is XML. Under ``ANALYSES_AND_DATA`` each ``COMPARISON``
holds outcomes of four kinds: ``DICH_OUTCOME`` (events and totals),
``CONT_OUTCOME`` (means, SDs and totals), ``IV_OUTCOME`` (generic inverse
variance: an estimate and its SE per study) and ``IPD_OUTCOME`` (O - E and
V). An outcome holds study rows (``*_DATA``), optionally inside subgroups
(``*_SUBGROUP``), and RevMan stores the results it computed as attributes of
every element, at full precision: ``EFFECT_SIZE``, ``CI_START``, ``CI_END``
(ratios back-transformed; ``LOG_*`` are their base-10 logarithms), ``SE``,
``VAR``, ``WEIGHT`` (%), ``CHI2``, ``DF``, ``P_CHI2``, ``I2`` (%), ``TAU2``,
``Z``, ``P_Z``, the test for subgroup differences ``Q``, ``P_Q``, ``I2_Q``,
and the totals ``STUDIES``, ``EVENTS_*``, ``TOTAL_*``.

:func:`read_revman` returns the analyses as tables; :func:`audit_revman`
recomputes each stored number with the method the file names (``METHOD``:
MH, Peto or IV; ``RANDOM``: DerSimonian-Laird random effects, MH-based Q
for M-H, as RevMan 5) and judges it at a relative tolerance, since the file
stores full precision while RevMan's own arithmetic (its chi-square tail,
for one) differs from the exact value by up to about 1e-6 relative.
Continuous outcomes are recomputed as :mod:`analysis.audit.forest` does
(RevMan's Hedges' g for SMD); generic inverse-variance rows enter with the
stored estimate and SE, a ratio's estimate taken as its natural log unless
the outcome says ``LOG_DATA="YES"`` (R meta's ``read.rm5``/``metacr`` reading,
which assumes the log scale when the attribute is absent). The generic and
O - E readings follow meta's code; no public RevMan file with such outcomes
was at hand to check them against RevMan's stored numbers.

Checked on ``analysis/datasets/Fleiss1993.rm5`` (from the R package meta):
all stored numbers reproduce (tests/test_revman.py), and on files the tests
build with known changes (each flagged exactly where it was changed) and with
subgroups whose stored numbers metafor computed (tests/reference/binary_reference.R).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..reader import DataError, Problem
from ..stats.binary import binary_pool, peto_from_o_e
from ..stats.effects import hedges_g, mean_difference
from ..stats.pooling import pool
from ..stats.results import Result
from .forest import AUDIT_COLUMNS, AuditResult

__all__ = ["OUTCOME_TYPES", "RevManReview", "audit_revman", "read_revman"]

#: Outcome elements and what their rows hold.
OUTCOME_TYPES = {"DICH": "dichotomous", "CONT": "continuous", "IV": "generic", "IPD": "o-e"}

_RATIO = {"OR", "RR", "PETO_OR", "HR", "ROM"}
_MEASURES = {
    "odds ratio": "OR", "peto odds ratio": "PETO_OR", "peto_or": "PETO_OR", "risk ratio": "RR",
    "risk difference": "RD", "mean difference": "MD", "std. mean difference": "SMD",
    "standardized mean difference": "SMD", "hazard ratio": "HR",
}  # fmt: skip
#: Stored results audited, by level, in the order of the audit table.
_POOLED_ATTRS = ("EFFECT_SIZE", "CI_START", "CI_END", "LOG_EFFECT_SIZE", "LOG_CI_START", "LOG_CI_END", "Z", "P_Z",
                 "CHI2", "DF", "P_CHI2", "I2", "TAU2", "WEIGHT", "STUDIES", "EVENTS_1", "EVENTS_2", "TOTAL_1",
                 "TOTAL_2")  # fmt: skip
_SUBGROUP_TEST_ATTRS = ("Q", "P_Q", "I2_Q")
#: Pooled numbers that tell one model from another (the diagnosis model_mismatch).
_MODEL_ATTRS = ("EFFECT_SIZE", "CI_START", "CI_END", "TAU2")
_STUDY_ATTRS = ("EFFECT_SIZE", "CI_START", "CI_END", "LOG_EFFECT_SIZE", "LOG_CI_START", "LOG_CI_END", "SE", "VAR",
                "O_E", "WEIGHT")  # fmt: skip
_INPUTS = {"EVENTS_1": "events_1", "TOTAL_1": "n_1", "EVENTS_2": "events_2", "TOTAL_2": "n_2", "MEAN_1": "mean_1",
           "SD_1": "sd_1", "MEAN_2": "mean_2", "SD_2": "sd_2"}  # fmt: skip


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else np.nan
    except ValueError:
        return np.nan


@dataclass(frozen=True, repr=False)
class RevManReview(Result):
    """The analyses of a RevMan 5 file.

    Attributes
    ----------
    source : the file's path; title : the review's title.
    outcomes : one row per outcome: ``outcome`` ("1.1": comparison and outcome
        number), ``comparison``, ``name``, ``type`` (dichotomous, continuous,
        generic, o-e), ``measure`` (OR, RR, RD, PETO_OR, MD, SMD, HR, ...),
        ``method`` (MH, IV, Peto), ``model`` (fixed, random), ``level``,
        ``study_level``, ``totals``, ``subgroups``, ``subgroup_test``, ``log_data``, the arm
        labels ``label_1, label_2`` and the favours labels ``favours_1, favours_2``.
    studies : one row per study row: ``outcome``, ``row`` (1-based within the outcome), ``subgroup`` (name, "" when
        none), ``study_id``, ``study`` (name and year), ``order``, the inputs
        (``events_1, n_1, events_2, n_2`` or ``mean_1, sd_1, n_1, mean_2,
        sd_2, n_2``; generic rows ``estimate, se``; o-e rows ``o_e, var``) and
        ``estimable``.
    stored : one row per stored result: ``outcome``, ``level`` (outcome,
        subgroup or study), ``subgroup``, ``study``, ``row`` (the study
        row's ``row``; NaN for pooled rows), ``attribute`` (RevMan's name), ``text``
        (as stored) and ``value``.
    """

    source: str
    title: str
    outcomes: pd.DataFrame
    studies: pd.DataFrame
    stored: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.outcomes.copy()

    def _title(self) -> str:
        return (
            f"RevMan 5 review {self.title!r}: {len(self.outcomes)} outcome(s), {len(self.studies)} study rows, "
            f"{len(self.stored)} stored results"
        )

    def outcome(self, key: str) -> pd.DataFrame:
        """The study rows of one outcome ("1.1")."""
        if key not in set(self.outcomes["outcome"]):
            raise KeyError(f"no outcome {key!r}; the file has {list(self.outcomes['outcome'])}")
        return self.studies[self.studies["outcome"] == key].reset_index(drop=True)


def _fail(path: Path, element: str | None, message: str) -> DataError:
    """The one-line error for a file RevMan's format does not allow or the audit cannot use: the element, then what."""
    return DataError(path, [Problem(None, None, None, f"element {element}: {message}" if element else message)])


def read_revman(path: Path | str) -> RevManReview:
    """Read a RevMan 5 file's comparisons, outcomes, subgroups, study rows and stored results.

    Raises
    ------
    analysis.reader.DataError
        When the file is not RevMan 5 XML or an element lacks what the audit
        needs; the message names the element (and the outcome).
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except OSError as exc:
        raise _fail(path, None, f"cannot be read ({exc.strerror or exc})") from None
    except ET.ParseError as exc:
        raise _fail(path, None, f"not well-formed XML ({exc})") from None
    if root.tag != "COCHRANE_REVIEW":
        raise _fail(path, None, f"not a RevMan 5 file (its root element is {root.tag}, not COCHRANE_REVIEW)")
    analyses = root.find("ANALYSES_AND_DATA")
    if analyses is None:
        raise _fail(path, "ANALYSES_AND_DATA", "missing: the file has no analyses")
    names = {}
    for s in root.iter("STUDY"):
        names[s.get("ID")] = f"{s.get('NAME', s.get('ID'))} {s.get('YEAR', '')}".strip()
    title = (root.findtext("COVER_SHEET/TITLE") or "").strip()
    outcomes, studies, stored = [], [], []
    for comp in analyses.findall("COMPARISON"):
        c_no = comp.get("NO")
        if not c_no:
            raise _fail(path, f"COMPARISON {(comp.findtext('NAME') or '').strip()!r}", "has no NO (its number)")
        for el in comp:
            kind = el.tag.removesuffix("_OUTCOME")
            if not el.tag.endswith("_OUTCOME"):
                continue
            if not el.get("NO"):
                raise _fail(path, f"{el.tag} in comparison {c_no}", "has no NO (its number)")
            key = f"{c_no}.{el.get('NO')}"
            where = f"{el.tag} (outcome {key})"
            if kind not in OUTCOME_TYPES:
                raise _fail(path, where, f"outcomes of type {kind} are not supported ({', '.join(OUTCOME_TYPES)} are)")
            measure = el.get("EFFECT_MEASURE") or (el.findtext("EFFECT_MEASURE") or "").strip()
            measure = _MEASURES.get(measure.lower(), measure)
            method = el.get("METHOD") or ("Peto" if kind == "IPD" else "IV")
            if method not in ("MH", "IV", "PETO", "Peto"):
                raise _fail(path, where, f"METHOD {method!r} is not supported (MH, IV, PETO)")
            method = "Peto" if method.upper() == "PETO" else method
            if method == "Peto":
                measure = "PETO_OR"
            if not measure:
                raise _fail(path, where, "has no EFFECT_MEASURE")
            outcomes.append(
                dict(outcome=key, comparison=(comp.findtext("NAME") or "").strip(),
                     name=(el.findtext("NAME") or "").strip(), type=OUTCOME_TYPES[kind], measure=measure,
                     method=method, model="random" if el.get("RANDOM") == "YES" else "fixed",
                     level=_number(el.get("CI_TOTAL", "95")) / 100, study_level=_number(el.get("CI_STUDY", "95")) / 100,
                     totals=el.get("TOTALS", "YES") != "NO", subgroups=el.get("SUBGROUPS") == "YES",
                     subgroup_test=el.get("SUBGROUP_TEST") == "YES", log_data=el.get("LOG_DATA", ""),
                     label_1=(el.findtext("GROUP_LABEL_1") or "").strip(),
                     label_2=(el.findtext("GROUP_LABEL_2") or "").strip(),
                     favours_1=(el.findtext("GRAPH_LABEL_1") or "").strip(),
                     favours_2=(el.findtext("GRAPH_LABEL_2") or "").strip())
            )  # fmt: skip
            attrs = _POOLED_ATTRS + (_SUBGROUP_TEST_ATTRS if el.get("SUBGROUPS") == "YES" else ())
            stored += _stored(el, attrs, key, "outcome", "", "", None)
            blocks = el.findall(f"{kind}_SUBGROUP") or [el]
            n_rows = 0
            for block in blocks:
                sub = (block.findtext("NAME") or "").strip() if block is not el else ""
                if block is not el:
                    stored += _stored(block, _POOLED_ATTRS, key, "subgroup", sub, "", None)
                for row in block.findall(f"{kind}_DATA"):
                    sid = row.get("STUDY_ID")
                    if not sid:
                        raise _fail(path, f"{kind}_DATA (outcome {key})", "a study row has no STUDY_ID")
                    n_rows += 1
                    record = dict(outcome=key, row=n_rows, subgroup=sub, study_id=sid, study=names.get(sid, sid),
                                  order=_number(row.get("ORDER")), estimable=row.get("ESTIMABLE", "YES") == "YES")  # fmt: skip
                    inputs = dict(_INPUTS)
                    inputs.update({"IV": {"EFFECT_SIZE": "estimate", "SE": "se"},
                                   "IPD": {"O_E": "o_e", "VAR": "var"}}.get(kind, {}))  # fmt: skip
                    for attr, col in inputs.items():
                        text = row.get(attr)
                        record[col] = _number(text)
                        if text not in (None, "") and not np.isfinite(record[col]):
                            raise _fail(path, f"{kind}_DATA (study {sid}, outcome {key})",
                                        f"{attr} {text!r} is not a number")  # fmt: skip
                    _check_inputs(path, kind, key, record)
                    study_attrs = _STUDY_ATTRS if kind != "IV" else ("CI_START", "CI_END", "WEIGHT")
                    if kind == "IPD":
                        study_attrs = ("EFFECT_SIZE", "CI_START", "CI_END", "LOG_EFFECT_SIZE", "LOG_CI_START",
                                       "LOG_CI_END", "SE", "WEIGHT")  # fmt: skip
                    elif method != "Peto":
                        study_attrs = tuple(a for a in study_attrs if a != "O_E")
                    stored += _stored(row, study_attrs, key, "study", sub, record["study"], n_rows)
                    studies.append(record)
    if not outcomes:
        raise _fail(path, "ANALYSES_AND_DATA", "holds no outcomes")
    cols = ["outcome", "row", "subgroup", "study_id", "study", "order", "estimable", *_INPUTS.values(), "estimate", "se",
            "o_e", "var"]  # fmt: skip
    return RevManReview(
        str(path),
        title,
        pd.DataFrame(outcomes),
        pd.DataFrame(studies).reindex(columns=list(dict.fromkeys(cols))),
        pd.DataFrame(stored, columns=["outcome", "level", "subgroup", "study", "row", "attribute", "text", "value"]),
    )


def _stored(el, attrs, key, level, sub, study, row) -> list[dict]:
    out = []
    for a in attrs:
        text = el.get(a)
        if text in (None, ""):
            continue
        out.append(dict(outcome=key, level=level, subgroup=sub, study=study, row=row, attribute=a, text=text,
                        value=_number(text)))  # fmt: skip
    return out


#: The RevMan attribute behind each input column, for messages.
_ATTR = {**{col: attr for attr, col in _INPUTS.items()}, "estimate": "EFFECT_SIZE", "se": "SE", "o_e": "O_E",
         "var": "VAR"}  # fmt: skip


def _check_inputs(path: Path, kind: str, key: str, r: dict) -> None:
    where = f"{kind}_DATA (study {r['study_id']}, outcome {key})"
    need = {"DICH": ("events_1", "n_1", "events_2", "n_2"), "CONT": ("mean_1", "sd_1", "n_1", "mean_2", "sd_2", "n_2"),
            "IV": ("estimate", "se"), "IPD": ("o_e", "var")}[kind]  # fmt: skip
    missing = [c for c in need if not np.isfinite(r.get(c, np.nan))]
    if missing and r["estimable"]:
        raise _fail(path, where, f"lacks {', '.join(_ATTR[c] for c in missing)}")
    present = {c: r[c] for c in ("events_1", "events_2", "n_1", "n_2", "sd_1", "sd_2", "se", "var") if
               np.isfinite(r.get(c, np.nan))}  # fmt: skip
    negative = [c for c in ("events_1", "events_2") if c in present and present[c] < 0]
    not_positive = [c for c in ("n_1", "n_2", "sd_1", "sd_2", "se", "var") if c in present and present[c] <= 0]
    if negative or not_positive:
        says = [f"{_ATTR[c]} must be >= 0" for c in negative] + [f"{_ATTR[c]} must be > 0" for c in not_positive]
        raise _fail(path, where, "; ".join(says))
    if kind == "DICH" and not missing and (r["events_1"] > r["n_1"] or r["events_2"] > r["n_2"]):
        raise _fail(path, where, "has more events than participants in an arm")


# --------------------------------------------------------------------------- audit


def _binary(rows: pd.DataFrame, o: pd.Series, method: str, model: str):
    measure = {"PETO_OR": "OR"}.get(o["measure"], o["measure"])
    return binary_pool(rows["events_1"], rows["n_1"], rows["events_2"], rows["n_2"], measure=measure, method=method,
                       model=model, convention="revman5", level=o["level"])  # fmt: skip


@dataclass(frozen=True)
class _Fit:
    """What RevMan stores for one pooled block, in its own words and scale."""

    yi: np.ndarray  # study effects on the analysis scale (NaN: not estimable)
    vi: np.ndarray
    weights: np.ndarray  # % of this block's total
    estimate: float
    se: float
    tau2: float
    q: float
    q_df: int
    i2: float  # fraction


def _fit(rows: pd.DataFrame, o: pd.Series, method: str, model: str) -> _Fit:
    if o["type"] == "dichotomous" or o["type"] == "o-e":
        if o["type"] == "o-e":
            o_e, w = rows["o_e"].to_numpy(float), rows["var"].to_numpy(float)
            yi, vi = o_e / w, 1 / w
            est, se, q = peto_from_o_e(o_e, w)
            df = len(rows) - 1
            return _Fit(yi, vi, 100 * w / w.sum(), est, se, 0.0, q, df, max(0.0, (q - df) / q) if q > 0 else 0.0)
        res = _binary(rows, o, method, model)
        return _Fit(res.yi, res.vi, res.weights, res.estimate, res.se, res.tau2, res.q, res.q_df, res.i2)
    if o["type"] == "continuous":
        args = [rows[c].to_numpy(float) for c in ("mean_1", "sd_1", "n_1", "mean_2", "sd_2", "n_2")]
        yi, vi = mean_difference(*args) if o["measure"] == "MD" else hedges_g(*args, convention="revman5")
    else:
        yi = rows["estimate"].to_numpy(float)
        if o["measure"] in _RATIO and o["log_data"] == "YES":  # entered as ratios (R meta's reading of LOG_DATA)
            yi = np.log(yi)
        vi = rows["se"].to_numpy(float) ** 2
    res = pool(yi, vi, method="EE" if model == "fixed" else "DL", test="z", level=o["level"], i2="q")
    return _Fit(yi, vi, res.weights, res.estimate, res.se, res.tau2, res.q, res.q_df, res.i2)


def _scale(x: float, measure: str) -> float:
    return float(np.exp(x)) if measure in _RATIO else float(x)


def _pooled_values(f: _Fit, o: pd.Series, rows: pd.DataFrame, weight: float) -> dict[str, float]:
    z = stats.norm.isf((1 - o["level"]) / 2)
    lo, hi = f.estimate - z * f.se, f.estimate + z * f.se
    ratio = o["measure"] in _RATIO
    stat = f.estimate / f.se
    values = {
        "EFFECT_SIZE": _scale(f.estimate, o["measure"]), "CI_START": _scale(lo, o["measure"]),
        "CI_END": _scale(hi, o["measure"]), "Z": abs(stat), "P_Z": 2 * stats.norm.sf(abs(stat)), "CHI2": f.q,
        "DF": f.q_df, "P_CHI2": stats.chi2.sf(f.q, f.q_df) if f.q_df > 0 else np.nan, "I2": 100 * f.i2,
        "TAU2": f.tau2, "WEIGHT": weight, "STUDIES": len(rows),
    }  # fmt: skip
    if ratio:
        values.update(LOG_EFFECT_SIZE=f.estimate / np.log(10), LOG_CI_START=lo / np.log(10),
                      LOG_CI_END=hi / np.log(10))  # fmt: skip
    for col, attr in (("events_1", "EVENTS_1"), ("events_2", "EVENTS_2"), ("n_1", "TOTAL_1"), ("n_2", "TOTAL_2")):
        if rows[col].notna().any():
            values[attr] = rows[col].sum()
    return values


def _study_values(f: _Fit, j: int, o: pd.Series) -> dict[str, float]:
    z = stats.norm.isf((1 - o["study_level"]) / 2)
    y, se = f.yi[j], np.sqrt(f.vi[j])
    m = o["measure"]
    values = {"EFFECT_SIZE": _scale(y, m), "CI_START": _scale(y - z * se, m), "CI_END": _scale(y + z * se, m),
              "SE": se, "VAR": f.vi[j], "WEIGHT": f.weights[j]}  # fmt: skip
    if m in _RATIO:
        values.update(LOG_EFFECT_SIZE=y / np.log(10), LOG_CI_START=(y - z * se) / np.log(10),
                      LOG_CI_END=(y + z * se) / np.log(10))  # fmt: skip
    if o["method"] == "Peto":  # RevMan keeps Peto's O - E and V
        v = 1 / f.vi[j]
        values.update(O_E=y * v, VAR=v)
    return values


def _judge(value: float, stored: float, rtol: float) -> tuple[str, float]:
    if not np.isfinite(value) and not np.isfinite(stored):
        return "reproduced", 0.0
    if not np.isfinite(value):
        return "discrepant", np.inf
    diff = abs(value - stored)
    rel = diff / abs(stored) if stored != 0 else diff
    return ("reproduced" if diff <= rtol * abs(stored) + 1e-12 else "discrepant"), float(rel)


def audit_revman(path: Path | str, *, rtol: float = 1e-5) -> AuditResult:
    """Recompute every number a RevMan 5 file stores and judge each at relative tolerance ``rtol``.

    Returns
    -------
    AuditResult
        ``table`` (:data:`analysis.audit.AUDIT_COLUMNS`): figure ("Analysis
        1.1"), row (the study row's index, 1-based, in the outcome; 0 for
        pooled rows), study (name, "Subtotal: ...", "Total"), quantity
        (RevMan's attribute name), printed (the stored text), recomputed, verdict
        (``reproduced`` within ``rtol``, else ``discrepant``), diagnosis
        (``study_rows``: a pooled number that follows discrepant study rows;
        ``model_mismatch``: the stored numbers fit another model or method;
        ``unexplained``) and detail (the relative difference). ``tolerance``
        is ``rtol`` and ``intervals`` hold the stored and recomputed
        estimates and CIs per outcome (log scale for ratios) for the figure.
    """
    review = read_revman(path)
    records, intervals = [], {}
    for _, o in review.outcomes.iterrows():
        key = o["outcome"]
        figure = f"Analysis {key}"
        rows = review.outcome(key)
        st_o = review.stored[review.stored["outcome"] == key]
        if rows.empty:
            continue
        usable = rows["estimable"].to_numpy(bool)
        fits = {}
        groups = list(dict.fromkeys(rows["subgroup"]))
        fits["Total"] = _fit(rows[usable], o, o["method"], o["model"])
        for g in groups:
            if g:
                fits[g] = _fit(rows[usable & (rows["subgroup"] == g).to_numpy()], o, o["method"], o["model"])
        other = {"fixed": "random", "random": "fixed"}[o["model"]]
        in_total = o["totals"] or not any(groups)  # RevMan's study weights: % of the total, else of the subgroup
        found = []
        bad_groups = set()
        for idx in range(len(rows)):
            r = rows.iloc[idx]
            g = r["subgroup"] if (r["subgroup"] and not in_total) else "Total"
            members = usable & ((rows["subgroup"] == g).to_numpy() if g != "Total" else True)
            pos = int(np.count_nonzero(members[:idx]))  # the row's place in its fit's input
            # a study RevMan marks not estimable weighs nothing and has no effect to recompute
            values = _study_values(fits[g], pos, o) if usable[idx] else {"WEIGHT": 0.0}
            for _, s in st_o[(st_o["level"] == "study") & (st_o["row"] == r["row"])].iterrows():
                rec = _record(figure, int(r["row"]), r["study"], s, values.get(s["attribute"], np.nan), rtol)
                found.append(rec)
                if rec["verdict"] == "discrepant" and s["attribute"] != "WEIGHT":
                    bad_groups.add(r["subgroup"])
        # pooled rows: counts over every study row in scope, estimates over the estimable ones
        for level, label, g in [("subgroup", f"Subtotal: {g}", g) for g in groups if g] + [("outcome", "Total", "")]:
            scope = rows[(rows["subgroup"] == g).to_numpy() if g else np.ones(len(rows), bool)]
            f = fits[g] if g else fits["Total"]
            if g and o["totals"]:
                weight = float(np.nansum(fits["Total"].weights[(rows[usable]["subgroup"] == g).to_numpy()]))
            else:
                weight = 100.0
            values = _pooled_values(f, o, scope, weight)
            if level == "outcome" and len([x for x in groups if x]) > 1:
                values.update(_subgroup_test(fits, [x for x in groups if x]))
            sub = st_o[(st_o["level"] == level) & (st_o["subgroup"] == g)]
            for _, s in sub.iterrows():
                rec = _record(figure, 0, label, s, values.get(s["attribute"], np.nan), rtol)
                if rec["verdict"] == "discrepant":
                    if (g in bad_groups) or (not g and bad_groups):
                        rec["diagnosis"] = "study_rows"
                        rec["detail"] += "; follows discrepant study rows"
                    elif o["type"] != "o-e" and level == "outcome" and s["attribute"] in _MODEL_ATTRS:
                        if "other" not in fits:  # the other model, fitted only when a number needs it
                            fits["other"] = _fit(rows[usable], o, o["method"], other)
                        other_values = _pooled_values(fits["other"], o, scope, weight)
                        if _judge(other_values[s["attribute"]], s["value"], rtol)[0] == "reproduced":
                            rec["diagnosis"] = "model_mismatch"
                            rec["detail"] += f"; fits the {other} model the file does not name"
                found.append(rec)
        records += found
        shown = _intervals(found, o)
        if not shown.empty:  # an outcome that stores no estimates has nothing to draw
            intervals[figure] = shown
    table = pd.DataFrame(records, columns=AUDIT_COLUMNS)
    return AuditResult(str(path), table, intervals, tolerance=rtol)


def _subgroup_test(fits: dict, groups: list[str]) -> dict[str, float]:
    """RevMan's test for subgroup differences: Cochran's Q across the subgroup estimates (a common-effect
    pooling of them, as :func:`analysis.subgroup_analysis` tests separate-tau² subgroups)."""
    between = pool([fits[g].estimate for g in groups], [fits[g].se ** 2 for g in groups], method="EE")
    return {"Q": between.q, "P_Q": between.q_pvalue, "I2_Q": 100 * between.i2}


def _record(figure: str, row: int, study: str, s: pd.Series, value: float, rtol: float) -> dict:
    verdict, rel = _judge(float(value), float(s["value"]), rtol)
    detail = f"relative difference {rel:.2g}" if np.isfinite(rel) else "not recomputable"
    return dict(figure=figure, row=row, study=study, quantity=s["attribute"], printed=s["text"],
                recomputed=float(value), verdict=verdict, diagnosis="unexplained" if verdict == "discrepant" else "",
                detail=detail)  # fmt: skip


def _intervals(found: list[dict], o: pd.Series) -> pd.DataFrame:
    """Stored and recomputed estimate and CI per row, on the analysis scale (natural log for ratios)."""
    log = o["measure"] in _RATIO
    rows = {}
    for rec in found:
        if rec["quantity"] not in ("EFFECT_SIZE", "CI_START", "CI_END"):
            continue
        r = rows.setdefault(rec["study"], dict(label=rec["study"], discrepant=False))
        name = {"EFFECT_SIZE": "estimate", "CI_START": "low", "CI_END": "high"}[rec["quantity"]]
        tr = np.log if log else (lambda x: x)
        with np.errstate(divide="ignore", invalid="ignore"):
            r[f"printed_{name}"] = tr(float(rec["printed"]))
            r[f"recomputed_{name}"] = tr(rec["recomputed"])
        r["discrepant"] |= rec["verdict"] == "discrepant"
    cols = ["label", "printed_estimate", "printed_low", "printed_high", "recomputed_estimate", "recomputed_low",
            "recomputed_high", "discrepant"]  # fmt: skip
    frame = pd.DataFrame(list(rows.values())).reindex(columns=cols)
    frame.attrs["xlabel"] = f"{'log ' if log else ''}{o['measure']} ({int(round(100 * o['level']))}% CI)"
    return frame
