# Pinned values for analysis.stats.conversions (tests/test_conversions.py).
#
# Needs metafor >= 5 (conv.fivenum, conv.wald). metafor 5 builds from its public source:
#   git clone https://github.com/wviechtb/metafor && R CMD INSTALL -l LIB metafor
#   (Debian packages: r-cran-metadat r-cran-numderiv r-cran-mathjaxr r-cran-pbapply r-cran-jsonlite)
#   R_LIBS=LIB Rscript tests/reference/conversions_reference.R  ->  tests/reference/conversions_reference.json
# The Cochrane Handbook formulas metafor has no function for (SD from a group's CI with t,
# SE from a t-based CI or p-value) are computed here from R's qt/qnorm.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
stopifnot(packageVersion("metafor") >= "5.0")

ns <- c(5, 8, 15, 16, 25, 26, 40, 70, 71, 200)
# Three scenarios x several n; one row per scenario is skewed enough to fail Shi et al.'s test at small n.
grid <- do.call(rbind, lapply(ns, function(n) rbind(
  data.frame(n = n, min = 1.0, q1 = NA, median = 5.2, q3 = NA, max = 9.9),
  data.frame(n = n, min = NA, q1 = 3.1, median = 4.4, q3 = 6.0, max = NA),
  data.frame(n = n, min = 0.4, q1 = 3.1, median = 4.4, q3 = 6.0, max = 8.7),
  data.frame(n = n, min = 2.0, q1 = NA, median = 3.0, q3 = NA, max = 20.0),   # skewed
  data.frame(n = n, min = NA, q1 = 10.0, median = 11.0, q3 = 19.0, max = NA),  # skewed
  data.frame(n = n, min = 1.0, q1 = 10.0, median = 11.0, q3 = 19.0, max = 40.0))))
pairs <- list(c("luo/wan/shi", "luo/wan/shi"), c("luo2016", "wan2014"), c("wan2014", "wan2014"),
              c("hozo2005", "hozo2005"), c("bland2015", "bland2015"), c("walter2007", "walter2007"),
              c("luo2016", "shi2020"), c("wan2014", "bland2015"))
fivenum <- list()
for (m in pairs) for (test in c(TRUE, FALSE)) {
  res <- suppressWarnings(conv.fivenum(min = min, q1 = q1, median = median, q3 = q3, max = max, n = n,
                                       data = grid, method = m, test = test, append = FALSE))
  fivenum[[length(fivenum) + 1]] <- list(method = m, test = test, mean = res$mean, sd = res$sd,
                                         tval = attr(res$mean, "tval"), crit = attr(res$mean, "crit"),
                                         sig = attr(res$mean, "sig"))
}

wald <- data.frame(est = c(0.5, -1.2, 2.0, 0.1), lb = c(0.1, -2.0, 0.3, -0.4), ub = c(0.9, -0.4, 3.7, 0.6),
                   pval = c(0.014, 0.0031, 0.21, 0.5))
w95 <- conv.wald(out = est, ci.lb = lb, ci.ub = ub, data = wald, level = 95, check = FALSE)
w90 <- conv.wald(out = est, ci.lb = lb, ci.ub = ub, data = wald, level = 90, check = FALSE)
wp <- conv.wald(out = est, pval = pval, data = wald)

handbook <- list(
  sd_from_ci_t = list(lower = c(10, 2.5, -3), upper = c(14.128, 4.1, 1.5), n = c(25, 12, 60),
                      sd = sqrt(c(25, 12, 60)) * (c(14.128, 4.1, 1.5) - c(10, 2.5, -3)) / (2 * qt(0.975, c(24, 11, 59)))),
  sd_from_ci_z90 = list(lower = c(10, 2.5), upper = c(14.128, 4.1), n = c(25, 12),
                        sd = sqrt(c(25, 12)) * (c(14.128, 4.1) - c(10, 2.5)) / (2 * qnorm(0.95))),
  se_from_ci_t = list(lower = c(0.1, -2.0), upper = c(0.9, -0.4), df = c(18, 40),
                      se = (c(0.9, -0.4) - c(0.1, -2.0)) / (2 * qt(0.975, c(18, 40)))),
  se_from_p_t = list(est = c(0.5, -1.2), p = c(0.014, 0.0031), df = c(18, 40),
                     se = abs(c(0.5, -1.2)) / qt(c(0.014, 0.0031) / 2, c(18, 40), lower.tail = FALSE)))

out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            script = "tests/reference/conversions_reference.R",
            grid = grid, fivenum = fivenum,
            wald = list(est = wald$est, lb = wald$lb, ub = wald$ub, pval = wald$pval,
                        se95 = sqrt(w95$vi), se90 = sqrt(w90$vi), se_p = sqrt(wp$vi)),
            handbook = handbook)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/reference/conversions_reference.json")
