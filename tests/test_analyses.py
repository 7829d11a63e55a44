"""Specs, contrasts and the project's pooled results against metafor (project_reference.R)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from tolerances import RTOL_ITER

from analysis import ANALYSES, get_spec, load_studies, run_analysis
from analysis.manojlovic2021.contrasts import make_contrasts, timepoint_weeks
from analysis.manojlovic2021.specs import AnalysisSpec


@pytest.fixture(scope="module")
def studies():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_studies()


def test_spec_names_unique_and_paper_design_present():
    names = [s.name for s in ANALYSES]
    assert len(names) == len(set(names))
    paper = get_spec("paper_pain")
    assert paper.subgroup == "program" and paper.experimental == ("hip_knee", "hip_only", "knee_only")
    for e, c in [
        ("hip_knee", "knee_only"),
        ("hip_only", "knee_only"),
        ("hip_knee", "hip_only"),
        ("hip_knee", "control"),
        ("hip_only", "control"),
        ("knee_only", "control"),
    ]:
        assert get_spec(f"pain_{e}_vs_{c}") and get_spec(f"function_{e}_vs_{c}")


@pytest.mark.parametrize(
    "kw", [{"measure": "OR"}, {"timepoint": "first"}, {"measure": "SMD", "values": "any"}, {"prepost_r": 1.5}]
)
def test_bad_spec(kw):
    with pytest.raises(ValueError):
        AnalysisSpec(name="x", title="x", outcome="pain", **kw)


@pytest.mark.parametrize(
    "name",
    [
        "function_hip_only_vs_knee_only",
        "function_hip_only_vs_knee_only_paper_era",
        "function_hip_only_vs_control",
        "function_knee_only_vs_control",
        "paper_function_akps",
        "pain_hip_knee_vs_knee_only",
    ],
)
def test_project_results_match_metafor(ref, studies, name):
    want = ref["project"][name]
    res = run_analysis(get_spec(name), studies)
    overall = res.overall
    assert overall.k == want["k"]
    for field in ("estimate", "se", "ci_low", "ci_high", "tau2", "pvalue"):
        np.testing.assert_allclose(getattr(overall, field), want[field], rtol=RTOL_ITER, atol=1e-9, err_msg=field)
    if "group_estimate" in want:
        groups = list(res.result.groups.values())
        np.testing.assert_allclose([g.estimate for g in groups], want["group_estimate"], rtol=1e-10)
        np.testing.assert_allclose([g.se for g in groups], want["group_se"], rtol=1e-10)
        np.testing.assert_allclose(res.result.q_between, want["q_between"], rtol=1e-8)


def test_project_reference_covers_every_analysis_with_data(ref, studies):
    with_data = {s.name for s in ANALYSES if run_analysis(s, studies).k > 0}
    assert with_data == {k for k in ref["project"] if not k.startswith("network")}


def test_reported_contrast_is_reversed_in_code_not_in_file(studies):
    effects, _ = make_contrasts(studies, get_spec("function_hip_only_vs_knee_only"))
    hansen = effects[effects["study_id"] == "hansen2023"].iloc[0]
    assert hansen["experimental_arm"] == "HE" and hansen["yi"] == pytest.approx(-0.6)
    row = studies[(studies["study_id"] == "hansen2023") & (studies["level"] == "contrast")].iloc[0]
    assert row["arm"] == "QE" and row["estimate"] == 0.6


def test_pain_orientation_and_no_inferred_signs(studies):
    spec = get_spec("pain_hip_knee_vs_knee_only")
    effects, _ = make_contrasts(studies, spec)
    assert effects["yi"].tolist() == [pytest.approx(-0.9)]  # a larger reduction favours Hip&Knee: negative MD
    strict, coverage = make_contrasts(studies, spec.with_options(include_inferred_sign=False))
    assert strict.empty and coverage["reason"].str.contains("inferred").any()


def test_shared_control_is_split(studies):
    spec = get_spec("paper_function_akps")
    split, _ = make_contrasts(studies, spec)
    reuse, _ = make_contrasts(studies, spec.with_options(multi_arm="reuse"))
    assert split["split"].tolist() == [2, 2] and reuse["split"].tolist() == [1, 1]
    n_e, n_c = 39, 36
    assert split["vi"].iloc[1] == pytest.approx(reuse["vi"].iloc[1] * (1 / n_e + 2 / n_c) / (1 / n_e + 1 / n_c))
    assert split["n_c"].tolist() == [18, 18]


def test_smd_needs_arm_level_data(studies):
    _, coverage = make_contrasts(studies, get_spec("paper_function"))
    hott = coverage[coverage["study_id"] == "hott2019"]
    assert (hott["status"] == "missing").all() and hott["reason"].str.contains("SMD needs the arm SDs").all()


def test_timepoint_rules(studies):
    spec = get_spec("function_hip_only_vs_knee_only")
    early, _ = make_contrasts(studies, spec)
    late, _ = make_contrasts(studies, spec.with_options(timepoint="latest"))
    hott_early = early[early["study_id"] == "hott2019"].iloc[0]
    hott_late = late[late["study_id"] == "hott2019"].iloc[0]
    assert hott_early["timepoint_weeks"] == pytest.approx(13) and hott_late["timepoint_weeks"] == pytest.approx(52)
    assert hott_late["yi"] == pytest.approx(3.2)


def test_timepoint_weeks_units():
    frame = pd.DataFrame(
        {
            "timepoint_value": [11, 4, 3, 3],
            "timepoint_unit": ["days", "weeks", "months", "months"],
            "timepoint_from": ["baseline", "baseline", "baseline", "end of treatment"],
            "treatment_weeks": [2, 4, 6, 4],
        }
    )
    np.testing.assert_allclose(timepoint_weeks(frame), [11 / 7, 4, 13, 17])


def test_arm_level_md_smd_and_change_scores(studies):
    """Arm-level rows (as someone with the full text would add them) give escalc's MD/SMD."""
    from analysis.stats.effects import change_sd, hedges_g, mean_difference

    base = studies[(studies["study_id"] == "fukuda2010") & (studies["outcome"] == "pain")].copy()
    filled = base.copy()
    values = {
        "Knee exercise group (KE)": (22, 3.0, 1.5),
        "Knee and hip exercise group (KHE)": (23, 2.0, 1.4),
        "Nontreatment group (control)": (25, 5.0, 2.0),
    }
    for arm, (n, m, s) in values.items():
        sel = filled["arm"] == arm
        filled.loc[sel, ["n", "mean", "sd", "status"]] = [n, m, s, "verified"]
    spec = get_spec("pain_hip_knee_vs_control")
    effects, _ = make_contrasts(filled, spec)
    yi, vi = mean_difference(2.0, 1.4, 23, 5.0, 2.0, 25)
    assert effects["yi"].iloc[0] == pytest.approx(float(yi)) and effects["vi"].iloc[0] == pytest.approx(float(vi))
    # paper design: KE and KHE share the control, so its n is split in two
    paper, _ = make_contrasts(filled, get_spec("paper_pain"))
    assert paper["n_c"].tolist() == [12.5, 12.5]
    yi2, vi2 = mean_difference(2.0, 1.4, 23, 5.0, 2.0, 12.5)
    assert paper.loc[paper["experimental_program"] == "hip_knee", "vi"].iloc[0] == pytest.approx(float(vi2))
    smd_spec = AnalysisSpec(
        name="s", title="s", outcome="pain", measure="SMD", values="post", experimental=("hip_knee",)
    )
    smd, _ = make_contrasts(filled, smd_spec)
    g, vg = hedges_g(2.0, 1.4, 23, 5.0, 2.0, 25)
    assert smd["yi"].iloc[0] == pytest.approx(float(g)) and smd["vi"].iloc[0] == pytest.approx(float(vg))
    # change scores from baseline + follow-up rows use the spec's correlation r
    rows = []
    for arm in values:
        row = filled[filled["arm"] == arm].iloc[0].copy()
        b = row.copy()
        b["value_type"], b["mean"], b["sd"] = "baseline", 6.0, 1.8
        rows += [row, b]
    prepost = pd.DataFrame(rows).reset_index(drop=True)
    change_spec = spec.with_options(values="change", prepost_r=0.6)
    ch, cov = make_contrasts(prepost, change_spec)
    sd_e, sd_c = change_sd(1.8, 1.4, 0.6), change_sd(1.8, 2.0, 0.6)
    yi3, vi3 = mean_difference(2.0 - 6.0, sd_e, 23, 5.0 - 6.0, sd_c, 25)
    assert ch["yi"].iloc[0] == pytest.approx(float(yi3)) and ch["vi"].iloc[0] == pytest.approx(float(vi3))
    assert "r = 0.6" in ch["notes"].iloc[0]


