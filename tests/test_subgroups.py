"""subgroup_analysis() against metafor 3.8-1 (separate and common tau^2)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tolerances import ATOL_TAU2, RTOL_ITER

from analysis import pool, subgroup_analysis
from analysis.stats.engine import TAU2_METHODS
from analysis.stats.pooling import TESTS
from analysis.stats.subgroups import TAU2_SCOPES

DATASETS = ("bcg", "raudenbush1985", "hackshaw1998", "normand1999")
GRID = list(itertools.product(DATASETS, TAU2_METHODS, TESTS, TAU2_SCOPES))


def test_reference_grid_is_complete(ref):
    assert {(r["dataset"], r["method"], r["test"], r["tau2_scope"]) for r in ref["subgroup"]} == set(GRID)


@pytest.mark.parametrize("dataset,method,test,scope", GRID)
def test_subgroups_match_metafor(ref, dataset, method, test, scope):
    row = next(
        r
        for r in ref["subgroup"]
        if (r["dataset"], r["method"], r["test"], r["tau2_scope"]) == (dataset, method, test, scope)
    )
    d = ref["datasets"][dataset]
    res = subgroup_analysis(d["yi"], d["vi"], d["group"], method=method, test=test, tau2=scope)
    assert list(res.groups) == row["groups"]
    assert res.df_between == row["df_between"]
    assert res.df_resid == row.get("df_resid")
    np.testing.assert_allclose(res.q_between, row["q_between"], rtol=RTOL_ITER)
    np.testing.assert_allclose(res.p_between, row["p_between"], rtol=RTOL_ITER)
    for name, key, atol in (
        ("estimate", "group_estimate", 0),
        ("se", "group_se", 0),
        ("tau2", "group_tau2", ATOL_TAU2),
    ):
        got = [getattr(g, name) for g in res.groups.values()]
        np.testing.assert_allclose(got, row[key], rtol=RTOL_ITER, atol=atol, err_msg=name)


def test_single_subgroup_equals_overall():
    y, v = [0.1, 0.5, 0.3, 0.9], [0.02, 0.03, 0.05, 0.04]
    res = subgroup_analysis(y, v, ["a"] * 4)
    one = pool(y, v)
    assert res.groups["a"].estimate == pytest.approx(one.estimate)
    assert res.overall.estimate == pytest.approx(one.estimate)
    assert res.q_between == 0 and res.df_between == 0


def test_fixed_effect_q_decomposes():
    rng = np.random.default_rng(3)
    y, v = rng.normal(size=12), rng.uniform(0.05, 0.3, 12)
    g = np.repeat(["a", "b", "c"], 4)
    res = subgroup_analysis(y, v, g, method="EE")
    q_within = sum(r.q for r in res.groups.values())
    assert res.overall.q == pytest.approx(q_within + res.q_between, rel=1e-10)


def test_to_frame_and_str():
    res = subgroup_analysis([0.1, 0.5, 0.3, 0.9], [0.02, 0.03, 0.05, 0.04], ["a", "b", "a", "b"], method="DL")
    frame = res.to_frame()
    assert frame["group"].tolist() == ["a", "b", "overall"]
    assert "Test for subgroup differences" in str(res)
    assert 0 <= res.i2_between <= 1


@pytest.mark.parametrize("kw", [{"tau2": "pooled"}, {"method": "nope"}])
def test_bad_options(kw):
    with pytest.raises(ValueError):
        subgroup_analysis([0.1, 0.2], [0.1, 0.1], ["a", "b"], **kw)


def test_mismatched_groups():
    with pytest.raises(ValueError, match="one length"):
        subgroup_analysis([0.1, 0.2], [0.1, 0.1], ["a"])


@pytest.mark.parametrize("method", ["DL", "REML", "EE"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_common_tau2_subgroups_are_the_meta_regression_on_group_indicators(method, test):
    """Subgroups with one tau² are the mixed-effects model with the groups as a categorical moderator."""
    import pandas as pd

    from analysis import meta_regression

    rng = np.random.default_rng(11)
    y, v = rng.normal(0.3, 0.4, 14), rng.uniform(0.02, 0.2, 14)
    g = np.array(list("abcabcabcabcab"))
    sub = subgroup_analysis(y, v, g, method=method, test=test, tau2="common")
    reg = meta_regression(y, v, formula="~ C(g)", data=pd.DataFrame({"g": g}), method=method, test=test)
    assert sub.q_between == pytest.approx(reg.qm, rel=1e-9)
    assert sub.p_between == pytest.approx(reg.qm_pvalue, rel=1e-9)
    if method != "EE":
        assert sub.tau2_common == pytest.approx(reg.tau2, rel=1e-9, abs=1e-12)
