"""Named tolerances for comparisons with metafor (tests/reference/make_reference.R)."""

#: Closed-form quantities (effect sizes, DL/HE/HS/SJ, Q): identical arithmetic, rounding only.
RTOL_EXACT = 1e-10
#: Iterative estimators: metafor's Fisher scoring stops when tau^2 moves < 1e-10
#: (the script's tightened threshold), so its root carries ~1e-9 relative error.
RTOL_ITER = 1e-7
#: tau^2 near 0: metafor's scoring can stop at ~1e-11 instead of exactly 0.
ATOL_TAU2 = 1e-9
#: metafor rma.mv maximises the likelihood numerically (nlminb, rel.tol 1e-10 in
#: network_reference.R), so tau^2 and everything that depends on it agree to ~1e-6.
RTOL_OPTIM = 5e-6
#: rma.mv's optimizer can stop at tau^2 ~ 1e-9 where the maximum is on the boundary 0.
ATOL_TAU2_MV = 1e-8
