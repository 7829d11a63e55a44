"""GOSH, leave-one-out and influence: batch path against loops, side by side in one run.

    python benchmarks/bench_robustness.py [--k-loo 300]

GOSH fits all 8,191 subsets of 13 studies with REML in one batch call of
``analysis.pool``; where R with metafor is installed, ``gosh()`` does the same
in R (timed inside R). Leave-one-out and influence on the batch path are
compared with a Python loop of ``pool`` over the left-out studies. Prints
seconds and ratios; only ratios from one run mean anything on a noisy machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from timing import best_time

from analysis import pool
from analysis.stats.robustness import gosh, influence, leave_one_out

R_GOSH = """
suppressPackageStartupMessages(library(metafor))
d <- read.csv("{path}")
res <- rma(d$yi, d$vi, method = "REML")
t <- system.time(g <- gosh(res, progbar = FALSE))[["elapsed"]]
cat(t, nrow(g$res), "\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k-loo", type=int, default=300, help="studies for the leave-one-out comparison")
    args = parser.parse_args()
    rng = np.random.default_rng(13)
    v = rng.uniform(0.01, 0.3, 13)
    y = rng.normal(0.2 + rng.normal(0, 0.2, 13), np.sqrt(v))

    t_gosh = best_time(lambda: gosh(y, v, method="REML"), repeat=3)
    print(f"GOSH, all 8191 subsets of k=13, REML, pfp-meta batch: {t_gosh:.3f} s")
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "d.csv")
            path.write_text("yi,vi\n" + "\n".join(f"{a:.17g},{b:.17g}" for a, b in zip(y, v)) + "\n")
            out = subprocess.run(
                ["Rscript", "-e", R_GOSH.format(path=path)], capture_output=True, text=True, check=True
            )
            r_t, n = out.stdout.split()
            print(
                f"metafor gosh(), {n} subsets: {float(r_t):.2f} s; ratio metafor / pfp-meta: {float(r_t) / t_gosh:.0f}x"
            )
    else:
        print("Rscript not found: metafor gosh() comparison skipped")

    k = args.k_loo
    v2 = rng.uniform(0.01, 0.3, k)
    y2 = rng.normal(0.2 + rng.normal(0, 0.2, k), np.sqrt(v2))

    def loop_loo():
        for i in range(k):
            keep = np.arange(k) != i
            pool(y2[keep], v2[keep], method="REML")

    t_batch = best_time(lambda: leave_one_out(y2, v2, method="REML"), repeat=3)
    t_infl = best_time(lambda: influence(y2, v2, method="REML"), repeat=3)
    t_loop = best_time(loop_loo)
    print(
        f"leave-one-out, k={k}, REML: batch {t_batch:.3f} s, influence (batch) {t_infl:.3f} s, "
        f"loop of pool {t_loop:.3f} s; ratio loop / batch: {t_loop / t_batch:.0f}x"
    )


if __name__ == "__main__":
    main()
