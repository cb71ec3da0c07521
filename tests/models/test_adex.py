"""AdEx: adaptation, the firing patterns of Naud et al. (2008), steady state, numba twin."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from ione.models.neuron.adex import (
    BRETTE_GERSTNER_2005,
    NAUD_2008_ADAPTING,
    NAUD_2008_INITIAL_BURST,
    NAUD_2008_REGULAR_BURSTING,
    NAUD_2008_TONIC,
    AdExParams,
    AdExState,
    adex_initial_state,
    adex_run,
    adex_step,
)
from ione.models.neuron.lif import NeuronInput


def step_response(p: AdExParams, current_na: float, dt_us: int = 20, t_ms: float = 600.0):
    """Spike times (ms) of one cell at rest driven by a current step at t = 0."""
    n_steps = round(t_ms * 1000 / dt_us)
    final, raster = adex_run(adex_initial_state(1, p), p, dt_us, n_steps,
                             i_inj_na=np.full((n_steps, 1), current_na))  # fmt: skip
    return (np.flatnonzero(raster[:, 0]) + 1) * dt_us / 1000.0, final


def test_brette_gerstner_cell_adapts_interspike_intervals_lengthen() -> None:
    times, final = step_response(BRETTE_GERSTNER_2005, 1.0)
    isi = np.diff(times)
    assert times.size > 10
    assert np.all(np.diff(isi[:8]) > 0), isi  # strictly lengthening at first
    assert isi[-1] > 2.0 * isi[0]
    assert abs(isi[-1] - isi[-2]) < 0.05 * isi[-1]  # then it settles to a steady rate
    assert final.w_na[0] > BRETTE_GERSTNER_2005.b_na  # the adaptation current built up


def test_each_spike_adds_b_to_w() -> None:
    p = replace(BRETTE_GERSTNER_2005, a_ns=0.0, tau_w_ms=1e12)
    times, final = step_response(p, 1.0, t_ms=200.0)
    assert final.w_na[0] == pytest.approx(times.size * p.b_na, rel=1e-9)


def test_naud_tonic_spiking_is_regular() -> None:
    times, _ = step_response(NAUD_2008_TONIC, 0.5)
    isi = np.diff(times)[5:]
    assert times.size > 40
    assert np.std(isi) / np.mean(isi) < 0.02


def test_naud_adapting_intervals_grow_several_fold() -> None:
    times, _ = step_response(NAUD_2008_ADAPTING, 0.5)
    isi = np.diff(times)
    assert np.all(np.diff(isi[:6]) > 0)
    assert isi[-1] > 4.0 * isi[0]


def test_naud_initial_burst_then_regular_spiking() -> None:
    times, _ = step_response(NAUD_2008_INITIAL_BURST, 0.4)
    isi = np.diff(times)
    assert np.all(isi[:2] < 10.0)  # a burst of three spikes
    assert np.all(isi[2:] > 40.0)  # then slow regular firing
    assert np.std(isi[4:]) / np.mean(isi[4:]) < 0.02


def test_naud_regular_bursting_alternates_short_and_long_intervals() -> None:
    times, _ = step_response(NAUD_2008_REGULAR_BURSTING, 0.21, t_ms=800.0)
    isi = np.diff(times)
    short, long_ = isi[isi < 10.0], isi[isi > 100.0]
    assert short.size >= 4 and long_.size >= 3
    assert short.size + long_.size == isi.size  # nothing in between: bursts, not tonic firing
    assert long_.min() > 10.0 * short.max()


def test_spike_times_converge_at_first_order_as_dt_shrinks() -> None:
    fine, _ = step_response(BRETTE_GERSTNER_2005, 1.0, dt_us=2, t_ms=300.0)
    errors = []
    for dt_us in (50, 25):
        coarse, _ = step_response(BRETTE_GERSTNER_2005, 1.0, dt_us=dt_us, t_ms=300.0)
        assert coarse.size == fine.size
        errors.append(np.max(np.abs(coarse - fine) / fine))
    assert errors[0] < 0.01  # within 1 % of the converged spike times at dt = 50 µs
    assert 1.6 < errors[0] / errors[1] < 4.0  # and halving dt at least halves the error


def test_subthreshold_current_settles_at_the_fixed_point_of_the_full_equation() -> None:
    # Below rheobase, v settles where g_L (E_L - v) + g_L D exp((v - V_T)/D) - a (v - E_L) + I = 0
    # (w at its steady state a (v - E_L)); solved by bisection on the lower branch.
    p = BRETTE_GERSTNER_2005
    current = 0.3
    g_l, a = p.g_leak_us, p.a_ns / 1000.0

    def f(v: float) -> float:
        exp_term = g_l * p.delta_t_mv * math.exp((v - p.v_thresh_mv) / p.delta_t_mv)
        return g_l * (p.v_rest_mv - v) + exp_term - a * (v - p.v_rest_mv) + current

    lo, hi = p.v_rest_mv, p.v_thresh_mv
    assert f(lo) > 0 > f(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    times, final = step_response(p, current, dt_us=100, t_ms=3000.0)
    assert times.size == 0
    assert final.v_mv[0] == pytest.approx(lo, abs=1e-6)
    assert final.w_na[0] == pytest.approx(a * (lo - p.v_rest_mv), abs=1e-9)


def test_synaptic_conductances_excite_and_inhibit() -> None:
    p = BRETTE_GERSTNER_2005
    rest = adex_initial_state(2, p)
    state, _ = adex_step(rest, NeuronInput(np.array([0.01, 0.0]), np.array([0.0, 0.01])), p, 100)
    for _ in range(20):
        state, _ = adex_step(state, None, p, 100)
    assert state.v_mv[0] > p.v_rest_mv > state.v_mv[1]


def test_run_equals_repeated_steps() -> None:
    p = replace(BRETTE_GERSTNER_2005, tau_refrac_ms=0.25)
    n, n_steps, dt_us = 8, 4000, 50
    rng = np.random.default_rng(5)
    w_exc = rng.exponential(0.01, (n_steps, n)) * (rng.random((n_steps, n)) < 0.05)
    w_inh = rng.exponential(0.01, (n_steps, n)) * (rng.random((n_steps, n)) < 0.02)
    inj = rng.normal(0.6, 0.3, (n_steps, n))
    state0 = adex_initial_state(n, p, np.random.default_rng(6))
    state, spikes = state0, []
    for k in range(n_steps):
        state, s = adex_step(state, NeuronInput(w_exc[k], w_inh[k], inj[k]), p, dt_us)
        spikes.append(s)
    final, raster = adex_run(state0, p, dt_us, n_steps, w_exc, w_inh, inj)
    assert raster.sum() > 30
    np.testing.assert_array_equal(raster, np.array(spikes))
    for name in ("v_mv", "w_na", "g_e_us", "g_i_us"):
        np.testing.assert_allclose(
            getattr(final, name), getattr(state, name), rtol=1e-11, atol=1e-11
        )


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("tau_w_ms", -1.0, "tau_w_ms must be > 0"),
        ("delta_t_mv", 0.0, "delta_t_mv must be > 0"),
        ("a_ns", float("nan"), "a_ns must be finite"),
        ("v_spike_mv", -60.0, "must be below v_spike_mv"),
        ("c_m_nf", -0.1, "c_m_nf must be > 0"),
    ],
)
def test_bad_parameters_name_the_field(field: str, value: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        replace(BRETTE_GERSTNER_2005, **{field: value})


def test_bad_state_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"AdExState.w_na has 1 values for 2 neurons"):
        AdExState(np.zeros(2), np.zeros(1), np.zeros(2), np.zeros(2), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match=r"AdExState.v_mv contains NaN"):
        AdExState(np.array([np.nan]), np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1, np.int64))
    state = adex_initial_state(2, BRETTE_GERSTNER_2005)
    with pytest.raises(ValueError, match="w_inh must have shape"):
        adex_run(state, BRETTE_GERSTNER_2005, 100, 3, w_inh=np.zeros(3))


def test_preset_values_are_the_published_ones() -> None:
    p = BRETTE_GERSTNER_2005
    assert p.c_m_nf * 1e3 == pytest.approx(281.0)
    assert p.g_leak_us * 1e3 == pytest.approx(30.0)
    assert (p.v_rest_mv, p.v_thresh_mv, p.delta_t_mv) == (-70.6, -50.4, 2.0)
    assert (p.tau_w_ms, p.a_ns, p.b_na) == (144.0, 4.0, 0.0805)
    assert NAUD_2008_REGULAR_BURSTING.g_leak_us * 1e3 == pytest.approx(10.0)
    assert NAUD_2008_INITIAL_BURST.c_m_nf * 1e3 == pytest.approx(130.0)
