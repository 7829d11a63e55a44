# Pinned metafor influence() of meta-regressions, and a formula with a categorical moderator,
# for MetaRegression.influence and meta_regression(formula=...).
# Rscript tests/reference/regression_influence_reference.R -> tests/reference/regression_influence_reference.json
# BCG trials (metadat dat.bcg), log risk ratios. metafor 3.8-1; the fits run with tight control so the
# iterative estimators' roots carry no stopping error.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
ctrl <- list(threshold = 1e-12, maxiter = 1000)
out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), ablat = dat$ablat, year = dat$year,
            alloc = as.character(dat$alloc), influence = list(), formula = list())
for (mods in c("ablat", "ablat + year")) for (method in c("REML", "DL")) for (test in c("z", "knha")) {
  fit <- rma(yi, vi, mods = as.formula(paste("~", mods)), data = dat, method = method, test = test, control = ctrl)
  inf <- influence(fit)
  out$influence[[length(out$influence) + 1]] <- list(
    mods = mods, method = method, test = test, rstudent = inf$inf$rstudent, dffits = inf$inf$dffits,
    cook_d = inf$inf$cook.d, cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, QE_del = inf$inf$QE.del,
    hat = inf$inf$hat, weight = inf$inf$weight,
    dfbs = setNames(lapply(rownames(fit$beta), function(t) as.numeric(inf$dfbs[[t]])), rownames(fit$beta)),
    is_infl = inf$is.infl)
}
for (method in c("REML", "DL")) for (test in c("z", "knha")) {
  fit <- rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, method = method, test = test, control = ctrl)
  out$formula[[length(out$formula) + 1]] <- list(method = method, test = test, names = rownames(fit$beta),
    beta = as.numeric(fit$beta), se = as.numeric(fit$se), tau2 = fit$tau2, QM = fit$QM, QMp = fit$QMp,
    QE = fit$QE, R2 = fit$R2)
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/regression_influence_reference.json")
