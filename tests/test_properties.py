"""Property-based invariants (hypothesis), applied to every tau^2 estimator and test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis import pool
from analysis.stats.engine import TAU2_METHODS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def meta_data(draw, min_k=2, max_k=12):
    k = draw(st.integers(min_k, max_k))
    y = draw(arrays(float, k, elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False)))
    v = draw(arrays(float, k, elements=st.floats(1e-3, 5, allow_nan=False, allow_infinity=False)))
    return y, v


def _fields(res):
    return np.array([res.estimate, res.se, res.tau2, res.q, res.i2, res.ci_low, res.ci_high])


@pytest.mark.parametrize("method", TAU2_METHODS)
@SETTINGS
@given(data=meta_data(), seed=st.integers(0, 2**32 - 1))
def test_permutation_invariance(method, data, seed):
    y, v = data
    perm = np.random.default_rng(seed).permutation(len(y))
    a, b = pool(y, v, method=method), pool(y[perm], v[perm], method=method)
    np.testing.assert_allclose(_fields(a), _fields(b), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("method", TAU2_METHODS)
@SETTINGS
@given(data=meta_data(), shift=st.floats(-50, 50))
def test_location_equivariance(method, data, shift):
    y, v = data
    a, b = pool(y, v, method=method), pool(y + shift, v, method=method)
    assert b.estimate == pytest.approx(a.estimate + shift, rel=1e-7, abs=1e-7)
    np.testing.assert_allclose([b.se, b.tau2, b.q, b.i2], [a.se, a.tau2, a.q, a.i2], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("method", TAU2_METHODS)
@SETTINGS
@given(data=meta_data(), scale=st.floats(0.05, 20))
def test_scale_equivariance(method, data, scale):
    y, v = data
    a, b = pool(y, v, method=method), pool(scale * y, scale**2 * v, method=method)
    assert b.estimate == pytest.approx(scale * a.estimate, rel=1e-6, abs=1e-8)
    assert b.tau2 == pytest.approx(scale**2 * a.tau2, rel=1e-6, abs=1e-8)
    assert b.i2 == pytest.approx(a.i2, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("method", TAU2_METHODS)
@pytest.mark.parametrize("test", ["z", "t", "knha", "adhoc"])
@SETTINGS
@given(data=meta_data(min_k=1))
def test_bounds(method, test, data):
    y, v = data
    res = pool(y, v, method=method, test=test)
    assert res.tau2 >= 0
    if res.k > 1:
        assert 0 <= res.i2 <= 1
        assert res.q >= 0
    assert res.ci_low <= res.estimate <= res.ci_high
    assert res.pi_low <= res.ci_low + 1e-12 and res.pi_high >= res.ci_high - 1e-12
    fixed = pool(y, v, method="EE")
    if test == "z":
        assert res.se >= fixed.se * (1 - 1e-12)


@pytest.mark.parametrize("method", TAU2_METHODS)
@SETTINGS
@given(value=st.floats(-5, 5), v=arrays(float, st.integers(2, 10), elements=st.floats(1e-3, 5)))
def test_identical_effects_give_no_heterogeneity(method, value, v):
    y = np.full(len(v), value)
    res, fixed = pool(y, v, method=method), pool(y, v, method="EE")
    assert res.tau2 == 0 and res.q == pytest.approx(0, abs=1e-20)
    assert res.estimate == pytest.approx(fixed.estimate) and res.se == pytest.approx(fixed.se)


@SETTINGS
@given(data=meta_data())
def test_duplicating_studies_halves_fixed_variance(data):
    y, v = data
    a = pool(y, v, method="EE")
    b = pool(np.concatenate([y, y]), np.concatenate([v, v]), method="EE")
    assert b.estimate == pytest.approx(a.estimate, rel=1e-9, abs=1e-12)
    assert b.se == pytest.approx(a.se / np.sqrt(2), rel=1e-9)
