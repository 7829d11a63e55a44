# Regenerate the pinned metafor reference values used by the test suite.
#
#   Rscript tests/reference/make_reference.R            (from the repository root)
#
# Writes tests/reference/metafor_reference.json with the R and metafor versions.
# R is never needed to run or test pfp-meta: this script only refreshes the pins.
# On Debian: apt-get install -y r-base-core r-cran-metafor r-cran-jsonlite
#
# Iterative estimators (PM, EB, ML, REML) and the Q-profile interval are run with
# their stopping rules tightened (TIGHT below). metafor's defaults stop Fisher
# scoring once tau^2 changes by < 1e-5 and uniroot() at tol 1.2e-4, i.e. short of
# the root; with TIGHT both implementations report the root itself.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

TIGHT <- list(threshold = 1e-10, tol = 1e-12, maxiter = 100000, tau2.max = 1e4)
METHODS <- c("EE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")
TESTS <- c("z", "t", "knha", "adhoc")

ctl <- function(method) if (method %in% c("PM", "EB", "ML", "REML")) TIGHT else list()

# ---- data sets shipped with metafor (package metadat) ----------------------
data(dat.bcg, package = "metadat")
data(dat.raudenbush1985, package = "metadat")
data(dat.hackshaw1998, package = "metadat")
data(dat.normand1999, package = "metadat")

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
norm_md <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                  m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
datasets <- list(
  bcg = list(yi = c(bcg$yi), vi = c(bcg$vi), group = as.character(bcg$alloc)),
  raudenbush1985 = list(yi = dat.raudenbush1985$yi, vi = dat.raudenbush1985$vi,
                        group = as.character(dat.raudenbush1985$tester)),
  hackshaw1998 = list(yi = dat.hackshaw1998$yi, vi = dat.hackshaw1998$vi,
                      group = as.character(dat.hackshaw1998$design)),
  normand1999 = list(yi = c(norm_md$yi), vi = c(norm_md$vi),
                     group = ifelse(grepl("Orpington", dat.normand1999$source), "Orpington", "other")),
  # Homogeneous effects (Q << k - 1): tau^2 = 0 for every estimator; HKSJ vs adhoc differ.
  homogeneous = list(yi = c(0.10, 0.12, 0.11, 0.09), vi = c(0.04, 0.05, 0.03, 0.06),
                     group = c("a", "a", "b", "b"))
)

fit_row <- function(res, k) {
  pred <- predict(res)
  if (is.null(pred$pi.lb)) pred$pi.lb <- pred$ci.lb  # EE: metafor 3.8 gives no PI; it equals the CI
  if (is.null(pred$pi.ub)) pred$pi.ub <- pred$ci.ub
  list(k = res$k, estimate = c(res$beta), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
       statistic = res$zval, pvalue = res$pval, tau2 = res$tau2, i2 = res$I2 / 100, h2 = res$H2,
       q = res$QE, q_pvalue = res$QEp, pi_low = pred$pi.lb, pi_high = pred$pi.ub,
       i2_q = max(0, (res$QE - (k - 1)) / res$QE),
       # Prediction intervals with other critical values, from metafor's estimate, SE and tau^2
       # (meta's "HTS", t(k-2), and "V", t(k-1)).
       pi_hts_low = c(res$beta) - qt(0.975, k - 2) * sqrt(res$se^2 + res$tau2),
       pi_hts_high = c(res$beta) + qt(0.975, k - 2) * sqrt(res$se^2 + res$tau2),
       pi_t_low = c(res$beta) - qt(0.975, k - 1) * sqrt(res$se^2 + res$tau2),
       pi_t_high = c(res$beta) + qt(0.975, k - 1) * sqrt(res$se^2 + res$tau2))
}

pool_rows <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  for (method in METHODS) for (test in TESTS) {
    res <- suppressWarnings(rma(d$yi, d$vi, method = method, test = test, control = ctl(method)))
    pool_rows[[length(pool_rows) + 1]] <- c(list(dataset = name, method = method, test = test),
                                            fit_row(res, length(d$yi)))
  }
}

# ---- Q-profile confidence interval for tau^2 -------------------------------
confint_rows <- list()
for (name in names(datasets)) for (level in c(95, 90)) {
  d <- datasets[[name]]
  res <- rma(d$yi, d$vi, method = "REML", level = level, control = TIGHT)
  ci <- confint(res, control = TIGHT)$random
  confint_rows[[length(confint_rows) + 1]] <- list(
    dataset = name, level = level / 100, tau2 = res$tau2,
    tau2_low = ci["tau^2", "ci.lb"], tau2_high = ci["tau^2", "ci.ub"],
    i2_low = ci["I^2(%)", "ci.lb"] / 100, i2_high = ci["I^2(%)", "ci.ub"] / 100,
    h2_low = ci["H^2", "ci.lb"], h2_high = ci["H^2", "ci.ub"])
}

