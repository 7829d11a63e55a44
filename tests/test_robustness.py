"""Leave-one-out, influence, cumulative, Baujat, GOSH and small-study methods against metafor."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import ATOL_TAU2, RTOL_ITER

import analysis
from analysis import pool
from analysis.stats import bias as B
from analysis.stats import robustness as R


def _grid(ref, section):
    return [(key, *key.split("/")) for key in ref["robustness"][section]]


def _close(got, want, name, rtol=RTOL_ITER):
    want = np.asarray(want, float)
    np.testing.assert_allclose(
        np.asarray(got, float),
        want,
        rtol=rtol,
        atol=1e-9 if name not in ("tau2", "tau2_del", "i2") else ATOL_TAU2,
        err_msg=name,
    )


KEYS = [
    f"{d}/{m}/{t}"
    for d in ("bcg", "hackshaw1998", "raudenbush1985")
    for m, t in (("EE", "z"), ("DL", "z"), ("DL", "knha"), ("REML", "z"), ("REML", "knha"))
]


def test_reference_grids_complete(ref):
    rob = ref["robustness"]
    for section in ("leave1out", "influence", "cumulative", "baujat"):
        assert sorted(rob[section]) == sorted(KEYS)
    assert len(rob["trimfill"]) == 12 and len(rob["egger"]) == 9 and len(rob["ranktest"]) == 3


@pytest.mark.parametrize("key", KEYS)
def test_leave_one_out_cumulative_baujat(ref, key):
    name, method, test = key.split("/")
    d = ref["datasets"][name]
    rob = ref["robustness"]
    l1 = R.leave_one_out(d["yi"], d["vi"], method=method, test=test)
    for c in ("estimate", "se", "pvalue", "ci_low", "ci_high", "q", "tau2", "i2", "h2"):
        _close(l1[c], rob["leave1out"][key][c], c)
    cu = R.cumulative(d["yi"], d["vi"], method=method, test=test)
    for c in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        _close(cu[c], rob["cumulative"][key][c], c)
    bj = R.baujat(d["yi"], d["vi"], method=method, test=test)
    _close(bj["x"], rob["baujat"][key]["x"], "x")
    _close(bj["y"], rob["baujat"][key]["y"], "y")


@pytest.mark.parametrize("key", KEYS)
def test_influence(ref, key):
    name, method, test = key.split("/")
    d = ref["datasets"][name]
    want = ref["robustness"]["influence"][key]
    got = R.influence(d["yi"], d["vi"], method=method, test=test)
    for c in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight", "dfbetas"):
        _close(got[c], want[c], c)
    assert got["influential"].tolist() == want["influential"]


def test_gosh_matches_metafor(ref):
    d = ref["datasets"]["bcg"]
    want = ref["robustness"]["gosh"]
    got = R.gosh(d["yi"][:8], d["vi"][:8])
    assert got["k"].tolist() == want["k"] and len(got) == 2**8 - 1
    _close(got["estimate"], want["estimate"], "estimate")
    _close(got["tau2"], want["tau2"], "tau2")
    multi = np.asarray(want["k"]) > 1
    _close(got.loc[multi, "i2"], np.asarray(want["i2"])[multi], "i2")
    _close(got.loc[multi, "q"], np.asarray(want["q"])[multi], "q")


def test_gosh_guard_and_batch_equals_single():
    rng = np.random.default_rng(5)
    y, v = rng.normal(size=5), rng.uniform(0.05, 0.2, 5)
    g = R.gosh(y, v, method="DL")
    row = g[(g["k"] == 3)].iloc[0]
    members = [c for c in g.columns[6:] if row[c]]
    idx = [int(m.split()[1]) - 1 for m in members]
    assert row["estimate"] == pytest.approx(pool(y[idx], v[idx], method="DL").estimate)
    with pytest.raises(ValueError, match="max_k"):
        R.gosh(np.zeros(16), np.ones(16))


@pytest.mark.parametrize("i", range(12))
def test_trim_and_fill(ref, i):
    key = sorted(ref["robustness"]["trimfill"])[i]
    name, method, estimator = key.split("/")
    d = ref["datasets"][name]
    want = ref["robustness"]["trimfill"][key]
    got = B.trim_and_fill(d["yi"], d["vi"], estimator=estimator, method=method)
    assert (got.k0, got.side) == (want["k0"], want["side"])
    _close(got.se_k0, want["se_k0"], "se_k0")
    rtol = RTOL_ITER
    _close(got.result.estimate, want["estimate"], "estimate", rtol)
    _close(got.result.se, want["se"], "se", rtol)
    np.testing.assert_allclose(got.result.tau2, want["tau2"], rtol=rtol, atol=ATOL_TAU2)
    want_fill = np.sort(np.atleast_1d(want["filled_yi"])) if got.k0 else []
    np.testing.assert_allclose(np.sort(got.filled_yi), want_fill, rtol=rtol, atol=1e-9)
    if estimator == "R0":
        _close(got.p_k0, want["p_k0"], "p_k0")


@pytest.mark.parametrize("i", range(9))
def test_egger_variants(ref, i):
    key = sorted(ref["robustness"]["egger"])[i]
    name, method, model = key.split("/")
    d = ref["datasets"][name]
    want = ref["robustness"]["egger"][key]
    got = B.egger_test(d["yi"], d["vi"], model=model, method=method)
    for c in ("statistic", "pvalue", "limit_estimate", "limit_ci_low", "limit_ci_high"):
        _close(getattr(got, c), want[c], c)
    if model == "lm":
        assert got.df == want["df"]


def test_classic_egger_is_the_intercept_test():
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    v = rng.uniform(0.01, 0.3, 12)
    y = 0.3 + 0.8 * np.sqrt(v) + rng.normal(0, np.sqrt(v))
    fit = sm.OLS(y / np.sqrt(v), sm.add_constant(1 / np.sqrt(v))).fit()
    got = B.egger_test(y, v, model="lm")
    assert got.statistic == pytest.approx(fit.tvalues[0]) and got.pvalue == pytest.approx(fit.pvalues[0])


@pytest.mark.parametrize("name", ["bcg", "hackshaw1998", "raudenbush1985"])
def test_rank_test(ref, name):
    d = ref["datasets"][name]
    tau, p = B.rank_test(d["yi"], d["vi"])
    want = ref["robustness"]["ranktest"][name]
    assert tau == pytest.approx(want["tau"], rel=1e-10) and p == pytest.approx(want["pvalue"], rel=1e-8)


def test_exact_permutation_test_matches_metafor(ref):
    d = ref["datasets"]["bcg"]
    want = ref["robustness"]["permutest"]
    got = B.permutation_test(d["yi"], d["vi"], d["group"], method=want["method"], exact=True)
    assert got.exact and got.n_permutations == 25740  # 13! / (7! 2! 4!)
    assert got.statistic == pytest.approx(want["statistic"], rel=1e-10)
    assert got.pvalue == pytest.approx(want["pvalue"], rel=1e-10)


def test_random_permutation_test_is_reproducible_with_a_seed():
    rng = np.random.default_rng(2)
    y, v = rng.normal(size=12), rng.uniform(0.05, 0.2, 12)
    g = np.repeat(["a", "b", "c"], 4)
    a = B.permutation_test(y, v, g, n_permutations=300, seed=42)
    b = B.permutation_test(y, v, g, n_permutations=300, seed=42)
    assert not a.exact and a.pvalue == b.pvalue and a.n_permutations == 300
    assert a.distribution[0] == pytest.approx(a.statistic)


def test_plots_return_axes(ref):
    d = ref["datasets"]["hackshaw1998"]
    tf = B.trim_and_fill(d["yi"], d["vi"])
    ax = analysis.funnel_plot(d["yi"], d["vi"], groups=d["group"], filled=tf)
    assert ax.collections
    assert analysis.baujat_plot(R.baujat(d["yi"], d["vi"])).collections
    assert analysis.gosh_plot(R.gosh(d["yi"][:6], d["vi"][:6])).collections
    assert analysis.influence_plot(R.influence(d["yi"], d["vi"])).patches
    assert len(analysis.leave_one_out_plot(R.leave_one_out(d["yi"], d["vi"])).get_yticks()) == len(d["yi"])
    assert len(analysis.cumulative_plot(R.cumulative(d["yi"], d["vi"])).get_yticks()) == len(d["yi"])
