"""One exact Bayesian random-effects fit of the 13 BCG trials, timed, beside bayesmeta where R has it.

    python benchmarks/bench_bayes.py

Prints the median of 20 fits (half-normal prior, scale 0.5, shortest intervals, theta not asked for) and,
where Rscript with bayesmeta is installed, bayesmeta's time for the same fit at its default accuracy.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time

from analysis import bayesian_pool, datasets

R_FIT = """
suppressPackageStartupMessages({library(bayesmeta); library(metafor)})
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
t <- system.time(for (i in 1:5) bayesmeta(d$yi, sqrt(d$vi), tau.prior = function(t) dhalfnormal(t, scale = 0.5)))
cat(t[["elapsed"]] / 5, "\\n")
"""


def main() -> None:
    d = datasets.bcg()
    times = []
    for _ in range(20):
        start = time.perf_counter()
        bayesian_pool(d["yi"], d["vi"], tau_prior="half_normal", tau_scale=0.5)
        times.append(time.perf_counter() - start)
    ours = statistics.median(times)
    print(f"pfp-meta bayesian_pool, k = 13: {1000 * ours:.1f} ms per fit (median of 20)")
    if shutil.which("Rscript"):
        out = subprocess.run(["Rscript", "-e", R_FIT], capture_output=True, text=True)
        if out.returncode == 0:
            r = float(out.stdout.split()[0])
            print(f"bayesmeta (default accuracy): {1000 * r:.0f} ms per fit; ratio {r / ours:.0f}x")
        else:
            print("bayesmeta not installed for Rscript: comparison skipped")


if __name__ == "__main__":
    main()
