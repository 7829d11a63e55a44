"""Forest-plot layout asserted exactly; renderers return Axes and never show."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis import (
    ANALYSES,
    coverage_chart,
    coverage_matrix,
    forest_plot,
    forest_rows,
    get_spec,
    load_reviews,
    load_studies,
    pool,
    reviews_forest,
    run_analysis,
    subgroup_analysis,
)


@pytest.fixture(scope="module")
def studies():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_studies()


def test_forest_rows_exact_for_the_paper_design(ref, studies):
    rows = forest_rows(run_analysis(get_spec("paper_function_akps"), studies))
    want = ref["project"]["paper_function_akps"]
    v = np.square(want["group_se"])
    w = 100 * (1 / v) / (1 / v).sum()
    assert rows["kind"].tolist() == [
        "group",
        "study",
        "subtotal",
        "heterogeneity",
        "effect_test",
        "group",
        "study",
        "subtotal",
        "heterogeneity",
        "effect_test",
        "overall",
        "heterogeneity",
        "effect_test",
        "alternative",
        "alternative",
        "alternative",
        "subgroup_test",
    ]
    assert rows["y"].tolist() == [-float(i) for i in range(17)]
    # k = 2 <= bayes_max_k: the total also with Hartung-Knapp and under both Bayesian priors
    alt = rows[rows["kind"] == "alternative"]
    assert alt["label"].tolist() == [
        "REML + Hartung-Knapp",
        "Bayesian, τ ~ half-normal(scale=10)",
        "Bayesian, τ ~ half-Cauchy(scale=10)",
    ]
    bayes = run_analysis(get_spec("paper_function_akps"), studies).bayes
    overall = bayes[bayes["group"] == "overall"].iloc[1:]
    np.testing.assert_allclose(
        alt[["estimate", "ci_low", "ci_high"]].astype(float), overall[["estimate", "ci_low", "ci_high"]]
    )
    assert rows["label"].tolist()[:3] == [
        "Hip-only",
        "Hott 2019/2020: isolated hip-focused exercise vs free physical activity",
        "Subtotal",
    ]
    assert rows.loc[10, "label"] == "Total"
    studies_rows = rows[rows["kind"] == "study"]
    np.testing.assert_allclose(studies_rows["estimate"], [1.0, 0.2])
    np.testing.assert_allclose(studies_rows["weight"], w, rtol=1e-10)
    assert studies_rows["n_e"].tolist() == [39, 37] and studies_rows["n_c"].tolist() == [18, 18]
    assert rows.loc[10, ["n_e", "n_c", "weight"]].tolist() == [76, 36, 100.0]
    np.testing.assert_allclose(
        rows.loc[10, ["estimate", "ci_low", "ci_high"]].astype(float),
        [want["estimate"], want["ci_low"], want["ci_high"]],
        rtol=1e-7,
    )
    assert rows["text"].tolist()[3:5] == [
        "Heterogeneity: Not applicable",
        "Test for overall effect: Z = 0.28 (P = 0.78)",
    ]
    assert rows["text"].tolist()[11:13] + rows["text"].tolist()[16:] == [
        "Heterogeneity: Tau² = 0.00; Chi² = 0.03, df = 1 (P = 0.87); I² = 0%",
        "Test for overall effect: Z = 0.24 (P = 0.81)",
        "Test for subgroup differences: Chi² = 0.03, df = 1 (P = 0.87), I² = 0%",
    ]


def test_forest_rows_for_a_users_own_pool():
    res = pool([0.1, 0.4, 0.3], [0.02, 0.03, 0.05], method="DL", test="knha")
    rows = forest_rows(res, labels=["A", "B", "C"])
    assert rows["kind"].tolist() == ["study"] * 3 + ["overall", "heterogeneity", "effect_test"]
    assert rows["label"].tolist()[:4] == ["A", "B", "C", "Total"]
    np.testing.assert_allclose(rows["weight"][:3].sum(), 100)
    assert rows["text"].iloc[-1].startswith("Test for overall effect: t(2) = ")


def test_labels_must_match_the_studies():
    with pytest.raises(ValueError, match="one entry per study"):
        forest_rows(pool([0.1, 0.4, 0.3], [0.02, 0.03, 0.05]), labels=["A", "B"])


def test_subgroup_result_needs_labels_by_group():
    sg = subgroup_analysis([0.1, 0.4, 0.3, 0.2], [0.02, 0.03, 0.05, 0.04], ["a", "b", "a", "b"])
    rows = forest_rows(sg, labels={"a": ["s1", "s3"], "b": ["s2", "s4"]})
    assert rows.loc[rows["kind"] == "study", "label"].tolist() == ["s1", "s3", "s2", "s4"]
    # labels in input order work too, and each study keeps its own label and weight
    same = forest_rows(sg, labels=["s1", "s2", "s3", "s4"])
    pd.testing.assert_frame_equal(rows, same)
    with pytest.raises(ValueError):
        forest_rows(sg, labels=["s1", "s2"])


def test_weights_belong_to_their_study_when_groups_are_interleaved():
    """Regression: weights were read by position, so interleaved subgroups showed other studies' weights."""
    y, v = [0.1, 0.4, 0.3, 0.2, 0.9], [0.01, 0.3, 0.02, 0.04, 0.05]
    groups = ["a", "b", "a", "b", "a"]
    sg = subgroup_analysis(y, v, groups, method="DL")
    rows = forest_rows(sg, labels=["s1", "s2", "s3", "s4", "s5"])
    studies = rows[rows["kind"] == "study"].set_index("label")
    w = sg.overall.weights
    for i, name in enumerate(["s1", "s2", "s3", "s4", "s5"]):
        assert studies.loc[name, "weight"] == pytest.approx(w[i])
        assert studies.loc[name, "estimate"] == y[i]
    sub = rows[rows["kind"] == "subtotal"].set_index("group")["weight"]
    assert sub["a"] == pytest.approx(w[[0, 2, 4]].sum()) and sub["b"] == pytest.approx(w[[1, 3]].sum())


