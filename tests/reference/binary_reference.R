# Pinned metafor values for analysis.stats.binary (2x2 tables: OR, RR, RD, Peto; MH and Peto pooling).
# Rscript tests/reference/binary_reference.R  ->  tests/reference/binary_reference.json   (metafor 3.8-1)
# Data: the aspirin trials of Fleiss (1993) (as stored in the R package meta's Fleiss1993.rm5),
# metadat's dat.bcg, and a sparse set built here with single zero cells, a table with no events in
# either arm and one with only events in both arms.
# "MH random" has no metafor function: it is RevMan 5's DerSimonian-Laird tau^2 from the MH-based Q
# (rma.mh's QE, inverse-variance weights), then rma(yi, vi, tau2 = that) -- computed by hand below.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
sets <- list(
  fleiss = data.frame(ai = c(49, 44, 102, 32, 85, 246, 1570), n1i = c(615, 758, 832, 317, 810, 2267, 8587),
                      ci = c(67, 64, 126, 38, 52, 219, 1720), n2i = c(624, 771, 850, 309, 406, 2257, 8600)),
  bcg = with(dat.bcg, data.frame(ai = tpos, n1i = tpos + tneg, ci = cpos, n2i = cpos + cneg)),
  sparse = data.frame(ai = c(0, 3, 0, 12, 5, 0, 20, 1), n1i = c(25, 40, 30, 12, 50, 18, 20, 60),
                      ci = c(2, 0, 0, 10, 9, 4, 20, 3), n2i = c(24, 41, 28, 15, 48, 20, 20, 58))
)
num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }
out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            data = sets, escalc = list(), mh = list(), peto = list(), mh_random = list())
for (s in names(sets)) {
  d <- sets[[s]]
  for (measure in c("OR", "RR", "RD", "PETO")) for (to in c("only0", "all", "if0all", "none"))
    for (add in c(0.5, 0.25)) for (drop00 in c(FALSE, TRUE)) {
      e <- escalc(measure = measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, add = add, to = to,
                  drop00 = drop00)
      out$escalc[[length(out$escalc) + 1]] <- list(set = s, measure = measure, to = to, add = add,
                                                  drop00 = drop00, yi = num(e$yi), vi = num(e$vi))
    }
  for (measure in c("OR", "RR", "RD")) for (correct in c(TRUE, FALSE)) for (to in c("only0", "all")) {
    f <- rma.mh(measure = measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, correct = correct,
                to = to)
    out$mh[[length(out$mh) + 1]] <- list(
      set = s, measure = measure, correct = correct, to = to, beta = num(f$beta), se = num(f$se),
      ci_lb = num(f$ci.lb), ci_ub = num(f$ci.ub), zval = num(f$zval), pval = num(f$pval), QE = num(f$QE),
      QEp = num(f$QEp), I2 = num(f$I2), H2 = num(f$H2), k_yi = f$k.yi, CMH = num(f$MH), CMHp = num(f$MHp),
      TA = num(f$TA), TAp = num(f$TAp))
    if (correct && to == "only0") {
      e <- escalc(measure = measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, drop00 = TRUE)
      ok <- is.finite(e$yi); w <- 1 / e$vi[ok]
      tau2 <- max(0, (f$QE - (sum(ok) - 1)) / (sum(w) - sum(w^2) / sum(w)))
      r <- rma(e$yi[ok], e$vi[ok], tau2 = tau2, method = "DL")
      out$mh_random[[length(out$mh_random) + 1]] <- list(set = s, measure = measure, tau2 = tau2,
        beta = num(r$beta), se = num(r$se), weights = as.numeric(weights(r)))
    }
  }
  f <- rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
  out$peto[[s]] <- list(beta = num(f$beta), se = num(f$se), ci_lb = num(f$ci.lb), ci_ub = num(f$ci.ub),
                        zval = num(f$zval), pval = num(f$pval), QE = num(f$QE), QEp = num(f$QEp),
                        I2 = num(f$I2), k_yi = f$k.yi)
}
# A RevMan-style outcome with two subgroups of the aspirin trials (tests/test_revman.py writes these numbers
# into a copy of Fleiss1993.rm5 and audits it): per subgroup and in total the MH OR (fixed) or RevMan's
# "M-H, Random" (DL tau^2 from the MH-based Q), study weights as % of the total, and the test for subgroup
# differences (Cochran's Q across the subgroup estimates with their SEs).
mh_block <- function(d, random) {
  f <- rma.mh(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
  e <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
  res <- list(beta = num(f$beta), se = num(f$se), QE = f$QE, QEp = f$QEp, I2 = f$I2, df = f$k.yi - 1, tau2 = 0,
              w = (d$n1i - d$ai) * d$ci / (d$n1i + d$n2i))
  if (random) {
    w <- 1 / e$vi
    res$tau2 <- max(0, (f$QE - (nrow(d) - 1)) / (sum(w) - sum(w^2) / sum(w)))
    r <- rma(e$yi, e$vi, tau2 = res$tau2, method = "DL")
    res$beta <- num(r$beta); res$se <- num(r$se); res$w <- 1 / (e$vi + res$tau2)
  }
  res$z <- res$beta / res$se; res$pz <- 2 * pnorm(-abs(res$z))
  res
}
d <- sets$fleiss; g <- c(1, 1, 1, 1, 2, 2, 2)
out$revman_subgroups <- list()
for (random in c(FALSE, TRUE)) {
  total <- mh_block(d, random); subs <- lapply(1:2, function(i) mh_block(d[g == i, ], random))
  b <- sapply(subs, `[[`, "beta"); wb <- 1 / sapply(subs, `[[`, "se")^2
  Q <- sum(wb * (b - sum(wb * b) / sum(wb))^2)
  out$revman_subgroups[[if (random) "random" else "fixed"]] <- list(
    group = g, total = total, subgroups = subs, weights = 100 * total$w / sum(total$w),
    Q = Q, P_Q = pchisq(Q, 1, lower.tail = FALSE), I2_Q = max(0, 100 * (Q - 1) / Q))
}
# A generic inverse-variance outcome (log hazard ratios and their SEs, as RevMan's IV_DATA holds them) under
# RevMan's fixed and DerSimonian-Laird models: tests/test_revman.py stores these numbers in an IV_OUTCOME.
g <- data.frame(yi = c(-0.2, 0.1, -0.35, -0.05), sei = c(0.1, 0.2, 0.15, 0.12))
out$revman_generic <- list(yi = g$yi, sei = g$sei)
for (method in c("FE", "DL")) {
  f <- rma(yi, sei = sei, data = g, method = method)
  out$revman_generic[[method]] <- list(beta = num(f$beta), se = num(f$se), z = num(f$zval), pz = num(f$pval),
    QE = f$QE, QEp = f$QEp, I2 = max(0, 100 * (f$QE - 3) / f$QE), df = 3, tau2 = f$tau2,
    weights = as.numeric(weights(f)))
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", dataframe = "columns"),
           "tests/reference/binary_reference.json")
