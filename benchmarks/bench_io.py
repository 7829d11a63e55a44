"""The data pipeline's speed, side by side in one run: the loader against pandas, and
``reproduce`` on the project's file and on copies of it 10 and 20 times as long.

    python benchmarks/bench_io.py [--rows 50000]

Copies rename every trial (``study_id`` and ``study`` get a suffix), so each copy is new
trials with the same rows. Prints seconds and ratios; only ratios from one run mean anything.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd
from timing import best_time

from analysis import MissingDataWarning, load_studies
from analysis.manojlovic2021.load import default_path


def _copies(n_copies: int | None, rows: int | None, out: Path) -> Path:
    """data/studies.csv repeated with renamed trials: n_copies times, or up to ``rows`` rows."""
    records = list(csv.reader(io.StringIO(default_path("studies.csv").read_text(encoding="utf-8"), newline="")))
    header, body = records[0], records[1:]
    i, j = header.index("study_id"), header.index("study")
    copies = n_copies if n_copies is not None else -(-rows // len(body))
    lines = [header]
    for c in range(copies):
        lines += [[*r[:i], f"{r[i]}_c{c}", f"{r[j]} copy {c}", *r[j + 1 :]] for r in body]
    lines = lines[: rows + 1] if rows is not None else lines
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(lines)
    out.write_text(buf.getvalue(), encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = _copies(None, args.rows, tmp / "big.csv")
        pd.read_csv(big)  # warm the file cache for both readers
        t_pd = best_time(lambda: pd.read_csv(big), 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingDataWarning)
            t_load = best_time(lambda: load_studies(big), 3)
        print(
            f"{args.rows} rows: load_studies {t_load:.2f} s, pandas.read_csv {t_pd:.2f} s, ratio {t_load / t_pd:.1f}x"
        )
        times = {}
        for copies in (1, 10, 20):
            data = default_path("studies.csv") if copies == 1 else _copies(copies, None, tmp / f"s{copies}.csv")
            n = len(pd.read_csv(data))
            cmd = [
                sys.executable,
                "-m",
                "analysis",
                "reproduce",
                "--out",
                str(tmp / f"out{copies}"),
                "--data",
                str(data),
            ]
            times[n] = best_time(lambda c=cmd: subprocess.run(c, check=True, capture_output=True))
        base = min(times)
        print("reproduce: " + ", ".join(f"{n} rows {t:.1f} s ({t / times[base]:.1f}x)" for n, t in times.items()))


if __name__ == "__main__":
    main()
