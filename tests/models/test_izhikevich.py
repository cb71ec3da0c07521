"""Izhikevich neurons: each preset fires its published pattern, numba equals numpy, bad input."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from ione.models.neuron import izhikevich as iz

DT_US = iz.IZHIKEVICH_DT_US
PRESETS = {
    "RS": iz.REGULAR_SPIKING,
    "IB": iz.INTRINSICALLY_BURSTING,
    "CH": iz.CHATTERING,
    "FS": iz.FAST_SPIKING,
}


def spike_times_ms(
    params: iz.IzhikevichParams, i_pa: float = 10.0, t_ms: int = 500, dt_us: int = DT_US
) -> np.ndarray:
    """Spike times of one neuron held at a constant current from rest (Izhikevich 2003, Fig. 2)."""
    result = iz.izhikevich_run(
        iz.izhikevich_initial_state(1, params), i_pa, params, dt_us, t_ms * 1000 // dt_us
    )
    return result.spike_times_us(dt_us) / 1000.0


def bursts(t_ms: np.ndarray, gap_ms: float = 15.0) -> list[np.ndarray]:
    """Split a spike train at intervals longer than ``gap_ms``."""
    return np.split(t_ms, np.flatnonzero(np.diff(t_ms) > gap_ms) + 1)


# --------------------------------------------------------------------------------------------
# Firing patterns (Izhikevich, IEEE TNN 14:1569, 2003, Fig. 2), 10 pA step from rest, 500 ms
# --------------------------------------------------------------------------------------------


def test_regular_spiking_is_tonic_with_adapting_intervals() -> None:
    t = spike_times_ms(iz.REGULAR_SPIKING)
    isi = np.diff(t)
    assert 10 <= t.size <= 14, t.size  # ~22 Hz
    assert isi.min() > 15.0, "RS must not burst"
    assert isi[1] / isi[0] > 2.0, f"RS intervals must lengthen (adaptation): {isi[:3]}"
    steady = isi[3:]
    assert np.ptp(steady) < 1.0 and 40.0 < steady.mean() < 50.0, steady


def test_intrinsically_bursting_fires_a_burst_then_tonic_spikes() -> None:
    t = spike_times_ms(iz.INTRINSICALLY_BURSTING)
    groups = bursts(t)
    assert groups[0].size == 3, f"IB starts with a burst of 3 spikes, got {groups[0]}"
    assert np.diff(groups[0]).max() < 5.0
    assert all(g.size == 1 for g in groups[1:]), "after the burst, IB fires single spikes"
    assert len(groups) >= 12, len(groups)
    assert np.diff(t)[2:].min() > 25.0


def test_chattering_fires_repetitive_bursts() -> None:
    t = spike_times_ms(iz.CHATTERING)
    groups = bursts(t)
    full = groups[:-1]  # the last burst may be cut by the end of the run
    assert len(full) >= 6, f"CH must burst repeatedly, got {len(groups)} groups"
    assert all(g.size >= 4 for g in full), [g.size for g in full]
    assert max(np.diff(g).max() for g in full) < 10.0, "intra-burst intervals are short"
    inter = np.array([b[0] - a[-1] for a, b in itertools.pairwise(groups)])
    assert inter.min() > 30.0, inter


def test_fast_spiking_is_fast_and_does_not_adapt() -> None:
    t = spike_times_ms(iz.FAST_SPIKING)
    isi = np.diff(t)
    assert t.size / 0.5 > 100.0, f"FS rate {t.size / 0.5} Hz"
    steady = isi[3:]
    assert steady.std() / steady.mean() < 0.03, "FS intervals stay constant"
    assert isi[-1] / isi[3] < 1.05
    rs = np.diff(spike_times_ms(iz.REGULAR_SPIKING))
    assert isi[-1] / isi[0] < rs[-1] / rs[0], "FS adapts less than RS"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_recommended_step_is_within_five_percent_of_the_converged_count(name: str) -> None:
    """The numerics claim of the module docstring."""
    fine = spike_times_ms(PRESETS[name], dt_us=25).size
    recommended = spike_times_ms(PRESETS[name], dt_us=DT_US).size
    assert abs(recommended - fine) <= 0.05 * fine, (recommended, fine)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_rest_is_a_fixed_point_and_no_input_gives_no_spikes(name: str) -> None:
    p = PRESETS[name]
    assert iz.izhikevich_resting_potential_mv(p) == pytest.approx(
        -70.0
    )  # b = 0.2 for all four presets
    result = iz.izhikevich_run(iz.izhikevich_initial_state(3, p), 0.0, p, DT_US, 10_000)
    assert result.spike_step.size == 0
    np.testing.assert_allclose(result.state.v_mv, -70.0, atol=1e-9)


def test_rheobase_separates_rest_from_firing() -> None:
    """Rheobase of RS is 4 pA: (5 - b)² / 0.16 - 140 (u equilibrated, from its rest at 3.9 pA)."""
    p = iz.REGULAR_SPIKING
    v = iz.izhikevich_resting_potential_mv(p, 3.9)
    start = iz.IzhikevichState(v_mv=np.array([v]), u_mv_per_ms=np.array([p.b_per_ms * v]))
    below = iz.izhikevich_run(start, 3.9, p, DT_US, 20_000).spike_step.size
    above = iz.izhikevich_run(start, 4.1, p, DT_US, 20_000).spike_step.size
    assert below == 0 and above > 0
    with pytest.raises(ValueError, match="above rheobase"):
        iz.izhikevich_resting_potential_mv(p, 4.1)


def test_spike_times_are_stamped_at_step_start_inside_the_run() -> None:
    p = iz.FAST_SPIKING
    n_steps = 1_000
    result = iz.izhikevich_run(
        iz.izhikevich_initial_state(1, p), 10.0, p, DT_US, n_steps, record_v=True
    )
    t = result.spike_times_us(DT_US, t0_us=5_000)
    assert t.min() >= 5_000 and t.max() < 5_000 + n_steps * DT_US
    # the recorded trace shows the reset in the step of each spike
    np.testing.assert_array_equal(result.v_mv[result.spike_step, 0], p.c_mv)
    assert result.v_mv.shape == (n_steps, 1)


# --------------------------------------------------------------------------------------------
# numba twin equals the numpy reference
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_run_equals_step_bit_for_bit(name: str) -> None:
    p = dataclasses.replace(PRESETS[name], i_offset_pa=0.5)
    rng = np.random.default_rng(7)
    n, n_steps = 40, 3_000
    current = rng.normal(6.0, 6.0, size=(n_steps, n))
    state0 = iz.izhikevich_initial_state(n, p, rng)
    result = iz.izhikevich_run(state0, current, p, DT_US, n_steps, record_v=True)
    state = state0
    steps, neurons = [], []
    for k in range(n_steps):
        state, fired = iz.izhikevich_step(state, current[k], p, DT_US)
        np.testing.assert_array_equal(state.v_mv, result.v_mv[k])
        idx = np.flatnonzero(fired)
        steps.extend([k] * idx.size)
        neurons.extend(idx.tolist())
    assert len(steps) > 200
    np.testing.assert_array_equal(result.spike_step, steps)
    np.testing.assert_array_equal(result.spike_neuron, neurons)
    np.testing.assert_array_equal(result.state.v_mv, state.v_mv)
    np.testing.assert_array_equal(result.state.u_mv_per_ms, state.u_mv_per_ms)


def test_run_accepts_scalar_per_neuron_and_per_step_currents_alike() -> None:
    p = iz.REGULAR_SPIKING
    s0 = iz.izhikevich_initial_state(4, p)
    a = iz.izhikevich_run(s0, 10.0, p, DT_US, 2_000)
    b = iz.izhikevich_run(s0, np.full(4, 10.0), p, DT_US, 2_000)
    c = iz.izhikevich_run(s0, np.full((2_000, 4), 10.0), p, DT_US, 2_000)
    for other in (b, c):
        np.testing.assert_array_equal(a.spike_step, other.spike_step)
        np.testing.assert_array_equal(a.state.v_mv, other.state.v_mv)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt_us", [0, -100, iz.IZHIKEVICH_MAX_DT_US + 1])
def test_out_of_range_steps_are_refused(dt_us: int) -> None:
    s = iz.izhikevich_initial_state(1, iz.REGULAR_SPIKING)
    with pytest.raises(ValueError, match="dt_us"):
        iz.izhikevich_step(s, 0.0, iz.REGULAR_SPIKING, dt_us)
    with pytest.raises(ValueError, match="dt_us"):
        iz.izhikevich_run(s, 0.0, iz.REGULAR_SPIKING, dt_us, 10)


def test_non_integer_step_is_a_type_error() -> None:
    s = iz.izhikevich_initial_state(1, iz.REGULAR_SPIKING)
    with pytest.raises(TypeError, match="dt_us"):
        iz.izhikevich_step(s, 0.0, iz.REGULAR_SPIKING, 100.0)  # type: ignore[arg-type]


def test_bad_currents_and_counts_are_refused() -> None:
    p = iz.REGULAR_SPIKING
    s = iz.izhikevich_initial_state(3, p)
    with pytest.raises(ValueError, match="i_pa must be finite"):
        iz.izhikevich_step(s, np.array([0.0, np.nan, 0.0]), p, DT_US)
    with pytest.raises(ValueError, match="i_pa must be finite"):
        iz.izhikevich_run(s, np.inf, p, DT_US, 5)
    with pytest.raises(ValueError, match="shape"):
        iz.izhikevich_step(s, np.zeros(4), p, DT_US)
    with pytest.raises(ValueError, match="shape"):
        iz.izhikevich_run(s, np.zeros((5, 2)), p, DT_US, 5)
    with pytest.raises(ValueError, match="n_steps"):
        iz.izhikevich_run(s, 0.0, p, DT_US, -1)
    with pytest.raises(ValueError, match="non-negative"):
        iz.izhikevich_initial_state(-1, p)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"a_per_ms": float("nan")}, "a_per_ms must be finite"),
        ({"a_per_ms": 0.0}, "a_per_ms must be > 0"),
        ({"d_mv_per_ms": float("inf")}, "d_mv_per_ms must be finite"),
        ({"c_mv": 40.0}, "c_mv"),
    ],
)
def test_bad_parameters_name_the_field(change: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(iz.REGULAR_SPIKING, **change)


def test_state_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match="equal shape"):
        iz.IzhikevichState(v_mv=np.zeros(3), u_mv_per_ms=np.zeros(2))
