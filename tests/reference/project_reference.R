# Pinned metafor results for this project's own data (sourced by make_reference.R).
# Selects the verified contrasts of data/studies.csv by hand, independently of the
# Python row-selection code, and pools them with metafor.
d <- read.csv("data/studies.csv", stringsAsFactors = FALSE, encoding = "UTF-8")
pick <- function(study, arm, comparator, value, unit) {
  r <- d[d$study_id == study & d$level == "contrast" & d$arm == arm & d$comparator_arm == comparator &
         d$timepoint_value == value & d$timepoint_unit == unit, ]
  stopifnot(nrow(r) == 1)
  list(yi = r$estimate, vi = ((r$ci_high - r$ci_low) / (2 * qnorm(0.975)))^2, n = r$n_randomised, nc = r$comparator_n_randomised)
}
hip <- "isolated hip-focused exercise"; knee <- "traditional knee-focused exercise"; ctl <- "free physical activity"
summ <- function(res) list(k = res$k, estimate = c(res$beta), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
                           tau2 = res$tau2, q = res$QE, pvalue = res$pval)
project <- list()
# Hip-only vs Knee-only, AKPS: Hott 3 months (hip - knee) and Hansen 12 weeks (QE - HE, reversed).
h <- pick("hott2019", hip, knee, 3, "months"); s <- pick("hansen2023", "QE", "HE", 12, "weeks")
project$function_hip_only_vs_knee_only <- summ(rma(c(h$yi, -s$yi), c(h$vi, s$vi), method = "REML"))
project$function_hip_only_vs_knee_only_paper_era <- summ(rma(h$yi, h$vi, method = "REML"))
hc <- pick("hott2019", hip, ctl, 3, "months"); kc <- pick("hott2019", knee, ctl, 3, "months")
project$function_hip_only_vs_control <- summ(rma(hc$yi, hc$vi, method = "REML"))
project$function_knee_only_vs_control <- summ(rma(kc$yi, kc$vi, method = "REML"))
# The paper's design, AKPS: the shared control split in two (Cochrane Handbook 23.3.4), variance
# rescaled assuming equal SDs: vi * (1/n_e + 2/n_c) / (1/n_e + 1/n_c).
split <- function(x) x$vi * (1 / x$n + 2 / x$nc) / (1 / x$n + 1 / x$nc)
yi <- c(hc$yi, kc$yi); vi <- c(split(hc), split(kc))
fits <- lapply(1:2, function(i) rma(yi[i], vi[i], method = "REML"))
between <- rma(sapply(fits, function(f) c(f$beta)), sei = sapply(fits, function(f) f$se), method = "EE")
project$paper_function_akps <- c(summ(rma(yi, vi, method = "REML")),
                             list(group_estimate = sapply(fits, function(f) c(f$beta)), group_se = sapply(fits, function(f) f$se),
                                  q_between = between$QE, p_between = between$QEp))
# Hip&Knee vs Knee-only, pain: Tahir's difference in pain reduction (B - A), negated so that lower = less pain.
t <- pick("tahir", "Group B", "Group A", 11, "days")
project$pain_hip_knee_vs_knee_only <- summ(rma(-t$yi, t$vi, method = "REML"))
# Network of the classes on the AKPS: Hott's three pairwise contrasts give its arm variances
# (V(a - b) = v_a + v_b), so its two contrasts against control share the control's variance;
# Hansen's QE - HE is a knee_only - hip_only contrast (baseline hip_only, the first in the order
# control, hip_only, knee_only).
hk <- pick("hott2019", hip, knee, 3, "months")
v_ctl <- (hc$vi + kc$vi - hk$vi) / 2
V <- matrix(0, 3, 3)
V[1:2, 1:2] <- v_ctl; V[1, 1] <- hc$vi; V[2, 2] <- kc$vi; V[3, 3] <- s$vi
X <- rbind(c(1, 0), c(0, 1), c(-1, 1))
nd <- data.frame(yi = c(hc$yi, kc$yi, s$yi), study = c("hott", "hott", "hansen"), comp = c("hip-ctl", "knee-ctl", "knee-hip"))
net <- rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1 / 2, data = nd, method = "REML",
              control = list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000))
project$network_function_akps <- list(treatments = c("hip_only", "knee_only"), estimate = c(net$beta), se = net$se, tau2 = net$tau2)
project
