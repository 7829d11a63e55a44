"""Pool 20,000 meta-analyses of k = 13, side by side in one run.

    python benchmarks/bench_pool.py [--rows 20000] [--loop-rows 20000]

Compares the batch path of ``analysis.pool`` with a Python loop of statsmodels
``combine_effects`` (Paule-Mandel, ``method_re="iterated"``) and, where R with
metafor is installed, with a loop of ``rma`` inside R (timed in R, without R's
start-up). Prints seconds and ratios; the machines are noisy, so only ratios
from one run mean anything.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from timing import best_time, timed

from analysis import pool

R_LOOP = """
suppressPackageStartupMessages(library(metafor))
y <- as.matrix(read.csv("{y}", header = FALSE)); v <- as.matrix(read.csv("{v}", header = FALSE))
fails <- 0
t <- system.time(for (i in seq_len(nrow(y))) {{
  r <- try(rma(y[i, ], v[i, ], method = "{method}"), silent = TRUE)
  if (inherits(r, "try-error")) fails <- fails + 1
}})[["elapsed"]]
cat(t, fails, "\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--loop-rows", type=int, default=None, help="rows for the loops (default: all)")
    parser.add_argument("--k", type=int, default=13)
    args = parser.parse_args()
    rng = np.random.default_rng(2021)
    n_rows, k = args.rows, args.k
    loop_rows = args.loop_rows or n_rows
    theta = rng.normal(0, 0.3, (n_rows, k))
    v = rng.uniform(0.01, 0.5, (n_rows, k))
    y = rng.normal(0.3 + theta, np.sqrt(v))

    methods = ("DL", "PM", "REML")
    for method in methods:  # once each first
        pool(y, v, method=method)
    results = dict.fromkeys(methods, np.inf)
    for _ in range(5):  # rounds in turn, the fastest of each: every method meets the same machine state
        for method in methods:
            results[method] = min(results[method], best_time(lambda m=method: pool(y, v, method=m)))
    times = ", ".join(f"{m} {t:.3f} s" for m, t in results.items())
    print(f"pfp-meta batch, {n_rows} x k={k}, fastest of 5 rounds: {times}")
    print(f"ratio REML / DL: {results['REML'] / results['DL']:.1f}x, PM / DL: {results['PM'] / results['DL']:.1f}x")

    from statsmodels.stats.meta_analysis import combine_effects

    sm_t, sm_tau2 = timed(lambda: [combine_effects(y[i], v[i], method_re="iterated").tau2 for i in range(loop_rows)])
    sm_per = sm_t / loop_rows
    ours_pm = pool(y[:loop_rows], v[:loop_rows], method="PM").tau2
    agree = np.max(np.abs(np.asarray(sm_tau2) - ours_pm))
    print(
        f"statsmodels combine_effects loop (PM), {loop_rows} rows: {sm_t:.2f} s "
        f"(max |tau2 difference| {agree:.1e}, statsmodels stops at atol 1e-5)"
    )
    for method in ("PM", "REML"):
        print(f"ratio statsmodels / pfp-meta {method} (per meta-analysis): {sm_per / (results[method] / n_rows):.0f}x")

    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            yp, vp = Path(tmp, "y.csv"), Path(tmp, "v.csv")
            np.savetxt(yp, y[:loop_rows], delimiter=",")
            np.savetxt(vp, v[:loop_rows], delimiter=",")
            for method in ("PM", "REML"):
                script = R_LOOP.format(y=yp, v=vp, method=method)
                out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
                r_t, fails = out.stdout.split()
                r_per = float(r_t) / loop_rows
                print(
                    f"metafor rma loop ({method}), {loop_rows} rows: {float(r_t):.2f} s, {fails} failed to converge; "
                    f"ratio metafor / pfp-meta: {r_per / (results[method] / n_rows):.0f}x"
                )
    else:
        print("Rscript not found: metafor comparison skipped")


if __name__ == "__main__":
    main()
