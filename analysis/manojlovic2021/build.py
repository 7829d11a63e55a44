"""Everything ``python -m analysis reproduce`` writes: every declared analysis's tables and
figures, the networks, the coverage chart, the reviews, ``report.md`` and ``manifest.json``
(versions, options, input checksums and the list of files), staged and swapped in whole
(:func:`analysis.manojlovic2021.outputs.write_staged`).
"""

from __future__ import annotations

import platform
import warnings
from pathlib import Path

from .outputs import Writer, sha256, write_staged

__all__ = ["reproduce", "write_all", "write_audit"]


def write_all(writer: Writer, studies, reviews, studies_path: Path, reviews_path: Path, out: Path, audit=None) -> dict:
    """Every table, figure, report.md and report.html through ``writer`` (with ``audit``, an AuditResult, the audit
    of transcribed forest plots too); returns the manifest's fields."""
    import matplotlib
    import numpy as np
    import pandas as pd
    import scipy

    from .. import __version__
    from ..plotting import (
        bayes_forest,
        bayes_posterior,
        forest_plot,
        forest_rows,
        influence_plot,
        league_plot,
        network_forest,
        network_graph,
        specification_curve,
    )
    from ..stats import influence, leave_one_out
    from .bayes import priors
    from .figures import coverage_chart, reviews_forest
    from .load import missing_values
    from .multiverse import held, multiverse_stem, multiverse_summary, spec_multiverse
    from .page import build_page
    from .pipeline import coverage_matrix, network_data, run_analysis, run_network
    from .report import build_report, results_table
    from .specs import ANALYSES, NETWORKS, PROGRAM_LABELS

    save_table, save_figure = writer.table, writer.figure

    results = [run_analysis(spec, studies) for spec in ANALYSES]
    for r in results:
        save_table(r.effects, f"effects_{r.spec.name}")
        save_table(r.coverage, f"coverage_{r.spec.name}")
        save_table(r.to_frame(), f"pooled_{r.spec.name}")
        if r.result is not None:
            save_table(forest_rows(r), f"forest_rows_{r.spec.name}")
            ax = forest_plot(r, title=r.spec.title)
            save_figure(ax.figure, f"forest_{r.spec.name}")
        if len(r.bayes):
            save_table(r.bayes, f"bayes_{r.spec.name}")
            fit = r.bayes_fits[("overall", "primary")]
            labels = r.effects["study"] + ": " + r.effects["comparison"]
            save_figure(bayes_forest(fit, labels=labels, measure=r.spec.measure).figure, f"bayes_forest_{r.spec.name}")
            prior = priors(r.spec, r.effects)[0][1]
            save_figure(bayes_posterior(fit, prior, title=r.spec.title).figure, f"bayes_tau_{r.spec.name}")
        if r.k >= 3:  # case-deletion diagnostics need at least three comparisons
            yi, vi, labels = r.effects["yi"], r.effects["vi"], r.effects["study"] + ": " + r.effects["comparison"]
            opts = dict(method=r.spec.method, test=r.spec.test, labels=labels)
            save_table(leave_one_out(yi, vi, **opts).to_frame(), f"leave_one_out_{r.spec.name}")
            infl = influence(yi, vi, **opts)
            save_table(infl.to_frame(), f"influence_{r.spec.name}")
            save_figure(influence_plot(infl, title=r.spec.title).figure, f"influence_{r.spec.name}")
    networks = []
    for spec in NETWORKS:
        data = network_data(spec, studies)
        net = run_network(spec, studies, data)
        networks.append((spec, net, data.attrs.get("left_out", [])))
        save_table(data, f"{spec.name}_data")
        if net is None:
            continue
        save_table(net.relative_effects.reset_index(), f"{spec.name}_relative_effects")
        save_table(net.league, f"{spec.name}_league")
        save_table(net.league_table().reset_index(names="treatment"), f"{spec.name}_league_table")
        save_table(net.ranking, f"{spec.name}_ranking")
        save_table(net.q_decomposition.reset_index(), f"{spec.name}_q_decomposition")
        save_table(net.node_split, f"{spec.name}_node_split")
        save_table(net.contrasts, f"{spec.name}_contrasts")
        names = dict(PROGRAM_LABELS)
        save_figure(network_graph(net, names=names, title=spec.title).figure, f"{spec.name}_graph")
        save_figure(network_forest(net, names=names, title=spec.title).figure, f"{spec.name}_forest")
        save_figure(league_plot(net, names=names).figure, f"{spec.name}_league")
    multiverses = []
    for spec in ANALYSES:
        fixed = held(spec, studies)
        for target, mv in spec_multiverse(spec, studies, reviews, fixed).items():
            multiverses.append((spec, target, mv, fixed))
            if len(mv.table):
                stem = multiverse_stem(spec.name, target)
                save_table(mv.to_frame(), stem)
                title = f"{spec.title}{'' if target == 'overall' else f' — {target}'}: {len(mv.table)} specifications"
                save_figure(specification_curve(mv, title=title, measure=spec.measure).figure, stem)
    summary = multiverse_summary(multiverses)
    save_table(summary, "multiverse")
    matrix = coverage_matrix(results)
    save_table(matrix.reset_index(), "coverage_matrix")
    save_figure(coverage_chart(matrix).figure, "coverage")
    save_table(results_table(results), "results")
    save_table(missing_values(studies), "missing_values")
    save_table(reviews, "reviews")
    for measure in ("MD", "SMD"):
        if (reviews["measure"] == measure).any():
            save_figure(reviews_forest(reviews, measure=measure).figure, f"reviews_{measure.lower()}")

    manifest = {
        "command": "python -m analysis reproduce --out " + str(out),
        "version": __version__,
        "python": platform.python_version(),
        "packages": {
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
            "matplotlib": matplotlib.__version__,
        },
        "studies": str(studies_path),
        "studies_sha256": sha256(studies_path),
        "reviews_sha256": sha256(reviews_path),
        "analyses": [r.spec.to_dict() for r in results],
        "networks": [spec.__dict__ for spec, _, _ in networks],
    }
    if audit is not None:
        write_audit(writer, audit, table_folder="tables")
    report = build_report(
        studies,
        reviews,
        results,
        provenance={**manifest, "command": "python -m analysis reproduce"},
        networks=networks,
        multiverse=summary,
    )
    writer.text(report, "report.md")
    svgs = {p.stem: p.read_text(encoding="utf-8") for p in sorted((writer.stage / "figures").glob("*.svg"))}
    page = build_page(
        studies,
        reviews,
        results,
        figures=svgs,
        provenance={**manifest, "command": "python -m analysis reproduce"},
        networks=networks,
        multiverse=summary,
        audit=audit,
    )
    writer.text(page, "report.html")
    return manifest