def test_forest_plot_returns_axes_and_draws_into_given_axes(studies):
    result = run_analysis(get_spec("function_hip_only_vs_knee_only"), studies)
    ax = forest_plot(result)
    # the overall diamond and, k being small, the open diamonds of Hartung-Knapp and two Bayesian priors
    assert ax.figure is not None and len(ax.patches) == 4
    assert sum(p.get_facecolor()[:3] == (1.0, 1.0, 1.0) for p in ax.patches) == 3
    fig, given = plt.subplots(figsize=(4, 3))
    assert forest_plot(result, ax=given) is given


def test_forest_plot_arrows_when_clipped(studies):
    result = run_analysis(get_spec("function_hip_only_vs_knee_only"), studies)
    ax = forest_plot(result, xlim=(-3, 3))
    arrows = [c for c in ax.texts if getattr(c, "arrow_patch", None) is not None]
    # Hott's [-4.8, 6.4] runs past both ends (row y = 0), Hansen's [-3.2, 2.0] past the left (y = -1)
    assert sorted((a.xy[0], a.xy[1]) for a in arrows) == [(-3, -1.0), (-3, 0.0), (3, 0.0)]


def test_figure_height_adapts_to_rows(studies):
    small = forest_plot(run_analysis(get_spec("function_hip_only_vs_control"), studies)).figure
    big = forest_plot(run_analysis(get_spec("paper_function_akps"), studies)).figure
    assert big.get_size_inches()[1] > small.get_size_inches()[1]


def test_empty_analysis_cannot_be_plotted(studies):
    with pytest.raises(ValueError, match="no usable comparisons"):
        forest_rows(run_analysis(get_spec("paper_pain"), studies))


def test_reviews_and_coverage_charts(studies):
    ax = reviews_forest(load_reviews(), measure="SMD")
    assert len(ax.get_yticks()) == int((load_reviews()["measure"] == "SMD").sum())
    matrix = coverage_matrix([run_analysis(s, studies) for s in ANALYSES])
    assert set(np.unique(matrix.to_numpy())) <= {"used", "missing", "not in scope"}
    ax = coverage_chart(matrix)
    (mesh,) = ax.collections  # one cell per trial and analysis, first trial on top
    codes = mesh.get_array().reshape(matrix.shape)
    status = {"used": 0, "missing": 1, "not in scope": 2}
    np.testing.assert_array_equal(codes, matrix.fillna("not in scope").replace(status).to_numpy(float))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(matrix.index)
    assert ax.get_ylim()[0] > ax.get_ylim()[1]


def test_nothing_is_shown(monkeypatch, studies):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show called"))
    forest_plot(run_analysis(get_spec("paper_function_akps"), studies))


