"""The audit of published forest plots: a plot computed in R is reproduced line by line, and
errors injected into it are found and diagnosed (tests/reference/audit_reference.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import pool
from analysis.audit import audit_forest_plots, audit_report, parse_revman_text
from analysis.reader import DataError

REFERENCE = Path(__file__).parent / "reference" / "audit_forest_reference.csv"


@pytest.fixture
def plot() -> pd.DataFrame:
    return pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)


def _audit(frame: pd.DataFrame, tmp_path) -> pd.DataFrame:
    path = tmp_path / "plots.csv"
    frame.to_csv(path, index=False)
    return audit_forest_plots(path).table


def _where(frame, figure, study):
    idx = frame.index[(frame["figure"] == figure) & (frame["study"] == study)]
    assert len(idx) == 1
    return idx[0]


def test_plot_computed_in_r_is_reproduced_exactly():
    result = audit_forest_plots(REFERENCE)
    t = result.table
    assert result.clean and set(t["verdict"]) == {"reproduced"}
    # Every kind of printed number was checked: study and pooled rows, RevMan's three lines, three figures.
    assert t["figure"].nunique() == 3
    expected = {"estimate", "ci_low", "ci_high", "weight", "tau2", "chi2", "df", "p_heterogeneity", "i2", "z"}
    expected |= {"p_overall", "chi2_subgroups", "df_subgroups", "p_subgroups", "i2_subgroups"}
    assert set(t["quantity"]) == expected
    assert len(t) == 177


@pytest.mark.parametrize(
    "figure, study, change, diagnosis",
    [
        ("Analysis 1.1", "Orpington-Mild", {"sd_1": "1.26"}, "se_as_sd"),  # 7/sqrt(31): an SE typed as the SD
        ("Analysis 1.2", "Montreal-Home", {"mean_1": "-14"}, "sign_flipped"),
        ("Analysis 1.1", "Newcastle", {"sd_2": "43"}, "typo"),  # 34 typed as 43
        ("Analysis 1.2", "Orpington-Severe", {"n_1": "81"}, "typo"),  # 18 typed as 81
    ],
)
def test_injected_input_errors_are_diagnosed(plot, tmp_path, figure, study, change, diagnosis):
    i = _where(plot, figure, study)
    for col, value in change.items():
        plot.loc[i, col] = value
    t = _audit(plot, tmp_path)
    bad = t[t["verdict"] == "discrepant"]
    row = bad[(bad["figure"] == figure) & (bad["study"] == study)]
    assert not row.empty and set(row["diagnosis"]) == {diagnosis}, row
    others = bad[(bad["study"] != study) & ~bad["study"].str.startswith(("Subtotal", "Total"))]
    assert set(others["diagnosis"]) <= {"study_rows"}  # only weights, which depend on every study
    pooled = bad[bad["study"].str.startswith(("Subtotal", "Total")) & (bad["figure"] == figure)]
    assert set(pooled["diagnosis"]) <= {"study_rows"}
    if diagnosis == "typo":
        col, value = next(iter(change.items()))
        original = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False).loc[i, col]
        assert f"{col} = {original} (printed {value})" in row["detail"].iloc[0]


def test_swapped_arms_are_diagnosed(plot, tmp_path):
    i = _where(plot, "Analysis 1.1", "Edinburgh")
    for a, b in (("mean_1", "mean_2"), ("sd_1", "sd_2"), ("n_1", "n_2")):
        plot.loc[i, [a, b]] = plot.loc[i, [b, a]].to_numpy()
    t = _audit(plot, tmp_path)
    row = t[(t["study"] == "Edinburgh") & (t["figure"] == "Analysis 1.1") & (t["verdict"] == "discrepant")]
    assert set(row["diagnosis"]) == {"arms_swapped"}


def test_model_mismatch_and_weight_convention(plot, tmp_path):
    # Figure 1.2 was computed with a fixed-effect model; say "random" and the audit says so.
    plot.loc[plot["figure"] == "Analysis 1.2", "model"] = "IV, Random"
    # Figure 1.1 prints a total, so weights are percentages of it; print one study's weight of its subtotal.
    i = _where(plot, "Analysis 1.1", "Orpington-Mild")
    sub = plot[(plot["figure"] == "Analysis 1.1") & (plot["row_type"] == "study") & (plot["subgroup"] == "Orpington")]
    m1, s1, n1, m2, s2, n2 = (
        sub[c].astype(float).to_numpy() for c in ("mean_1", "sd_1", "n_1", "mean_2", "sd_2", "n_2")
    )
    vi = s1**2 / n1 + s2**2 / n2
    w = 1 / (vi + pool(m1 - m2, vi, method="DL").tau2)  # the subtotal's own tau²
    plot.loc[i, "weight"] = f"{100 * w[list(sub.index).index(i)] / w.sum():.1f}"
    t = _audit(plot, tmp_path)
    bad = t[t["verdict"] == "discrepant"]
    total = bad[(bad["figure"] == "Analysis 1.2") & (bad["study"] == "Total")]
    assert not total.empty and set(total["diagnosis"]) == {"model_mismatch"}
    assert "IV, Fixed" in total["detail"].iloc[0]
    weights = bad[(bad["figure"] == "Analysis 1.2") & (bad["quantity"] == "weight")]
    assert set(weights["diagnosis"]) == {"model_mismatch"}
    mild = bad[(bad["figure"] == "Analysis 1.1") & (bad["study"] == "Orpington-Mild")]
    assert set(mild["diagnosis"]) == {"weight_convention"}


def test_i2_convention(plot, tmp_path):
    # Print the Orpington subtotal's I² as metafor computes it from a REML tau².
    d = plot[(plot["figure"] == "Analysis 1.1") & (plot["row_type"] == "study") & (plot["subgroup"] == "Other")]
    m1, s1, n1, m2, s2, n2 = (d[c].astype(float).to_numpy() for c in ("mean_1", "sd_1", "n_1", "mean_2", "sd_2", "n_2"))
    i2 = 100 * pool(m1 - m2, s1**2 / n1 + s2**2 / n2, method="REML").i2
    i = plot.index[
        (plot["figure"] == "Analysis 1.1") & (plot["row_type"] == "subtotal") & (plot["subgroup"] == "Other")
    ][0]
    printed = parse_revman_text(plot.loc[i, "text"])["i2"].text
    assert abs(float(printed) - i2) > 1  # a visible difference
    plot.loc[i, "text"] = plot.loc[i, "text"].replace(f"I² = {printed}%", f"I² = {i2:.0f}%")
    t = _audit(plot, tmp_path)
    bad = t[t["verdict"] == "discrepant"]
    assert list(bad["quantity"]) == ["i2"] and list(bad["diagnosis"]) == ["i2_convention"]


def test_rounding_verdict_and_inequalities(plot, tmp_path):
    i = _where(plot, "Analysis 1.1", "Edinburgh")
    plot.loc[i, "estimate"] = f"{float(plot.loc[i, 'estimate']) + 0.01:.2f}"  # one unit of the last digit
    t = _audit(plot, tmp_path)
    row = t[(t["study"] == "Edinburgh") & (t["quantity"] == "estimate") & (t["figure"] == "Analysis 1.1")]
    assert list(row["verdict"]) == ["rounding"]
    assert (t["printed"] == "< 0.00001").any()  # "P < 0.00001" is judged as an inequality


def test_revman_text_variants():
    p = parse_revman_text(
        "Heterogeneity: Chi2 = 3.10, df = 4 (P = 0.54); I2 = 0%\nTest for overall effect: Z = 0.61 (P = 0.54)"
    )
    assert "tau2" not in p and p["chi2"].value == 3.1 and p["chi2"].decimals == 2 and p["z"].value == 0.61
    p = parse_revman_text("Test for subgroup differences: Chi^2 = 0.38, df = 1 (P = 0.54), I^2 = 40.2%")
    assert p["i2_subgroups"].value == 40.2 and p["i2_subgroups"].decimals == 1
    assert (
        parse_revman_text("Heterogeneity: Not applicable\nTest for overall effect: Z = 2.00 (P = 0.05)")["z"].value == 2
    )
    with pytest.raises(ValueError, match="cannot read RevMan's line"):
        parse_revman_text("Heterogeneity: Tau² = 0.45; Chi² = 25.02 df = 3")
    with pytest.raises(ValueError, match="no RevMan line"):
        parse_revman_text("some note")


def test_bad_transcription_gives_one_line_error(plot, tmp_path):
    plot.loc[2, "sd_1"] = "-3"
    path = tmp_path / "bad.csv"
    plot.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        audit_forest_plots(path)
    message = str(err.value)
    assert "\n" not in message and "line 4" in message and "'sd_1'" in message


def test_report_lists_discrepancies(plot, tmp_path):
    plot.loc[_where(plot, "Analysis 1.1", "Newcastle"), "sd_2"] = "43"
    path = tmp_path / "plots.csv"
    plot.to_csv(path, index=False)
    result = audit_forest_plots(path)
    md = audit_report(result, {"Analysis 1.1": "audit_1.png"})
    assert "discrepant" in md and "`typo`" in md and "![Analysis 1.1" in md
    assert np.isfinite(result.table["recomputed"]).all()
    assert "Newcastle" in result.summary()
    assert result.intervals["Analysis 1.1"]["discrepant"].any()


def test_grim_known_cases_and_granularity():
    from analysis.audit.extraction import grim

    assert grim("5.19", 28) is False and grim("5.18", 28) is True and grim("5.2", 28) is None
    assert grim("3.25", 10, granularity=0.5) is True and grim("3.27", 10, granularity=0.5) is False
    with pytest.raises(ValueError):
        grim("1.0", 0)


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.lists(st.integers(0, 100), min_size=1, max_size=99), st.integers(1, 3))
def test_grim_never_flags_a_true_mean(scores, decimals):
    from analysis.audit.extraction import grim

    mean = sum(scores) / len(scores)
    assert grim(f"{mean:.{decimals}f}", len(scores)) is not False


def test_diff_frames_matches_rows_and_compares_numbers_numerically():
    from analysis.audit.extraction import diff_frames

    a = pd.DataFrame({"id": ["x", "y", "y"], "v": [1.0, 2.0, np.nan], "t": ["a", "b", "c"]})
    b = pd.DataFrame({"id": ["y", "x", "z"], "v": [2.0, 1.0000001, 3.0], "t": ["b", "a", "d"]})
    d = diff_frames(a, b, ["id"])
    assert set(zip(d["key"], d["column"])) == {("x", "v"), ("y (#2)", "(row)"), ("z", "(row)")}
    assert d.loc[d["column"] == "v", "value_b"].item() == "1.0000001"
    assert diff_frames(a, a, ["id"]).empty


def test_shipped_template_has_the_format_columns():
    from analysis.audit import FOREST_COLUMNS
    from analysis.manojlovic2021.load import default_path

    template = default_path("studies.csv").parent / "audit" / "template.csv"
    assert template.read_text(encoding="utf-8").strip().split(",") == list(FOREST_COLUMNS)
    assert (template.parent / "README.md").exists()


def test_weights_alone_off_are_not_blamed_on_study_rows(tmp_path):
    """Regression: with every study's estimate and CI reproduced, wrong weights were diagnosed 'study_rows'."""
    plot = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)
    fig = plot[plot["figure"] == "Analysis 1.2"].copy()
    studies = fig["row_type"] == "study"
    fig.loc[studies, "weight"] = [f"{100 / studies.sum():.1f}"] * int(studies.sum())  # equal weights printed
    t = _audit(fig, tmp_path)
    weights = t[(t["quantity"] == "weight") & (t["verdict"] == "discrepant") & ~t["study"].isin(["Total"])]
    assert len(weights) and "study_rows" not in set(weights["diagnosis"])
    assert (weights["diagnosis"] == "unexplained").sum() >= len(
        weights
    ) - 1  # one equal weight may match the other model
