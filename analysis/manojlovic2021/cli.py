"""Command line: ``python -m analysis {reproduce,list,run,audit,data} ...``; ``--help`` on each.

- ``reproduce --out DIR``: every declared analysis, network, figure, table and report.md;
- ``list``: the declared analyses (names for ``run``);
- ``run NAME [--out DIR]``: one analysis: its summary on stdout, with ``--out`` its tables and forest plot;
- ``audit FILE --out DIR``: a transcribed forest plot (CSV) or a RevMan 5 file (.rm5) recomputed number by
  number (exit 1 when a number is discrepant);
- ``data check [FILE]``: validate studies.csv, list what is missing per trial and flag impossible means (exit 1);
- ``data diff A B``: two extractions compared cell by cell (exit 1 when they disagree).

The only module that prints. Every problem of input or output ends in one
line on stderr and exit status 2; outputs are staged and swapped in whole
(:mod:`analysis.manojlovic2021.outputs`).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .build import reproduce
from .outputs import OutputError

__all__ = ["main", "reproduce"]


def _list(args) -> int:
    from .specs import ANALYSES, NETWORKS

    width = max(len(s.name) for s in [*ANALYSES, *NETWORKS])
    print("analyses (python -m analysis run NAME):")
    for s in ANALYSES:
        print(f"  {s.name:<{width}}  {s.measure:<3} {s.method}/{s.test:<4}  {s.title}")
    print("networks (in reproduce):")
    for s in NETWORKS:
        print(f"  {s.name:<{width}}  {s.title}")
    return 0


def _run(args) -> int:
    from ..plotting import forest_plot, forest_rows
    from .load import MissingDataWarning, load_studies
    from .outputs import write_staged
    from .pipeline import run_analysis
    from .specs import get_spec

    spec = get_spec(args.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        studies = load_studies(args.data)
    result = run_analysis(spec, studies)
    print(result.summary())
    if args.out is None:
        return 0

    def build(writer):
        writer.table(result.effects, f"effects_{spec.name}")
        writer.table(result.coverage, f"coverage_{spec.name}")
        writer.table(result.to_frame(), f"pooled_{spec.name}")
        if result.result is not None:
            writer.table(forest_rows(result), f"forest_rows_{spec.name}")
            writer.figure(forest_plot(result, title=spec.title).figure, f"forest_{spec.name}")
        return {"command": f"python -m analysis run {spec.name}", "analysis": spec.to_dict()}

    manifest = write_staged(args.out, build)
    print(f"wrote {len(manifest['files'])} files to {args.out}")
    return 0


def _audit(args) -> int:
    from ..audit import audit_forest_plots, audit_revman
    from .build import write_audit
    from .outputs import sha256, write_staged

    revman = args.file.suffix.lower() == ".rm5"
    if args.rtol is not None and not revman:
        raise _UsageError("--rtol applies to RevMan files (.rm5); printed numbers are judged at their precision")
    result = audit_revman(args.file, rtol=args.rtol or 1e-5) if revman else audit_forest_plots(args.file)

    def build(writer):
        write_audit(writer, result)
        return {"command": "python -m analysis audit", "input": str(args.file), "input_sha256": sha256(args.file),
                "counts": result.counts}  # fmt: skip

    write_staged(args.out, build)
    c = result.counts
    within = (
        f" within relative {result.tolerance:g} (largest difference {result.largest_difference:.2g})"
        if revman
        else f", {c['rounding']} within rounding"
    )
    print(
        f"audited {len(result.table)} {'stored' if revman else 'printed'} numbers: {c['reproduced']} reproduced"
        f"{within}, {c['discrepant']} discrepant; see {Path(args.out) / 'audit.md'}"
    )
    return 0 if result.clean else 1


def _data(args) -> int:
    from .checks import check_studies, diff_studies

    if args.action == "check":
        report, ok = check_studies(args.files[0] if args.files else None)
        print(report)
        return 0 if ok else 1
    if len(args.files) != 2:
        raise _UsageError("data diff needs two files: python -m analysis data diff A.csv B.csv")
    diff = diff_studies(*args.files)
    if diff.empty:
        print(f"{args.files[0]} and {args.files[1]} agree in every cell")
        return 0
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(diff.to_string(index=False))
    print(f"{len(diff)} disagreement(s)")
    return 1


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="python -m analysis", description="pfp-meta: reproduce and audit the meta-analysis"
    )
    parser.add_argument("--version", action="version", version=f"pfp-meta {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="regenerate every figure, table, report.md and report.html")
    rep.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    rep.add_argument("--data", type=Path, default=None, help="studies CSV (default: the bundled data/studies.csv)")
    rep.add_argument("--reviews", type=Path, default=None, help="reviews CSV (default: the bundled data/reviews.csv)")
    rep.add_argument("--audit", type=Path, default=None, help="also audit these transcribed forest plots (data/audit/)")
    sub.add_parser("list", help="the declared analyses")
    run = sub.add_parser("run", help="one analysis: its summary, and with --out its tables and forest plot")
    run.add_argument("name", help="an analysis name (see: python -m analysis list)")
    run.add_argument("--out", type=Path, default=None, help="also write its tables and forest plot here")
    run.add_argument("--data", type=Path, default=None, help="studies CSV (default: the bundled one)")
    aud = sub.add_parser(
        "audit", help="recompute every number of transcribed forest plots or a RevMan 5 file (exit 1 if discrepant)"
    )
    aud.add_argument(
        "file", type=Path, help="transcription CSV (format and template: data/audit/) or RevMan 5 file (.rm5)"
    )
    aud.add_argument(
        "--rtol", type=float, default=None, help="RevMan files: relative tolerance for stored numbers (default 1e-5)"
    )
    aud.add_argument("--out", type=Path, default=Path("audit"), help="output folder (default: audit)")
    data = sub.add_parser("data", help="check studies.csv, or compare two extractions")
    data.add_argument("action", choices=["check", "diff"], help="check [FILE] | diff A B")
    data.add_argument("files", nargs="*", type=Path, help="check: the file (default: the bundled one); diff: two files")
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..reader import DataError

    args = _parser().parse_args(argv)
    command = {"reproduce": None, "list": _list, "run": _run, "audit": _audit, "data": _data}[args.command]
    try:
        if command is None:
            manifest = reproduce(args.out, args.data, args.reviews, args.audit)
            kept = f" (kept {len(manifest['kept'])} files it did not write)" if manifest["kept"] else ""
            print(f"wrote {len(manifest['files'])} files to {args.out}{kept}")
            return 0
        return command(args)
    except (DataError, OutputError, _UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = exc.filename or getattr(args, "out", "")
        print(f"error: cannot write the output to {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # an unknown analysis name
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: the data cannot be analysed: {exc}", file=sys.stderr)
        return 2
