"""Conversions pinned to metafor 5 (conv.fivenum, conv.wald) and to the Cochrane Handbook formulas
computed in R (tests/reference/conversions_reference.R)."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import (
    FIVENUM_METHODS,
    MissingDataWarning,
    change_sd,
    mean_sd_from_fivenum,
    r_from_sds,
    sd_from_ci,
    sd_from_se,
    se_from_ci,
    se_from_p,
    se_from_t,
)
from analysis.stats.conversions import SCENARIOS

REF = json.loads((Path(__file__).parent / "reference" / "conversions_reference.json").read_text())
GRID = {k: np.array([np.nan if row.get(k) is None else row[k] for row in REF["grid"]]) for k in REF["grid"][0]}


def _scenario(i):
    given_ = [not np.isnan(GRID[k][i]) for k in ("min", "q1", "q3", "max")]
    return {(True, False, False, True): SCENARIOS[0], (False, True, True, False): SCENARIOS[1]}.get(
        tuple(given_), SCENARIOS[2]
    )


SCEN = np.array([_scenario(i) for i in range(len(GRID["n"]))])


def _nan(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize("case", REF["fivenum"], ids=lambda c: f"{'+'.join(c['method'])}-test{c['test']}")
def test_fivenum_matches_metafor5(case):
    m_mean, m_sd = case["method"]
    mean_r, sd_r = _nan(case["mean"]), _nan(case["sd"])
    for scen in SCENARIOS:
        rows = SCEN == scen
        ok = scen in FIVENUM_METHODS[m_mean]["mean"] and scen in FIVENUM_METHODS[m_sd]["sd"]
        args = dict(
            median=GRID["median"][rows],
            q1=GRID["q1"][rows],
            q3=GRID["q3"][rows],
            minimum=GRID["min"][rows],
            maximum=GRID["max"][rows],
            method=(m_mean, m_sd),
            test=case["test"],
        )
        if not ok:  # metafor gives NA; this library says why
            assert np.all(np.isnan(mean_r[rows]) | np.isnan(sd_r[rows]))
            with pytest.raises(ValueError, match="has no (mean|sd) formula"):
                mean_sd_from_fivenum(GRID["n"][rows], **args)
            continue
        res = mean_sd_from_fivenum(GRID["n"][rows], **args)
        np.testing.assert_allclose(res.mean, mean_r[rows], rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(res.sd, sd_r[rows], rtol=1e-9 if m_sd == "walter2007" else 1e-12, equal_nan=True)
        np.testing.assert_allclose(res.skew_statistic, _nan(case["tval"])[rows], rtol=1e-12)
        np.testing.assert_allclose(res.skew_critical, _nan(case["crit"])[rows], rtol=1e-12)
        np.testing.assert_array_equal(res.skewed, np.array(case["sig"])[rows])
        assert (res.reason[res.skewed] != "").all() if case["test"] else (res.reason == "").all()


def test_fivenum_reference_covers_every_method_and_skewed_rows():
    used = {m for case in REF["fivenum"] for m in case["method"]}
    assert used == set(FIVENUM_METHODS)
    assert any(any(case["sig"]) for case in REF["fivenum"])


def test_fivenum_result_protocol_and_derivation():
    r = mean_sd_from_fivenum([40, 4], median=[12.0, 3.0], q1=[9.0, 2.0], q3=[16.0, 5.0])
    frame = r.to_frame()
    assert list(frame["reason"]) == ["", "n < 5"]
    assert np.isnan(frame["mean"][1])
    assert frame["derivation"][0] == "derived: mean (Luo et al. 2016) and SD (Wan et al. 2014) from quartiles (n = 40)"
    assert "1 of 2 estimated" in r.summary()
    assert "<table" in r._repr_html_()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(median=5.0, q1=6.0, q3=7.0), "min <= q1"),
        (dict(median=5.0, q1=4.0), "either min and max"),
        (dict(median=5.0, minimum=1.0, maximum=9.0, method="nope"), "no mean method"),
        (dict(median=5.0, minimum=1.0, maximum=9.0, method="shi2020"), "no mean method"),
        (dict(median=5.0, q1=4.0, q3=7.0, method="hozo2005"), "no mean formula for quartiles"),
    ],
)
def test_fivenum_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mean_sd_from_fivenum(30, **kwargs)


def test_se_from_ci_and_p_match_conv_wald():
    w = REF["wald"]
    np.testing.assert_allclose(se_from_ci(w["lb"], w["ub"]), w["se95"], rtol=1e-13)
    np.testing.assert_allclose(se_from_ci(w["lb"], w["ub"], level=0.90), w["se90"], rtol=1e-13)
    np.testing.assert_allclose(se_from_p(w["est"], w["pval"]), w["se_p"], rtol=1e-13)


def test_handbook_formulas_match_r():
    h = REF["handbook"]
    c = h["sd_from_ci_t"]
    np.testing.assert_allclose(sd_from_ci(c["lower"], c["upper"], c["n"]), c["sd"], rtol=1e-13)
    c = h["sd_from_ci_z90"]
    np.testing.assert_allclose(sd_from_ci(c["lower"], c["upper"], c["n"], level=0.9, dist="z"), c["sd"], rtol=1e-13)
    c = h["se_from_ci_t"]
    np.testing.assert_allclose(se_from_ci(c["lower"], c["upper"], dist="t", df=c["df"]), c["se"], rtol=1e-13)
    c = h["se_from_p_t"]
    np.testing.assert_allclose(se_from_p(c["est"], c["p"], dist="t", df=c["df"]), c["se"], rtol=1e-13)


def test_simple_conversions_and_errors():
    assert sd_from_se(1.5, 25) == pytest.approx(7.5)
    assert se_from_t(2.0, -4.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-zero"):
        se_from_t(2.0, 0.0)
    with pytest.raises(ValueError, match="exact two-sided"):
        se_from_p(1.0, 0.0)
    with pytest.raises(ValueError, match="degrees of freedom"):
        se_from_ci(0.0, 1.0, dist="t")
    with pytest.raises(ValueError, match="upper - lower"):
        sd_from_ci(2.0, 1.0, 20)
    with pytest.raises(ValueError, match="inconsistent"):
        r_from_sds(1.0, 1.0, 3.0)


@given(
    st.floats(0.1, 50),
    st.floats(0.1, 50),
    st.floats(-0.99, 0.99),
)
def test_r_from_sds_inverts_change_sd(sd_pre, sd_post, r):
    sd_change = change_sd(sd_pre, sd_post, r)
    assert r_from_sds(sd_pre, sd_post, sd_change) == pytest.approx(r, abs=1e-8)


@given(st.floats(0.01, 100), st.integers(2, 500), st.sampled_from([0.9, 0.95, 0.99]))
def test_sd_from_ci_inverts_the_t_interval(sd, n, level):
    from scipy import stats

    half = stats.t.ppf((1 + level) / 2, n - 1) * sd / np.sqrt(n)
    assert sd_from_ci(3.0 - half, 3.0 + half, n, level=level) == pytest.approx(sd, rel=1e-10)


def _filled(tmp_path, values: dict[int, dict]):
    """The bundled studies.csv with some not-public arm rows filled as an extractor would, from printed forms."""
    import pandas as pd

    from analysis.manojlovic2021.load import default_path

    text = pd.read_csv(default_path("studies.csv"), dtype=str, keep_default_na=False)
    for i, cells in values.items():
        text.loc[i, list(cells)] = list(cells.values())
        text.loc[i, ["status", "missing", "location"]] = ["verified", "", ""]
    path = tmp_path / "studies.csv"
    text.to_csv(path, index=False)
    return text, path


def _ferber_rows(text):
    rows = text.index[(text["study_id"] == "ferber2015") & (text["instrument"] == "AKPS") & (text["level"] == "arm")]
    hip = next(i for i in rows if text.loc[i, "program"] == "hip_only")
    knee = next(i for i in rows if text.loc[i, "program"] == "knee_only")
    return hip, knee


def _ferber_printed_forms(tmp_path):
    """studies.csv with Ferber 2015's AKPS arms filled as printed: hip as median and quartiles (n 60), knee as
    mean with a 95% CI (n 50)."""
    import pandas as pd

    from analysis.manojlovic2021.load import default_path

    hip, knee = _ferber_rows(pd.read_csv(default_path("studies.csv"), dtype=str, keep_default_na=False))
    _, path = _filled(
        tmp_path,
        {
            hip: dict(n="60", reported_as="median_iqr", median="85", q1="77", q3="92"),
            knee: dict(n="50", reported_as="mean_ci", mean="83.1", ci_low="80.2", ci_high="86.0", ci_level="0.95"),
        },
    )
    return path


def test_printed_forms_are_converted_in_the_pipeline_and_say_so(tmp_path):

    from analysis import get_spec, load_studies, mean_difference
    from analysis.manojlovic2021.contrasts import make_contrasts

    path = _ferber_printed_forms(tmp_path)
    with pytest.warns(MissingDataWarning):
        studies = load_studies(path)
    effects, _ = make_contrasts(studies, get_spec("function_hip_only_vs_knee_only"))
    row = effects[effects["study_id"] == "ferber2015"].iloc[0]
    m_h = mean_sd_from_fivenum(60, median=85.0, q1=77.0, q3=92.0)
    sd_k = sd_from_ci(80.2, 86.0, 50)
    yi, vi = mean_difference(float(m_h.mean), float(m_h.sd), 60, 83.1, float(sd_k), 50)
    assert row["yi"] == pytest.approx(float(yi), rel=1e-12) and row["vi"] == pytest.approx(float(vi), rel=1e-12)
    assert "derived: mean (Luo et al. 2016) and SD (Wan et al. 2014) from quartiles (n = 60)" in row["notes"]
    assert "derived: SD from the 95% CI of the mean (t, 49 df)" in row["notes"]
    wan = make_contrasts(studies, get_spec("function_hip_only_vs_knee_only").with_options(median_method="wan2014"))[0]
    assert wan[wan["study_id"] == "ferber2015"]["yi"].iloc[0] != pytest.approx(row["yi"])  # the decision matters


def test_skewed_median_is_not_used_and_coverage_says_why(tmp_path):
    import pandas as pd

    from analysis import get_spec, load_studies
    from analysis.manojlovic2021.contrasts import make_contrasts
    from analysis.manojlovic2021.load import default_path

    hip, knee = _ferber_rows(pd.read_csv(default_path("studies.csv"), dtype=str, keep_default_na=False))
    _, path = _filled(
        tmp_path,
        {
            hip: dict(n="60", reported_as="median_range", median="90", minimum="20", maximum="95"),
            knee: dict(n="50", reported_as="mean_se", mean="83.1", se="1.4"),
        },
    )
    with pytest.warns(MissingDataWarning):
        studies = load_studies(path)
    effects, coverage = make_contrasts(studies, get_spec("function_hip_only_vs_knee_only"))
    assert "ferber2015" not in set(effects["study_id"])
    reason = coverage.loc[coverage["study_id"] == "ferber2015", "reason"].iloc[0]
    assert "skewed" in reason and "median range" in reason


@pytest.mark.parametrize(
    "cells, message",
    [
        (dict(n="60", reported_as="median_iqr", median="85", q1="88", q3="92"), "median 85 is below q1 88"),
        (dict(n="60", reported_as="median_iqr", median="85", q1="78", q3="92", sd="4"), "leave sd empty"),
        (dict(n="60", reported_as="mean_se", mean="85"), "'verified' needs all of ['n', 'mean', 'se']"),
        (dict(n="60", reported_as="mean_ci", mean="85", ci_low="86", ci_high="90", ci_level="0.95"), "outside its CI"),
    ],
)
def test_loader_checks_printed_forms(tmp_path, cells, message):
    import pandas as pd

    from analysis import DataError, load_studies
    from analysis.manojlovic2021.load import default_path

    hip, _ = _ferber_rows(pd.read_csv(default_path("studies.csv"), dtype=str, keep_default_na=False))
    _, path = _filled(tmp_path, {hip: cells})
    with pytest.raises(DataError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_studies(path)


def test_prepost_correlation_from_trials_reporting_all_three_sds():
    import pandas as pd

    from analysis import get_spec
    from analysis.manojlovic2021.contrasts import _correlation, prepost_correlations

    base = dict(study_id="t1", study="T1", arm="A", level="arm", outcome="pain", instrument="VAS",
                timepoint_value=6.0, timepoint_unit="weeks", timepoint_from="baseline", treatment_weeks=6.0)  # fmt: skip
    rows = [
        {**base, "value_type": "baseline", "sd": 2.0, "timepoint_value": 0.0},
        {**base, "value_type": "post", "sd": 2.5},
        {**base, "value_type": "change", "sd": 2.1},
        {**base, "arm": "B", "value_type": "baseline", "sd": 1.8, "timepoint_value": 0.0},
        {**base, "arm": "B", "value_type": "post", "sd": 2.2},  # no change SD: no r
    ]
    found = prepost_correlations(pd.DataFrame(rows))
    assert list(found["arm"]) == ["A"]
    assert found["r"].iloc[0] == pytest.approx(r_from_sds(2.0, 2.5, 2.1))
    spec = get_spec("pain_hip_knee_vs_knee_only").with_options(prepost_r="trials")
    r, how = _correlation(found, spec)
    assert r == pytest.approx(found["r"].iloc[0]) and "mean of 1 arm(s)" in how
    r, how = _correlation(prepost_correlations(pd.DataFrame(rows[:2])), spec)
    assert r is None and "no trial reports" in how
    with pytest.raises(ValueError, match="'trials'"):
        spec.with_options(prepost_r="some")


def test_report_says_how_each_derived_number_was_derived(tmp_path):
    import pandas as pd

    from analysis.manojlovic2021.build import reproduce

    path = _ferber_printed_forms(tmp_path)
    reproduce(tmp_path / "out", path)
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "### Derived numbers" in report
    assert "Ferber 2015" in report and "derived: SD from the 95% CI of the mean (t, 49 df)" in report
    effects = pd.read_csv(tmp_path / "out" / "tables" / "effects_function_hip_only_vs_knee_only.csv")
    assert effects["notes"].str.contains("derived: mean (Luo et al. 2016)", regex=False).any()
