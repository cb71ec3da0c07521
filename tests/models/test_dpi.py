"""DPI neuron and synapses: steady states, time constants, weight scaling, threshold, numba twin."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from ione.models.neuron.dpi import (
    DYNAPSE_DPI,
    DPIParams,
    DPIState,
    dpi_efficacy,
    dpi_initial_state,
    dpi_membrane_voltage_mv,
    dpi_run,
    dpi_step,
)
from ione.models.neuron.lif import NeuronInput


def with_membrane(state: DPIState, i_mem_na: np.ndarray) -> DPIState:
    return DPIState(
        i_mem_na, state.i_ampa_na, state.i_gaba_na, state.i_ahp_na, state.refrac_left_us
    )


def test_defaults_derive_the_leak_currents_from_the_time_constants() -> None:
    p = DYNAPSE_DPI
    assert p.kappa == pytest.approx(0.705)
    # tau = C U_T / (kappa I_tau): 3 pF * 25 mV / (0.705 * 20 ms) = 5.32 pA.
    assert p.i_tau_mem_na == pytest.approx(3e-12 * 25e-3 / (0.705 * 20e-3) * 1e9, rel=1e-12)
    tau_back_s = p.c_mem_pf * 1e-12 * p.u_t_mv * 1e-3 / (p.kappa * p.i_tau_mem_na * 1e-9)
    assert tau_back_s == pytest.approx(p.tau_mem_ms * 1e-3, rel=1e-12)
    assert (p.t_ref_us, p.i_spkthr_na, p.i_0_na) == (1000, 100.0, 0.5e-3)


def test_membrane_relaxes_to_its_analytic_steady_state_with_tau_mem() -> None:
    # Without feedback the DPI is a first-order low-pass filter (Chicca et al. 2014):
    #   tau (1 + I_g/I) dI/dt = (I_g/I_tau)(I_in - I_ahp - I_tau) - I (1 + I_ahp/I_tau)
    # with I_ahp at its floor I_0: steady state I_inf = gain (I_in - I_0 - I_tau)/(1 + I_0/I_tau)
    # and, far above I_g, time constant tau (1 + I_g/I)/(1 + I_0/I_tau).
    p = replace(DYNAPSE_DPI, feedback_gain=0.0)
    i_tau, i0, i_g = p.i_tau_mem_na, p.i_0_na, p.gain_mem * p.i_tau_mem_na
    i_in = 12.0
    leak = 1 + i0 / i_tau
    i_inf = p.gain_mem * (i_in - i0 - i_tau) / leak
    dt_us, n_steps = 100, 200  # 20 ms
    state = with_membrane(dpi_initial_state(1, p), np.array([0.5 * i_inf]))
    trace = [state.i_mem_na[0]]
    inp = NeuronInput(np.zeros(1), np.zeros(1), np.array([i_in]))
    for _ in range(n_steps):
        state, spiked = dpi_step(state, inp, p, dt_us)
        assert not spiked.any()
        trace.append(state.i_mem_na[0])
    trace_arr = np.array(trace)
    t_ms = np.arange(n_steps + 1) * dt_us / 1000.0
    tau_eff = p.tau_mem_ms * (1 + i_g / (0.75 * i_inf)) / leak  # I_g/I_mem at mid-course
    expected = i_inf - 0.5 * i_inf * np.exp(-t_ms / tau_eff)
    np.testing.assert_allclose(trace_arr, expected, rtol=1e-4)
    # The time constant itself: tau_eff closes 1 - 1/e of the gap (to 0.1 %).
    k = round(tau_eff * 1000 / dt_us)
    frac = (trace_arr[k] - trace_arr[0]) / (i_inf - trace_arr[0])
    assert frac == pytest.approx(1 - math.exp(-k * dt_us / 1000 / tau_eff), rel=1e-3)
    final, _ = dpi_run(state, p, dt_us, 5000, i_inj_na=np.full((5000, 1), i_in))
    assert final.i_mem_na[0] == pytest.approx(i_inf, rel=1e-9)


def test_steady_state_with_positive_feedback_solves_the_full_equation() -> None:
    # With the feedback halved, weak input has a stable state: the lower root of
    # gain (I_in - I_0 - I_tau) + g_fb (I_a/I_tau)(I + I_g) - I (1 + I_0/I_tau) = 0,
    # I_a = I_0 (I/I_0)^(kappa/(kappa+1)); the upper root is the spiking threshold.
    p = replace(DYNAPSE_DPI, feedback_gain=0.5)
    i_tau, i_g, i0 = p.i_tau_mem_na, p.gain_mem * p.i_tau_mem_na, p.i_0_na
    expo = p.kappa / (p.kappa + 1)
    i_in = 0.015

    def f(i: float) -> float:
        feedback = p.feedback_gain * i0 * (i / i0) ** expo / i_tau * (i + i_g)
        return p.gain_mem * (i_in - i0 - i_tau) + feedback - i * (1 + i0 / i_tau)

    lo, hi = 1e-3, 0.3
    assert f(lo) > 0 > f(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    linear = p.gain_mem * (i_in - i0 - i_tau) / (1 + i0 / i_tau)
    assert lo > 1.5 * linear  # the feedback raises the steady state markedly
    n_steps = 40_000  # 2 s
    final, raster = dpi_run(dpi_initial_state(1, p), p, 50, n_steps,
                            i_inj_na=np.full((n_steps, 1), i_in))  # fmt: skip
    assert not raster.any()
    assert final.i_mem_na[0] == pytest.approx(lo, rel=1e-6)


def test_rheobase_is_set_by_the_leak_current() -> None:
    # With the full feedback there is no stable state above rest: any input that beats the
    # leak (I_in > I_0 + I_tau plus a little) ends in a spike; below it the cell stays at I_0.
    p = DYNAPSE_DPI
    currents = np.array([0.003, 0.004, 0.012, 0.02])
    n_steps = 60_000  # 3 s
    final, raster = dpi_run(dpi_initial_state(4, p), p, 50, n_steps,
                            i_inj_na=np.tile(currents, (n_steps, 1)))  # fmt: skip
    assert raster[:, :2].sum() == 0 and np.all(final.i_mem_na[:2] == p.i_0_na)
    assert np.all(raster[:, 2:].sum(axis=0) >= 1)
    assert raster[:, 3].sum() > raster[:, 2].sum()


def test_synapse_decays_with_tau_and_charges_in_proportion_to_w_byte() -> None:
    p = DYNAPSE_DPI
    w_bytes = np.array([0, 51, 102, 255])
    eff = dpi_efficacy(w_bytes)
    state = dpi_initial_state(4, p)
    state, _ = dpi_step(state, NeuronInput(eff, np.zeros(4)), p, 100)
    # I_syn gains gain I_w (1 - exp(-t_pulse/tau)) per pulse, I_w = (w_byte/255) i_w_max,
    # then decays by exp(-dt/tau) within the step.
    charge = p.gain_ampa * p.i_w_max_na * (1 - math.exp(-p.t_pulse_us / (p.tau_ampa_ms * 1e3)))
    decay = math.exp(-0.1 / p.tau_ampa_ms)
    expected = np.maximum((p.i_0_na + charge * w_bytes / 255) * decay, p.i_0_na)
    np.testing.assert_allclose(state.i_ampa_na, expected, rtol=1e-12)
    rise = state.i_ampa_na - p.i_0_na * decay
    np.testing.assert_allclose(rise[1:] / rise[-1], w_bytes[1:] / 255, rtol=1e-12)
    before = state.i_ampa_na.copy()
    for _ in range(100):  # 10 ms = tau_ampa
        state, _ = dpi_step(state, None, p, 100)
    np.testing.assert_allclose(state.i_ampa_na[1:], before[1:] * math.exp(-1.0), rtol=1e-12)


def test_output_grows_with_the_weight_byte() -> None:
    # One input event: too weak at w_byte 17 (~1 nA), spikes sooner the heavier the weight.
    p = DYNAPSE_DPI
    w_bytes = np.array([17, 64, 128, 255])
    e_exc = np.zeros((2000, 4))
    e_exc[0] = dpi_efficacy(w_bytes)
    _, raster = dpi_run(dpi_initial_state(4, p), p, 50, 2000, e_exc=e_exc)
    counts = raster.sum(axis=0)
    first = [np.flatnonzero(raster[:, k])[0] if counts[k] else np.inf for k in range(4)]
    assert counts[0] == 0 and np.all(counts[1:] >= 1)
    assert first[1] > first[2] > first[3]


def test_inhibition_cancels_excitation() -> None:
    p = DYNAPSE_DPI
    n_steps = 4000
    e = np.full((n_steps, 2), 0.0)
    e[::200] = 1.0  # 100 Hz of full-weight excitation
    i = np.zeros((n_steps, 2))
    i[::200, 1] = 1.0  # matched inhibition on the second neuron only
    _, raster = dpi_run(dpi_initial_state(2, p), p, 50, n_steps, e_exc=e, e_inh=i)
    assert raster[:, 0].sum() > 5 and raster[:, 1].sum() == 0


def test_spikes_exactly_when_i_mem_crosses_i_spkthr_then_resets_and_is_refractory() -> None:
    p = replace(DYNAPSE_DPI, t_ref_ms=2.0)
    state = dpi_initial_state(1, p)
    inp = NeuronInput(np.zeros(1), np.zeros(1), np.array([1.0]))
    free = replace(p, i_spkthr_na=1e9)  # the same dynamics without a threshold
    spikes, refractory_values = 0, []
    for _ in range(3000):
        unthresholded, _ = dpi_step(state, inp, free, 50)
        new, spiked = dpi_step(state, inp, p, 50)
        if state.refrac_left_us[0] == 0:
            crossed = unthresholded.i_mem_na[0] > p.i_spkthr_na
            assert bool(spiked[0]) == crossed
            if crossed:
                spikes += 1
                assert new.i_mem_na[0] == p.i_0_na and new.refrac_left_us[0] == 2000
        else:
            assert not spiked[0]
            refractory_values.append(new.i_mem_na[0])
        state = new
    assert spikes >= 3
    assert set(refractory_values) == {p.i_0_na}  # held at reset throughout t_ref


def test_ahp_adaptation_lengthens_intervals() -> None:
    n_steps, current = 20_000, np.full((20_000, 1), 1.0)
    _, plain = dpi_run(
        dpi_initial_state(1, DYNAPSE_DPI), DYNAPSE_DPI, 50, n_steps, i_inj_na=current
    )
    isi_plain = np.diff(np.flatnonzero(plain[:, 0]))
    assert np.ptp(isi_plain) == 0  # without adaptation: perfectly regular
    p = replace(DYNAPSE_DPI, i_w_ahp_na=2000.0)
    final, raster = dpi_run(dpi_initial_state(1, p), p, 50, n_steps, i_inj_na=current)
    isi = np.diff(np.flatnonzero(raster[:, 0]))
    assert isi.size > 5
    assert isi[0] > 2 * isi_plain[0]  # each spike charges the AHP DPI, which slows the next
    assert isi[1] > isi[0]  # and residual AHP current accumulates over spikes
    assert final.i_ahp_na[0] > 10 * p.i_0_na


def test_membrane_voltage_readout() -> None:
    p = DYNAPSE_DPI
    state = with_membrane(dpi_initial_state(3, p), np.array([p.i_0_na, 100 * p.i_0_na, 1.0]))
    v = dpi_membrane_voltage_mv(state, p)
    assert v[0] == 0.0
    assert v[1] == pytest.approx(p.u_t_mv / p.kappa * math.log(100), rel=1e-12)
    assert np.all(np.diff(v) > 0)


def test_run_equals_repeated_steps() -> None:
    p = replace(DYNAPSE_DPI, i_w_ahp_na=500.0, t_ref_ms=0.975)
    n, n_steps, dt_us = 8, 4000, 50
    rng = np.random.default_rng(7)
    e_exc = dpi_efficacy(rng.integers(0, 256, (n_steps, n))) * (rng.random((n_steps, n)) < 0.02)
    e_inh = dpi_efficacy(rng.integers(0, 256, (n_steps, n))) * (rng.random((n_steps, n)) < 0.01)
    inj = np.abs(rng.normal(0.05, 0.05, (n_steps, n)))
    state0 = dpi_initial_state(n, p)
    state, spikes = state0, []
    for k in range(n_steps):
        state, s = dpi_step(state, NeuronInput(e_exc[k], e_inh[k], inj[k]), p, dt_us)
        spikes.append(s)
    final, raster = dpi_run(state0, p, dt_us, n_steps, e_exc, e_inh, inj)
    assert raster.sum() > 20
    np.testing.assert_array_equal(raster, np.array(spikes))
    for name in ("i_mem_na", "i_ampa_na", "i_gaba_na", "i_ahp_na"):
        np.testing.assert_allclose(getattr(final, name), getattr(state, name), rtol=1e-10)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("tau_mem_ms", -20.0, "tau_mem_ms must be > 0"),
        ("kappa_n", 1.2, r"kappa_n must be in \(0, 1\)"),
        ("i_0_na", float("nan"), "i_0_na must be finite"),
        ("i_spkthr_na", 1e-4, "i_spkthr_na must exceed the dark current"),
        ("t_ref_ms", -1.0, "t_ref_ms must be >= 0"),
        ("i_w_max_na", -1.0, "i_w_max_na must be >= 0"),
        ("c_mem_pf", 0.0, "c_mem_pf must be > 0"),
    ],
)
def test_bad_parameters_name_the_field(field: str, value: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DPIParams(**{field: value})


def test_bad_weights_and_states_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"w_byte must lie in 0..255"):
        dpi_efficacy([0, 256])
    with pytest.raises(ValueError, match="w_byte must be integers"):
        dpi_efficacy([0.5])
    with pytest.raises(ValueError, match=r"DPIState.i_mem_na must be >= 0"):
        DPIState(np.array([-1.0]), np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1, np.int64))
    with pytest.raises(ValueError, match=r"DPIState.i_ampa_na has 2 values for 1 neurons"):
        DPIState(np.zeros(1), np.zeros(2), np.zeros(1), np.zeros(1), np.zeros(1, np.int64))
    state = dpi_initial_state(2, DYNAPSE_DPI)
    with pytest.raises(ValueError, match=r"NeuronInput.w_exc contains NaN"):
        dpi_step(state, NeuronInput(np.array([np.nan, 0.0]), np.zeros(2)), DYNAPSE_DPI, 50)
    with pytest.raises(ValueError, match="dt_us must be a positive integer"):
        dpi_run(state, DYNAPSE_DPI, 0, 10)