# ---- subgroup analyses -----------------------------------------------------
subgroup_rows <- list()
for (name in c("bcg", "raudenbush1985", "hackshaw1998", "normand1999")) {
  d <- datasets[[name]]
  groups <- unique(d$group)
  for (method in METHODS) for (test in TESTS) {
    # "separate": each subgroup on its own, then Cochran's Q across subgroup estimates.
    fits <- lapply(groups, function(g) {
      sel <- d$group == g
      suppressWarnings(rma(d$yi[sel], d$vi[sel], method = method, test = test, control = ctl(method)))
    })
    est <- sapply(fits, function(f) c(f$beta))
    se <- sapply(fits, function(f) f$se)
    between <- rma(est, sei = se, method = "EE")
    subgroup_rows[[length(subgroup_rows) + 1]] <- list(
      dataset = name, method = method, test = test, tau2_scope = "separate", groups = groups,
      group_estimate = est, group_se = se, group_tau2 = sapply(fits, function(f) f$tau2),
      q_between = between$QE, df_between = length(groups) - 1, p_between = between$QEp)
    # "common": one tau^2 (metafor mods = ~ factor(group)); test QM (F under knha/adhoc).
    mod <- suppressWarnings(rma(d$yi, d$vi, mods = ~ factor(d$group), method = method, test = test,
                                control = ctl(method)))
    common <- lapply(groups, function(g) {
      sel <- d$group == g
      suppressWarnings(rma(d$yi[sel], d$vi[sel], method = method, test = test,
                           tau2 = if (method == "EE") NULL else mod$tau2))
    })
    subgroup_rows[[length(subgroup_rows) + 1]] <- list(
      dataset = name, method = method, test = test, tau2_scope = "common", groups = groups,
      group_estimate = sapply(common, function(f) c(f$beta)), group_se = sapply(common, function(f) f$se),
      group_tau2 = rep(mod$tau2, length(groups)),
      q_between = mod$QM, df_between = mod$QMdf[1], p_between = mod$QMp,
      df_resid = if (is.na(mod$QMdf[2])) NA else mod$QMdf[2])
  }
}

# ---- effect sizes (escalc) -------------------------------------------------
nd <- dat.normand1999
effects <- list()
add_effect <- function(measure, convention, es, inputs) {
  effects[[length(effects) + 1]] <<- list(measure = measure, convention = convention,
                                          inputs = inputs, yi = c(es$yi), vi = c(es$vi))
}
arms <- list(m1 = nd$m1i, sd1 = nd$sd1i, n1 = nd$n1i, m2 = nd$m2i, sd2 = nd$sd2i, n2 = nd$n2i)
add_effect("MD", "LS", escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nd), arms)
add_effect("MD", "HO", escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nd, vtype = "HO"), arms)
add_effect("SMD", "metafor", escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nd), arms)
add_effect("SMD", "unbiased", escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nd, vtype = "UB"), arms)
# RevMan 5 (Deeks & Higgins 2010; meta exact.smd = FALSE): written out, metafor has no such vtype.
N <- nd$n1i + nd$n2i
sp <- sqrt(((nd$n1i - 1) * nd$sd1i^2 + (nd$n2i - 1) * nd$sd2i^2) / (N - 2))
g_rm <- (1 - 3 / (4 * N - 9)) * (nd$m1i - nd$m2i) / sp
add_effect("SMD", "revman5", list(yi = g_rm, vi = N / (nd$n1i * nd$n2i) + g_rm^2 / (2 * (N - 3.94))), arms)
for (r in c(0.5, 0.8)) {
  pp <- list(m1 = nd$m1i, m2 = nd$m2i, sd1 = nd$sd1i, sd2 = nd$sd2i, n = nd$n1i, r = rep(r, nrow(nd)))
  add_effect("MC", "LS", escalc("MC", m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = n1i, ri = rep(r, nrow(nd)), data = nd), pp)
  add_effect("SMCC", "LS", escalc("SMCC", m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = n1i, ri = rep(r, nrow(nd)), data = nd), pp)
  add_effect("SMCR", "LS", escalc("SMCR", m1i = m1i, m2i = m2i, sd1i = sd1i, ni = n1i, ri = rep(r, nrow(nd)), data = nd), pp)
}
# Generic inverse variance from a 95% CI (Cochrane Handbook 6.3.1; metafor >= 4 conv.wald).
hk <- dat.hackshaw1998
add_effect("CI", "z", list(yi = log(hk$or), vi = ((log(hk$or.ub) - log(hk$or.lb)) / (2 * qnorm(0.975)))^2),
           list(estimate = log(hk$or), lower = log(hk$or.lb), upper = log(hk$or.ub)))

out <- list(
  generated_by = "tests/reference/make_reference.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  control = TIGHT,
  datasets = datasets,
  pool = pool_rows,
  confint = confint_rows,
  subgroup = subgroup_rows,
  effects = effects
)
rob_env <- new.env(); rob_env$datasets <- datasets; rob_env$TIGHT <- TIGHT
out$robustness <- source("tests/reference/robustness_reference.R", local = rob_env)$value
out$convergence <- source("tests/reference/convergence_reference.R", local = new.env())$value
out$network <- source("tests/reference/network_reference.R", local = new.env())$value
project_script <- "tests/reference/project_reference.R"
if (file.exists(project_script)) out$project <- source(project_script, local = new.env())$value
write_json(out, "tests/reference/metafor_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
cat("wrote tests/reference/metafor_reference.json\n")
