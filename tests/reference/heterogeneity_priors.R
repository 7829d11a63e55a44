# Writes analysis/stats/heterogeneity_priors.csv from bayesmeta 3.4's tables, and pins their densities.
#   R_LIBS=LIB Rscript tests/reference/heterogeneity_priors.R
# Sources: Turner RM et al. Predictive distributions for between-study heterogeneity and simple methods for
# their application in Bayesian meta-analysis. Stat Med 2015;34:984-998, Table IV (log-normal on tau²,
# log odds ratios); Rhodes KM et al. Predictive distributions were developed for the extent of heterogeneity
# in meta-analyses of continuous outcome data. J Clin Epidemiol 2015;68:52-60, Tables 3, A.3.1, A.3.2
# (log-t with 5 df on tau², standardised mean differences). Both as tabulated in bayesmeta 3.4.
suppressPackageStartupMessages({library(bayesmeta); library(jsonlite)})
tp <- bayesmeta:::TurnerEtAlParameters
rp <- bayesmeta:::RhodesEtAlParameters
rows <- list()
for (o in dimnames(tp)$outcome) for (cmp in dimnames(tp)$comparison)
  rows[[length(rows) + 1]] <- data.frame(source = "Turner 2015, Table IV", family = "lognormal", outcome = o,
    comparison = cmp, area = "", location = tp[o, cmp, "mu"], scale = tp[o, cmp, "sigma"])
for (o in dimnames(rp)$outcome) for (cmp in dimnames(rp)$comparison) for (a in dimnames(rp)[["medical area"]])
  rows[[length(rows) + 1]] <- data.frame(source = c(other = "Rhodes 2015, Table 3", respiratory = "Rhodes 2015, Table A.3.1",
    cancer = "Rhodes 2015, Table A.3.2")[[a]], family = "log_t5", outcome = o, comparison = cmp, area = a,
    location = rp[o, cmp, "location", a], scale = rp[o, cmp, "scale", a])
tab <- do.call(rbind, rows)
write.csv(tab, "analysis/stats/heterogeneity_priors.csv", row.names = FALSE)
tau <- c(0.01, 0.1, 0.3, 1, 2.5)
pins <- list(
  list(kind = "turner", outcome = "pain", comparator1 = "non-pharmacological", comparator2 = "placebo / control",
       density = TurnerEtAlPrior("pain", "non-pharmacological", "placebo / control")$dprior(tau)),
  list(kind = "turner", outcome = "all-cause mortality", comparator1 = "pharmacological", comparator2 = "pharmacological",
       density = TurnerEtAlPrior("all-cause mortality", "pharmacological", "pharmacological")$dprior(tau)),
  list(kind = "rhodes", outcome = "general physical health and adverse event and pain and quality of life / functioning",
       comparator1 = "non-pharmacological", comparator2 = "placebo / control", area = "other",
       density = RhodesEtAlPrior("general physical health and adverse event and pain and quality of life / functioning",
                                 "non-pharmacological", "placebo / control")$dprior(tau)),
  list(kind = "rhodes", outcome = "mental health outcome", comparator1 = "pharmacological", comparator2 = "placebo / control",
       area = "cancer", density = RhodesEtAlPrior("mental health outcome", "pharmacological", "placebo / control", "cancer")$dprior(tau)))
writeLines(toJSON(list(bayesmeta_version = as.character(packageVersion("bayesmeta")), tau = tau, pins = pins),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/heterogeneity_priors.json")
