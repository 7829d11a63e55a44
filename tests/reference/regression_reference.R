# Pinned metafor values for meta-regression and Egger's test (tests/test_regression.py).
# Rscript tests/reference/regression_reference.R  ->  tests/reference/regression_reference.json
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
ctrl <- list(threshold = 1e-10, tol = 1e-12, maxiter = 100000, tau2.max = 1e4)  # as make_reference.R: tight enough to pin
out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            script = "tests/reference/regression_reference.R", data = "dat.bcg, escalc(measure = 'RR')",
            yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), ablat = dat$ablat, year = dat$year,
            fits = list(), regtest = list())
for (method in c("EE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")) {
  for (test in c("z", "t", "knha", "adhoc")) {
    if (method == "EE" && test %in% c("knha", "adhoc")) next
    fit <- rma(yi, vi, mods = ~ ablat + year, data = dat, method = method, test = test, control = ctrl)
    out$fits[[paste(method, test, sep = "_")]] <- list(
      beta = as.numeric(fit$beta), se = as.numeric(fit$se), pval = as.numeric(fit$pval),
      ci_lb = as.numeric(fit$ci.lb), ci_ub = as.numeric(fit$ci.ub), tau2 = fit$tau2,
      QM = fit$QM, QMp = fit$QMp, QE = fit$QE, QEp = fit$QEp, R2 = if (is.null(fit$R2)) NA else fit$R2)
    reg <- regtest(rma(yi, vi, data = dat, method = method, test = test, control = ctrl))
    out$regtest[[paste(method, test, sep = "_")]] <- list(zval = reg$zval, pval = reg$pval,
      est = as.numeric(reg$est), ci_lb = as.numeric(reg$ci.lb), ci_ub = as.numeric(reg$ci.ub),
      tau2 = reg$fit$tau2)
  }
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/reference/regression_reference.json")
