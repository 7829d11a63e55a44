# Pinned metafor values for leave-one-out, influence, cumulative, Baujat, GOSH, Egger, rank test,
# trim-and-fill and the permutation test (sourced by make_reference.R, with `datasets` and TIGHT).
out <- list()
for (name in c("bcg", "hackshaw1998", "raudenbush1985")) {
  d <- datasets[[name]]
  for (method in c("EE", "DL", "REML")) for (test in c("z", "knha")) {
    if (method == "EE" && test == "knha") next
    res <- rma(d$yi, d$vi, method = method, test = test, control = TIGHT)
    l1 <- leave1out(res)
    inf <- influence(res)
    cu <- cumul(res)
    bj <- baujat(res, plot = FALSE)
    key <- paste(name, method, test, sep = "/")
    zero_if_null <- function(x, n) if (is.null(x)) rep(0, n) else x  # EE fits report no tau2
    l1$tau2 <- zero_if_null(l1$tau2, length(l1$estimate)); cu$tau2 <- zero_if_null(cu$tau2, length(cu$estimate))
    out$leave1out[[key]] <- list(estimate = l1$estimate, se = l1$se, pvalue = l1$pval, ci_low = l1$ci.lb,
                                 ci_high = l1$ci.ub, q = l1$Q, tau2 = l1$tau2, i2 = l1$I2 / 100, h2 = l1$H2)
    out$influence[[key]] <- list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook_d = inf$inf$cook.d,
                                 cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, q_del = inf$inf$QE.del,
                                 hat = inf$inf$hat, weight = inf$inf$weight, dfbetas = inf$dfbs$intrcpt,
                                 influential = inf$is.infl)
    out$cumulative[[key]] <- list(estimate = cu$estimate, se = cu$se, ci_low = cu$ci.lb, ci_high = cu$ci.ub,
                                  tau2 = cu$tau2)
    out$baujat[[key]] <- list(x = bj$x, y = bj$y)
  }
  for (method in c("EE", "REML")) {
    res <- rma(d$yi, d$vi, method = method, control = TIGHT)
    for (est in c("L0", "R0")) {
      tf <- trimfill(res, estimator = est, control = TIGHT)  # control reaches its internal refits
      out$trimfill[[paste(name, method, est, sep = "/")]] <- list(k0 = tf$k0, se_k0 = tf$se.k0, side = tf$side,
        estimate = c(tf$beta), se = tf$se, tau2 = tf$tau2, filled_yi = tf$yi[tf$fill], p_k0 = if (is.null(tf$p.k0)) NA else tf$p.k0)
    }
    eg <- regtest(res)
    out$egger[[paste(name, method, "rma", sep = "/")]] <- list(statistic = eg$zval, pvalue = eg$pval, limit_estimate = eg$est,
                                                              limit_ci_low = eg$ci.lb, limit_ci_high = eg$ci.ub)
  }
  eg <- regtest(rma(d$yi, d$vi, method = "EE"), model = "lm")
  out$egger[[paste(name, "EE", "lm", sep = "/")]] <- list(statistic = eg$zval, pvalue = eg$pval, df = eg$dfs,
                                                          limit_estimate = eg$est, limit_ci_low = eg$ci.lb, limit_ci_high = eg$ci.ub)
  rt <- ranktest(d$yi, d$vi)
  out$ranktest[[name]] <- list(tau = unname(rt$tau), pvalue = rt$pval)
}
# GOSH on the first 8 BCG trials (255 subsets).
g8 <- gosh(rma(datasets$bcg$yi[1:8], datasets$bcg$vi[1:8], method = "REML", control = TIGHT))
out$gosh <- list(k = g8$res$k, q = g8$res$QE, i2 = g8$res$I2 / 100, tau2 = g8$res$tau2, estimate = g8$res$estimate)
# Exact permutation test of the subgroup difference (BCG by allocation: 12,870 arrangements).
b <- datasets$bcg
set.seed(1)
pm <- permutest(rma(b$yi, b$vi, mods = ~ factor(b$group), method = "DL"), exact = TRUE, progbar = FALSE)
out$permutest <- list(method = "DL", statistic = pm$QM, pvalue = pm$QMp)
out