def test_studies_frame_not_mutated(studies):
    before = studies.copy()
    for spec in ANALYSES:
        run_analysis(spec, studies)
    pd.testing.assert_frame_equal(studies, before)


def test_coverage_lists_every_trial(studies):
    res = run_analysis(get_spec("paper_pain"), studies)
    assert set(res.coverage["study_id"]) == set(studies["study_id"])
    assert res.result is None and res.to_frame()["k"].tolist() == [0]


def test_report_follows_the_data_when_numbers_are_added(studies):
    """Filling Fukuda 2010's pain cells (as a full-text reader would) puts a Hip&Knee
    result beside the paper's, with no hard-coded sentence left behind."""
    from analysis import ANALYSES, load_reviews
    from analysis.manojlovic2021.report import build_report

    filled = studies.copy()
    values = {
        "Knee exercise group (KE)": (22, 3.0, 1.5),
        "Knee and hip exercise group (KHE)": (23, 2.0, 1.4),
        "Nontreatment group (control)": (25, 5.0, 2.0),
    }
    for arm, (n, m, s) in values.items():
        sel = (filled["study_id"] == "fukuda2010") & (filled["outcome"] == "pain") & (filled["arm"] == arm)
        filled.loc[sel, ["n", "mean", "sd", "status"]] = [n, m, s, "verified"]
    results = [run_analysis(spec, filled) for spec in ANALYSES]
    report = build_report(
        filled, load_reviews(), results, provenance={"command": "test", "version": "0", "studies_sha256": "0" * 16}
    )
    assert "paper_pain: k = 1 trial: MD -3.00 [" in report
    assert "Fukuda 2010" in report.split("## Why the numbers differ")[1].split("\n")[2]


