"""Effect sizes against metafor 3.8-1 escalc (pinned in metafor_reference.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tolerances import RTOL_EXACT

from analysis.stats import effects


def _compute(row):
    a = {k: np.asarray(v, dtype=float) for k, v in row["inputs"].items()}
    m, conv = row["measure"], row["convention"]
    if m == "MD":
        return effects.mean_difference(a["m1"], a["sd1"], a["n1"], a["m2"], a["sd2"], a["n2"], pooled_sd=conv == "HO")
    if m == "SMD":
        return effects.hedges_g(a["m1"], a["sd1"], a["n1"], a["m2"], a["sd2"], a["n2"], convention=conv)
    if m == "MC":
        return effects.mean_change(a["m1"], a["m2"], a["sd1"], a["sd2"], a["n"], a["r"])
    if m == "SMCC":
        return effects.smcc(a["m1"], a["m2"], a["sd1"], a["sd2"], a["n"], a["r"])
    if m == "SMCR":
        return effects.smcr(a["m1"], a["m2"], a["sd1"], a["n"], a["r"])
    if m == "CI":
        return effects.from_ci(a["estimate"], a["lower"], a["upper"])
    raise AssertionError(m)


def test_reference_grid_is_complete(ref):
    got = {(r["measure"], r["convention"]) for r in ref["effects"]}
    want = {("MD", "LS"), ("MD", "HO"), ("CI", "z"), ("MC", "LS"), ("SMCC", "LS"), ("SMCR", "LS")}
    want |= {("SMD", c) for c in effects.SMD_CONVENTIONS}
    assert got == want


@pytest.mark.parametrize("i", range(12))
def test_effects_match_metafor(ref, i):
    row = ref["effects"][i]
    yi, vi = _compute(row)
    np.testing.assert_allclose(yi, row["yi"], rtol=RTOL_EXACT)
    np.testing.assert_allclose(vi, row["vi"], rtol=RTOL_EXACT)


def test_hedges_correction_values_from_conventions_note():
    # ../shared/design/conventions.md: N=10 gives 0.902703 (exact) vs 0.903226 (approximate).
    assert effects.hedges_correction(8) == pytest.approx(0.902703, abs=5e-7)
    assert effects.hedges_correction(8, exact=False) == pytest.approx(0.903226, abs=5e-7)
    assert effects.hedges_correction(18) == pytest.approx(0.957646, abs=5e-7)


@pytest.mark.parametrize(
    "n, ls, ub, rm",
    [(5, 0.410186, 0.416218, 0.416828), (10, 0.205732, 0.207049, 0.207139), (50, 0.041231, 0.041279, 0.041281)],
)
def test_smd_variance_table_from_conventions_note(n, ls, ub, rm):
    # d = 0.5 with n1 = n2 = n: the table in conventions.md section 4.1.
    for conv, want in (("metafor", ls), ("unbiased", ub), ("revman5", rm)):
        _, vi = effects.hedges_g(0.5, 1.0, n, 0.0, 1.0, n, convention=conv)  # d = 0.5, g = J d
        assert vi == pytest.approx(want, abs=5e-7), conv


def test_swapping_arms_negates_md_and_smd():
    args = (3.0, 1.2, 20, 2.1, 1.5, 25)
    swapped = (2.1, 1.5, 25, 3.0, 1.2, 20)
    for f in (effects.mean_difference, effects.hedges_g):
        y1, v1 = f(*args)
        y2, v2 = f(*swapped)
        assert y1 == pytest.approx(-y2) and v1 == pytest.approx(v2)


def test_series_in_arrays_out_and_inputs_untouched():
    m1 = pd.Series([1.0, 2.0])
    before = m1.copy()
    yi, vi = effects.mean_difference(m1, [1, 1], [10, 10], [0, 0], [1, 1], [10, 10])
    assert isinstance(yi, np.ndarray) and isinstance(vi, np.ndarray) and yi.shape == (2,)
    pd.testing.assert_series_equal(m1, before)


def test_from_ci_and_from_se():
    yi, vi = effects.from_ci(1.0, -4.6, 6.6)
    assert vi == pytest.approx(((6.6 + 4.6) / (2 * 1.959963984540054)) ** 2, rel=1e-12)
    yi, vi = effects.from_se([0.5, 1.0], [0.1, 0.2])
    np.testing.assert_allclose(vi, [0.01, 0.04])


@pytest.mark.parametrize(
    "call",
    [
        lambda: effects.mean_difference(1, 0, 10, 0, 1, 10),
        lambda: effects.mean_difference(1, 1, 1, 0, 1, 10),
        lambda: effects.mean_difference([1, 2], 1, 10, [0, 1, 2], 1, 10),
        lambda: effects.hedges_g(1, 1, 10, 0, 1, 10, convention="cohen"),
        lambda: effects.smcc(1, 0, 1, 1, 10, 1.5),
        lambda: effects.from_ci(7.0, -4.6, 6.6),
        lambda: effects.from_ci(1.0, 6.6, -4.6),
        lambda: effects.from_se(1.0, 0.0),
    ],
)
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


def test_combine_arms_is_the_sd_of_the_pooled_sample():
    """Cochrane Handbook Table 6.5.a, checked against the two samples pooled."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(2, 1.5, 17), rng.normal(3.5, 2.5, 29)
    n, m, sd = effects.combine_arms(len(a), a.mean(), a.std(ddof=1), len(b), b.mean(), b.std(ddof=1))
    both = np.concatenate([a, b])
    assert n == 46 and m == pytest.approx(both.mean(), rel=1e-13) and sd == pytest.approx(both.std(ddof=1), rel=1e-13)
