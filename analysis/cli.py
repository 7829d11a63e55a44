"""Command line: ``python -m analysis reproduce --out DIR``.

The only module that writes files. It runs every declared analysis
(:data:`analysis.specs.ANALYSES`) and writes every table (CSV), every figure
(PNG and SVG), ``report.md`` and ``manifest.json`` (versions, options and the
input checksums).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import warnings
from pathlib import Path

__all__ = ["main", "reproduce"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reproduce(out: Path, studies_path: Path | None = None, reviews_path: Path | None = None) -> dict:
    """Regenerate every figure and table into ``out``; returns the manifest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    import scipy
    import statsmodels

    from . import __version__
    from .analyses import coverage_matrix, run_analysis, run_network
    from .data import DEFAULT_REVIEWS, DEFAULT_STUDIES, MissingDataWarning, load_reviews, load_studies, missing_values
    from .network import league_plot, network_forest, network_graph
    from .plotting import coverage_chart, forest_plot, forest_rows, reviews_forest
    from .report import build_report, results_table
    from .robustness import influence, influence_plot, leave_one_out
    from .specs import ANALYSES, NETWORKS

    studies_path = Path(studies_path or DEFAULT_STUDIES)
    reviews_path = Path(reviews_path or DEFAULT_REVIEWS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)  # the report lists every missing number
        studies = load_studies(studies_path)
    reviews = load_reviews(reviews_path)
    tables, figures = out / "tables", out / "figures"
    tables.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def save_table(frame: pd.DataFrame, name: str) -> None:
        path = tables / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.10g")
        written.append(str(path.relative_to(out)))

    def save_figure(fig, name: str) -> None:
        for ext in ("png", "svg"):
            path = figures / f"{name}.{ext}"
            fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
            written.append(str(path.relative_to(out)))
        plt.close(fig)

    with plt.rc_context({"svg.hashsalt": "pfp-meta", "svg.fonttype": "none"}):
        results = [run_analysis(spec, studies) for spec in ANALYSES]
        for r in results:
            save_table(r.effects, f"effects_{r.spec.name}")
            save_table(r.coverage, f"coverage_{r.spec.name}")
            save_table(r.to_frame(), f"pooled_{r.spec.name}")
            if r.result is not None:
                save_table(forest_rows(r), f"forest_rows_{r.spec.name}")
                ax = forest_plot(r, title=r.spec.title)
                save_figure(ax.figure, f"forest_{r.spec.name}")
            if r.k >= 3:  # case-deletion diagnostics need at least three comparisons
                yi, vi, labels = r.effects["yi"], r.effects["vi"], r.effects["study"] + ": " + r.effects["comparison"]
                save_table(
                    leave_one_out(yi, vi, method=r.spec.method, test=r.spec.test, labels=labels),
                    f"leave_one_out_{r.spec.name}",
                )
                infl = influence(yi, vi, method=r.spec.method, test=r.spec.test, labels=labels)
                save_table(infl, f"influence_{r.spec.name}")
                save_figure(influence_plot(infl).figure, f"influence_{r.spec.name}")
        networks = []
        for spec in NETWORKS:
            net = run_network(spec, studies)
            networks.append((spec, net))
            if net is None:
                continue
            save_table(net.relative_effects.reset_index(), f"{spec.name}_relative_effects")
            save_table(net.league, f"{spec.name}_league")
            save_table(net.league_table().reset_index(names="treatment"), f"{spec.name}_league_table")
            save_table(net.ranking, f"{spec.name}_ranking")
            save_table(net.q_decomposition.reset_index(), f"{spec.name}_q_decomposition")
            save_table(net.node_split, f"{spec.name}_node_split")
            save_table(net.contrasts, f"{spec.name}_contrasts")
            save_figure(network_graph(net).figure, f"{spec.name}_graph")
            save_figure(network_forest(net, measure=spec.measure).figure, f"{spec.name}_forest")
            save_figure(league_plot(net).figure, f"{spec.name}_league")
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
            "statsmodels": statsmodels.__version__,
            "matplotlib": matplotlib.__version__,
        },
        "studies": str(studies_path),
        "studies_sha256": _sha256(studies_path),
        "reviews_sha256": _sha256(reviews_path),
        "analyses": [r.spec.to_dict() for r in results],
        "networks": [spec.__dict__ for spec, _ in networks],
    }
    report = build_report(
        studies, reviews, results, provenance={**manifest, "command": "python -m analysis reproduce"}, networks=networks
    )
    (out / "report.md").write_text(report, encoding="utf-8")
    written.append("report.md")
    manifest["files"] = sorted(written)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description="pfp-meta: reproduce the meta-analysis")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="regenerate every figure, table and report.md")
    rep.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    rep.add_argument("--data", type=Path, default=None, help="studies CSV (default: data/studies.csv)")
    rep.add_argument("--reviews", type=Path, default=None, help="reviews CSV (default: data/reviews.csv)")
    args = parser.parse_args(argv)
    from .data import DataError

    try:
        manifest = reproduce(args.out, args.data, args.reviews)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(manifest['files'])} files to {args.out}")
    return 0