def test_report_counts_trials_names_inferred_signs_and_explains_split_arms(studies):
    """Regression: two arms of one trial were called "k = 2"; the headline did not say that results
    rest on inferred signs; the same Hott comparison showed two CIs without a word of why."""
    from analysis import ANALYSES, load_reviews
    from analysis.manojlovic2021.report import build_report, results_table

    results = [run_analysis(spec, studies) for spec in ANALYSES]
    report = build_report(
        studies, load_reviews(), results, provenance={"command": "test", "version": "0", "studies_sha256": "0" * 16}
    )
    assert "(k = 2 comparisons from 1 trial, I² 0%; sign inferred for Hott 2019/2020)" in report
    table = results_table([r for r in results if r.k > 0])
    n_inferred = int((table["inferred_sign"] != "").sum())
    assert f"**{n_inferred} of these {len(table)} results rest on signs this project inferred**" in report
    assert "**Shared comparator arms.**" in report
    assert "comparator shared by 2 comparisons; CI 1.00 [-5.90, 7.90]" in report


def _fukuda_pain_filled(studies):
    filled = studies.copy()
    values = {
        "Knee exercise group (KE)": (22, 3.0, 1.5),
        "Knee and hip exercise group (KHE)": (23, 2.0, 1.4),
        "Nontreatment group (control)": (25, 5.0, 2.0),
    }
    for arm, (n, m, s) in values.items():
        sel = (filled["study_id"] == "fukuda2010") & (filled["outcome"] == "pain") & (filled["arm"] == arm)
        filled.loc[sel, ["n", "mean", "sd", "status"]] = [n, m, s, "verified"]
    return filled, values