def test_bayes_figures():
    from analysis import bayes_forest, bayes_posterior, bayesian_pool, datasets, tau_prior

    d = datasets.bcg()
    prior = tau_prior("half_normal", scale=0.5)
    res = bayesian_pool(d["yi"], d["vi"], tau_prior=prior)
    ax = bayes_forest(res, labels=d["author"], measure="log RR")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:2] == list(d["author"][:2]) and labels[-2:] == ["Effect (mu)", "Prediction (new trial)"]
    pred = [line for line in ax.lines if line.get_linewidth() == 2][0]
    np.testing.assert_allclose(pred.get_xdata(), res.posterior.loc[["ci_low", "ci_high"], "predictive"])
    ax = bayes_posterior(res, prior)
    curve = ax.lines[0]
    np.testing.assert_allclose(curve.get_ydata(), res.tau_pdf(curve.get_xdata()))
    assert "half-normal" in ax.get_legend().get_texts()[-1].get_text()
    ax = bayes_posterior(res, parameter="mu", measure="log RR")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), res.mu_pdf(ax.lines[0].get_xdata()))
    assert ax.get_xlabel() == "log RR"
    with pytest.raises(ValueError, match="parameter"):
        bayes_posterior(res, parameter="sigma")
    plt.close("all")


def test_bubble_plot():
    import json
    from pathlib import Path

    from analysis import bubble_plot, meta_regression

    ref = json.loads((Path(__file__).parent / "reference" / "regression_reference.json").read_text())
    y, v, lat, year = (np.asarray(ref[k], float) for k in ("yi", "vi", "ablat", "year"))
    fit = meta_regression(y, v, np.column_stack([np.ones(len(y)), lat]))
    ax = bubble_plot(fit, y, v, lat, xlabel="absolute latitude", ylabel="log RR")
    sizes = ax.collections[0].get_sizes()
    w = 1 / (v + fit.tau2)
    np.testing.assert_allclose(sizes, 400 * w / w.max())  # area proportional to the study's weight
    line = ax.lines[0]
    np.testing.assert_allclose(line.get_ydata(), fit.beta[0] + fit.beta[1] * line.get_xdata())
    with pytest.raises(ValueError, match="one moderator"):
        bubble_plot(meta_regression(y, v, np.column_stack([np.ones(len(y)), lat, year])), y, v, lat)
    plt.close("all")


def test_binary_forest_plot_as_revman_draws_it():
    from analysis import mantel_haenszel
    from analysis.datasets import fleiss1993

    d = fleiss1993()
    res = mantel_haenszel(d["events_1"], d["n_1"], d["events_2"], d["n_2"], convention="revman5")
    data = res.forest_data(labels=d["study"])
    assert data.heading == "Odds Ratio M-H, Fixed, 95% CI" and data.log_scale
    rows = forest_rows(data)
    total = rows[rows["kind"] == "overall"].iloc[0]
    assert (total["events_e"], total["n_e"], total["events_c"], total["n_c"]) == (2128, 14186, 2286, 13817)
    np.testing.assert_allclose(rows.loc[rows["kind"] == "study", "weight"], d["weight"], rtol=1e-12)
    ax = forest_plot(data, arms=("Aspirin", "Control"))
    texts = {t.get_text() for t in ax.texts}
    assert {"Events", "Aspirin", "Odds Ratio M-H, Fixed, 95% CI", "0.90 [0.84, 0.96]", "0.72 [0.49, 1.06]"} <= texts
    assert "Heterogeneity: Chi² = 9.95, df = 6 (P = 0.13); I² = 40%" in texts
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["0.5", "1", "2"]
    np.testing.assert_allclose(ax.get_xticks(), np.log([0.5, 1, 2]))
    plt.close(ax.figure)


def test_binary_forest_plot_marks_tables_that_are_not_estimable():
    from analysis import mantel_haenszel

    res = mantel_haenszel([0, 3, 0, 12], [25, 40, 30, 12], [2, 0, 0, 10], [24, 41, 28, 15], measure="RR",
                          convention="revman5")  # fmt: skip
    ax = forest_plot(res)
    assert "Not estimable" in {t.get_text() for t in ax.texts}
    assert "Risk Ratio M-H, Fixed, 95% CI" in {t.get_text() for t in ax.texts}
    rd = mantel_haenszel([0, 3], [25, 40], [2, 0], [24, 41], measure="RD")
    assert not rd.forest_data().log_scale
    plt.close("all")