def write_audit(writer: Writer, audit, table_folder: str = "") -> None:
    """An audit's ``audit.csv`` (in ``table_folder``), its side-by-side figures and ``audit.md``."""
    from ..audit import audit_report, figure_stem
    from ..plotting import audit_plot

    writer.table(audit.table, "audit", folder=table_folder)
    names = {}
    for name, intervals in audit.intervals.items():
        what = "stored" if audit.tolerance is not None else "printed"
        ax = audit_plot(intervals, title=f"{name}: {what} and recomputed", labels=(what, "recomputed"),
                        xlabel=intervals.attrs.get("xlabel", "Estimate (95% CI)"))  # fmt: skip
        writer.figure(ax.figure, figure_stem(name))
        names[name] = f"figures/{figure_stem(name)}.png"
    writer.text(audit_report(audit, names), "audit.md")


def reproduce(
    out: Path, studies_path: Path | None = None, reviews_path: Path | None = None, audit_path: Path | None = None
) -> dict:
    """Regenerate every figure and table into ``out``; returns the manifest.

    Raises :class:`~analysis.reader.DataError` for bad input and
    :class:`~analysis.manojlovic2021.outputs.OutputError` or :class:`OSError`
    when ``out`` cannot be written; in every case ``out`` is left as it was.
    """
    from .load import MissingDataWarning, default_path, load_reviews, load_studies

    out = Path(out)
    studies_path = Path(studies_path) if studies_path is not None else default_path("studies.csv")
    reviews_path = Path(reviews_path) if reviews_path is not None else default_path("reviews.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)  # the report lists every missing number
        studies = load_studies(studies_path)
    reviews = load_reviews(reviews_path)
    audit = None
    if audit_path is not None:  # audited before anything is written: a bad transcription changes nothing
        from ..audit import audit_forest_plots

        audit = audit_forest_plots(audit_path)
    return write_staged(out, lambda writer: write_all(writer, studies, reviews, studies_path, reviews_path, out, audit))