def test_a_multi_arm_trial_with_arm_values_enters_the_network_as_arms(studies):
    """Regression (issue 7): multi-arm trials stay arms through to the network, at one time point."""
    from analysis import NETWORKS, network_meta_analysis
    from analysis.manojlovic2021.pipeline import network_data

    filled, values = _fukuda_pain_filled(studies)
    spec = next(s for s in NETWORKS if s.outcome == "pain")
    data = network_data(spec, filled)
    fuk = data[data["study"] == "Fukuda 2010"]
    assert len(fuk) == 3 and fuk["treatment"].notna().all() and fuk["treat1"].isna().all()
    # pain on a 0-10 VAS/NPRS stays as reported (higher = worse): mean and sd unchanged by orientation
    row = fuk.set_index("treatment")
    scale = 10 / (filled.loc[filled["study_id"] == "fukuda2010", "scale_max"].dropna().iloc[0])
    assert row.loc["control", "mean"] == pytest.approx(5.0 * scale) and row.loc["control", "n"] == 25
    res = network_meta_analysis(fuk, method="EE", reference="control")
    assert res.relative_effects.loc["hip_knee", "estimate"] == pytest.approx((2.0 - 5.0) * scale)


def test_a_partly_reported_multi_arm_trial_keeps_one_contrast_and_says_so(monkeypatch):
    """Regression: a three-arm trial with two of its three contrasts ended in a traceback."""
    import itertools

    import pandas as pd

    from analysis import network_meta_analysis
    from analysis.manojlovic2021 import pipeline

    effects = pd.DataFrame(
        [
            dict(study="T", comparison="A vs C", experimental_program="hip_only", comparator_program="control",
                 source="contrast", yi=1.0, vi=0.25, n_e=10, n_c=10, _pair=4),
            dict(study="T", comparison="B vs C", experimental_program="knee_only", comparator_program="control",
                 source="contrast", yi=0.5, vi=0.36, n_e=10, n_c=10, _pair=5),
        ]
    )  # fmt: skip
    spec = pipeline.NetworkSpec(name="n", title="n", outcome="pain")
    pairs = list(itertools.combinations(spec.treatments, 2))

    def contrasts_of(studies, pair_spec):  # the trial as make_contrasts would give it, pair by pair
        pair = pairs.index((pair_spec.experimental[0], pair_spec.comparator))
        return effects[effects["_pair"] == pair].drop(columns="_pair"), None

    monkeypatch.setattr(pipeline, "make_contrasts", contrasts_of)
    data = pipeline.network_data(spec, None)
    assert len(data) == 1 and data.attrs["left_out"] == ["T: B vs C (knee_only vs control)"]
    assert "left out B vs C" in data["note"].iloc[0]
    assert network_meta_analysis(data, method="EE").k == 1


def _ferber_success_filled(studies, counts=((111, 61), (88, 40))):
    """Ferber 2015's treatment-success rows filled as a full-text reader would (invented counts: the real
    ones are not public); counts are (n, events) for the HIP and KNEE arms."""
    filled = studies.copy()
    for arm, (n, events) in zip(("HIP protocol", "KNEE protocol"), counts):
        sel = (filled["study_id"] == "ferber2015") & (filled["outcome"] == "success") & (filled["arm"] == arm)
        assert sel.sum() == 1
        filled.loc[sel, ["n", "events", "status"]] = [n, events, "verified"]
    return filled


def test_a_binary_outcome_enters_a_declared_analysis_as_events(studies):
    from analysis import odds_ratio, pool

    spec = get_spec("success_hip_only_vs_knee_only")
    assert run_analysis(spec, studies).k == 0  # the counts are in the full text only
    res = run_analysis(spec, _ferber_success_filled(studies))
    assert res.k == 1
    row = res.effects.iloc[0]
    assert (row["events_e"], row["n_e"], row["events_c"], row["n_c"]) == (61, 111, 40, 88)
    yi, vi = odds_ratio(61, 111, 40, 88)
    assert row["yi"] == pytest.approx(yi[0], rel=1e-15) and row["vi"] == pytest.approx(vi[0], rel=1e-15)
    frame = res.to_frame()
    assert frame["exp_estimate"].iloc[0] == pytest.approx(np.exp(yi[0]), rel=1e-12)
    assert res.overall.estimate == pytest.approx(pool(yi, vi).estimate, rel=1e-15)
    data = res.forest_data()
    assert data.log_scale and data.heading.startswith("Odds Ratio IV, ")
    assert data.favours == ("Favours Knee-only", "Favours Hip-only")  # a ratio above 1: more success with Hip-only
    assert data.studies[["events_e", "events_c"]].iloc[0].tolist() == [61, 40]


