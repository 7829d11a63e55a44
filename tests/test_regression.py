"""Meta-regression and Egger's test against metafor 3.8-1 (tests/reference/regression_reference.R),
and regression tests for the defects an outside review found (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tolerances import ATOL_TAU2, RTOL_EXACT, RTOL_ITER

import analysis
from analysis import egger_test, meta_regression, pool, rank_test

REF = json.loads((Path(__file__).parent / "reference" / "regression_reference.json").read_text())
CLOSED = ("EE", "DL", "HE", "HS", "SJ")


def _x():
    return np.column_stack([np.ones(len(REF["yi"])), REF["ablat"], REF["year"]])


def test_reference_covers_every_method_and_test():
    methods = {k.split("_")[0] for k in REF["fits"]}
    tests = {k.split("_")[1] for k in REF["fits"]}
    assert methods == {"EE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML"}
    assert tests == {"z", "t", "knha", "adhoc"}
    assert REF["metafor_version"] == "3.8.1"


@pytest.mark.parametrize("key", sorted(REF["fits"]))
def test_meta_regression_matches_metafor(key):
    method, test = key.split("_")
    want = REF["fits"][key]
    fit = meta_regression(REF["yi"], REF["vi"], _x(), method=method, test=test, root="metafor")
    rtol = RTOL_EXACT if method in CLOSED else RTOL_ITER
    np.testing.assert_allclose(fit.tau2, want["tau2"], rtol=rtol, atol=ATOL_TAU2)
    np.testing.assert_allclose(fit.beta, want["beta"], rtol=rtol * 10)
    np.testing.assert_allclose(fit.se, want["se"], rtol=rtol * 10)
    np.testing.assert_allclose(fit.pvalue, want["pval"], rtol=rtol * 100)
    np.testing.assert_allclose(fit.ci_low, want["ci_lb"], rtol=rtol * 10)
    np.testing.assert_allclose([fit.qm, fit.qm_pvalue, fit.qe], [want["QM"], want["QMp"], want["QE"]], rtol=rtol * 100)
    if want["R2"] is not None and method != "EE":
        assert 100 * fit.r2 == pytest.approx(want["R2"], rel=1e-5, abs=1e-6)
    assert "term" in fit.to_frame() and fit.summary().startswith("Mixed-effects meta-regression")


@pytest.mark.parametrize("key", sorted(REF["regtest"]))
def test_egger_honours_the_test(key):
    """Regression: egger_test ran a z test for test='t' or 'adhoc' (BCG, REML, t: p 0.4218 vs metafor's 0.4388)."""
    method, test = key.split("_")
    want = REF["regtest"][key]
    res = egger_test(REF["yi"], REF["vi"], method=method, test=test, root="metafor")
    rtol = 1e-8 if method in CLOSED else 1e-6
    assert res.statistic == pytest.approx(want["zval"], rel=rtol)
    assert res.pvalue == pytest.approx(want["pval"], rel=rtol)
    assert res.limit_estimate == pytest.approx(want["est"], rel=rtol)
    assert res.limit_ci_low == pytest.approx(want["ci_lb"], rel=rtol)


def test_every_test_argument_is_honoured_or_rejected():
    y, v = REF["yi"], REF["vi"]
    for fn in (
        lambda t: meta_regression(y, v, _x(), test=t),
        lambda t: egger_test(y, v, test=t),
        lambda t: pool(y, v, test=t),
        lambda t: analysis.subgroup_analysis(y, v, ["a"] * 6 + ["b"] * 7, test=t),
        lambda t: analysis.permutation_test(y, v, ["a"] * 6 + ["b"] * 7, test=t, n_permutations=10, seed=1),
    ):
        with pytest.raises(ValueError, match="test must be one of"):
            fn("T")


def test_pool_with_fixed_tau2_and_ee_is_refused():
    """Regression: pool(method='EE', tau2=x) silently ignored x."""
    with pytest.raises(ValueError, match="EE"):
        pool([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], method="EE", tau2=0.1)


def test_tau2_ci_follows_the_fit():
    """Regression: tau2_ci() reported a REML point estimate for a DL fit, and ignored a fixed tau²."""
    y, v = REF["yi"], REF["vi"]
    dl = pool(y, v, method="DL")
    assert dl.tau2_ci().tau2 == pytest.approx(dl.tau2) and dl.tau2_ci().method == "DL"
    fixed = pool(y, v, method="REML", tau2=0.5)
    assert fixed.tau2_ci().tau2 == 0.5 and fixed.tau2_ci().method == "fixed"


@pytest.mark.parametrize(
    "yi, vi, message",
    [
        ([True, False, True], [0.1, 0.1, 0.1], "real numbers"),
        (["0.1", "0.2", "0.3"], [0.1, 0.1, 0.1], "real numbers"),
        ([0.1 + 1j, 0.2, 0.3], [0.1, 0.1, 0.1], "real numbers"),
        ([1e200, 0.2, 0.3], [0.1, 0.1, 0.1], "too large"),
    ],
)
def test_pool_rejects_what_is_not_a_real_finite_number(yi, vi, message):
    """Regression: bool, text and complex input pooled; |yi| ~ 1e200 gave tau² = inf silently."""
    with pytest.raises(ValueError, match=message):
        pool(yi, vi)


def test_pool_does_not_pair_series_by_position():
    """Regression: two Series with different indexes were paired by position."""
    y = pd.Series([0.1, 0.3, 0.5], index=["a", "b", "c"])
    v = pd.Series([0.01, 0.02, 0.04], index=["c", "b", "a"])
    with pytest.raises(ValueError, match="index"):
        pool(y, v)
    assert pool(y, v.reindex(y.index)).estimate == pool(y.to_numpy(), v.reindex(y.index).to_numpy()).estimate


def test_rank_test_rejects_bad_input():
    """Regression: rank_test returned NaN with only a warning."""
    with pytest.raises(ValueError):
        rank_test([0.1, np.nan, 0.3], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError):
        rank_test([0.1, 0.2], [0.1, 0.1])
    tau, p = rank_test(REF["yi"], REF["vi"])  # still unpacks
    assert -1 <= tau <= 1 and 0 <= p <= 1


def test_p_values_print_as_revman():
    """Regression: plots printed 'P = 0.0000'."""
    from analysis.stats.results import format_p

    assert format_p(0.0000234) == "P = 0.00002"
    assert format_p(0.000004) == "P < 0.00001"
    assert format_p(0.0096) == "P = 0.01"
    assert format_p(0.00096) == "P = 0.001"
    assert format_p(0.3) == "P = 0.30"


def test_network_contrasts_of_a_multi_arm_trial_do_not_depend_on_arm_order():
    """Regression: only the contrasts against one arm were used, so the result depended on
    which treatment sorted first (2.03 vs 4.99 for the same comparison)."""
    rows = [
        dict(study="s1", treat1="B", treat2="A", estimate=1.0, se=0.5),
        dict(study="s1", treat1="C", treat2="A", estimate=3.0, se=0.6),
        dict(study="s1", treat1="C", treat2="B", estimate=4.0, se=0.55),  # not 3.0 - 1.0: inconsistent
        dict(study="s2", treat1="B", treat2="A", estimate=0.8, se=0.4),
        dict(study="s3", treat1="C", treat2="B", estimate=1.5, se=0.5),
    ]
    data = pd.DataFrame(rows)
    renamed = data.replace({"A": "Z", "C": "A"}).replace({"Z": "C"})  # swap A and C
    a = analysis.network_meta_analysis(data, method="EE", reference="A")
    b = analysis.network_meta_analysis(renamed, method="EE", reference="C")
    ea = a.league.set_index(["treat1", "treat2"]).loc[("C", "B"), "estimate"]
    eb = b.league.set_index(["treat1", "treat2"]).loc[("A", "B"), "estimate"]
    assert ea == pytest.approx(eb, rel=1e-12)


def test_network_records_its_measure():
    """Regression: the measure argument was unused."""
    data = pd.DataFrame([dict(study="s1", treat1="B", treat2="A", estimate=0.3, se=0.1)])
    res = analysis.network_meta_analysis(data, method="EE", measure="SMD")
    assert res.measure == "SMD" and "SMD" in res.summary()
    arms = analysis.datasets.franchini2012()
    with pytest.raises(ValueError, match="MD"):
        analysis.network_meta_analysis(arms, measure="SMD")


def test_every_result_speaks_the_protocol():
    y, v = REF["yi"], REF["vi"]
    groups = ["a"] * 6 + ["b"] * 7
    results = [
        pool(y, v),
        pool(np.vstack([y, y]), np.vstack([v, v])),
        pool(y, v).tau2_ci(),
        analysis.subgroup_analysis(y, v, groups),
        meta_regression(y, v, _x()),
        egger_test(y, v),
        rank_test(y, v),
        analysis.trim_and_fill(y, v),
        analysis.permutation_test(y, v, groups, n_permutations=20, seed=1),
        analysis.influence(y, v),
        analysis.leave_one_out(y, v),
        analysis.network_meta_analysis(analysis.datasets.franchini2012(), method="EE"),
        analysis.mean_sd_from_fivenum(30, median=5.0, q1=4.0, q3=7.0),
        analysis.multiverse([({"all": "yes"}, y, v)]),
        meta_regression(y, v, _x()).influence(),
        meta_regression(y, v, _x()).leave_one_out(),
        analysis.mantel_haenszel([4, 6, 3], [123, 306, 231], [11, 29, 11], [139, 303, 231]),
        analysis.peto([4, 6, 3], [123, 306, 231], [11, 29, 11], [139, 303, 231]),
    ]
    from analysis.audit import audit_forest_plots
    from analysis.datasets import fleiss1993_path

    results.append(audit_forest_plots(Path(__file__).parent / "reference" / "audit_forest_reference.csv"))
    results += [analysis.read_revman(fleiss1993_path()), analysis.audit_revman(fleiss1993_path())]
    for res in results:
        assert isinstance(res.to_frame(), pd.DataFrame)
        assert isinstance(res.summary(), str) and res.summary()
        assert res._repr_html_().startswith("<p><strong>")
        assert repr(res).startswith("<") and len(repr(res)) < 300


def test_a_batch_is_its_own_type_whose_rows_are_results():
    y = np.array([[0.1, 0.3, 0.5, np.nan], [0.2, 0.1, 0.4, 0.3]])
    v = np.array([[0.01, 0.02, 0.04, np.nan], [0.02, 0.03, 0.01, 0.02]])
    batch = pool(y, v, method="DL")
    assert isinstance(batch, analysis.PoolBatch) and len(batch) == 2
    first = batch[0]
    assert isinstance(first, analysis.PoolResult) and first.k == 3
    single = pool(y[0, :3], v[0, :3], method="DL")
    assert first.estimate == pytest.approx(single.estimate) and first.tau2 == pytest.approx(single.tau2)
    assert list(first.yi) == list(single.yi)


PRED = json.loads((Path(__file__).parent / "reference" / "regression_predict_reference.json").read_text())


@pytest.mark.parametrize("key", sorted(PRED["fits"]))
def test_predict_and_wald_tests_match_metafor(key):
    method, test = key.split("_")
    fit = meta_regression(REF["yi"], REF["vi"], np.column_stack([np.ones(13), REF["ablat"], REF["year"]]),
                          method=method, test=test, root="metafor")  # fmt: skip
    want = PRED["fits"][key]
    new = np.column_stack([np.ones(3), np.asarray(PRED["newmods"], float)])
    got = fit.predict(new)
    for col, ref in (
        ("pred", "pred"),
        ("se", "se"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
        ("pi_low", "pi_lb"),
        ("pi_high", "pi_ub"),
    ):
        np.testing.assert_allclose(got[col], want[ref], rtol=1e-6, err_msg=col)
    for coefs, ref in ((["x1"], "btt2"), (["x1", "x2"], "btt23")):
        w = fit.wald_test(coefs).to_frame().iloc[0]
        assert w["statistic"] == pytest.approx(want[ref]["stat"], rel=1e-6)
        assert w["pvalue"] == pytest.approx(want[ref]["p"], rel=1e-6)
    assert fit.wald_test(["x1", "x2"]).to_frame()["statistic"].iloc[0] == pytest.approx(
        fit.qm, rel=1e-12
    )  # QM is btt = all moderators
    with pytest.raises(ValueError, match="coefs"):
        fit.wald_test(["nope"])


PERM = json.loads((Path(__file__).parent / "reference" / "regression_permutest_reference.json").read_text())


@pytest.mark.parametrize("key", sorted(PERM["fits"]))
def test_regression_permutation_test_matches_metafor_permutest(key):
    from analysis.stats.regression import regression_permutation_test

    method, test = key.split("_")
    X = np.column_stack([np.ones(7), PERM["ablat"]])
    res = regression_permutation_test(PERM["yi"], PERM["vi"], X, method=method, test=test, exact=True)
    want = PERM["fits"][key]
    assert res.n_permutations == 5040 and res.exact and "moderators" in res.summary()
    assert res.statistic == pytest.approx(want["QM"], rel=1e-6)
    if method == "DL":  # every ordering fits: the exact p-value is metafor's to the last digit
        assert res.pvalue == pytest.approx(want["QMp"], rel=1e-12)
    else:  # metafor drops orderings whose REML fit does not converge
        assert res.pvalue == pytest.approx(want["QMp"], abs=2e-3)
    seeded = regression_permutation_test(
        PERM["yi"], PERM["vi"], X, method=method, test=test, n_permutations=200, seed=1
    )
    again = regression_permutation_test(PERM["yi"], PERM["vi"], X, method=method, test=test, n_permutations=200, seed=1)
    assert not seeded.exact and seeded.pvalue == again.pvalue and seeded.statistic == pytest.approx(res.statistic)


INFL = json.loads((Path(__file__).parent / "reference" / "regression_influence_reference.json").read_text())


def _bcg_frame():
    return pd.DataFrame({"yi": INFL["yi"], "vi": INFL["vi"], "ablat": INFL["ablat"], "year": INFL["year"],
                         "alloc": INFL["alloc"]})  # fmt: skip


@pytest.mark.parametrize("case", INFL["influence"], ids=lambda c: f"{c['mods']}-{c['method']}-{c['test']}")
def test_model_influence_matches_metafor(case):
    d = _bcg_frame()
    fit = meta_regression(d["yi"], d["vi"], formula=f"~ {case['mods']}", data=d, method=case["method"],
                          test=case["test"])  # fmt: skip
    inf = fit.influence().to_frame()
    rtol = 1e-6 if case["method"] == "REML" else 1e-9
    for ours, theirs in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"), ("cov_r", "cov_r"),
                         ("tau2_del", "tau2_del"), ("q_del", "QE_del"), ("hat", "hat"), ("weight", "weight")]:  # fmt: skip
        np.testing.assert_allclose(inf[ours], case[theirs], rtol=rtol, atol=1e-10, err_msg=ours)
    for term in fit.names:
        np.testing.assert_allclose(inf[f"dfbetas_{term}"], case["dfbs"][term], rtol=rtol, atol=1e-10, err_msg=term)
    assert inf["influential"].tolist() == case["is_infl"]


@pytest.mark.parametrize("case", INFL["formula"], ids=lambda c: f"{c['method']}-{c['test']}")
def test_formula_with_a_categorical_moderator_matches_metafor(case):
    d = _bcg_frame()
    fit = meta_regression(d["yi"], d["vi"], formula="~ ablat + C(alloc)", data=d, method=case["method"],
                          test=case["test"])  # fmt: skip
    ours = dict(zip(fit.names, zip(fit.beta, fit.se)))
    theirs = {"intrcpt": "intrcpt", "ablat": "ablat", "C(alloc)[T.random]": "factor(alloc)random",
              "C(alloc)[T.systematic]": "factor(alloc)systematic"}  # fmt: skip
    assert set(ours) == set(theirs)
    for name, r_name in theirs.items():
        j = case["names"].index(r_name)
        np.testing.assert_allclose(ours[name], (case["beta"][j], case["se"][j]), rtol=1e-6)
    np.testing.assert_allclose([fit.tau2, fit.qm, fit.qm_pvalue, fit.qe, 100 * fit.r2],
                               [case["tau2"], case["QM"], case["QMp"], case["QE"], case["R2"]], rtol=1e-6)  # fmt: skip
    same = meta_regression(d["yi"], d["vi"], pd.DataFrame({n: c for n, c in zip(fit.names, fit.X.T)}),
                           method=case["method"], test=case["test"])  # fmt: skip
    np.testing.assert_allclose(same.beta, fit.beta, rtol=1e-13)


def test_model_leave_one_out_equals_refitting_without_each_study():
    d = _bcg_frame()
    fit = meta_regression(d["yi"], d["vi"], formula="~ ablat + year", data=d, test="knha")
    loo = fit.leave_one_out(labels=[f"T{i}" for i in range(13)]).to_frame()
    assert len(loo) == 13 * 3 and list(loo["term"][:3]) == ["intrcpt", "ablat", "year"]
    for i in (0, 6, 12):
        rest = d.drop(index=i)
        again = meta_regression(rest["yi"], rest["vi"], formula="~ ablat + year", data=rest, test="knha")
        mine = loo[loo["study"] == f"T{i}"]
        np.testing.assert_allclose(mine["estimate"], again.beta, rtol=1e-8)
        np.testing.assert_allclose(mine["se"], again.se, rtol=1e-8)
        np.testing.assert_allclose(mine["pvalue"], again.pvalue, rtol=1e-7)
        assert mine["tau2"].iloc[0] == pytest.approx(again.tau2, rel=1e-8, abs=1e-12)
        assert mine["qe"].iloc[0] == pytest.approx(again.qe, rel=1e-10)


def test_a_deletion_that_loses_full_rank_is_blank_not_an_error():
    yi = [0.1, 0.3, 0.2, 0.5, 0.4, 0.35]
    vi = [0.02, 0.03, 0.025, 0.04, 0.03, 0.02]
    groups = pd.DataFrame({"g": ["a", "a", "a", "b", "b", "c"]})  # level c has one study
    fit = meta_regression(yi, vi, formula="~ C(g)", data=groups, method="DL")
    loo = fit.leave_one_out().to_frame()
    assert loo.loc[loo["study"] == "Study 6", "estimate"].isna().all()
    assert loo.loc[loo["study"] != "Study 6", "estimate"].notna().all()
    inf = fit.influence().to_frame()
    assert np.isnan(inf["rstudent"].iloc[5]) and np.isfinite(inf["rstudent"].iloc[:5]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(formula="ablat"), "one-sided"),
        (dict(formula="~ nope"), "cannot be built"),
        (dict(formula="~ ablat", data=None), "DataFrame"),
        (dict(), "either as a design matrix X or as formula"),
    ],
)
def test_formula_errors_are_named(kwargs, message):
    d = _bcg_frame()
    kwargs = {"data": d, **kwargs}
    with pytest.raises(ValueError, match=message):
        meta_regression(d["yi"], d["vi"], **kwargs)


def test_formula_refuses_rows_with_missing_moderators():
    d = _bcg_frame()
    d.loc[3, "ablat"] = np.nan
    with pytest.raises(ValueError, match="1 row"):
        meta_regression(d["yi"], d["vi"], formula="~ ablat", data=d)
