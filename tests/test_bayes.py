"""Exact Bayesian random effects, pinned to bayesmeta 3.4 (tau, Bayes factors, marginal likelihood) and to
an exact evaluation in R of the mixtures bayesmeta approximates (mu, predictive, theta):
tests/reference/bayes_reference.R."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import bayesian_pool, pool, tau_prior

REF = json.loads((Path(__file__).parent / "reference" / "bayes_reference.json").read_text())
ROWS = ["mode", "median", "mean", "sd", "ci_low", "ci_high"]


def _fit(case):
    d = REF["sets"][case["case"]["data"]]
    args = dict(case["prior_args"])
    name = args.pop("name")
    sigma = np.asarray(d["sigma"])
    prior = tau_prior(name, sigma=sigma, **args)
    mu = case["case"].get("mu")
    return bayesian_pool(d["y"], sigma**2, tau_prior=prior, mu_prior=tuple(mu) if mu else None,
                         interval=case["case"]["interval"])  # fmt: skip


@pytest.mark.parametrize(
    "case", REF["cases"], ids=lambda c: f"{c['case']['data']}-{c['case']['prior']}-{c['case']['interval']}"
)
def test_posterior_matches_bayesmeta(case):
    res = _fit(case)
    post = res.posterior
    for col, key, rtol in (("tau", "tau", 1e-5), ("mu", "mu", 1e-6), ("predictive", "predictive", 1e-6)):
        for row in ROWS:
            want = case[key][row]
            tol = 2e-4 if row == "mode" else rtol  # a flat maximum: both optimisers stop within ~1e-5 of it
            if col == "tau" and row.startswith("ci") and case["case"]["interval"] == "shortest":
                tol = 1e-4  # the width is flat at its minimum: bayesmeta's optimiser stops early (see below)
            assert post.loc[row, col] == pytest.approx(want, rel=tol, abs=1e-7), (col, row)
    if case["case"]["interval"] == "shortest":  # ours is the shortest: same mass, never wider
        lo, hi = case["tau"]["ci_low"], case["tau"]["ci_high"]
        ours = post.loc["ci_high", "tau"] - post.loc["ci_low", "tau"]
        assert res.tau_cdf(post.loc["ci_high", "tau"]) - res.tau_cdf(post.loc["ci_low", "tau"]) == pytest.approx(
            0.95, abs=1e-9
        )
        assert ours <= (hi - lo) + 1e-9
    theta = res.theta.iloc[0]
    for row in ROWS:
        assert theta[row] == pytest.approx(case["theta1"][row], rel=2e-4 if row == "mode" else 1e-6, abs=1e-7), row
    for key in ("tau=0", "mu=0"):
        want = case["bayes_factor"][key]
        if want is None:
            assert np.isnan(res.bayes_factor[key])
        else:
            assert res.bayes_factor[key] == pytest.approx(want, rel=1e-6)
    if case["marginal_likelihood"] is None:
        assert np.isnan(res.marginal_likelihood)
    else:
        assert res.marginal_likelihood == pytest.approx(case["marginal_likelihood"], rel=1e-6)


def test_reference_covers_every_prior_family():
    names = {c["prior_args"]["name"] for c in REF["cases"]}
    assert names == {"half_normal", "half_cauchy", "half_t", "uniform", "lognormal_tau2", "jeffreys"}


def test_improper_posterior_is_refused():
    # a flat prior on tau with two studies and a flat prior on mu: the posterior does not integrate
    with pytest.raises(ValueError, match="improper"):
        bayesian_pool([0.1, 0.5], [0.04, 0.05], tau_prior="uniform")


def test_result_protocol_and_functions():
    res = bayesian_pool([0.1, 0.5, -0.2, 0.3], [0.04, 0.05, 0.03, 0.06])
    assert res.mu_cdf(res.posterior.loc["median", "mu"]) == pytest.approx(0.5, abs=1e-10)
    assert res.tau_cdf(res.tau_quantile(0.8)) == pytest.approx(0.8, abs=1e-9)
    assert res.predictive_quantile(0.5) == pytest.approx(res.posterior.loc["median", "predictive"], abs=1e-9)
    assert "Bayesian random effects" in res.summary() and repr(res).startswith("<")
    assert list(res.to_frame()["parameter"]) == ["tau", "mu", "predictive"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1)), min_size=3, max_size=8))
def test_a_near_zero_prior_scale_gives_the_common_effect(studies):
    y, v = (np.array(x) for x in zip(*studies))
    res = bayesian_pool(y, v, tau_prior="half_normal", tau_scale=1e-6)
    ee = pool(y, v, method="EE")
    assert res.posterior.loc["mean", "mu"] == pytest.approx(ee.estimate, abs=1e-5)
    assert res.posterior.loc["sd", "mu"] == pytest.approx(ee.se, rel=1e-4)


def test_published_heterogeneity_priors_match_bayesmeta():
    from analysis import rhodes_prior, turner_prior

    ref = json.loads((Path(__file__).parent / "reference" / "heterogeneity_priors.json").read_text())
    tau = np.array(ref["tau"])
    comparisons = {
        ("pharmacological", "pharmacological"): "pharmacological vs. pharmacological",
        ("non-pharmacological", "placebo / control"): "non-pharmacological vs. placebo / control",
        ("pharmacological", "placebo / control"): "pharmacological vs. placebo / control",
    }
    rhodes = {("non-pharmacological", "placebo / control"): "non-pharmacological (any)"}
    for pin in ref["pins"]:
        pair = (pin["comparator1"], pin["comparator2"])
        if pin["kind"] == "turner":
            prior = turner_prior(pin["outcome"], comparisons[pair])
        else:
            prior = rhodes_prior(pin["outcome"], rhodes.get(pair, comparisons[pair]), pin["area"])
        np.testing.assert_allclose(prior.pdf(tau), pin["density"], rtol=1e-12)
    assert turner_prior().pdf(np.array([0.3])) > 0 and rhodes_prior().pdf(np.array([0.3])) > 0
    with pytest.raises(ValueError, match="outcomes"):
        turner_prior("pain", "no such comparison")


def test_reproduction_puts_the_bayesian_result_beside_reml():
    import warnings

    from analysis import MissingDataWarning, get_spec, load_studies, run_analysis
    from analysis.manojlovic2021.bayes import priors

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        studies = load_studies()
    res = run_analysis(get_spec("paper_function_akps"), studies)
    t = res.bayes
    overall = t[t["group"] == "overall"]
    assert list(overall["model"]) == [
        "REML",
        "REML + Hartung-Knapp",
        "Bayesian (primary prior)",
        "Bayesian (sensitivity prior)",
    ]
    assert set(t["group"]) == {"overall", "Hip-only", "Knee-only"}
    (_, primary), (_, second) = priors(res.spec, res.effects)
    assert (
        primary.label == "half-normal(scale=10)" and second.label == "half-Cauchy(scale=10)"
    )  # 1/10 of the AKPS range
    direct = bayesian_pool(res.effects["yi"], res.effects["vi"], tau_prior=primary)
    row = overall[overall["model"] == "Bayesian (primary prior)"].iloc[0]
    assert row["estimate"] == pytest.approx(direct.posterior.loc["median", "mu"], rel=1e-12)
    assert row["prior"] == primary.label
    reml = overall[overall["model"] == "REML"].iloc[0]
    assert reml["estimate"] == pytest.approx(res.overall.estimate, rel=1e-12)
    smd = get_spec("paper_function")
    assert priors(smd, res.effects)[0][1].label.startswith("Rhodes 2015")
    many = run_analysis(get_spec("paper_function_akps").with_options(bayes_max_k=1), studies)
    assert many.bayes.empty  # more comparisons than bayes_max_k: no Bayesian rows


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1)), min_size=2, max_size=7), st.randoms(use_true_random=False)
)
def test_permuting_the_studies_changes_nothing(studies, rnd):
    y, v = (np.array(x) for x in zip(*studies))
    order = list(range(len(y)))
    rnd.shuffle(order)
    a = bayesian_pool(y, v, tau_prior="half_normal", tau_scale=0.5)
    b = bayesian_pool(y[order], v[order], tau_prior="half_normal", tau_scale=0.5)
    # the integration's own error (well below its stated accuracy) may differ with the order of the sums
    pd.testing.assert_frame_equal(a.posterior, b.posterior, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(b.theta.to_numpy(float), a.theta.to_numpy(float)[order], rtol=1e-7, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(st.floats(-2, 2), st.floats(0.01, 1), st.floats(-1, 1), st.floats(0.1, 2))
def test_one_study_with_a_normal_prior_on_mu_is_the_precision_weighted_combination(y, v, m0, s0):
    """k = 1 and tau fixed near 0: the posterior of mu is N((y/v + m0/s0²)/(1/v + 1/s0²), 1/(1/v + 1/s0²))."""
    res = bayesian_pool([y], [v], tau_prior="half_normal", tau_scale=1e-6, mu_prior=(m0, s0))
    precision = 1 / v + 1 / s0**2
    assert res.posterior.loc["mean", "mu"] == pytest.approx((y / v + m0 / s0**2) / precision, abs=1e-6)
    assert res.posterior.loc["sd", "mu"] == pytest.approx(np.sqrt(1 / precision), rel=1e-5)


def test_quantiles_converge_in_a_few_newton_steps():
    """Regression: a converged Newton step that landed on the bracket's edge fell back to bisection
    (37 cdf calls where 4 suffice)."""
    from scipy import special

    from analysis.stats.bayes import _invert

    calls = []

    def cdf(x):
        calls.append(x)
        return special.ndtr(x)

    pdf = lambda x: np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)  # noqa: E731
    for p in (0.025, 0.5, 0.9):
        calls.clear()
        x = _invert(cdf, pdf, p, -10.0, 10.0, float(special.ndtri(p)) + 0.01)
        assert x == pytest.approx(float(special.ndtri(p)), abs=1e-13) and len(calls) <= 6


def test_shortest_intervals_have_equal_density_at_their_ends():
    d = __import__("analysis").datasets.bcg()
    res = bayesian_pool(d["yi"], d["vi"], tau_prior="half_normal", tau_scale=0.5)
    lo, hi = res.posterior.loc["ci_low", "mu"], res.posterior.loc["ci_high", "mu"]
    assert float(res.mu_pdf(lo)) == pytest.approx(float(res.mu_pdf(hi)), rel=1e-8)
    assert float(res.mu_cdf(hi) - res.mu_cdf(lo)) == pytest.approx(0.95, abs=1e-12)
    central = bayesian_pool(d["yi"], d["vi"], tau_prior="half_normal", tau_scale=0.5, interval="central")
    assert hi - lo <= central.posterior.loc["ci_high", "mu"] - central.posterior.loc["ci_low", "mu"] + 1e-12