def test_a_binary_analysis_in_the_report_shows_ratios(studies):
    from analysis.manojlovic2021.report import results_table

    res = run_analysis(get_spec("success_hip_only_vs_knee_only"), _ferber_success_filled(studies))
    table = results_table([res])
    assert table["estimate"].iloc[0] == pytest.approx(np.exp(res.overall.estimate), rel=1e-12)
    assert table["ci_low"].iloc[0] == pytest.approx(np.exp(res.overall.ci_low), rel=1e-12)


def test_zero_cells_follow_the_named_convention(studies):
    spec = get_spec("success_hip_only_vs_knee_only")
    filled = _ferber_success_filled(studies, counts=((111, 0), (88, 0)))
    metafor = run_analysis(spec, filled)
    assert metafor.k == 1 and metafor.effects["yi"].iloc[0] == pytest.approx(np.log((0.5 / 111.5) / (0.5 / 88.5)))
    assert "0.5 added to each cell" in metafor.effects["notes"].iloc[0]
    revman = run_analysis(spec.with_options(zero_cells="revman5"), filled)
    assert revman.k == 0
    assert "not estimable" in revman.coverage.set_index("study_id").loc["ferber2015", "reason"]


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_a_shared_arm_splits_its_events_with_its_total(tmp_path, measure):
    import csv

    from analysis import odds_ratio, risk_difference, risk_ratio
    from analysis.manojlovic2021.load import STUDY_COLUMNS

    base = dict(study_id="t2020", study="T 2020", citation="T", year=2020, design="RCT", level="arm",
                outcome="success", instrument="success", higher_is_better="true", timepoint_value=6,
                timepoint_unit="weeks", timepoint_from="baseline", treatment_weeks=6, value_type="post",
                reported_as="events", status="verified", source_url="u", quote="q")  # fmt: skip
    arms = [("A", "hip_knee", 30, 12), ("B", "hip_only", 30, 15), ("C", "control", 40, 8)]
    path = tmp_path / "studies.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(STUDY_COLUMNS), restval="")
        w.writeheader()
        w.writerows(dict(base, arm=a, program=p, n=n, events=e) for a, p, n, e in arms)
    spec = AnalysisSpec(name="x", title="x", outcome="success", measure=measure, experimental=("hip_knee", "hip_only"))
    effects, _ = make_contrasts(load_studies(path), spec)
    fn = {"OR": odds_ratio, "RR": risk_ratio, "RD": risk_difference}[measure]
    yi, vi = fn([12, 15], [30, 30], [4, 4], [20, 20])  # the control's 8/40 split in two: 4/20 each
    np.testing.assert_allclose(effects["yi"], yi, rtol=1e-14)
    np.testing.assert_allclose(effects["vi"], vi, rtol=1e-14)
    assert effects["events_c"].tolist() == [4, 4] and effects["split"].tolist() == [2, 2]


@pytest.mark.parametrize(
    "change, column, message",
    [
        ({"reported_as": ""}, "reported_as", "counted as events"),
        ({"events": 300}, "events", "events among"),
    ],
)
def test_bad_binary_rows_are_named(tmp_path, change, column, message):
    import csv

    from analysis import load_studies as load
    from analysis.manojlovic2021.load import default_path
    from analysis.reader import DataError

    src = default_path("studies.csv")
    rows = list(csv.DictReader(open(src, newline="", encoding="utf-8")))
    i = next(i for i, r in enumerate(rows) if r["outcome"] == "success")
    rows[i].update({"n": "111", "events": "61", "status": "verified", **{k: str(v) for k, v in change.items()}})
    out = tmp_path / "studies.csv"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(DataError, match=message) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load(out)
    assert f"column '{column}'" in str(info.value)
