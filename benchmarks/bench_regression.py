"""Meta-regression in batch: the permutation test and case deletion against loops, side by side in one run.

    python benchmarks/bench_regression.py [--k 60]

``regression_permutation_test`` fits every ordering of the moderators in one
batch of the tau² engine; here 5,040 orderings (all of 7 studies, exact) and
2,000 random orderings of ``--k`` studies, against a Python loop of
``meta_regression`` over the same orderings and, where R with metafor is
installed, ``permutest()`` (timed inside R). ``MetaRegression.influence`` and
``leave_one_out`` fit all k deletions in one batch, against a loop of
``meta_regression``. Prints seconds and ratios; only ratios from one run mean
anything on a noisy machine.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from timing import best_time

from analysis import meta_regression, regression_permutation_test

R_PERMUTEST = """
suppressPackageStartupMessages(library(metafor))
d <- read.csv("{path}")
res <- rma(yi, vi, mods = ~ x, data = d, method = "REML")
t <- system.time(p <- permutest(res, exact = TRUE, progbar = FALSE))[["elapsed"]]
cat(t, "\\n")
"""


def _data(rng, k):
    x = rng.uniform(0, 50, k)
    v = rng.uniform(0.01, 0.3, k)
    y = rng.normal(0.5 - 0.02 * x + rng.normal(0, 0.2, k), np.sqrt(v))
    return y, v, np.column_stack([np.ones(k), x])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=60, help="studies for the random permutations and case deletion")
    args = parser.parse_args()
    rng = np.random.default_rng(7)

    y, v, X = _data(rng, 7)
    orders = list(itertools.permutations(range(7)))
    t_batch = best_time(lambda: regression_permutation_test(y, v, X, exact=True), repeat=3)
    t_loop = best_time(lambda: [meta_regression(y, v, X[list(o)]) for o in orders])
    print(f"permutation test, all 5,040 orderings of k = 7, REML: batch {t_batch:.3f} s, loop of meta_regression "
          f"{t_loop:.2f} s; ratio {t_loop / t_batch:.0f}x")  # fmt: skip
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "d.csv")
            rows = "\n".join(f"{a:.17g},{b:.17g},{c:.17g}" for a, b, c in zip(y, v, X[:, 1]))
            path.write_text("yi,vi,x\n" + rows + "\n")
            out = subprocess.run(["Rscript", "-e", R_PERMUTEST.format(path=path)], capture_output=True, text=True,
                                 check=True)  # fmt: skip
            r_t = float(out.stdout.split()[0])
            print(f"metafor permutest(exact = TRUE): {r_t:.2f} s; ratio metafor / pfp-meta: {r_t / t_batch:.0f}x")
    else:
        print("Rscript not found: metafor permutest() comparison skipped")

    k = args.k
    y, v, X = _data(rng, k)
    t_perm = best_time(lambda: regression_permutation_test(y, v, X, n_permutations=2000, seed=1), repeat=3)
    perms = [rng.permutation(k) for _ in range(2000)]
    t_perm_loop = best_time(lambda: [meta_regression(y, v, X[o]) for o in perms])
    print(f"permutation test, 2,000 random orderings of k = {k}: batch {t_perm:.3f} s, loop {t_perm_loop:.2f} s; "
          f"ratio {t_perm_loop / t_perm:.0f}x")  # fmt: skip

    fit = meta_regression(y, v, X)
    t_infl = best_time(fit.influence, repeat=3)
    t_loo = best_time(fit.leave_one_out, repeat=3)
    t_del_loop = best_time(
        lambda: [meta_regression(np.delete(y, i), np.delete(v, i), np.delete(X, i, 0)) for i in range(k)]
    )
    print(f"case deletion, k = {k}: influence {t_infl:.3f} s, leave_one_out {t_loo:.3f} s, loop of k refits "
          f"{t_del_loop:.3f} s; ratio loop / leave_one_out {t_del_loop / t_loo:.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
