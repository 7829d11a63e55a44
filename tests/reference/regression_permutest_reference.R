# Pinned metafor permutest values for analysis.stats.regression.regression_permutation_test.
# Rscript tests/reference/regression_permutest_reference.R  ->  tests/reference/regression_permutest_reference.json
# BCG trials 1-7, mods = ~ ablat, exact = TRUE (all 7! = 5040 orderings). With DL every ordering's fit exists,
# so the p-value is exact; with REML metafor leaves out orderings whose fit does not converge (recorded,
# compared loosely).
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)[1:7, ]
out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), ablat = dat$ablat, fits = list())
for (method in c("DL", "REML")) for (test in c("z", "knha")) {
  fit <- rma(yi, vi, mods = ~ ablat, data = dat, method = method, test = test)
  pm <- permutest(fit, exact = TRUE, progbar = FALSE)
  out$fits[[paste(method, test, sep = "_")]] <- list(QM = pm$QM, QMp = pm$QMp)
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/regression_permutest_reference.json")
