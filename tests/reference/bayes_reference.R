# Pinned values for analysis.stats.bayes (tests/test_bayes.py), from bayesmeta 3.4.
#
# bayesmeta builds from its public source (github.com/cran/bayesmeta): drop 'forestplot' from its
# DESCRIPTION and NAMESPACE (only its plotting needs it), R CMD INSTALL -l LIB, then
#   R_LIBS=LIB Rscript tests/reference/bayes_reference.R  ->  tests/reference/bayes_reference.json
#
# Which numbers come from where:
# - tau (mode, median, mean, sd, interval), the Bayes factors and the marginal likelihood: bayesmeta's
#   own results, which it computes by numerical integration (rel.tol 2^16 eps);
# - mu, the predictive distribution and the shrinkage estimates theta: bayesmeta approximates these
#   mixtures on a discrete grid (delta = 0.01 by default; its mu quantiles move by up to 5e-3 relative,
#   and 77 s per fit at delta = 1e-5 still leaves 1e-5). So they are evaluated here exactly and
#   independently of both bayesmeta's grid and the Python code: cdf = integrate over tau of the
#   conditional normal cdf (bayesmeta's cond.moment and dposterior), quantiles by uniroot, moments
#   by integrate, the mode by optimize, the shortest interval by optimize over the lower tail.
suppressPackageStartupMessages({library(bayesmeta); library(metafor); library(jsonlite)})
stopifnot(packageVersion("bayesmeta") >= "3.4")
tol <- 1e-12
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
sets <- list(bcg = list(y = as.numeric(bcg$yi), sigma = sqrt(as.numeric(bcg$vi))),
             bcg3 = list(y = as.numeric(bcg$yi[1:3]), sigma = sqrt(as.numeric(bcg$vi[1:3]))))
priors <- list(
  half_normal = list(f = function(t) dhalfnormal(t, scale = 0.5), args = list(name = "half_normal", scale = 0.5)),
  half_cauchy = list(f = function(t) dhalfcauchy(t, scale = 0.5), args = list(name = "half_cauchy", scale = 0.5)),
  half_t = list(f = function(t) dhalft(t, df = 3, scale = 0.5), args = list(name = "half_t", scale = 0.5, df = 3)),
  uniform_2 = list(f = function(t) dunif(t, 0, 2), args = list(name = "uniform", upper = 2)),
  lognormal = list(f = function(t) ifelse(t > 0, 2 / t * dnorm(log(t^2), -2.56, 1.74), 0),
                   args = list(name = "lognormal_tau2", mean = -2.56, sd = 1.74)),
  uniform = list(f = "uniform", args = list(name = "uniform")),
  jeffreys = list(f = "Jeffreys", args = list(name = "jeffreys")))
cases <- list(
  list(data = "bcg", prior = "half_normal", mu = NULL, interval = "shortest"),
  list(data = "bcg", prior = "half_normal", mu = c(0, 4), interval = "central"),
  list(data = "bcg", prior = "half_cauchy", mu = c(0, 4), interval = "shortest"),
  list(data = "bcg3", prior = "half_t", mu = NULL, interval = "shortest"),
  list(data = "bcg3", prior = "uniform_2", mu = c(0, 4), interval = "shortest"),
  list(data = "bcg3", prior = "lognormal", mu = c(0, 4), interval = "central"),
  list(data = "bcg", prior = "uniform", mu = NULL, interval = "shortest"),
  list(data = "bcg", prior = "jeffreys", mu = NULL, interval = "shortest"))

exact <- function(b, cond, level, type) {
  # cond(t): list(mean, sd) of the conditional normal given tau = t (vectorised in t)
  cdf <- function(x) integrate(function(t) pnorm(x, cond(t)$mean, cond(t)$sd) * b$dposterior(tau = t),
                               0, Inf, rel.tol = tol)$value
  pdf <- function(x) integrate(function(t) dnorm(x, cond(t)$mean, cond(t)$sd) * b$dposterior(tau = t),
                               0, Inf, rel.tol = tol)$value
  m <- integrate(function(t) cond(t)$mean * b$dposterior(tau = t), 0, Inf, rel.tol = tol)$value
  m2 <- integrate(function(t) (cond(t)$sd^2 + cond(t)$mean^2) * b$dposterior(tau = t), 0, Inf, rel.tol = tol)$value
  s <- sqrt(m2 - m^2)
  q <- function(p) uniroot(function(x) cdf(x) - p, c(m - 30 * s, m + 30 * s), tol = 1e-13)$root
  mode <- optimize(function(x) pdf(x), c(q(0.05), q(0.95)), maximum = TRUE, tol = 1e-10)$maximum
  if (type == "central") ci <- c(q((1 - level) / 2), q((1 + level) / 2)) else {
    a <- optimize(function(a) q(a + level) - q(a), c(1e-9, 1 - level - 1e-9), tol = 1e-10)$minimum
    ci <- c(q(a), q(a + level))
  }
  c(mode = mode, median = q(0.5), mean = m, sd = s, ci_low = ci[1], ci_high = ci[2])
}

out <- list(r_version = R.version.string, bayesmeta_version = as.character(packageVersion("bayesmeta")),
            script = "tests/reference/bayes_reference.R", sets = sets, cases = list())
for (cs in cases) {
  d <- sets[[cs$data]]; pr <- priors[[cs$prior]]
  b <- if (is.null(cs$mu)) bayesmeta(d$y, d$sigma, tau.prior = pr$f, interval.type = cs$interval)
       else bayesmeta(d$y, d$sigma, tau.prior = pr$f, mu.prior.mean = cs$mu[1], mu.prior.sd = cs$mu[2],
                      interval.type = cs$interval)
  mu <- function(t) { cm <- b$cond.moment(tau = t); list(mean = cm[, "mean"], sd = cm[, "sd"]) }
  pred <- function(t) { cm <- b$cond.moment(tau = t); list(mean = cm[, "mean"], sd = sqrt(cm[, "sd"]^2 + t^2)) }
  th <- function(i) function(t) { cm <- b$cond.moment(tau = t, individual = i); list(mean = cm[, "mean"], sd = cm[, "sd"]) }
  tau <- b$summary[, "tau"]
  res <- list(case = cs, prior_args = pr$args,
              tau = setNames(as.numeric(tau), c("mode", "median", "mean", "sd", "ci_low", "ci_high")),
              mu = as.list(exact(b, mu, 0.95, cs$interval)),
              predictive = as.list(exact(b, pred, 0.95, cs$interval)),
              theta1 = as.list(exact(b, th(1), 0.95, cs$interval)),
              bayes_factor = list("tau=0" = b$bayesfactor["actual", "tau=0"], "mu=0" = b$bayesfactor["actual", "mu=0"]),
              marginal_likelihood = as.numeric(b$marginal.likelihood))
  res$tau <- as.list(res$tau)
  out$cases[[length(out$cases) + 1]] <- res
  cat(cs$data, cs$prior, "done\n")
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE), "tests/reference/bayes_reference.json")
