# Cases where metafor's default stopping rule (Fisher scoring: tau^2 moves < 1e-5; PM: uniroot tol
# 1.2e-4) stops more than 1e-3 (relative) short of the root, beside the same fit with tight control.
# Rscript tests/reference/stopping_reference.R  ->  tests/reference/stopping_reference.json
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
set.seed(20261130)
TIGHT <- list(threshold = 1e-10, tol = 1e-12, maxiter = 100000, tau2.max = 1e4)
out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            script = "tests/reference/stopping_reference.R", cases = list())
for (method in c("PM", "EB", "ML", "REML")) {
  found <- 0
  for (i in 1:5000) {
    k <- 13
    v <- runif(k, 0.001, 0.5)
    y <- rnorm(k, 0, sqrt(v + rexp(1, 50)))
    d <- try(rma(y, v, method = method), silent = TRUE)
    t <- try(rma(y, v, method = method, control = TIGHT), silent = TRUE)
    if (inherits(d, "try-error") || inherits(t, "try-error") || t$tau2 < 1e-6) next
    if (abs(d$tau2 - t$tau2) / t$tau2 > 1e-3) {
      found <- found + 1
      out$cases[[length(out$cases) + 1]] <- list(method = method, y = y, v = v,
        tau2_default = d$tau2, tau2_tight = t$tau2, beta_tight = as.numeric(t$beta), se_tight = t$se)
      if (found == 3) break
    }
  }
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/stopping_reference.json")
