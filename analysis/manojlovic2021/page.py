"""``report.html``: the reproduction as one self-contained page, figures beside their numbers.

Everything is inline (figures as SVG, CSS in a ``<style>``); nothing is fetched
from the network and the page runs no script, so it reads offline and prints.
Every trial that feeds an analysis links to its provenance: a ``<details>``
block with each row's numbers, the verbatim quote and the source address, and
every derived number says how it was derived.
"""

from __future__ import annotations

import re
from html import escape

import numpy as np
import pandas as pd

from ..audit.report import figure_stem
from .multiverse import multiverse_stem
from .report import PAPER_CLAIMS, _ci, _find, results_table
from .specs import MEASURE_NAMES, PROGRAM_LABELS

__all__ = ["build_page", "inline_svg"]

_CSS = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fff}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:1px solid #ddd}h3{font-size:1.1rem}
nav ol{columns:2;padding-left:1.2rem}@media (max-width:600px){nav ol{columns:1}}
.table{overflow-x:auto;margin:.6rem 0}table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f5f5f7}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto;display:block}figcaption{font-size:.85rem;color:#555}
details{border:1px solid #ddd;border-radius:4px;padding:.3rem .6rem;margin:.4rem 0}summary{cursor:pointer}
blockquote{margin:.3rem 0 .6rem 1rem;color:#333;font-style:italic;overflow-wrap:anywhere}
.note{background:#fff8e6;border-left:4px solid #f0a030;padding:.4rem .8rem}
p,li,blockquote,summary,figcaption,a{overflow-wrap:anywhere}
@media print{nav{display:none}details{border:none}details>*{display:block}}
"""


def inline_svg(svg: str, prefix: str, label: str) -> str:
    """An SVG file's markup for inlining: no XML prolog, ids prefixed (figures share a page), a text alternative."""
    svg = re.sub(r"^.*?(<svg\b)", r"\1", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)
    svg = re.sub(r'<svg\b([^>]*?)\swidth="[^"]*"\s+height="[^"]*"', r"<svg\1", svg, count=1)  # scale with the page
    return svg.replace("<svg", f'<svg role="img" aria-label="{escape(label)}" data-figure="{escape(prefix)}"', 1)


def _cell(x) -> str:
    """A table cell's text: floats to 4 significant digits, missing values empty."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return ""
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _table(frame: pd.DataFrame, links: dict[str, str] | None = None) -> str:
    links = links or {}
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for col, x in zip(frame.columns, row):
            text = _cell(x)
            cell = escape(text)
            if col in ("study", "trial") and text in links:
                cell = f'<a href="#{links[text]}">{cell}</a>'
            cells.append(f"<td>{cell}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _decisions(spec) -> str:
    e = " or ".join(PROGRAM_LABELS[p] for p in spec.experimental)
    scale = (
        f"rescaled to {spec.common_scale[0]:g}–{spec.common_scale[1]:g}" if spec.common_scale else "instrument units"
    )
    items = [
        f"Comparison: {e} against {PROGRAM_LABELS[spec.comparator]}" + (", by programme" if spec.subgroup else ""),
        f"Effect: {MEASURE_NAMES[spec.measure]}"
        + (f" ({scale})" if spec.measure in ("MD", "SMD") else f"; zero cells by the {spec.zero_cells} convention"),
        f"Instruments: {', '.join(spec.instruments) if spec.instruments else 'any, first reported'}",
        f"Time point: {spec.timepoint.replace('_', ' ')} ({'one per trial' if spec.timepoint_scope == 'trial' else 'per comparison'})",
        f"Values: {dict(post='follow-up values', change='change from baseline', any='follow-up values, else change')[spec.values]}; "
        f"pre-post correlation {spec.prepost_r}",
        f"Shared comparator: {'split between comparisons' if spec.multi_arm == 'split' else 'reused in full'}",
        f"Trials: {'all' if spec.evidence == 'all' else 'published up to 2020'}; designs {', '.join(spec.designs)}; "
        f"inferred signs {'used' if spec.include_inferred_sign else 'left out'}",
        f"Pooling: {spec.method} tau² estimator, {dict(z='z', t='t', knha='Hartung-Knapp', adhoc='Hartung-Knapp (ad hoc)')[spec.test]} test, "
        f"{100 * spec.level:g}% intervals",
        f"Conversions: medians by {spec.median_method}; SDs from a CI by {spec.ci_dist}",
    ]
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def _figure(figures: dict[str, str], name: str, label: str) -> str:
    if name not in figures:
        return ""
    return f"<figure>{inline_svg(figures[name], name, label)}<figcaption>{escape(label)}</figcaption></figure>"


def _anchor(study_id: str) -> str:
    return "trial-" + re.sub(r"[^a-z0-9]+", "-", str(study_id).lower())


def build_page(
    studies: pd.DataFrame,
    reviews: pd.DataFrame,
    results: list,
    *,
    figures: dict[str, str],
    provenance: dict,
    networks=(),
    multiverse: pd.DataFrame | None = None,
    audit=None,
) -> str:
    """The whole page. ``figures`` maps figure names (file stems) to SVG markup; ``audit`` is an
    :class:`analysis.audit.AuditResult` or None."""
    from .load import missing_values

    links = {s: _anchor(i) for i, s in zip(studies["study_id"], studies["study"])}
    sections: list[tuple[str, str, str]] = []  # (anchor, heading, html)

    # Headline
    rows = []
    for outcome, measure, est, lo, hi, i2, name in PAPER_CLAIMS:
        r = _find(results, name)
        g = getattr(r.result, "groups", {}).get("Hip&Knee") if r is not None and r.result is not None else None
        ours = "cannot be recomputed yet: no Hip&Knee arm with a control has public numbers"
        if g is not None:
            ours = f"{measure} {_ci(g.estimate, g.ci_low, g.ci_high)} (k = {g.k})"
        others = reviews[
            (reviews["outcome"] == outcome)
            & (reviews["review_id"] != "manojlovic2021")
            & (reviews["program"] == "hip_knee")
        ]
        other = "; ".join(
            f"{o.review} (vs {o.comparator}): {o.measure} {_ci(o.estimate, o.ci_low, o.ci_high)}"
            for o in others.itertuples()
            if pd.notna(o.ci_low)
        )
        rows.append(
            {
                "outcome": outcome,
                "paper (Hip&Knee)": f"{measure} {_ci(est, lo, hi)}, I² {i2}%",
                "this project": ours,
                "other reviews (Hip&Knee)": other,
            }
        )
    effects = [r.effects for r in results if r.k > 0]
    unique = pd.concat(effects).drop_duplicates(["study_id", "comparison"]) if effects else pd.DataFrame()
    n_control = int((unique["comparator_program"] == "control").sum()) if len(unique) else 0
    hk = reviews[(reviews["program"] == "hip_knee") & reviews["outcome"].isin(["pain", "function"])]
    favours = ((hk["outcome"] == "pain") & (hk["estimate"] < 0)) | (
        (hk["outcome"] == "function") & (hk["estimate"] > 0)
    )
    agree = (
        f"All {len(hk)} published Hip&Knee estimates (the paper's and other reviews', which pool largely the same "
        "small trials) favour the exercise programmes."
        if favours.all()
        else f"{int(favours.sum())} of {len(hk)} published Hip&Knee estimates favour the exercise programmes."
    )
    recomputed = sum(1 for row in rows if not row["this project"].startswith("cannot"))
    headline = _table(pd.DataFrame(rows)) + (
        "<p><strong>What it means.</strong> The paper found that programmes training hip and knee muscles reduce "
        f"patellofemoral pain and improve function. {escape(agree)} From what the trials make public, {recomputed} "
        f"of the paper's {len(rows)} headline numbers can be recomputed so far: {len(unique)} distinct trial "
        f"comparisons have usable numbers ({n_control} of them against a no-exercise control). Every missing number "
        "is listed below with where it lives.</p>"
    )
    for measure in ("SMD", "MD"):
        headline += _figure(figures, f"reviews_{measure.lower()}", f"Published meta-analyses' pooled {measure}s")
    sections.append(("headline", "The paper's headline beside this project", headline))

    # Coverage
    counts = studies["status"].value_counts()
    cov = (
        f"<p>{studies['study_id'].nunique()} trials, {len(studies)} rows: {counts.get('verified', 0)} verified, "
        f"{counts.get('partial', 0)} partial, {counts.get('not public', 0)} not public.</p>"
        + _figure(figures, "coverage", "Which trial feeds which analysis: used, missing numbers, or not in scope")
    )
    sections.append(("coverage", "Data coverage", cov))

    # Analyses
    table = results_table(results)
    summary = multiverse if multiverse is not None else pd.DataFrame(columns=["analysis"])
    parts = []
    for r in results:
        if r.k == 0:
            continue
        rows = table[table["analysis"] == r.spec.name]
        show = rows.assign(
            result=[_ci(e, lo, hi) for e, lo, hi in zip(rows["estimate"], rows["ci_low"], rows["ci_high"])]
        )
        eff = r.effects[["study", "comparison", "yi", "ci_low", "ci_high", "notes"]]
        html = _figure(figures, f"forest_{r.spec.name}", f"Forest plot: {r.spec.title}")
        html += _table(show[["group", "k", "trials", "measure", "result", "tau2", "i2", "pvalue"]])
        if len(r.bayes):
            b = r.bayes.assign(
                result=[_ci(e, lo, hi) for e, lo, hi in zip(r.bayes["estimate"], r.bayes["ci_low"], r.bayes["ci_high"])]
            )
            html += "<h4>Few trials: REML, Hartung-Knapp and Bayesian random effects</h4>" + _table(
                b[["group", "k", "model", "prior", "result", "tau"]]
            )
            html += _figure(figures, f"bayes_forest_{r.spec.name}", f"Bayesian shrinkage estimates: {r.spec.title}")
            html += _figure(figures, f"bayes_tau_{r.spec.name}", f"Prior and posterior of tau: {r.spec.title}")
        html += "<h4>Comparisons (each study links to its source)</h4>" + _table(eff, links)
        html += "<h4>Decisions</h4>" + _decisions(r.spec)
        html += _figure(figures, f"influence_{r.spec.name}", f"Influence diagnostics: {r.spec.title}")
        mv = summary[summary["analysis"] == r.spec.name]
        for m in mv.itertuples(index=False):
            if m.specifications:
                stem = multiverse_stem(r.spec.name, m.target)
                html += (
                    f"<h4>Multiverse ({m.target})</h4><p>{m.specifications} specifications of the unstated decisions: "
                    f"estimates {m.estimate_min:.2f} to {m.estimate_max:.2f}, {100 * m.share_significant:.0f}% with a CI "
                    f"that excludes 0.</p>" + _figure(figures, stem, f"Specification curve: {r.spec.title}")
                )
        parts.append(f'<h3 id="analysis-{r.spec.name}">{escape(r.spec.title)}</h3>{html}')
    empty = [r.spec.title for r in results if r.k == 0]
    parts.append("<p>No usable comparison yet: " + escape("; ".join(empty)) + ".</p>")
    sections.append(("analyses", "Every analysis with usable data", "".join(parts)))

    if networks:
        html = ""
        for spec, net, _ in networks:
            if net is None:
                continue
            html += f"<h3>{escape(spec.title)}</h3>"
            html += _figure(figures, f"{spec.name}_graph", f"Network of the programme classes: {spec.title}")
            html += _figure(figures, f"{spec.name}_forest", f"Relative effects against the reference: {spec.title}")
            html += _figure(figures, f"{spec.name}_league", f"League table (row minus column): {spec.title}")
        sections.append(("network", "Network meta-analysis", html or "<p>No usable network.</p>"))

    if audit is not None:
        c = audit.counts
        html = (
            f"<p>{len(audit.table)} printed numbers of {audit.table['figure'].nunique()} forest plot(s): {c['reproduced']} "
            f"reproduced, {c['rounding']} within rounding, {c['discrepant']} discrepant.</p>"
        )
        bad = audit.table[audit.table["verdict"] == "discrepant"]
        if len(bad):
            html += _table(bad[["figure", "row", "study", "quantity", "printed", "recomputed", "diagnosis", "detail"]])
        for name in audit.intervals:
            html += _figure(figures, figure_stem(name), f"{name}: printed and recomputed intervals")
        sections.append(("audit", "Audit of the published forest plots", html))

    # Provenance
    prov = []
    numbered = studies[studies["status"] != "not public"]
    for study_id, rows in studies.groupby("study_id", sort=False):
        first = rows.iloc[0]
        mine = numbered[numbered["study_id"] == study_id]
        body = f"<p>{escape(str(first['citation']))}</p>"
        for r in mine.itertuples(index=False):
            nums = ", ".join(
                f"{c} {getattr(r, c):g}"
                for c in ("n", "mean", "sd", "estimate", "ci_low", "ci_high")
                if pd.notna(getattr(r, c))
            )
            when = f"{r.timepoint_value:g} {r.timepoint_unit}" if pd.notna(r.timepoint_value) else "time not public"
            body += (
                f"<p><strong>{escape(r.arm)}{' vs ' + escape(r.comparator_arm) if r.comparator_arm else ''}</strong>, "
                f"{escape(r.outcome)} ({escape(r.instrument)}), {escape(when)}, {escape(r.value_type)}: {escape(nums)} "
                f"[{escape(r.status)}]</p><blockquote>{escape(r.quote)}</blockquote>"
                f'<p>Source: <a href="{escape(r.source_url)}">{escape(r.source_url)}</a></p>'
            )
        if mine.empty:
            body += "<p>No outcome number is public yet.</p>"
        prov.append(
            f'<details id="{_anchor(study_id)}"><summary>{escape(str(first["study"]))}</summary>{body}</details>'
        )
    sections.append(("provenance", "Every number and its quote", "".join(prov)))

    miss = missing_values(studies)
    items = "".join(
        f"<li><strong>{escape(s)}</strong>: {escape('; '.join(dict.fromkeys(g['missing'])))}. "
        f"Where: {escape('; '.join(dict.fromkeys(g['location'])))}</li>"
        for s, g in miss.groupby("study", sort=False)
    )
    sections.append(("missing", "Missing numbers and where they are", f"<ul>{items}</ul>"))

    toc = "".join(f'<li><a href="#{a}">{escape(h)}</a></li>' for a, h, _ in sections)
    body = "".join(f'<section><h2 id="{a}">{escape(h)}</h2>{html}</section>' for a, h, html in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>pfp-meta: reproduction of Manojlović et al. 2021</title>"
        f"<style>{_CSS}</style></head><body><main>"
        "<h1>Hip and knee exercise for patellofemoral pain: a reproduction</h1>"
        "<p>Manojlović, Kozinc &amp; Šarabon, <em>J Pain Res</em> 2021;14:1431-1449, rebuilt from the numbers the "
        f"trials make public. Generated by <code>{escape(provenance['command'])}</code> with pfp-meta "
        f"{escape(provenance['version'])}; data sha256 <code>{escape(provenance['studies_sha256'][:16])}</code>.</p>"
        f'<nav aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>{body}</main></body></html>\n'
    )
