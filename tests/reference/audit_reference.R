# A RevMan-style forest-plot transcription computed in R, independently of the Python code:
# the audit must reproduce every number of it (tests/test_audit.py).
# Rscript tests/reference/audit_reference.R  ->  tests/reference/audit_forest_reference.csv
# Data: metafor's dat.normand1999 (Normand 1999, length of stay, 9 trials); subgroups Orpington vs other.
# RevMan 5 arithmetic: MD with vi = sd1^2/n1 + sd2^2/n2; SMD with J = 1 - 3/(4N - 9) and
# vi = N/(n1 n2) + g^2/(2(N - 3.94)); pooling by rma(method = "DL" or "EE") with z tests; the
# subgroup test is Cochran's Q across the subtotals (rma(method = "EE") on the subtotal estimates).
suppressPackageStartupMessages(library(metafor))
d <- dat.normand1999
d$group <- ifelse(grepl("Orpington", d$source), "Orpington", "Other")
d <- d[order(d$group != "Orpington"), ]

revman_p <- function(p) {
  if (p < 0.00001) return("P < 0.00001")
  if (p >= 0.01) return(sprintf("P = %.2f", p))
  e <- floor(log10(p)); digit <- round(p / 10^e)
  if (digit == 10) { digit <- 1; e <- e + 1 }
  sprintf(paste0("P = %.", -e, "f"), digit * 10^e)
}
effects <- function(d, measure) {
  if (measure == "MD") return(list(yi = d$m1i - d$m2i, vi = d$sd1i^2 / d$n1i + d$sd2i^2 / d$n2i))
  N <- d$n1i + d$n2i
  sp <- sqrt(((d$n1i - 1) * d$sd1i^2 + (d$n2i - 1) * d$sd2i^2) / (N - 2))
  g <- (1 - 3 / (4 * N - 9)) * (d$m1i - d$m2i) / sp
  list(yi = g, vi = N / (d$n1i * d$n2i) + g^2 / (2 * (N - 3.94)))
}
het_line <- function(fit, random) {
  i2 <- max(0, (fit$QE - (fit$k - 1)) / fit$QE) * 100
  paste0("Heterogeneity: ", if (random) sprintf("Tau² = %.2f; ", fit$tau2) else "",
         sprintf("Chi² = %.2f, df = %d (%s); I² = %.0f%%", fit$QE, fit$k - 1, revman_p(fit$QEp), i2))
}
z_line <- function(fit) sprintf("Test for overall effect: Z = %.2f (%s)", abs(fit$zval), revman_p(fit$pval))
row <- function(...) data.frame(..., stringsAsFactors = FALSE)
blank <- c(mean_1 = "", sd_1 = "", n_1 = "", mean_2 = "", sd_2 = "", n_2 = "")

figure <- function(name, measure, model, groups, total) {
  random <- model == "IV, Random"
  method <- if (random) "DL" else "EE"
  e <- effects(d, measure)
  overall <- rma(e$yi, e$vi, method = method)
  out <- NULL; sub_est <- c(); sub_se <- c()
  for (g in if (groups) unique(d$group) else "") {
    idx <- if (groups) d$group == g else rep(TRUE, nrow(d))
    fit <- rma(e$yi[idx], e$vi[idx], method = method)
    tau2 <- if (total) overall$tau2 else fit$tau2
    w <- 1 / (e$vi + tau2); w <- if (total) 100 * w / sum(w) else 100 * w / sum(w[idx])
    for (i in which(idx)) {
      se <- sqrt(e$vi[i])
      out <- rbind(out, row(figure = name, measure = measure, model = model, row_type = "study", subgroup = g,
        study = d$source[i], mean_1 = d$m1i[i], sd_1 = d$sd1i[i], n_1 = d$n1i[i], mean_2 = d$m2i[i],
        sd_2 = d$sd2i[i], n_2 = d$n2i[i], estimate = sprintf("%.2f", e$yi[i]),
        ci_low = sprintf("%.2f", e$yi[i] - qnorm(0.975) * se), ci_high = sprintf("%.2f", e$yi[i] + qnorm(0.975) * se),
        weight = sprintf("%.1f", w[i]), text = ""))
    }
    if (groups) {
      out <- rbind(out, row(figure = name, measure = measure, model = model, row_type = "subtotal", subgroup = g,
        study = "", t(blank), estimate = sprintf("%.2f", fit$beta[1]), ci_low = sprintf("%.2f", fit$ci.lb),
        ci_high = sprintf("%.2f", fit$ci.ub), weight = sprintf("%.1f", sum(w[idx])),
        text = paste(het_line(fit, random), z_line(fit), sep = "\n")))
      sub_est <- c(sub_est, fit$beta[1]); sub_se <- c(sub_se, fit$se)
    }
  }
  if (total) {
    text <- paste(het_line(overall, random), z_line(overall), sep = "\n")
    if (groups) {
      s <- rma(sub_est, sei = sub_se, method = "EE")
      i2 <- max(0, (s$QE - (s$k - 1)) / s$QE) * 100
      text <- paste(text, sprintf("Test for subgroup differences: Chi² = %.2f, df = %d (%s), I² = %s", s$QE, s$k - 1,
                                  revman_p(s$QEp), if (i2 == 0) "0%" else sprintf("%.1f%%", i2)), sep = "\n")
    }
    out <- rbind(out, row(figure = name, measure = measure, model = model, row_type = "total", subgroup = "",
      study = "", t(blank), estimate = sprintf("%.2f", overall$beta[1]), ci_low = sprintf("%.2f", overall$ci.lb),
      ci_high = sprintf("%.2f", overall$ci.ub), weight = "100.0", text = text))
  }
  out
}
plots <- rbind(figure("Analysis 1.1", "MD", "IV, Random", TRUE, TRUE),
               figure("Analysis 1.2", "SMD", "IV, Fixed", FALSE, TRUE),
               figure("Analysis 1.3", "SMD", "IV, Random", TRUE, FALSE))
rownames(plots) <- NULL
write.csv(plots, "tests/reference/audit_forest_reference.csv", row.names = FALSE, fileEncoding = "UTF-8")
cat(R.version.string, "metafor", as.character(packageVersion("metafor")), "\n")
