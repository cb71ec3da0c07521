"""Capacitive stimulation: the injected depolarisation, the neuron's response, the classifier."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from ione.events import EVENT_DTYPE
from ione.models.neuron import culture as cu
from ione.models.neuron import stimulation as sm
from ione.models.neuron.stimulation import ResponseCode

STIM = sm.DEFAULT_STIMULATION
TAU_US = int(STIM.tau_m_ms * 1000)
PERIOD_10HZ_US = 100_000


# --------------------------------------------------------------------------------------------
# The stimulus and the passive depolarisation s(t)
# --------------------------------------------------------------------------------------------


def test_weight_sets_the_number_of_ramps() -> None:
    assert sm.ramp_count([0.0, 0.5, 1.0]).tolist() == [0, STIM.max_ramps // 2, STIM.max_ramps]
    byte_weights = np.arange(256) / 255
    n = sm.ramp_count(byte_weights)
    assert np.all(np.diff(n) >= 0) and n[0] == 0 and n[-1] == STIM.max_ramps
    assert sm.train_duration_us([0.0, 1 / STIM.max_ramps, 1.0]).tolist() == [
        0,
        0,
        (STIM.max_ramps - 1) * STIM.ramp_interval_us,
    ]


def test_ramp_train_lays_out_every_ramp_in_time_order() -> None:
    r = sm.ramp_train([10_000, 0], [2, 5], [3 / STIM.max_ramps, 2 / STIM.max_ramps])
    dt = STIM.ramp_interval_us
    assert r.t_us.tolist() == [0, dt, 10_000, 10_000 + dt, 10_000 + 2 * dt]
    assert r.neuron.tolist() == [5, 5, 2, 2, 2]
    np.testing.assert_array_equal(r.dv_mv, STIM.dv_per_ramp_mv)
    assert len(sm.ramp_train(0, 0, 0.0)) == 0


def test_one_ramp_adds_one_millivolt_that_decays_with_tau_m() -> None:
    r = sm.ramp_train(0, 0, 1 / STIM.max_ramps)
    s = sm.stimulus_depolarisation_mv(r, 0, [-1, 0, TAU_US, 3 * TAU_US])
    np.testing.assert_allclose(s, [0.0, 1.0, math.exp(-1.0), math.exp(-3.0)], rtol=1e-12)


def test_ramps_summate_and_the_peak_grows_with_weight() -> None:
    two = sm.stimulus_depolarisation_mv(
        sm.ramp_train(0, 0, 2 / STIM.max_ramps), 0, STIM.ramp_interval_us
    )
    assert two[0] == pytest.approx(1.0 + math.exp(-STIM.ramp_interval_us / TAU_US))
    weights = np.arange(STIM.max_ramps + 1) / STIM.max_ramps
    peaks = sm.stimulus_peak_mv(weights)
    assert np.all(np.diff(peaks) > 0), "each extra ramp raises the peak"
    assert peaks[-1] == pytest.approx(18.27, abs=0.01)
    # the closed form is the maximum of s(t), reached at the last ramp
    for w in (0.25, 0.5, 1.0):
        r = sm.ramp_train(0, 0, w)
        t = np.arange(0, 60_000, 50)
        s = sm.stimulus_depolarisation_mv(r, 0, t)
        assert s.max() == pytest.approx(sm.stimulus_peak_mv(w)[0], rel=1e-12)
        assert t[s.argmax()] == sm.train_duration_us(w)[0]


def test_depolarisation_is_per_neuron() -> None:
    r = sm.ramp_train([0, 0], [1, 2], [1.0, 1 / STIM.max_ramps])
    assert sm.stimulus_depolarisation_mv(r, 2, 0)[0] == pytest.approx(1.0)
    assert sm.stimulus_depolarisation_mv(r, 3, 0)[0] == 0.0


def test_coupling_makes_the_linearised_membrane_decay_with_tau_m() -> None:
    # v_rest = -70 mV for b = 0.2: g_c = -(0.08 * -70 + 5) - 1/20 = 0.55 nS
    assert sm.stimulus_coupling_ns(0.2)[0] == pytest.approx(0.55)
    assert (
        sm.stimulus_coupling_ns(0.2, 10.0)[0] == 0.0
    )  # above rheobase: no resting state, no coupling


# --------------------------------------------------------------------------------------------
# The response of an Izhikevich neuron (the BN surrogate) to the ramps
# --------------------------------------------------------------------------------------------


def quiet_neuron() -> tuple[cu.Culture, cu.CultureState, np.random.Generator]:
    """SINGLE_NEURON without noise, settled at rest."""
    rng = np.random.default_rng(0)
    culture = cu.make_culture(dataclasses.replace(cu.SINGLE_NEURON, noise_pa_sqrt_ms=0.0), rng)
    state, spikes = cu.culture_run(cu.culture_initial_state(culture), None, culture, 1_000_000, rng)
    assert len(spikes) == 0
    return culture, state, rng


def membrane_response(weight: float) -> tuple[np.ndarray, bool]:
    """v - v_rest after each 0.1 ms step for 150 ms after one stimulus, and whether it fired."""
    culture, state, rng = quiet_neuron()
    v_rest = state.v_mv[0]
    ramps = sm.ramp_train(state.t_us, 0, weight)
    trace = np.empty(1_500)
    fired = False
    for k in range(trace.size):
        state, f = cu.culture_step(state, ramps if k == 0 else None, culture, 100, rng)
        trace[k] = state.v_mv[0] - v_rest
        fired |= bool(f[0])
    return trace, fired


def test_one_ramp_moves_the_neuron_by_about_one_millivolt_for_about_tau_m() -> None:
    trace, fired = membrane_response(1 / STIM.max_ramps)
    assert not fired
    assert 0.8 <= trace.max() <= 1.2, trace.max()
    k = int(trace.argmax())
    decay_ms = np.argmax(trace[k:] < trace[k] / math.e) * 0.1
    # τ_m = 20 ms, shortened a little by the recovery variable u (adaptation)
    assert 14.0 <= decay_ms <= 22.0, decay_ms


def test_subthreshold_responses_grow_with_weight_until_the_neuron_fires() -> None:
    weights = [1, 2, 3, 4, 5]  # ramps
    peaks = []
    for n in weights:
        trace, fired = membrane_response(n / STIM.max_ramps)
        assert not fired, n
        peaks.append(trace.max())
    assert np.all(np.diff(peaks) > 0.5), peaks
    assert peaks[1] == pytest.approx(2.0, abs=0.2)  # ~1 mV per ramp while the response is small
    _, fired = membrane_response(0.5)
    assert fired, "12 ramps (10.5 mV passive) fire the neuron"


def ap_probability(
    culture: cu.Culture,
    state: cu.CultureState,
    rng: np.random.Generator,
    targets: np.ndarray,
    weight: float,
    n_stimuli: int,
) -> tuple[float, cu.CultureState]:
    """Fraction of 10 Hz stimuli of weight ``weight`` that evoke an AP, via the classifier."""
    onsets = state.t_us + PERIOD_10HZ_US * np.arange(n_stimuli)
    t = np.repeat(onsets, targets.size)
    j = np.tile(targets, n_stimuli)
    w = np.full(t.size, weight)
    state, spikes = cu.culture_run(
        state, sm.ramp_train(t, j, w), culture, PERIOD_10HZ_US * n_stimuli, rng
    )
    responses = sm.classify_responses(t, j, w, spikes.t_us, spikes.neuron)
    return float(responses.stim_code.mean()), state


def test_ap_probability_of_a_10_hz_pacemaker_rises_with_weight_single_neuron() -> None:
    rng = np.random.default_rng(11)
    culture = cu.make_culture(cu.SINGLE_NEURON, rng)
    state, spikes = cu.culture_run(
        cu.culture_initial_state(culture), None, culture, 30_000_000, rng
    )
    assert 0.1 <= len(spikes) / 30 <= 1.0, "the surrogate fires spontaneously"
    probability = []
    for w in (0.1, 0.3, 0.5, 0.7, 0.9):
        p, state = ap_probability(culture, state, rng, np.array([0]), w, 200)
        probability.append(p)
    assert probability[0] < 0.1 and probability[-1] > 0.95, probability
    rise = np.diff(probability)
    assert np.all(rise >= 0.0) and np.all(rise[:3] > 0.1), f"P(AP) vs weight: {probability}"


def test_ap_probability_of_a_10_hz_pacemaker_rises_with_weight_in_the_culture() -> None:
    rng = np.random.default_rng(5)
    culture = cu.make_culture(cu.HIPPOCAMPAL_CULTURE, rng)
    state, _ = cu.culture_run(cu.culture_initial_state(culture, rng), None, culture, 2_000_000, rng)
    targets = np.array([3, 20, 50, 77, 100])  # excitatory neurons
    low, state = ap_probability(culture, state, rng, targets, 0.2, 150)
    high, state = ap_probability(culture, state, rng, targets, 0.8, 150)
    assert low < 0.15 and high > 0.9, (low, high)


# --------------------------------------------------------------------------------------------
# The response classifier
# --------------------------------------------------------------------------------------------

W_HALF = 0.5  # 12 ramps: train 5.5 ms, window [1 ms, 25.5 ms] after the onset
END_HALF_US = int(sm.train_duration_us(W_HALF)[0]) + sm.DEFAULT_RESPONSE_WINDOW.tail_us


def classify(stim_t, stim_w, spike_t, stim_j=None, spike_j=None) -> sm.Responses:  # type: ignore[no-untyped-def]
    stim_j = np.zeros(len(stim_t), np.int64) if stim_j is None else stim_j
    spike_j = np.zeros(len(spike_t), np.int64) if spike_j is None else spike_j
    return sm.classify_responses(stim_t, stim_j, stim_w, spike_t, spike_j)


def test_a_stimulus_without_ap_is_a_psp_at_its_peak() -> None:
    r = classify([1_000_000], [W_HALF], [])
    assert r.code.tolist() == [ResponseCode.PSP]
    assert r.latency_us.tolist() == [5_500] and r.t_us.tolist() == [1_005_500]
    assert r.stimulus.tolist() == [0] and r.stim_code.tolist() == [0]


def test_an_ap_inside_the_window_is_a_stimulated_ap() -> None:
    r = classify([1_000_000], [W_HALF], [1_004_000])
    assert r.code.tolist() == [ResponseCode.STIMULATED_AP]
    assert r.latency_us.tolist() == [4_000]
    assert r.stim_code.tolist() == [1] and r.stim_latency_us.tolist() == [4_000]
    edge = classify([0], [W_HALF], [END_HALF_US])
    assert edge.code.tolist() == [ResponseCode.STIMULATED_AP], "the window end is inclusive"


@pytest.mark.parametrize("lag_us", [-5_000, 0, 500, END_HALF_US + 1, 90_000])
def test_an_ap_outside_the_window_is_spontaneous_and_the_stimulus_a_psp(lag_us: int) -> None:
    r = classify([100_000], [W_HALF], [100_000 + lag_us])
    spont = r.code == ResponseCode.SPONTANEOUS_AP
    assert spont.sum() == 1 and (r.code == ResponseCode.PSP).sum() == 1
    assert r.t_us[spont][0] == 100_000 + lag_us
    if lag_us >= 0:  # latency from the latest stimulus at or before the AP
        assert r.latency_us[spont][0] == lag_us and r.stimulus[spont][0] == 0
    else:  # before any stimulus and no earlier spike: no reference
        assert r.latency_us[spont][0] == -1 and r.stimulus[spont][0] == -1


def test_a_zero_weight_stimulus_opens_no_window() -> None:
    r = classify([0], [0.0], [3_000])
    assert sorted(r.code.tolist()) == [ResponseCode.PSP, ResponseCode.SPONTANEOUS_AP]
    assert r.latency_us[r.code == ResponseCode.PSP].tolist() == [0]


def test_spontaneous_aps_before_any_stimulus_refer_to_the_previous_spike() -> None:
    r = classify([500_000], [W_HALF], [100_000, 250_000])
    assert r.code.tolist()[:2] == [ResponseCode.SPONTANEOUS_AP] * 2
    assert r.latency_us.tolist()[:2] == [-1, 150_000]


def test_with_overlapping_windows_an_ap_belongs_to_the_stimulus_that_can_have_caused_it() -> None:
    # 30 Hz: stimuli 33.3 ms apart, windows 24.5 ms long; an AP 0.5 ms after the second onset
    # is too early for the second stimulus and too late for the first: spontaneous.
    stim = [0, 33_333]
    r = classify(stim, [W_HALF] * 2, [33_833, 40_000])
    ap = r.code != ResponseCode.PSP
    assert r.code[ap].tolist() == [ResponseCode.SPONTANEOUS_AP, ResponseCode.STIMULATED_AP]
    assert r.latency_us[ap].tolist() == [500, 40_000 - 33_333]
    assert r.stimulus[ap].tolist() == [1, 1]
    assert r.stim_code.tolist() == [0, 1]
    # the first stimulus was answered by nothing: its PSP report is not lost
    assert r.t_us[~ap].tolist() == [5_500] and r.stimulus[~ap].tolist() == [0]


def test_window_end_matches_the_classifier() -> None:
    end = sm.response_window_end_us([0, 1_000], [W_HALF, 0.0])
    assert end.tolist() == [END_HALF_US, 1_000 + sm.DEFAULT_RESPONSE_WINDOW.tail_us]
    assert classify([0], [W_HALF], [int(end[0])]).code.tolist() == [ResponseCode.STIMULATED_AP]
    assert classify([0], [W_HALF], [int(end[0]) + 1]).code[-1] == ResponseCode.SPONTANEOUS_AP


def test_every_stimulated_ap_is_reported_and_the_first_sets_the_latency() -> None:
    r = classify([0], [1.0], [3_000, 8_000, 60_000])
    assert r.code.tolist() == [1, 1, 2]
    assert r.stim_latency_us.tolist() == [3_000]


def test_neurons_are_classified_independently() -> None:
    stim_t = np.array([0, 0, 100_000])
    stim_j = np.array([7, 3, 7])
    spike_t = np.array([2_000, 2_500, 105_000, 150_000])
    spike_j = np.array([3, 9, 3, 7])  # neuron 3 at 105 ms: stimulated only neuron 7 then
    r = sm.classify_responses(stim_t, stim_j, [W_HALF] * 3, spike_t, spike_j)
    by = {(int(t), int(j)): int(c) for t, j, c in zip(r.t_us, r.neuron, r.code, strict=True)}
    assert by[(2_000, 3)] == ResponseCode.STIMULATED_AP
    assert by[(2_500, 9)] == ResponseCode.SPONTANEOUS_AP  # never stimulated
    assert by[(105_000, 3)] == ResponseCode.SPONTANEOUS_AP
    assert by[(150_000, 7)] == ResponseCode.SPONTANEOUS_AP
    assert r.stim_code.tolist() == [0, 1, 0]
    assert np.all(np.diff(r.t_us) >= 0)


def test_responses_become_an_event_block_with_the_code_as_value() -> None:
    r = classify([0, 200_000], [W_HALF, W_HALF], [4_000, 150_000])
    events = sm.responses_to_events(r, key_base=0x0100_0000)
    assert events.dtype == EVENT_DTYPE
    assert events["key"].tolist() == [0x0100_0000] * 3
    assert events["value"].tolist() == [1.0, 2.0, 0.0]
    assert events["t_us"].tolist() == [4_000, 150_000, 205_500]


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (float("nan"), "weight must be finite"),
        (float("inf"), "weight must be finite"),
        (1.5, r"weight must be in \[0, 1\]"),
        (-0.01, r"weight must be in \[0, 1\]"),
    ],
)
def test_bad_weights_are_refused_everywhere(weight: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sm.ramp_train([0, 1_000], [0, 0], [0.5, weight])
    with pytest.raises(ValueError, match=message):
        sm.ramp_count(weight)
    with pytest.raises(ValueError, match=message):
        sm.classify_responses([0], [0], [weight], [], [])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sm.CapacitiveStimulation(ramp_interval_us=-500), "ramp_interval_us must be >= 1"),
        (lambda: sm.CapacitiveStimulation(tau_m_ms=-20.0), "tau_m_ms must be > 0"),
        (lambda: sm.CapacitiveStimulation(tau_m_ms=float("nan")), "tau_m_ms must be finite"),
        (lambda: sm.CapacitiveStimulation(dv_per_ramp_mv=0.0), "dv_per_ramp_mv must be > 0"),
        (lambda: sm.CapacitiveStimulation(max_ramps=0), "max_ramps must be >= 1"),
        (lambda: sm.ResponseWindow(tail_us=-1), "tail_us must be >= 0"),
        (lambda: sm.ResponseWindow(min_latency_us=-1), "min_latency_us must be >= 0"),
    ],
)
def test_bad_parameters_name_the_field(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_stimulus_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="t_us must be integer"):
        sm.ramp_train([0.5], [0], [0.5])
    with pytest.raises(ValueError, match="neuron index must be >= 0"):
        sm.ramp_train([0], [-1], [0.5])
    with pytest.raises(ValueError, match="differ in length"):
        sm.classify_responses([0, 1], [0], [0.5, 0.5], [], [])
    with pytest.raises(ValueError, match="spike arrays differ"):
        sm.classify_responses([0], [0], [0.5], [1, 2], [0])
    with pytest.raises(ValueError, match="sorted"):
        sm.Ramps(np.array([2, 1]), np.array([0, 0]), np.array([1.0, 1.0]))
