"""The simulated culture: spontaneous rates, network bursts, reproducibility, numba = numpy."""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pytest

from ione.events import EVENT_DTYPE, make_key
from ione.models.neuron import bursts as bu
from ione.models.neuron import culture as cu
from ione.models.neuron import stimulation as sm

MINUTE_US = 60_000_000
SEED = 2024


@pytest.fixture(scope="module")
def minute() -> tuple[cu.Culture, cu.CultureSpikes]:
    """The default culture, 60 s of simulated time from rest."""
    rng = np.random.default_rng(SEED)
    culture = cu.make_culture(cu.HIPPOCAMPAL_CULTURE, rng)
    _, spikes = cu.culture_run(
        cu.culture_initial_state(culture, rng), None, culture, MINUTE_US, rng
    )
    return culture, spikes


# --------------------------------------------------------------------------------------------
# One minute of spontaneous activity
# --------------------------------------------------------------------------------------------


def test_structure_is_a_sparse_80_20_network_of_rs_ib_and_fs_cells(
    minute: tuple[cu.Culture, cu.CultureSpikes],
) -> None:
    culture, _ = minute
    assert culture.n == 160 and culture.excitatory.sum() == 128
    exc = culture.excitatory
    assert np.all(culture.a_per_ms[exc] == 0.02) and np.all(culture.a_per_ms[~exc] == 0.1)
    assert culture.c_mv[exc].min() < -64.0 and culture.c_mv[exc].max() > -55.0  # RS .. IB
    assert np.all(culture.c_mv[~exc] == -65.0) and np.all(culture.d_mv_per_ms[~exc] == 2.0)
    in_degree = np.bincount(culture.indices, minlength=culture.n)
    assert 14.0 < in_degree.mean() < 18.0, in_degree.mean()
    pre = np.repeat(np.arange(culture.n), np.diff(culture.indptr))
    assert not np.any(pre == culture.indices), "no autapses"


def test_most_neurons_fire_spontaneously_at_0_1_to_5_hz(
    minute: tuple[cu.Culture, cu.CultureSpikes],
) -> None:
    culture, spikes = minute
    rates = bu.firing_rates_hz(spikes, culture.n, MINUTE_US)
    inside = np.mean((rates >= 0.1) & (rates <= 5.0))
    assert inside >= 0.95, f"{inside:.1%} of neurons in 0.1-5 Hz; rates {np.sort(rates)}"
    assert 0.2 <= np.median(rates) <= 2.0, np.median(rates)
    assert rates[culture.excitatory].mean() < rates[~culture.excitatory].mean(), "FS fire faster"


def test_activity_comes_in_network_bursts_separated_by_quiet_periods(
    minute: tuple[cu.Culture, cu.CultureSpikes],
) -> None:
    culture, spikes = minute
    bursts = bu.detect_network_bursts(spikes, culture.n, 0, MINUTE_US)
    assert 5 <= len(bursts) <= 30, f"{len(bursts)} bursts per minute"
    assert np.median(bursts.participation) >= 0.9, bursts.participation
    duration_ms = (bursts.stop_us - bursts.start_us) / 1000
    assert 100.0 <= np.median(duration_ms) <= 500.0, duration_ms
    assert bursts.quiet_us.min() >= 1_000_000, f"quiet gaps {bursts.quiet_us / 1e6} s"
    # the population rate differs by two orders of magnitude between bursts and quiet periods
    n_in = int(bursts.n_spikes.sum())
    t_in = float((bursts.stop_us - bursts.start_us).sum())
    rate_in = n_in / culture.n / (t_in / 1e6)
    rate_out = (len(spikes) - n_in) / culture.n / ((MINUTE_US - t_in) / 1e6)
    assert n_in / len(spikes) >= 0.7, "most spikes fall in bursts"
    assert rate_in > 10.0 and rate_out < 0.3 and rate_in > 50 * rate_out, (rate_in, rate_out)


