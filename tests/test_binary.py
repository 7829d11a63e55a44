"""2×2 tables: effect sizes, Mantel-Haenszel and Peto pinned to metafor 3.8-1
(tests/reference/binary_reference.R), RevMan 5's conventions, and invariants."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerances import RTOL_EXACT

from analysis import binary_pool, mantel_haenszel, odds_ratio, peto, peto_odds_ratio, risk_difference, risk_ratio

REF = json.loads((Path(__file__).parent / "reference" / "binary_reference.json").read_text())
EFFECTS = {"OR": odds_ratio, "RR": risk_ratio, "RD": risk_difference, "PETO": peto_odds_ratio}


def _data(name):
    d = REF["data"][name]
    return d["ai"], d["n1i"], d["ci"], d["n2i"]


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize(
    "case", REF["escalc"], ids=lambda c: f"{c['set']}-{c['measure']}-{c['to']}-{c['add']}-{c['drop00']}"
)
def test_effects_match_escalc(case):
    yi, vi = EFFECTS[case["measure"]](*_data(case["set"]), add=case["add"], to=case["to"], drop00=case["drop00"])
    np.testing.assert_allclose(yi, _arr(case["yi"]), rtol=RTOL_EXACT, atol=1e-15)
    np.testing.assert_allclose(vi, _arr(case["vi"]), rtol=RTOL_EXACT)


@pytest.mark.parametrize("case", REF["mh"], ids=lambda c: f"{c['set']}-{c['measure']}-{c['correct']}-{c['to']}")
def test_mantel_haenszel_matches_rma_mh(case):
    res = mantel_haenszel(*_data(case["set"]), measure=case["measure"], correct=case["correct"], to=case["to"])
    got = dict(beta=res.estimate, se=res.se, ci_lb=res.ci_low, ci_ub=res.ci_high, zval=res.statistic,
               pval=res.pvalue, QE=res.q, QEp=res.q_pvalue, I2=100 * res.i2, H2=res.h2, k_yi=res.k_estimable,
               CMH=res.cmh, CMHp=res.cmh_pvalue, TA=res.tarone, TAp=res.tarone_pvalue)  # fmt: skip
    for key, value in got.items():
        want = np.nan if case[key] is None else case[key]
        if key in ("CMH", "CMHp", "TA", "TAp") and case["measure"] != "OR":
            assert np.isnan(value), key
            continue
        np.testing.assert_allclose(value, want, rtol=1e-9, atol=1e-14, err_msg=key)


@pytest.mark.parametrize("name", ["fleiss", "bcg", "sparse"])
def test_peto_matches_rma_peto(name):
    res, want = peto(*_data(name)), REF["peto"][name]
    got = dict(beta=res.estimate, se=res.se, ci_lb=res.ci_low, ci_ub=res.ci_high, zval=res.statistic,
               pval=res.pvalue, QE=res.q, QEp=res.q_pvalue, I2=100 * res.i2, k_yi=res.k_estimable)  # fmt: skip
    for key, value in got.items():
        np.testing.assert_allclose(value, want[key], rtol=1e-10, err_msg=key)


@pytest.mark.parametrize("case", REF["mh_random"], ids=lambda c: f"{c['set']}-{c['measure']}")
def test_mh_random_is_dl_from_the_mh_q(case):
    res = mantel_haenszel(*_data(case["set"]), measure=case["measure"], model="random")
    np.testing.assert_allclose(res.tau2, case["tau2"], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose([res.estimate, res.se], [case["beta"], case["se"]], rtol=1e-10)
    np.testing.assert_allclose(res.weights[np.isfinite(res.weights)], case["weights"], rtol=1e-10)
    assert res.model == "M-H, Random"


def test_iv_pooling_is_the_engine_on_the_study_effects():
    from analysis import pool

    data = _data("bcg")
    yi, vi = odds_ratio(*data)
    res = binary_pool(*data, measure="OR", method="IV", model="random", tau2_method="REML")
    ref = pool(yi, vi, method="REML", i2="q")
    assert res.estimate == pytest.approx(ref.estimate, rel=1e-12) and res.tau2 == pytest.approx(ref.tau2, rel=1e-12)
    assert res.exp_ci_low == pytest.approx(np.exp(ref.ci_low), rel=1e-12)
    assert res.model == "IV, Random"


def test_revman_convention_zero_cells():
    a, n1, c, n2 = _data("sparse")
    yi, vi = odds_ratio(a, n1, c, n2, convention="revman5")
    dz = np.array([False, False, True, False, False, False, True, False])
    assert np.isnan(yi[dz]).all() and np.isfinite(yi[~dz]).all()
    # a zero cell: 0.5 added to all four cells, as metafor's default
    ym, vm = odds_ratio(a, n1, c, n2)
    np.testing.assert_allclose(yi[~dz], ym[~dz], rtol=1e-15)
    # RD: raw difference, corrected variance; double zeros stay in
    rd, rv = risk_difference(a, n1, c, n2, convention="revman5")
    np.testing.assert_allclose(rd, np.array(a) / n1 - np.array(c) / n2, rtol=1e-15)
    assert np.isfinite(rd).all()
    _, rv_metafor = risk_difference(a, n1, c, n2)
    np.testing.assert_allclose(rv, rv_metafor, rtol=1e-15)
    # the MH estimate uses the corrected tables under RevMan, the raw ones under metafor
    raw, cor = mantel_haenszel(a, n1, c, n2), mantel_haenszel(a, n1, c, n2, convention="revman5")
    assert raw.estimate != cor.estimate
    assert np.isnan(cor.weights[dz]).all() and cor.k_estimable == 6


def test_fleiss_as_revman_stored_it():
    from analysis.datasets import fleiss1993

    d = fleiss1993()
    res = mantel_haenszel(d["events_1"], d["n_1"], d["events_2"], d["n_2"], convention="revman5")
    assert res.exp_estimate == pytest.approx(0.8968655609130709, rel=1e-12)
    assert res.exp_ci_low == pytest.approx(0.8405144008917793, rel=1e-12)
    assert res.q == pytest.approx(9.946055983220074, rel=1e-12)
    assert 100 * res.i2 == pytest.approx(39.67458045558399, rel=1e-12)
    np.testing.assert_allclose(res.weights, d["weight"], rtol=1e-12)
    frame = res.to_frame()
    assert list(frame[["exp_estimate", "exp_ci_low", "exp_ci_high"]].iloc[0]) == pytest.approx(
        [res.exp_estimate, res.exp_ci_low, res.exp_ci_high]
    )
    assert "M-H, Fixed" in res.summary() and "Tarone" in res.summary()


@pytest.mark.parametrize(
    "args, message",
    [
        (([1, 2], [10, 10], [1], [10]), "same length"),
        (([11], [10], [1], [10]), "exceed"),
        (([-1], [10], [1], [10]), ">= 0"),
        (([np.nan], [10], [1], [10]), ">= 0"),
        (([0], [0], [0], [10]), "n_1 must be > 0"),
        ((["1"], [10], [1], [10]), "counts"),
    ],
)
def test_bad_tables_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        odds_ratio(*args)


def test_bad_options_are_named():
    d = _data("fleiss")
    with pytest.raises(ValueError, match="measure"):
        binary_pool(*d, measure="HR")
    with pytest.raises(ValueError, match="Peto"):
        binary_pool(*d, measure="RR", method="Peto")
    with pytest.raises(ValueError, match="to must be"):
        odds_ratio(*d, to="some")
    with pytest.raises(ValueError, match="convention"):
        odds_ratio(*d, convention="stata")


def test_inputs_are_not_modified():
    a = np.array([0, 3, 5])
    n1 = np.array([10, 10, 10])
    c = np.array([1, 0, 5])
    n2 = np.array([10, 10, 10])  # noqa: E702
    before = [x.copy() for x in (a, n1, c, n2)]
    binary_pool(a, n1, c, n2, convention="revman5")
    for x, y in zip((a, n1, c, n2), before):
        np.testing.assert_array_equal(x, y)


tables = st.lists(
    st.tuples(st.integers(1, 60), st.integers(1, 60), st.integers(0, 60), st.integers(0, 60)).map(
        lambda t: (min(t[2], t[0]), t[0], min(t[3], t[1]), t[1])
    ),
    min_size=2,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(tables, st.sampled_from(["OR", "RR", "RD"]), st.sampled_from(["metafor", "revman5"]))
def test_swapping_arms_negates_and_reordering_changes_nothing(rows, measure, convention):
    e1, n1, e2, n2 = map(np.array, zip(*rows))
    if (e1 + e2).sum() == 0 or (n1 - e1 + n2 - e2).sum() == 0:
        return
    res = mantel_haenszel(e1, n1, e2, n2, measure=measure, convention=convention)
    if not np.isfinite(res.estimate):
        return
    swapped = mantel_haenszel(e2, n2, e1, n1, measure=measure, convention=convention)
    assert swapped.estimate == pytest.approx(-res.estimate, rel=1e-9, abs=1e-12)
    assert swapped.se == pytest.approx(res.se, rel=1e-9)
    order = np.arange(len(e1))[::-1]
    again = mantel_haenszel(e1[order], n1[order], e2[order], n2[order], measure=measure, convention=convention)
    assert again.estimate == pytest.approx(res.estimate, rel=1e-12, abs=1e-15)
    assert again.q == pytest.approx(res.q, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(again.weights, res.weights[order], rtol=1e-12)


def test_studies_frame_and_back_transform():
    res = mantel_haenszel(*_data("bcg"), measure="RR")
    frame = res.studies()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 13
    np.testing.assert_allclose(frame["exp_yi"], np.exp(frame["yi"]))
    assert frame["weight"].sum() == pytest.approx(100)
    rd = mantel_haenszel(*_data("bcg"), measure="RD")
    assert np.isnan(rd.exp_estimate) and "exp_yi" not in rd.studies()


def test_peto_under_revman_uses_the_raw_counts():
    """R meta (which follows RevMan 5): no continuity correction for Peto, in the studies or the pooled estimate."""
    a, n1, c, n2 = _data("sparse")
    yi, vi = peto_odds_ratio(a, n1, c, n2, convention="revman5")
    raw, _ = peto_odds_ratio(a, n1, c, n2, add=0, to="none", drop00=True)
    np.testing.assert_allclose(yi, raw, rtol=1e-15)
    assert np.isnan(yi[[2, 6]]).all()  # double zeros (and all-event tables): V = 0
    res = peto(a, n1, c, n2, convention="revman5")
    want = REF["peto"]["sparse"]  # rma.peto pools the uncorrected counts too
    assert res.estimate == pytest.approx(want["beta"], rel=1e-12) and res.q == pytest.approx(want["QE"], rel=1e-12)


def test_tables_without_information_give_an_answer_not_an_error():
    """Regression: every table a double zero raised ZeroDivisionError for RD (metafor: estimate 0, se 0, no
    test), and their forest plot warned of an all-NaN axis."""
    import warnings

    import matplotlib.pyplot as plt

    from analysis import forest_plot

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rd = mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9], measure="RD")
        assert (rd.estimate, rd.se) == (0.0, 0.0) and np.isnan(rd.statistic) and np.isnan(rd.pvalue)
        odds = mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9], measure="OR")
        assert np.isnan(odds.estimate) and odds.k_estimable == 0
        ax = forest_plot(odds.forest_data())
        assert "Not estimable" in {t.get_text() for t in ax.texts}
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="no table has an estimable effect"):
        binary_pool([0, 0], [10, 12], [0, 0], [11, 9], method="IV")
