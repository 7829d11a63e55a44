"""pool() against metafor 3.8-1 rma.uni on metafor's own data sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import statsmodels.api as sm
from tolerances import ATOL_TAU2, RTOL_EXACT, RTOL_ITER

from analysis.stats import pooling
from analysis.stats.engine import TAU2_METHODS

FIELDS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "pvalue",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_pvalue",
    "pi_low",
    "pi_high",
)
ITERATIVE = {"PM", "EB", "ML", "REML"}
DATASETS = ("bcg", "raudenbush1985", "hackshaw1998", "normand1999", "homogeneous")


def _close(got, want, method, name):
    rtol = RTOL_ITER if method in ITERATIVE else RTOL_EXACT
    atol = ATOL_TAU2 if name in ("tau2", "i2") else 0.0
    if method in ITERATIVE and name in ("statistic", "pvalue", "estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        atol = 1e-9  # values near 0 inherit the tau^2 tolerance in absolute terms
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"{method} {name}")


def test_reference_grid_is_complete(ref):
    got = {(r["dataset"], r["method"], r["test"]) for r in ref["pool"]}
    assert got == set(itertools.product(DATASETS, TAU2_METHODS, pooling.TESTS))
    assert ref["metafor_version"] and ref["r_version"].startswith("R version")


@pytest.mark.parametrize("dataset,method,test", list(itertools.product(DATASETS, TAU2_METHODS, pooling.TESTS)))
def test_pool_matches_metafor(ref, dataset, method, test):
    row = next(r for r in ref["pool"] if (r["dataset"], r["method"], r["test"]) == (dataset, method, test))
    d = ref["datasets"][dataset]
    res = pooling.pool(d["yi"], d["vi"], method=method, test=test)
    assert res.k == row["k"]
    for name in FIELDS:
        _close(getattr(res, name), row[name], method, name)


@pytest.mark.parametrize("dataset,method", list(itertools.product(DATASETS, TAU2_METHODS)))
def test_prediction_and_i2_options_match_reference(ref, dataset, method):
    row = next(r for r in ref["pool"] if (r["dataset"], r["method"], r["test"]) == (dataset, method, "z"))
    d = ref["datasets"][dataset]
    hts = pooling.pool(d["yi"], d["vi"], method=method, pi="hts")
    tk1 = pooling.pool(d["yi"], d["vi"], method=method, pi="t")
    qi2 = pooling.pool(d["yi"], d["vi"], method=method, i2="q")
    _close(hts.pi_low, row["pi_hts_low"], method, "pi_low")
    _close(hts.pi_high, row["pi_hts_high"], method, "pi_high")
    _close(tk1.pi_low, row["pi_t_low"], method, "pi_low")
    _close(tk1.pi_high, row["pi_t_high"], method, "pi_high")
    _close(qi2.i2, row["i2_q"], "EE", "i2")


@pytest.mark.parametrize("i", range(10))
def test_q_profile_tau2_interval_matches_metafor(ref, i):
    row = ref["confint"][i]
    d = ref["datasets"][row["dataset"]]
    ci = pooling.tau2_confint(d["yi"], d["vi"], level=row["level"])
    for name in ("tau2", "tau2_low", "tau2_high", "i2_low", "i2_high", "h2_low", "h2_high"):
        np.testing.assert_allclose(getattr(ci, name), row[name], rtol=RTOL_ITER, atol=ATOL_TAU2, err_msg=name)
    res = pooling.pool(d["yi"], d["vi"], level=row["level"])
    assert res.tau2_ci().tau2_high == pytest.approx(ci.tau2_high)


def test_confint_grid_is_complete(ref):
    assert {(r["dataset"], r["level"]) for r in ref["confint"]} == set(itertools.product(DATASETS, (0.95, 0.9)))


@pytest.mark.parametrize("method", TAU2_METHODS)
def test_estimate_equals_statsmodels_wls(ref, method):
    d = ref["datasets"]["bcg"]
    res = pooling.pool(d["yi"], d["vi"], method=method)
    y, v = np.asarray(d["yi"]), np.asarray(d["vi"])
    fit = sm.WLS(y, np.ones_like(y), weights=1 / (v + res.tau2)).fit()
    assert res.estimate == pytest.approx(fit.params[0], rel=1e-12)


def test_fe_alias_and_to_frame():
    a = pooling.pool([0.1, 0.2, 0.4], [0.01, 0.02, 0.03], method="FE")
    assert a.method == "EE"
    frame = a.to_frame()
    assert list(frame.columns[:5]) == ["k", "estimate", "se", "ci_low", "ci_high"]
    assert len(frame) == 1 and frame.loc[0, "level"] == 0.95
    assert "Common-effect" in str(a)


def test_k1_returns_the_study_and_says_so():
    res = pooling.pool([0.5], [0.04], test="knha")
    assert res.estimate == 0.5 and res.se == pytest.approx(0.2) and res.tau2 == 0
    assert np.isnan(res.i2) and np.isnan(res.h2) and np.isnan(res.q_pvalue)
    assert res.ci_low == pytest.approx(0.5 - 1.959963984540054 * 0.2)
    assert any("k = 1" in n for n in res.notes)


@pytest.mark.parametrize(
    "yi, vi, match",
    [
        ([], [], "empty"),
        ([0.1, np.nan], [0.1, 0.1], "NaN"),
        ([0.1, 0.2], [0.1, 0.0], "> 0"),
        ([0.1, 0.2], [0.1, -1.0], "> 0"),
        ([0.1, 0.2], [0.1], "same shape"),
        ([0.1, np.inf], [0.1, 0.1], "finite"),
        ([[0.1, np.nan], [np.nan, np.nan]], [[0.1, np.nan], [np.nan, np.nan]], "no studies"),
        ([[0.1, 0.2]], [[0.1, np.nan]], "same places"),
    ],
)
def test_bad_input_raises_valueerror(yi, vi, match):
    with pytest.raises(ValueError, match=match):
        pooling.pool(yi, vi)


@pytest.mark.parametrize("kw", [{"method": "XX"}, {"test": "hk"}, {"pi": "riley"}, {"i2": "x"}, {"level": 95}])
def test_bad_options_raise(kw):
    with pytest.raises(ValueError):
        pooling.pool([0.1, 0.2], [0.1, 0.1], **kw)


def test_inputs_not_mutated():
    y = np.array([0.1, 0.3, 0.2])
    v = np.array([0.01, 0.02, 0.03])
    y0, v0 = y.copy(), v.copy()
    pooling.pool(y, v, method="REML", test="knha")
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(v, v0)


@pytest.mark.parametrize("method", TAU2_METHODS)
@pytest.mark.parametrize("test", pooling.TESTS)
def test_batch_equals_row_by_row(method, test):
    rng = np.random.default_rng(20261125)
    R, K = 25, 9
    y = rng.normal(0, 0.5, (R, K))
    v = rng.uniform(0.01, 0.2, (R, K))
    lengths = rng.integers(1, K + 1, R)
    for i, n in enumerate(lengths):
        y[i, n:] = np.nan
        v[i, n:] = np.nan
    batch = pooling.pool(y, v, method=method, test=test)
    frame = batch.to_frame()
    for i, n in enumerate(lengths):
        one = pooling.pool(y[i, :n], v[i, :n], method=method, test=test).to_frame()
        cols = [c for c in one.columns if c not in ("method", "test", "level")]
        np.testing.assert_allclose(
            frame.loc[i, cols].to_numpy(float), one.loc[0, cols].to_numpy(float), rtol=1e-10, atol=1e-12, equal_nan=True
        )


def test_iterative_estimators_converge_where_fisher_scoring_struggles():
    # 2,000 random k = 13 data sets (metafor's default Fisher scoring fails on ~1%):
    # every row must give a finite tau^2 that is a stationary point or the boundary.
    from analysis.stats.engine import Data
    from analysis.stats.roots import _score

    rng = np.random.default_rng(7)
    y = rng.standard_cauchy((2000, 13)) * rng.uniform(0.01, 3, (2000, 1))
    v = rng.uniform(0.001, 2, (2000, 13)) ** 2
    for method in ("ML", "REML", "EB", "PM"):
        res = pooling.pool(y, v, method=method)
        assert np.isfinite(res.tau2).all() and (res.tau2 >= 0).all()
        if method in ("ML", "REML"):
            d = Data.from_padded(y.T[:, None, :], v.T[:, None, :])
            s = _score(d, res.tau2, reml=method == "REML")
            w = (1 / (v + res.tau2[:, None])).sum(axis=1)
            interior = res.tau2 > 0
            assert np.all(np.abs(s[interior]) <= 1e-8 * w[interior])
            assert np.all(s[~interior] <= 1e-12 * w[~interior])


@pytest.mark.parametrize("method", ["ML", "REML", "EB"])
def test_equal_to_metafor_wherever_fisher_scoring_converges(ref, method):
    """1,000 heavy-tailed k = 13 data sets (convergence_reference.R): metafor's Fisher scoring
    fails on some; on the others our tau² with root="metafor" is metafor's, including the bimodal
    likelihoods where the local maximum nearest the HE start beats the boundary."""
    conv = ref["convergence"]
    y, v = np.asarray(conv["y"], float), np.asarray(conv["v"], float)
    want = np.array([np.nan if t is None else t for t in conv["tau2"][method]], float)
    got = pooling.pool(y, v, method=method, root="metafor").tau2
    assert np.isnan(want).sum() > 0  # metafor failed on some rows ...
    assert np.isfinite(got).all()  # ... ours converges on all of them
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=RTOL_ITER, atol=ATOL_TAU2 * 10)


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_global_root_is_never_below_metafor_and_flags_several_maxima(ref, method):
    """The default root="global" takes the highest local maximum: where it differs from metafor's
    (convergence data), its likelihood is higher, and the result says the likelihood is multimodal."""
    from analysis.stats.engine import Data, loglik

    conv = ref["convergence"]
    y, v = np.asarray(conv["y"], float), np.asarray(conv["v"], float)
    glob = pooling.pool(y, v, method=method)
    meta = pooling.pool(y, v, method=method, root="metafor")
    d = Data.from_padded(y.T[:, None, :], v.T[:, None, :])
    reml = method == "REML"
    ll_g, ll_m = loglik(d, glob.tau2, reml), loglik(d, meta.tau2, reml)
    assert (ll_g >= ll_m - 1e-9 * np.abs(ll_m)).all()
    differ = ~np.isclose(glob.tau2, meta.tau2, rtol=1e-6, atol=1e-9)
    assert (ll_g[differ] > ll_m[differ] + 1e-6).all()
    assert (glob.modes[differ] > 1).all()
    if method == "ML":
        assert differ.sum() >= 1  # the data hold bimodal ML likelihoods where metafor's rule loses
    row = int(np.flatnonzero(differ)[0]) if differ.any() else int(np.argmax(glob.modes))
    if glob.modes[row] > 1:
        assert any("several local maxima" in n for n in glob[row].notes)


def test_where_default_metafor_stops_early_we_equal_metafor_run_to_convergence():
    """README's "what matches metafor means": on these data (stopping_reference.R) metafor's default
    stopping rule lands more than 1e-3 (relative) from the root; with tight control it agrees with us."""
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "reference" / "stopping_reference.json").read_text())
    assert len(ref["cases"]) == 12 and ref["metafor_version"] == "3.8.1"
    for case in ref["cases"]:
        res = pooling.pool(case["y"], case["v"], method=case["method"], root="metafor")
        assert res.tau2 == pytest.approx(case["tau2_tight"], rel=RTOL_ITER, abs=ATOL_TAU2)
        assert res.estimate == pytest.approx(case["beta_tight"], rel=RTOL_ITER)
        assert abs(res.tau2 - case["tau2_default"]) > 1e-3 * case["tau2_tight"]


def test_fused_one_group_kernels_equal_the_general_ones():
    """FlatData (G = 1, the hot path) computes what Data computes, padded rows included."""
    from analysis.stats.engine import Data, FlatData, estimate_tau2

    rng = np.random.default_rng(11)
    n = 5000  # more than one block of rows
    y = rng.normal(size=(9, 1, n))
    v = rng.uniform(0.01, 1, size=(9, 1, n))
    y[6:, :, ::3] = np.nan  # shorter rows
    v[6:, :, ::3] = np.nan
    v[:, :, 1::7] *= 1e-60  # products of variances leave the normal range: logs summed one by one
    v[:, :, 2::7] *= 1e60
    flat = Data.from_padded(y, v)
    assert isinstance(flat, FlatData)
    general = Data(flat.y, flat.v, flat.mask)
    t = rng.uniform(0, 0.5, n)
    grid = np.array([0.0, 1e-3, 0.1, 1.0])[:, None] * rng.uniform(0.5, 2, n)
    for reml in (False, True):
        for log in (False, True):
            for a, b in zip(flat.score_step(t, reml, log), general.score_step(t, reml, log)):
                np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(flat.loglik(t, reml), general.loglik(t, reml), rtol=1e-12)
        np.testing.assert_allclose(
            flat.loglik_grid(grid, reml), general.loglik_grid(grid, reml), rtol=1e-10, atol=1e-12
        )
    for a, b in zip(flat.ols(), general.ols()):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for method in ("ML", "REML"):
        np.testing.assert_allclose(estimate_tau2(flat, method), estimate_tau2(general, method), rtol=1e-10, atol=1e-14)


def test_polish_keeps_the_grid_point_where_its_neighbours_bracket_no_maximum():
    """The polish takes the grid neighbours as a bracket before checking it; where they hold no
    sign change of the score (both above the one maximum here) the row keeps its grid point,
    and where they do, the answer is the maximum, as from a checked bracket."""
    from analysis.stats.engine import Data
    from analysis.stats.roots import _polish, _score, likelihood_root

    y = np.array([[0.1, 0.9, -0.4, 0.6, 1.3, 0.2]])
    v = np.array([[0.05, 0.1, 0.2, 0.08, 0.3, 0.15]])
    d = Data.from_padded(y.T[:, None, :], v.T[:, None, :])
    for reml in (False, True):
        tau2, modes = likelihood_root(d, reml, None)
        assert tau2[0] > 0 and modes[0] == 1
        above = tau2[0] * np.array([[2.0], [4.0], [8.0]])  # no maximum between 2x and 8x
        assert (_score(d, above[0], reml) < 0).all()
        ll = np.array([[0.0], [1.0], [0.0]])  # a peak at the middle point, as a scan would see it
        assert _polish(d, reml, above, np.array([1]), ll)[0] == above[1, 0]
        around = tau2[0] * np.array([[0.25], [1.5], [4.0]])
        assert _polish(d, reml, around, np.array([1]), ll)[0] == pytest.approx(tau2[0], rel=1e-12)


@pytest.mark.parametrize(
    ("method", "y", "v"),
    [
        (
            "ML",
            [4.390909615736715e-06, -9.126652091571177e-06, 1.2961056310966734, 0.01234448559360718]
            + [-9.747793574988536e-06, -0.0009204795593441139],
            [3.493834482778588e-12, 3.846737300788913e-12, 0.9774923805037136, 6.736422830433591e-05]
            + [6.518121026279324e-10, 1.6571835998714684e-07],
        ),
        (
            "REML",
            [0.01805896439735421, 0.003115676524528763, 5.776148064482172e-05, 3.3808408927216975e-06]
            + [0.00011656151473759053, 0.00014298098015454668],
            [0.004957805407622047, 1.527238038962573e-06, 2.6891594944507853e-09, 4.4378071810506505e-12]
            + [3.984983884517993e-08, 7.974041012904514e-08],
        ),
    ],
)
def test_global_root_is_not_zero_where_the_score_at_zero_is_positive(method, y, v):
    """Variances over ten decades: the likelihood at 0 ties with the first grid points, but the
    score at 0 is positive, so 0 is no maximum (the answer was 0 for about a tenth of such data
    sets before this was fixed); the answer is a root of the score that beats 0."""
    from analysis.stats.engine import Data, loglik
    from analysis.stats.roots import _score

    reml = method == "REML"
    d = Data.from_padded(np.array(y)[:, None, None], np.array(v)[:, None, None])
    assert _score(d, np.zeros(1), reml)[0] > 0
    res = pooling.pool(y, v, method=method)
    assert res.tau2 > 0
    w = (1 / (np.array(v) + res.tau2)).sum()
    assert abs(_score(d, np.array([res.tau2]), reml)[0]) <= 1e-8 * w
    assert loglik(d, np.array([res.tau2]), reml)[0] >= loglik(d, np.zeros(1), reml)[0]
    # The network model's one-model version of the rule (maximise_likelihood_1d) answers the same.
    from analysis.stats.engine import estimate_tau2
    from analysis.stats.roots import _upper_bound, maximise_likelihood_1d

    def score_step(t):
        f, step = d.score_step(np.array([t]), reml)
        return float(f[0]), float(step[0])

    start = float(max(estimate_tau2(d, "HE")[0], 0.0))
    one, _ = maximise_likelihood_1d(score_step, lambda t: float(loglik(d, np.array([t]), reml)[0]), start,
                                    float(_upper_bound(d)[0]))  # fmt: skip
    assert one == pytest.approx(res.tau2, rel=1e-8)


def test_rows_follows_the_order_asked_for_and_is_c_ordered():
    """Data.rows(idx) with every row in another order reorders (it used to return the data
    unchanged whenever idx had as many rows), and gathers rows C-ordered (the kernels ran on
    strided copies before: 1.8x slower)."""
    from analysis.stats.engine import Data, DesignData

    rng = np.random.default_rng(3)
    y, v = rng.normal(size=(5, 1, 6)), rng.uniform(0.1, 1, (5, 1, 6))
    d = Data.from_padded(y, v)
    order = np.array([5, 4, 3, 2, 1, 0])
    np.testing.assert_array_equal(d.rows(order).y, d.y[..., order])
    assert d.rows(np.arange(6)) is d and d.rows(None) is d
    assert d.rows(np.array([0, 2, 5])).y.flags["C_CONTIGUOUS"]
    X = rng.normal(size=(5, 2, 6))
    dd = DesignData(d.y, d.v, d.mask, X)
    np.testing.assert_array_equal(dd.rows(order).X, X[..., order])
