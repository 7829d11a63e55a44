# Random k = 13 data sets with heavy-tailed effects, fitted by metafor's Fisher scoring with its
# default iteration limit (100); failures are recorded as null. Sourced by make_reference.R.
set.seed(2026)
n <- 1000; k <- 13
Y <- matrix(NA_real_, n, k); V <- matrix(NA_real_, n, k)
for (i in 1:n) {
  Y[i, ] <- rt(k, df = 1) * runif(1, 0.01, 3)
  V[i, ] <- runif(k, 0.001, 2)^2
}
fits <- list()
for (m in c("ML", "REML", "EB")) {
  fits[[m]] <- sapply(1:n, function(i) {
    f <- try(suppressWarnings(rma(Y[i, ], V[i, ], method = m, control = list(threshold = 1e-10, maxiter = 100))), silent = TRUE)
    if (inherits(f, "try-error")) NA_real_ else f$tau2
  })
}
list(y = Y, v = V, tau2 = fits)