def test_bursts_end_when_synapses_are_depleted_and_adaptation_has_built_up() -> None:
    """The slow mechanisms: resources x fall and I_AHP rises across a burst, then recover."""
    rng = np.random.default_rng(SEED)
    culture = cu.make_culture(cu.HIPPOCAMPAL_CULTURE, rng)
    state = cu.culture_initial_state(culture, rng)
    chunk_us = 10_000
    exc = culture.excitatory
    x, ahp, all_t, all_j = [], [], [], []
    for _ in range(20_000_000 // chunk_us):
        x.append(state.resources[exc].mean())
        ahp.append(state.i_ahp_pa[exc].mean())
        state, spikes = cu.culture_run(state, None, culture, chunk_us, rng)
        all_t.append(spikes.t_us)
        all_j.append(spikes.neuron)
    spikes = cu.CultureSpikes(np.concatenate(all_t), np.concatenate(all_j))
    bursts = bu.detect_network_bursts(spikes, culture.n, 0, 20_000_000)
    assert len(bursts) >= 2
    x_a, ahp_a = np.array(x), np.array(ahp)
    for start, stop in zip(bursts.start_us[1:], bursts.stop_us[1:], strict=True):
        before, after = start // chunk_us, min(stop // chunk_us + 1, x_a.size - 1)
        assert x_a[after] < x_a[before] - 0.2, (x_a[before], x_a[after])
        assert ahp_a[after] > ahp_a[before] + 0.5, (ahp_a[before], ahp_a[after])
    # by the next burst the resources have recovered
    for start in bursts.start_us[1:]:
        assert x_a[start // chunk_us] > 0.75, x_a[start // chunk_us]


# --------------------------------------------------------------------------------------------
# Reproducibility and the numba twin
# --------------------------------------------------------------------------------------------


def two_seconds(seed: int) -> tuple[cu.Culture, cu.CultureSpikes]:
    rng = np.random.default_rng(seed)
    culture = cu.make_culture(cu.HIPPOCAMPAL_CULTURE, rng)
    _, spikes = cu.culture_run(
        cu.culture_initial_state(culture, rng), None, culture, 2_000_000, rng
    )
    return culture, spikes


def test_a_seed_reproduces_the_culture_and_its_activity_exactly() -> None:
    c1, s1 = two_seconds(3)
    c2, s2 = two_seconds(3)
    for name in ("a_per_ms", "c_mv", "d_mv_per_ms", "i_bias_pa", "indptr", "indices", "weight_ns"):
        np.testing.assert_array_equal(getattr(c1, name), getattr(c2, name))
    assert len(s1) > 100
    np.testing.assert_array_equal(s1.t_us, s2.t_us)
    np.testing.assert_array_equal(s1.neuron, s2.neuron)
    c3, s3 = two_seconds(4)
    assert not np.array_equal(c1.indices, c3.indices) or len(s1) != len(s3)


STATE_FIELDS = (
    "v_mv",
    "u_mv_per_ms",
    "g_exc_ns",
    "g_slow_ns",
    "g_inh_ns",
    "resources",
    "stim_mv",
    "i_ahp_pa",
)


def small_culture() -> tuple[cu.Culture, cu.CultureState]:
    """A strongly coupled 40-neuron culture, so that 300 ms hold many spikes and bursts."""
    rng = np.random.default_rng(3)
    params = dataclasses.replace(cu.HIPPOCAMPAL_CULTURE, n_neurons=40, w_exc_ns=0.3)
    culture = cu.make_culture(params, rng)
    return culture, cu.culture_initial_state(culture, np.random.default_rng(4))


def test_run_equals_step_bit_for_bit() -> None:
    culture, state0 = small_culture()
    ramps = sm.ramp_train([1_000, 5_000, 5_000, 20_000], [1, 2, 3, 1], [1.0, 0.5, 0.7, 0.3])
    rng_run, rng_step = np.random.default_rng(9), np.random.default_rng(9)
    fast, spikes = cu.culture_run(state0, ramps, culture, 300_000, rng_run, i_ext_pa=1.0)
    slow = state0
    t, j = [], []
    for k in range(3_000):
        slow, fired = cu.culture_step(
            slow, ramps if k == 0 else None, culture, 100, rng_step, i_ext_pa=1.0
        )
        idx = np.flatnonzero(fired)
        t.extend([slow.t_us - 100] * idx.size)
        j.extend(idx.tolist())
    assert len(spikes) > 500
    np.testing.assert_array_equal(spikes.t_us, t)
    np.testing.assert_array_equal(spikes.neuron, j)
    for name in STATE_FIELDS:
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    assert fast.t_us == slow.t_us == 300_000
    assert rng_run.random() == rng_step.random(), "both consumed the same random numbers"


def test_driving_tick_by_tick_equals_one_long_run() -> None:
    """1 ms ticks with stimuli handed over once (their ramps span ticks) = one 200 ms run."""
    culture, state0 = small_culture()
    ramps = sm.ramp_train([10_300, 50_000, 120_000], [0, 5, 0], [1.0, 1.0, 0.6])
    long_state, long_spikes = cu.culture_run(
        state0, ramps, culture, 200_000, np.random.default_rng(1)
    )
    rng = np.random.default_rng(1)
    state = state0
    t, j = [], []
    for tick in range(200):
        due = (ramps.t_us >= tick * 1_000) & (ramps.t_us < (tick + 1) * 1_000)
        first = np.flatnonzero(due)
        # hand over each stimulus at its onset tick: all its ramps at once
        new = None
        if first.size and tick * 1_000 in (10_000, 50_000, 120_000):
            onset = ramps.t_us[first[0]]
            mine = (ramps.t_us >= onset) & (ramps.t_us < onset + 20_000)
            mine &= ramps.neuron == ramps.neuron[first[0]]
            new = sm.Ramps(ramps.t_us[mine], ramps.neuron[mine], ramps.dv_mv[mine])
        state, spikes = cu.culture_run(state, new, culture, 1_000, rng)
        assert np.all((spikes.t_us >= tick * 1_000) & (spikes.t_us < (tick + 1) * 1_000))
        t.extend(spikes.t_us.tolist())
        j.extend(spikes.neuron.tolist())
        if tick == 10:
            assert len(state.pending) > 0, "the rest of a train waits in the state"
    np.testing.assert_array_equal(long_spikes.t_us, t)
    np.testing.assert_array_equal(long_spikes.neuron, j)
    np.testing.assert_array_equal(long_state.v_mv, state.v_mv)
    assert len(state.pending) == 0


def test_ramps_reach_the_neurons_as_the_depolarisation_of_the_stimulation_model() -> None:
    culture, state = small_culture()
    ramps = sm.ramp_train([0, 0], [2, 7], [0.5, 1.0])
    tau_ms = culture.params.stimulation.tau_m_ms
    rng = np.random.default_rng(0)
    for k in range(300):
        state, _ = cu.culture_step(state, ramps if k == 0 else None, culture, 100, rng)
        t_end = (k + 1) * 100
        for j in (2, 7):
            # s after the step is s(t_end) of the stimulation model; a ramp falling exactly on
            # t_end belongs to the next step, hence s(t_end - 1 µs) decayed by 1 µs
            expected = sm.stimulus_depolarisation_mv(ramps, j, t_end - 1)[0] * np.exp(
                -1e-3 / tau_ms
            )
            assert state.stim_mv[j] == pytest.approx(expected, rel=1e-9)
        assert state.stim_mv[0] == 0.0


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def test_the_tick_by_tick_example_in_the_docstring_of_run_holds() -> None:
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(cu.culture_run, "run", globs={}):
        runner.run(test)
    assert runner.tries >= 8 and runner.failures == 0


def test_spikes_become_an_event_block_under_a_key_base() -> None:
    _, spikes = two_seconds(3)
    base = int(make_key(2, 1, 0))
    events = spikes.to_events(base)
    assert events.dtype == EVENT_DTYPE and events.size == len(spikes)
    np.testing.assert_array_equal(events["t_us"], spikes.t_us)
    np.testing.assert_array_equal(events["key"], base + spikes.neuron)
    assert np.all(np.diff(events["t_us"]) >= 0) and np.all(events["value"] == 0)


def synthetic(burst_starts_ms: list[int], n: int = 20, extra: int = 0) -> cu.CultureSpikes:
    """Bursts in which every neuron fires 3 times within 60 ms, plus sparse background."""
    t, j = [], []
    for s in burst_starts_ms:
        for neuron in range(n):
            for k in range(3):
                t.append((s + 20 * k + neuron) * 1_000)
                j.append(neuron)
    rng = np.random.default_rng(0)
    t.extend(rng.integers(0, 10_000_000, extra).tolist())
    j.extend(rng.integers(0, n, extra).tolist())
    order = np.argsort(t, kind="stable")
    return cu.CultureSpikes(np.array(t, np.int64)[order], np.array(j, np.int64)[order])


def test_burst_detector_finds_planted_bursts_and_ignores_background() -> None:
    spikes = synthetic([1_000, 4_000, 4_500, 8_000], extra=40)
    bursts = bu.detect_network_bursts(spikes, 20, 0, 10_000_000)
    assert bursts.start_us.tolist() == [1_000_000, 4_000_000, 4_500_000, 8_000_000]
    assert np.all(bursts.stop_us - bursts.start_us <= 100_000)
    np.testing.assert_array_equal(bursts.participation, 1.0)
    assert bursts.intervals_us.tolist() == [3_000_000, 500_000, 3_500_000]
    merged = bu.detect_network_bursts(
        spikes, 20, 0, 10_000_000, bu.BurstDetection(merge_gap_us=500_000)
    )
    assert len(merged) == 3, "bursts closer than the merge gap are one"


def test_burst_detector_requires_participation() -> None:
    # 3 of 20 neurons fire together: a high population rate, but no network burst
    t = np.array([1_000_000 + 1_000 * k for k in range(30)], np.int64)
    spikes = cu.CultureSpikes(t, np.arange(30, dtype=np.int64) % 3)
    assert len(bu.detect_network_bursts(spikes, 20, 0, 2_000_000)) == 0
    loose = bu.BurstDetection(min_participation=0.1)
    assert len(bu.detect_network_bursts(spikes, 20, 0, 2_000_000, loose)) == 1
    assert len(bu.detect_network_bursts(cu.CultureSpikes(t[:0], t[:0]), 20, 0, 2_000_000)) == 0


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_bad_run_arguments_are_refused_with_the_reason() -> None:
    culture, state = small_culture()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="duration_us must be >= 0"):
        cu.culture_run(state, None, culture, -1_000, rng)
    with pytest.raises(ValueError, match="multiple of dt_us"):
        cu.culture_run(state, None, culture, 1_050, rng)
    with pytest.raises(ValueError, match="dt_us must be in"):
        cu.culture_run(state, None, culture, 1_000, rng, dt_us=0)
    with pytest.raises(ValueError, match="before the culture time"):
        cu.culture_run(
            dataclasses.replace(state, t_us=5_000), sm.ramp_train(0, 0, 0.5), culture, 100, rng
        )
    with pytest.raises(ValueError, match="ramp neuron index"):
        cu.culture_run(state, sm.ramp_train(0, 40, 0.5), culture, 100, rng)
    with pytest.raises(ValueError, match="i_ext_pa must be finite"):
        cu.culture_run(state, None, culture, 100, rng, i_ext_pa=np.nan)
    with pytest.raises(TypeError, match="Generator"):
        cu.culture_run(state, None, culture, 100, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Generator"):
        cu.make_culture(cu.HIPPOCAMPAL_CULTURE, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_neurons": 0}, "n_neurons"),
        ({"excitatory_fraction": 1.2}, r"excitatory_fraction must be in \[0, 1\]"),
        ({"release_fraction": 0.0}, "release_fraction must be > 0"),
        ({"tau_rec_ms": -5.0}, "tau_rec_ms must be > 0"),
        ({"tau_exc_ms": float("nan")}, "tau_exc_ms must be finite"),
        ({"noise_pa_sqrt_ms": -1.0}, "noise_pa_sqrt_ms must be >= 0"),
        ({"mean_in_degree": 500.0}, "mean_in_degree"),
        ({"bias_min_pa": 3.0, "bias_max_pa": 1.0}, "bias_min_pa"),
    ],
)
def test_bad_parameters_name_the_field(change: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(cu.HIPPOCAMPAL_CULTURE, **change)


def test_bad_burst_detection_input_is_refused() -> None:
    empty = cu.CultureSpikes(np.empty(0, np.int64), np.empty(0, np.int64))
    with pytest.raises(ValueError, match="t_stop_us"):
        bu.detect_network_bursts(empty, 10, 1_000, 1_000)
    with pytest.raises(ValueError, match="bin_us must be > 0"):
        bu.BurstDetection(bin_us=0)
    with pytest.raises(ValueError, match="merge_gap_us must be >= 0"):
        bu.BurstDetection(merge_gap_us=-1)
    with pytest.raises(ValueError, match="min_participation"):
        bu.BurstDetection(min_participation=1.5)
    with pytest.raises(ValueError, match="duration_us must be > 0"):
        bu.firing_rates_hz(empty, 10, 0)
    stray = cu.CultureSpikes(np.array([5], np.int64), np.array([10], np.int64))
    with pytest.raises(ValueError, match=r"0 \.\.\. 9"):
        bu.firing_rates_hz(stray, 10, 1_000)
    with pytest.raises(ValueError, match="n_neurons must be > 0"):
        bu.detect_network_bursts(stray, 0, 0, 1_000)
