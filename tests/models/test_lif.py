"""LIF cells: exact integration, f-I curve, refractoriness, reversal potentials, numba twin."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from ione.models.neuron.lif import (
    BRETTE_2007_COBA,
    DYNAPSE_LIF_SURROGATE,
    PYNN_IF_COND_EXP,
    PYNN_IF_CURR_EXP,
    LIFCondParams,
    LIFCondState,
    LIFCurrParams,
    LIFCurrState,
    NeuronInput,
    lif_cond_initial_state,
    lif_cond_run,
    lif_cond_step,
    lif_curr_initial_state,
    lif_curr_run,
    lif_curr_step,
)


def spike_times_us(raster: np.ndarray, dt_us: int, column: int = 0) -> np.ndarray:
    return (np.flatnonzero(raster[:, column]) + 1) * dt_us


# ------------------------------------------------------------------------- current-based
@pytest.mark.parametrize(("dt_us", "t_ref_ms"), [(100, 2.0), (100, 0.25), (25, 1.0)])
def test_f_i_curve_matches_the_analytic_interval_on_the_time_grid(
    dt_us: int, t_ref_ms: float
) -> None:
    # Constant current I: v relaxes to v_inf = v_rest + I tau/C and crosses threshold after
    # T = tau ln((v_inf - v_reset)/(v_inf - v_thresh)). With exact integration and spikes on the
    # grid, every interval is the first grid time after t_ref + T.
    p = replace(PYNN_IF_CURR_EXP, tau_refrac_ms=t_ref_ms)
    currents = np.array([0.5, 0.76, 0.8, 1.0, 1.5, 3.0, 10.0])
    n_steps = 2_000_000 // dt_us  # 2 s
    state = lif_curr_initial_state(currents.size, p)
    state = LIFCurrState(np.full(currents.size, p.v_reset_mv), state.i_syn_e_na, state.i_syn_i_na,
                         state.refrac_left_us)  # fmt: skip
    _, raster = lif_curr_run(state, p, dt_us, n_steps, i_inj_na=np.tile(currents, (n_steps, 1)))
    for k, current in enumerate(currents):
        v_inf = p.v_rest_mv + current * p.tau_m_ms / p.c_m_nf
        times = spike_times_us(raster, dt_us, k)
        if v_inf <= p.v_thresh_mv:
            assert times.size == 0, current
            continue
        t_cross_ms = p.tau_m_ms * math.log((v_inf - p.v_reset_mv) / (v_inf - p.v_thresh_mv))
        first = dt_us * math.ceil(t_cross_ms * 1000 / dt_us)
        isi = dt_us * math.ceil((t_ref_ms + t_cross_ms) * 1000 / dt_us - 1e-9)
        assert times[0] == first, current
        assert np.all(np.diff(times) == isi), (current, np.unique(np.diff(times)), isi)
        rate_hz = 1000.0 / (t_ref_ms + t_cross_ms)
        measured_hz = (times.size - 1) / ((times[-1] - times[0]) * 1e-6)
        assert measured_hz == pytest.approx(rate_hz, rel=dt_us * 1e-3 * rate_hz / 1000 + 1e-12)


def test_psp_follows_the_closed_form_difference_of_exponentials() -> None:
    p = replace(PYNN_IF_CURR_EXP, tau_syn_e_ms=5.0, tau_m_ms=20.0, v_thresh_mv=0.0)
    dt_us, n_steps, w_na = 100, 1000, 2.0
    w = np.zeros((n_steps, 1))
    w[0, 0] = w_na
    state = lif_curr_initial_state(1, p)
    v = [state.v_mv[0]]
    for k in range(n_steps):
        state, _ = lif_curr_step(state, NeuronInput(w[k], np.zeros(1)), p, dt_us)
        v.append(state.v_mv[0])
    t = np.arange(n_steps + 1) * dt_us / 1000.0
    tm, ts = p.tau_m_ms, p.tau_syn_e_ms
    expected = p.v_rest_mv + w_na / p.c_m_nf * tm * ts / (ts - tm) * (
        np.exp(-t / ts) - np.exp(-t / tm)
    )
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-12)
    # Equal time constants: the alpha-shaped limit t exp(-t/tau).
    p_eq = replace(p, tau_syn_e_ms=p.tau_m_ms)
    state = lif_curr_initial_state(1, p_eq)
    state, _ = lif_curr_step(state, NeuronInput(np.array([w_na]), np.zeros(1)), p_eq, 7000)
    expected_eq = p.v_rest_mv + w_na / p.c_m_nf * 7.0 * math.exp(-7.0 / tm)
    assert state.v_mv[0] == pytest.approx(expected_eq, abs=1e-12)


def test_silicon_surrogate_fires_on_one_event_above_w_byte_191() -> None:
    p = DYNAPSE_LIF_SURROGATE
    w_bytes = np.array([64, 191, 192, 255])
    n_steps = 500
    w = np.zeros((n_steps, 4))
    w[0] = w_bytes / 255.0
    free = replace(p, v_thresh_mv=100.0)
    final, _ = lif_curr_run(lif_curr_initial_state(4, free), free, 100, 139, w_exc=w[:139])
    assert final.v_mv[3] - p.v_rest_mv == pytest.approx(20.0, rel=1e-3)  # peak at 13.9 ms
    _, raster = lif_curr_run(lif_curr_initial_state(4, p), p, 100, n_steps, w_exc=w)
    np.testing.assert_array_equal(raster.sum(axis=0), [0, 0, 1, 1])


def test_inhibitory_input_hyperpolarises_and_both_currents_decay_exactly() -> None:
    p = PYNN_IF_CURR_EXP
    state = lif_curr_initial_state(1, p)
    state, _ = lif_curr_step(state, NeuronInput(np.zeros(1), np.array([3.0])), p, 1000)
    assert state.v_mv[0] < p.v_rest_mv
    assert state.i_syn_i_na[0] == pytest.approx(3.0 * math.exp(-1.0 / p.tau_syn_i_ms), rel=1e-15)


def test_refractory_period_clamps_v_and_blocks_spikes() -> None:
    p = replace(PYNN_IF_CURR_EXP, tau_refrac_ms=3.0)
    dt_us = 100
    state = lif_curr_initial_state(1, p)
    huge = NeuronInput(np.zeros(1), np.zeros(1), np.array([500.0]))
    spikes, v = [], []
    for _ in range(200):
        state, s = lif_curr_step(state, huge, p, dt_us)
        spikes.append(bool(s[0]))
        v.append(state.v_mv[0])
    times = np.flatnonzero(spikes)
    # Infinite drive: the neuron fires at the first step after each refractory period.
    assert np.all(np.diff(times) == 3000 // dt_us + 1)
    for t0 in times[:-1]:
        assert np.all(np.array(v[t0 : t0 + 3000 // dt_us + 1]) == p.v_reset_mv)


def test_mid_step_release_integrates_the_rest_of_the_step() -> None:
    # t_ref = 0.25 ms with dt = 0.1 ms: released 0.05 ms into the third step after the spike.
    p = replace(PYNN_IF_CURR_EXP, tau_refrac_ms=0.25, i_offset_na=0.5)
    state = LIFCurrState(np.array([p.v_reset_mv]), np.zeros(1), np.zeros(1), np.array([250]))
    for _ in range(2):
        state, _ = lif_curr_step(state, None, p, 100)
        assert state.v_mv[0] == p.v_reset_mv
    state, _ = lif_curr_step(state, None, p, 100)
    v_inf = p.v_rest_mv + 0.5 * p.tau_m_ms / p.c_m_nf
    expected = v_inf + (p.v_reset_mv - v_inf) * math.exp(-0.05 / p.tau_m_ms)
    assert state.v_mv[0] == pytest.approx(expected, abs=1e-12)
    assert state.refrac_left_us[0] == 0


# ---------------------------------------------------------------------- conductance-based
def test_excitatory_conductance_saturates_at_its_reversal_potential() -> None:
    # Constant conductances (tau_syn far longer than the run): v settles exactly at
    # (g_L E_L + g_e E_e)/(g_L + g_e), approaching E_e but never passing it, however strong.
    p = replace(PYNN_IF_COND_EXP, v_thresh_mv=20.0, tau_syn_e_ms=1e300, e_rev_e_mv=0.0)
    g_e = np.array([0.0, 0.01, 0.1, 1.0, 10.0, 1000.0])
    state = LIFCondState(np.full(g_e.size, p.v_rest_mv), g_e, np.zeros(g_e.size),
                         np.zeros(g_e.size, np.int64))  # fmt: skip
    final, raster = lif_cond_run(state, p, 100, 5000)
    g_l = p.g_leak_us
    expected = (g_l * p.v_rest_mv + g_e * p.e_rev_e_mv) / (g_l + g_e)
    np.testing.assert_allclose(final.v_mv, expected, rtol=0, atol=1e-9)
    assert not raster.any()
    assert np.all(final.v_mv <= p.e_rev_e_mv)
    assert np.all(np.diff(final.v_mv) > 0)
    assert p.e_rev_e_mv - final.v_mv[-1] < 0.01


def test_inhibitory_conductance_pulls_towards_e_rev_i_from_either_side() -> None:
    p = replace(PYNN_IF_COND_EXP, tau_syn_i_ms=1e300)
    v0 = np.array([-90.0, -60.0, -52.0])
    state = LIFCondState(v0, np.zeros(3), np.full(3, 100.0), np.zeros(3, np.int64))
    final, _ = lif_cond_run(state, p, 100, 200)
    np.testing.assert_allclose(final.v_mv, p.e_rev_i_mv, atol=0.02)


def test_conductance_psp_peaks_below_threshold_and_scales_sublinearly() -> None:
    # Driving force shrinks as v rises: doubling the conductance less than doubles the PSP.
    p = BRETTE_2007_COBA
    peaks = []
    for w in (0.006, 0.012):
        state = lif_cond_initial_state(1, p)
        state, _ = lif_cond_step(state, NeuronInput(np.array([w]), np.zeros(1)), p, 100)
        vmax = state.v_mv[0]
        for _ in range(300):
            state, _ = lif_cond_step(state, None, p, 100)
            vmax = max(vmax, state.v_mv[0])
        peaks.append(vmax - p.v_rest_mv)
    assert 4.0 < peaks[0] < 7.0  # 6 nS at rest: a large PSP, as in Vogels & Abbott (2005)
    assert 1.7 * peaks[0] < peaks[1] < 1.95 * peaks[0]


# --------------------------------------------------------------------------- numba twins
def _random_inputs(n_steps: int, n: int, scale: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    w_exc = rng.exponential(scale, (n_steps, n)) * (rng.random((n_steps, n)) < 0.1)
    w_inh = rng.exponential(scale, (n_steps, n)) * (rng.random((n_steps, n)) < 0.05)
    inj = rng.normal(0.5, 0.3, (n_steps, n))
    return w_exc, w_inh, inj


def test_curr_run_equals_repeated_steps() -> None:
    p = replace(PYNN_IF_CURR_EXP, tau_refrac_ms=0.25, tau_syn_i_ms=8.0)
    n, n_steps, dt_us = 16, 3000, 100
    w_exc, w_inh, inj = _random_inputs(n_steps, n, 1.0, 1)
    state0 = lif_curr_initial_state(n, p, np.random.default_rng(2))
    state, spikes = state0, []
    for k in range(n_steps):
        state, s = lif_curr_step(state, NeuronInput(w_exc[k], w_inh[k], inj[k]), p, dt_us)
        spikes.append(s)
    final, raster = lif_curr_run(state0, p, dt_us, n_steps, w_exc, w_inh, inj)
    assert raster.sum() > 50
    np.testing.assert_array_equal(raster, np.array(spikes))
    for name in ("v_mv", "i_syn_e_na", "i_syn_i_na"):
        np.testing.assert_allclose(
            getattr(final, name), getattr(state, name), rtol=1e-12, atol=1e-12
        )
    np.testing.assert_array_equal(final.refrac_left_us, state.refrac_left_us)
    np.testing.assert_array_equal(
        state0.v_mv, lif_curr_initial_state(n, p, np.random.default_rng(2)).v_mv
    )


def test_cond_run_equals_repeated_steps() -> None:
    p = replace(BRETTE_2007_COBA, tau_refrac_ms=2.05)
    n, n_steps, dt_us = 16, 3000, 100
    w_exc, w_inh, inj = _random_inputs(n_steps, n, 0.01, 3)
    state0 = lif_cond_initial_state(n, p, np.random.default_rng(4))
    state, spikes = state0, []
    for k in range(n_steps):
        state, s = lif_cond_step(state, NeuronInput(w_exc[k], w_inh[k], 0.3 * inj[k]), p, dt_us)
        spikes.append(s)
    final, raster = lif_cond_run(state0, p, dt_us, n_steps, w_exc, w_inh, 0.3 * inj)
    assert raster.sum() > 50
    np.testing.assert_array_equal(raster, np.array(spikes))
    for name in ("v_mv", "g_e_us", "g_i_us"):
        np.testing.assert_allclose(
            getattr(final, name), getattr(state, name), rtol=1e-12, atol=1e-12
        )


def test_zero_steps_and_empty_population() -> None:
    p = PYNN_IF_COND_EXP
    state = lif_cond_initial_state(3, p)
    final, raster = lif_cond_run(state, p, 100, 0)
    assert raster.shape == (0, 3)
    np.testing.assert_array_equal(final.v_mv, state.v_mv)
    empty, spikes = lif_cond_step(lif_cond_initial_state(0, p), None, p, 100)
    assert empty.v_mv.shape == (0,) and spikes.shape == (0,)


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("tau_m_ms", float("nan"), "tau_m_ms must be finite"),
        ("tau_m_ms", -20.0, "tau_m_ms must be > 0"),
        ("tau_syn_e_ms", 0.0, "tau_syn_e_ms must be > 0"),
        ("c_m_nf", -1.0, "c_m_nf must be > 0"),
        ("tau_refrac_ms", -1.0, "tau_refrac_ms must be >= 0"),
        ("v_thresh_mv", float("inf"), "v_thresh_mv must be finite"),
        ("v_reset_mv", -40.0, "v_reset_mv must be below v_thresh_mv"),
    ],
)
def test_bad_parameters_name_the_field(field: str, value: float, match: str) -> None:
    for cls in (LIFCurrParams, LIFCondParams):
        with pytest.raises(ValueError, match=match):
            cls(**{field: value})


def test_bad_states_and_inputs_are_rejected() -> None:
    p = PYNN_IF_CURR_EXP
    with pytest.raises(ValueError, match=r"LIFCurrState.i_syn_e_na has 2 values for 3 neurons"):
        LIFCurrState(np.zeros(3), np.zeros(2), np.zeros(3), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"LIFCurrState.v_mv contains NaN"):
        LIFCurrState(np.array([np.nan]), np.zeros(1), np.zeros(1), np.zeros(1, np.int64))
    with pytest.raises(ValueError, match="v_mv must be 1-D"):
        LIFCurrState(np.zeros((2, 2)), np.zeros(2), np.zeros(2), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="refrac_left_us must be >= 0"):
        LIFCurrState(np.zeros(1), np.zeros(1), np.zeros(1), np.array([-1]))
    with pytest.raises(ValueError, match="g_e_us and g_i_us must be >= 0"):
        LIFCondState(np.zeros(1), np.array([-0.1]), np.zeros(1), np.zeros(1, np.int64))
    with pytest.raises(ValueError, match=r"NeuronInput.w_exc contains NaN"):
        NeuronInput(np.array([np.nan]), np.zeros(1))
    with pytest.raises(ValueError, match=r"NeuronInput.w_inh must be >= 0"):
        NeuronInput(np.zeros(1), np.array([-1.0]))
    with pytest.raises(ValueError, match=r"NeuronInput.i_inj_na has 1 values for 2 neurons"):
        NeuronInput(np.zeros(2), np.zeros(2), np.zeros(1))
    state = lif_curr_initial_state(3, p)
    with pytest.raises(ValueError, match="NeuronInput is for 2 neurons, the state has 3"):
        lif_curr_step(state, NeuronInput(np.zeros(2), np.zeros(2)), p, 100)
    for dt in (0, -100, 100.0, True):
        with pytest.raises(ValueError, match="dt_us must be a positive integer"):
            lif_curr_step(state, None, p, dt)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"w_exc must have shape \(n_steps, n\) = \(5, 3\)"):
        lif_curr_run(state, p, 100, 5, w_exc=np.zeros((5, 2)))
    with pytest.raises(ValueError, match="i_inj_na contains NaN"):
        lif_curr_run(state, p, 100, 1, i_inj_na=np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="n_steps must be a non-negative integer"):
        lif_curr_run(state, p, 100, -1)
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        lif_curr_initial_state(-1, p)


def test_presets_carry_the_published_values() -> None:
    c = BRETTE_2007_COBA
    assert c.c_m_nf * 1e3 == pytest.approx(200.0)  # pF
    assert c.g_leak_us * 1e3 == pytest.approx(10.0)  # nS
    assert (c.v_rest_mv, c.v_reset_mv, c.v_thresh_mv) == (-60.0, -60.0, -50.0)
    assert (c.tau_refrac_ms, c.tau_syn_e_ms, c.tau_syn_i_ms) == (5.0, 5.0, 10.0)
    assert (c.e_rev_e_mv, c.e_rev_i_mv) == (0.0, -80.0)
    assert c.t_refrac_us == 5000
    state = lif_cond_initial_state(1000, c, np.random.default_rng(0))
    assert state.v_mv.min() >= c.v_reset_mv and state.v_mv.max() < c.v_thresh_mv
