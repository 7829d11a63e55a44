"""Network meta-analysis against metafor rma.mv (network_reference.R) and its invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerances import ATOL_TAU2, ATOL_TAU2_MV, RTOL_EXACT, RTOL_OPTIM

from analysis import pool
from analysis.stats.network import network_meta_analysis

NETWORKS = ("franchini2012", "senn2013")


def _arms(ref, name):
    return pd.DataFrame(ref["network"][name]["arms"])


def _pairwise_contrasts(arms: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for study, g in arms.groupby("study", sort=False):
        for (_, a), (_, b) in itertools.combinations(g.iterrows(), 2):
            rows.append(
                dict(
                    study=study,
                    treat1=a.treatment,
                    treat2=b.treatment,
                    estimate=a["mean"] - b["mean"],
                    se=np.sqrt(a.sd**2 / a.n + b.sd**2 / b.n),
                    n1=a.n,
                    n2=b.n,
                )
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("method", ["EE", "ML", "REML"])
def test_relative_effects_match_metafor(ref, name, method):
    net = ref["network"][name]
    res = network_meta_analysis(_arms(ref, name), reference=net["reference"], method=method)
    assert list(res.treatments) == net["treatments"]
    rtol = RTOL_EXACT if method == "EE" else RTOL_OPTIM
    rel = res.relative_effects.iloc[1:]
    np.testing.assert_allclose(rel["estimate"], net[method]["estimate"], rtol=rtol)
    np.testing.assert_allclose(rel["se"], net[method]["se"], rtol=rtol)
    np.testing.assert_allclose(res.tau2, net[method]["tau2"], rtol=RTOL_OPTIM, atol=ATOL_TAU2)


@pytest.mark.parametrize("name", NETWORKS)
def test_q_decomposition_matches_metafor(ref, name):
    net = ref["network"][name]
    q = network_meta_analysis(_arms(ref, name), reference=net["reference"]).q_decomposition
    np.testing.assert_allclose(q.loc["total", "q"], net["q"]["total"], rtol=RTOL_EXACT)
    np.testing.assert_allclose(q.loc["within designs", "q"], net["q"]["within"], rtol=RTOL_EXACT)
    assert q.loc["total", "df"] == net["q"]["total_df"] and q.loc["within designs", "df"] == net["q"]["within_df"]
    assert q.loc["between designs", "q"] == pytest.approx(q.loc["total", "q"] - q.loc["within designs", "q"])


@pytest.mark.parametrize("name", NETWORKS)
def test_node_splitting_matches_metafor(ref, name):
    net = ref["network"][name]
    got = network_meta_analysis(_arms(ref, name), reference=net["reference"]).node_split
    want = pd.DataFrame(net["node_split"])
    assert len(got) == len(want) > 0
    m = got.merge(want, on=["treat1", "treat2"], suffixes=("", "_r"))
    assert len(m) == len(want)
    assert (m["k_direct"] == m["k_direct_r"]).all()
    for c in ("direct", "direct_se", "indirect", "indirect_se", "difference", "difference_se", "pvalue"):
        np.testing.assert_allclose(m[c], m[c + "_r"], rtol=RTOL_OPTIM, atol=1e-7, err_msg=c)


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("method", ["EE", "DL", "REML"])
def test_arm_and_contrast_input_agree(ref, name, method):
    arms = _arms(ref, name)
    a = network_meta_analysis(arms, reference=ref["network"][name]["reference"], method=method)
    c = network_meta_analysis(_pairwise_contrasts(arms), reference=ref["network"][name]["reference"], method=method)
    pd.testing.assert_frame_equal(a.relative_effects, c.relative_effects, rtol=1e-8)
    assert a.tau2 == pytest.approx(c.tau2, rel=1e-8, abs=1e-12)
    pd.testing.assert_series_equal(a.patients, c.patients)


def test_multi_arm_contrasts_need_all_pairs(ref):
    con = _pairwise_contrasts(_arms(ref, "franchini2012"))
    three = con.groupby("study").filter(lambda g: len(g) == 3).index[0]
    with pytest.raises(ValueError, match="needs all of them"):
        network_meta_analysis(con.drop(index=three))


@settings(max_examples=40, deadline=None)
@given(
    y=st.lists(st.floats(-5, 5), min_size=2, max_size=8),
    se=st.lists(st.floats(0.1, 2), min_size=8, max_size=8),
    method=st.sampled_from(["EE", "DL", "ML", "REML"]),
)
def test_one_comparison_network_equals_pairwise(y, se, method):
    se = se[: len(y)]
    data = pd.DataFrame(
        {"study": [f"s{i}" for i in range(len(y))], "treat1": "B", "treat2": "A", "estimate": y, "se": se}
    )
    net = network_meta_analysis(data, reference="A", method=method)
    pw = pool(y, np.square(se), method=method)
    b = net.relative_effects.loc["B"]
    assert b["estimate"] == pytest.approx(pw.estimate, rel=1e-7, abs=1e-9)
    assert b["se"] == pytest.approx(pw.se, rel=1e-7)
    assert net.tau2 == pytest.approx(pw.tau2, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", NETWORKS)
def test_relabelling_reference_permutes_league(ref, name):
    arms = _arms(ref, name)
    a = network_meta_analysis(arms, reference=ref["network"][name]["reference"])
    other = a.treatments[2]
    b = network_meta_analysis(arms, reference=other)
    la = a.league.set_index(["treat1", "treat2"]).sort_index()
    lb = b.league.set_index(["treat1", "treat2"]).sort_index()
    pd.testing.assert_frame_equal(la, lb, rtol=1e-6)
    assert b.relative_effects.loc[other, "estimate"] == 0
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-8)
    ranks = a.ranking.set_index("treatment")["p_score"]
    assert ranks.sum() == pytest.approx(len(a.treatments) / 2)  # P-scores average 1/2
    pd.testing.assert_series_equal(
        ranks.sort_index(), b.ranking.set_index("treatment")["p_score"].sort_index(), rtol=1e-6
    )


def test_disconnected_network_raises():
    data = pd.DataFrame(
        {"study": ["a", "b"], "treat1": ["B", "D"], "treat2": ["A", "C"], "estimate": [1.0, 2.0], "se": [0.5, 0.5]}
    )
    with pytest.raises(ValueError, match="disconnected"):
        network_meta_analysis(data, reference="A")


def test_non_finite_numbers_are_named():
    data = pd.DataFrame(
        {"study": ["a", "b"], "treat1": ["B", "B"], "treat2": ["A", "A"], "estimate": [1.0, np.nan], "se": [0.5, 0.5]}
    )
    with pytest.raises(ValueError, match=r"column 'estimate' must hold finite numbers \(not in studies \['b'\]\)"):
        network_meta_analysis(data, reference="A")


def test_bad_input():
    with pytest.raises(ValueError, match="arm-level"):
        network_meta_analysis(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="method"):
        network_meta_analysis(
            pd.DataFrame({"study": ["a"], "treat1": ["B"], "treat2": ["A"], "estimate": [1.0], "se": [1.0]}),
            method="XX",
        )


def test_plots(ref):
    from analysis.plotting import league_plot, network_forest, network_graph

    res = network_meta_analysis(_arms(ref, "senn2013"), reference="placebo")
    assert network_graph(res).collections and network_forest(res).lines and league_plot(res).tables
    table = res.league_table()
    assert table.shape == (len(res.treatments),) * 2 and table.loc["placebo", "placebo"] == "placebo"


def test_project_network_matches_metafor(ref):
    import warnings

    from analysis import load_studies
    from analysis.manojlovic2021.pipeline import run_network
    from analysis.manojlovic2021.specs import NETWORKS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        studies = load_studies()
    want = ref["project"]["network_function_akps"]
    net = run_network(NETWORKS[0], studies)
    assert net.reference == "control" and list(net.treatments[1:]) == want["treatments"]
    rel = net.relative_effects.loc[want["treatments"]]
    np.testing.assert_allclose(rel["estimate"], want["estimate"], rtol=RTOL_OPTIM)
    np.testing.assert_allclose(rel["se"], want["se"], rtol=RTOL_OPTIM)
    assert net.tau2 == pytest.approx(want["tau2"], abs=ATOL_TAU2_MV)
    assert net.patients.to_dict() == {"control": 36.0, "hip_only": 139.0, "knee_only": 137.0}
