# Pinned metafor values for MetaRegression.predict and .wald_test (tests/test_regression.py).
# Rscript tests/reference/regression_predict_reference.R  ->  tests/reference/regression_predict_reference.json
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
ctrl <- list(threshold = 1e-10, tol = 1e-12, maxiter = 100000, tau2.max = 1e4)
new <- cbind(c(10, 30, 50), c(1950, 1960, 1970))
out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            script = "tests/reference/regression_predict_reference.R", newmods = new, fits = list())
for (method in c("REML", "DL", "EE")) for (test in c("z", "t", "knha")) {
  if (method == "EE" && test == "knha") next
  fit <- rma(yi, vi, mods = ~ ablat + year, data = dat, method = method, test = test, control = ctrl)
  p <- predict(fit, newmods = new)
  w2 <- anova(fit, btt = 2)
  w23 <- anova(fit, btt = 2:3)
  out$fits[[paste(method, test, sep = "_")]] <- list(
    pred = as.numeric(p$pred), se = as.numeric(p$se), ci_lb = as.numeric(p$ci.lb), ci_ub = as.numeric(p$ci.ub),
    pi_lb = as.numeric(if (is.null(p$pi.lb)) p$ci.lb else p$pi.lb), pi_ub = as.numeric(if (is.null(p$pi.ub)) p$ci.ub else p$pi.ub),
    btt2 = list(stat = as.numeric(w2$QM), p = as.numeric(w2$QMp)),
    btt23 = list(stat = as.numeric(w23$QM), p = as.numeric(w23$QMp)))
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/reference/regression_predict_reference.json")
