# Pinned metafor rma.mv results for network meta-analyses (sourced by make_reference.R).
# Consistency model: contrasts against each study's first treatment (reference first, then
# alphabetical), within-study covariance from the shared arm, random = ~ comp | study, rho = 1/2.
data(dat.franchini2012, package = "metadat")
data(dat.senn2013, package = "metadat")
fr <- dat.franchini2012
long_fr <- do.call(rbind, lapply(1:3, function(j) {
  d <- data.frame(study = fr$Study, treatment = fr[[paste0("Treatment", j)]], mean = fr[[paste0("y", j)]],
                  sd = fr[[paste0("sd", j)]], n = fr[[paste0("n", j)]])
  d[!is.na(d$treatment), ]
}))
long_fr <- long_fr[order(match(long_fr$study, fr$Study)), ]
sn <- dat.senn2013
long_sn <- data.frame(study = sn$study, treatment = sn$treatment, mean = sn$mi, sd = sn$sdi, n = sn$ni)
CTL <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)

contrasts_of <- function(long, trts, base_for = function(s, g) g$treatment[1]) {
  rows <- list(); V <- list()
  for (s in unique(long$study)) {
    g <- long[long$study == s, ]
    g <- g[order(match(g$treatment, trts)), ]
    b <- base_for(s, g)
    gb <- g[g$treatment == b, ]; go <- g[g$treatment != b, ]
    vb <- gb$sd^2 / gb$n; vj <- go$sd^2 / go$n
    rows[[length(rows) + 1]] <- data.frame(study = s, treat = go$treatment, base = b, yi = go$mean - gb$mean,
                                           design = paste(g$treatment, collapse = ":"))
    m <- nrow(go); blk <- matrix(vb, m, m); diag(blk) <- vj + vb
    V[[length(V) + 1]] <- blk
  }
  d <- do.call(rbind, rows)
  d$comp <- paste(d$treat, d$base, sep = "-")
  list(d = d, V = as.matrix(Matrix::bdiag(V)))
}
design_x <- function(d, trts) {
  X <- sapply(trts[-1], function(t) (d$treat == t) - (d$base == t))
  matrix(X, nrow = nrow(d), dimnames = list(NULL, trts[-1]))
}
one_network <- function(long, ref, name) {
  trts <- c(ref, sort(setdiff(unique(long$treatment), ref)))
  cd <- contrasts_of(long, trts); d <- cd$d; V <- cd$V; X <- design_x(d, trts)
  out <- list(name = name, reference = ref, treatments = trts,
              arms = list(study = long$study, treatment = long$treatment, n = long$n, mean = long$mean, sd = long$sd))
  for (method in c("REML", "ML")) {
    fit <- rma.mv(d$yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1 / 2, data = d,
                  method = method, control = CTL)
    out[[method]] <- list(estimate = c(fit$beta), se = fit$se, tau2 = fit$tau2)
  }
  fe <- rma.mv(d$yi, V, mods = X, intercept = FALSE)
  out$EE <- list(estimate = c(fe$beta), se = fe$se, tau2 = 0)
  Xinc <- model.matrix(~ factor(paste(d$design, d$treat)) - 1)
  inc <- rma.mv(d$yi, V, mods = Xinc, intercept = FALSE)
  out$q <- list(total = fe$QE, total_df = fe$k - fe$p, within = inc$QE, within_df = inc$k - inc$p)
  # node splitting: studies with both a and b use a as baseline; z marks their b - a rows
  splits <- list()
  pairs <- unique(do.call(rbind, lapply(unique(long$study), function(s) {
    t <- trts[trts %in% long$treatment[long$study == s]]
    t(combn(t, 2))
  })))
  for (i in seq_len(nrow(pairs))) {
    a <- pairs[i, 1]; b <- pairs[i, 2]
    both <- unique(long$study[long$treatment == a]); both <- both[both %in% long$study[long$treatment == b]]
    cs <- contrasts_of(long, trts, base_for = function(s, g) if (s %in% both) a else g$treatment[1])
    ds <- cs$d; Xs <- design_x(ds, trts)
    z <- as.numeric(ds$study %in% both & ds$base == a & ds$treat == b)
    Xz <- cbind(Xs, z = z)
    if (qr(Xz)$rank < ncol(Xz)) next
    fit <- rma.mv(ds$yi, cs$V, mods = Xz, intercept = FALSE, random = ~ comp | study, rho = 1 / 2, data = ds,
                  method = "REML", control = CTL)
    cvec <- setNames(rep(0, ncol(Xz)), colnames(Xz))
    if (b != ref) cvec[b] <- 1
    if (a != ref) cvec[a] <- cvec[a] - 1
    ind <- sum(cvec * fit$beta); ind_se <- sqrt(c(t(cvec) %*% fit$vb %*% cvec))
    dvec <- cvec; dvec["z"] <- 1
    dir <- sum(dvec * fit$beta); dir_se <- sqrt(c(t(dvec) %*% fit$vb %*% dvec))
    splits[[length(splits) + 1]] <- list(treat1 = b, treat2 = a, k_direct = length(both), direct = dir, direct_se = dir_se,
                                         indirect = ind, indirect_se = ind_se, difference = fit$beta[ncol(Xz)],
                                         difference_se = fit$se[ncol(Xz)], pvalue = fit$pval[ncol(Xz)], tau2 = fit$tau2)
  }
  out$node_split <- splits
  out
}
list(franchini2012 = one_network(long_fr, "Placebo", "franchini2012"),
     senn2013 = one_network(long_sn, "placebo", "senn2013"))
