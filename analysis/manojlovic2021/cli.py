"""Command line: ``python -m analysis reproduce --out DIR``.

The only module that writes files. It runs every declared analysis
(:data:`analysis.manojlovic2021.specs.ANALYSES`) and writes every table (CSV),
every figure (PNG and SVG), ``report.md`` and ``manifest.json`` (versions,
options, input checksums and the list of files).

Outputs are built in a staging folder beside ``--out`` and swapped in only
when complete, so an interrupted or failed run leaves the earlier output as
it was. Files of an earlier run that this run no longer writes are removed;
files this command never wrote are kept and listed in the manifest. Every
problem with the input or the output folder ends in one line on stderr and
exit status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

__all__ = ["main", "reproduce"]

#: Characters that make a spreadsheet run a text cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _safe_cells(frame):
    """A copy whose text cells cannot run as spreadsheet formulas (prefixed with ')."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda x: "'" + x if isinstance(x, str) and x.startswith(_FORMULA_START) else x)
    return out


class OutputError(Exception):
    """The output folder cannot be used."""


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder")
    parent = out.resolve().parent
    for p in [parent, *parent.parents]:
        if p.exists():
            if not p.is_dir():
                raise OutputError(f"--out {out}: {p} is a file, not a folder")
            break
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(f"--out {out} is not writable")


def _write_all(stage: Path, studies, reviews, studies_path: Path, reviews_path: Path, out: Path) -> dict:
    """Every table, figure, report.md and manifest.json into ``stage``; returns the manifest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    import scipy

    from .. import __version__
    from ..plotting import forest_plot, forest_rows, influence_plot, league_plot, network_forest, network_graph
    from ..stats import influence, leave_one_out
    from .figures import coverage_chart, reviews_forest
    from .load import missing_values
    from .pipeline import coverage_matrix, network_data, run_analysis, run_network
    from .report import build_report, results_table
    from .specs import ANALYSES, NETWORKS, PROGRAM_LABELS

    tables, figures = stage / "tables", stage / "figures"
    tables.mkdir(parents=True)
    figures.mkdir(parents=True)
    written: list[str] = []

    def save_table(frame: pd.DataFrame, name: str) -> None:
        path = tables / f"{name}.csv"
        _safe_cells(frame).to_csv(path, index=False, float_format="%.10g")
        written.append(path.relative_to(stage).as_posix())

    def save_figure(fig, name: str) -> None:
        # The tight box, as savefig(bbox_inches="tight") finds it, once for both formats (each search is a full draw).
        fig.set_dpi(150)
        box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
        for ext in ("png", "svg"):
            path = figures / f"{name}.{ext}"
            fig.savefig(path, dpi=150, bbox_inches=box, metadata={"Date": None} if ext == "svg" else None)
            written.append(path.relative_to(stage).as_posix())
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
        "studies_sha256": _sha256(studies_path),
        "reviews_sha256": _sha256(reviews_path),
        "analyses": [r.spec.to_dict() for r in results],
        "networks": [spec.__dict__ for spec, _, _ in networks],
    }
    report = build_report(
        studies, reviews, results, provenance={**manifest, "command": "python -m analysis reproduce"}, networks=networks
    )
    (stage / "report.md").write_text(report, encoding="utf-8")
    written.append("report.md")
    manifest["files"] = sorted(written)
    return manifest


def _previous_files(out: Path) -> set[str]:
    """Files an earlier run of this command wrote into ``out`` (from its manifest)."""
    try:
        old = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return set(old.get("files", [])) | {"manifest.json"}
    except (OSError, ValueError, AttributeError):
        return set()


def reproduce(out: Path, studies_path: Path | None = None, reviews_path: Path | None = None) -> dict:
    """Regenerate every figure and table into ``out``; returns the manifest.

    Raises :class:`~analysis.manojlovic2021.load.DataError` for bad input and
    :class:`OutputError` or :class:`OSError` when ``out`` cannot be written;
    in every case ``out`` is left as it was.
    """
    from .load import MissingDataWarning, default_path, load_reviews, load_studies

    out = Path(out)
    studies_path = Path(studies_path) if studies_path is not None else default_path("studies.csv")
    reviews_path = Path(reviews_path) if reviews_path is not None else default_path("reviews.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)  # the report lists every missing number
        studies = load_studies(studies_path)
    reviews = load_reviews(reviews_path)
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        manifest = _write_all(stage, studies, reviews, studies_path, reviews_path, out)
        ours = set(manifest["files"]) | {"manifest.json"}
        kept = []
        if out.exists():
            previous = _previous_files(out)
            for path in sorted(p for p in out.rglob("*") if p.is_file() or p.is_symlink()):
                rel = path.relative_to(out).as_posix()
                if rel in ours or rel in previous:
                    continue  # ours, rewritten or no longer written
                target = stage / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target, follow_symlinks=False)
                kept.append(rel)
        manifest["kept"] = kept  # files in the folder that this command did not write
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "out")
            os.replace(stage, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, out)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description="pfp-meta: reproduce the meta-analysis")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="regenerate every figure, table and report.md")
    rep.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    rep.add_argument("--data", type=Path, default=None, help="studies CSV (default: the bundled data/studies.csv)")
    rep.add_argument("--reviews", type=Path, default=None, help="reviews CSV (default: the bundled data/reviews.csv)")
    args = parser.parse_args(argv)
    from .load import DataError

    try:
        manifest = reproduce(args.out, args.data, args.reviews)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = exc.filename or args.out
        print(f"error: cannot write the output to {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: the data cannot be analysed: {exc}", file=sys.stderr)
        return 2
    kept = f" (kept {len(manifest['kept'])} files it did not write)" if manifest["kept"] else ""
    print(f"wrote {len(manifest['files'])} files to {args.out}{kept}")
    return 0
