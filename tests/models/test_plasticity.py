"""Spike histories, the hub's rate rule, the timing rule, STDP and the memristive synapse bank."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ione.models.memristor import DATA_DRIVEN_DUT1, DataDriven, Vteam, data_driven_pulse
from ione.models.plasticity import (
    DUT1_PULSES,
    HUB_GUI_PULSES,
    PairSTDP,
    PulseProgramme,
    RateRule,
    SpikeHistory,
    TimingRule,
)
from ione.models.synapses import SynapseBank, WeightWindow

S = 1_000_000  # µs


def history_with(counts: dict[int, list[int]], n: int = 4) -> SpikeHistory:
    h = SpikeHistory(n)
    events = sorted((t, i) for i, ts in counts.items() for t in ts)
    if events:
        t, i = zip(*events, strict=True)
        h.record(np.array(i), np.array(t))
    return h


def spikes_before(t: int, n: int, span_us: int) -> list[int]:
    """``n`` spike times evenly within ``(t - span_us, t]``."""
    return [t - span_us + (k + 1) * span_us // n for k in range(n)]


# ---------------------------------------------------------------------------- the rate rule
@pytest.mark.parametrize(("n_spikes", "expected"), [(21, 1), (20, 0), (5, 0), (4, -1), (0, -1)])
def test_rate_rule_thresholds_are_exact(n_spikes: int, expected: int) -> None:
    t = 10 * S
    h = history_with({0: spikes_before(t, n_spikes, S)})
    assert RateRule().decide(h, [0], t).tolist() == [expected]


def test_rate_rule_window_edge_is_inclusive_at_one_second() -> None:
    t = 10 * S
    base = spikes_before(t - 2, 20, S // 2)  # 20 spikes well inside the window
    at_edge = history_with({0: sorted([t - S, *base])})  # t - t_i == 1.0 s: counts
    past_edge = history_with({0: sorted([t - S - 1, *base])})  # 1 µs older: does not
    assert RateRule().decide(at_edge, [0], t).tolist() == [1]
    assert RateRule().decide(past_edge, [0], t).tolist() == [0]
    future = history_with({0: [*base, t + 1]})  # a spike after the trigger never counts
    assert future.count([0], t, S).tolist() == [20]


def test_rate_rule_counts_only_the_last_100_spikes() -> None:
    t = 10 * S
    burst = spikes_before(t - S // 2, 150, S // 4)  # 150 spikes, all within the window
    h = history_with({0: burst})
    assert h.count([0], t, S).tolist() == [100]
    # 100 recent spikes push out 100 older ones that were also in the window
    old = spikes_before(t - S // 2, 10, 100_000)
    recent = spikes_before(t, 100, 100_000)
    h2 = history_with({0: old + recent})
    assert h2.count([0], t, S).tolist() == [100]
    h3 = history_with({0: old + recent[:90]})
    assert h3.count([0], t, S).tolist() == [100]  # 10 old + 90 recent


def test_presynaptic_spikes_never_trigger_the_rate_rule() -> None:
    bank = SynapseBank([0, 1], [0, 0], DataDriven(DATA_DRIVEN_DUT1))
    post_h = SpikeHistory(1)
    with pytest.raises(TypeError, match="presynaptic spikes never trigger"):
        bank.on_pre_spike(0, 5 * S, RateRule(), post_h)  # type: ignore[arg-type]
    assert bank.ltp_pulses == bank.ltd_pulses == 0


def test_rate_rule_on_a_bank_programs_the_row_and_magnitude_comes_from_the_device() -> None:
    t = 10 * S
    # four presynaptic neurons onto one post: 30 spikes (LTP), 10 (none), 2 (LTD), 30 (LTP)
    h = history_with({0: spikes_before(t, 30, S), 1: spikes_before(t, 10, S),
                      2: spikes_before(t, 2, S), 3: spikes_before(t, 30, S)})  # fmt: skip
    model = DataDriven(DATA_DRIVEN_DUT1)
    state = model.initial_state(4, r_ohm=[4800.0, 5000.0, 5000.0, 6500.0])
    bank = SynapseBank([0, 1, 2, 3], [0, 0, 0, 0], model, state, n_post=1)
    u = bank.on_post_spike(0, t, RateRule(pulses=DUT1_PULSES), h)
    assert dict(zip(u.synapses.tolist(), u.polarity.tolist(), strict=True)) == {0: 1, 2: -1, 3: 1}
    # same decision (LTP), different magnitude: the device decides, by its state
    d0 = u.r_after_ohm[u.synapses == 0][0] - 4800.0
    d3 = u.r_after_ohm[u.synapses == 3][0] - 6500.0
    assert d0 > d3 > 0
    assert d0 == pytest.approx(float(data_driven_pulse(4800.0, 2.0, 100, DATA_DRIVEN_DUT1)) - 4800)
    assert bank.resistance()[1] == 5000.0  # no pulse
    assert (bank.ltp_pulses, bank.ltd_pulses) == (2, 1)
    # re-read: the weights follow the resistances (higher R, higher weight)
    assert np.all(u.w_after[u.polarity > 0] > u.w_before[u.polarity > 0])
    assert np.all(u.w_after[u.polarity < 0] < u.w_before[u.polarity < 0])


def test_fast_and_generic_paths_agree() -> None:
    rng = np.random.default_rng(4)
    n_pre, n_post = 300, 7
    pre = np.tile(np.arange(n_pre), n_post)
    post = np.repeat(np.arange(n_post), n_pre)
    h = SpikeHistory(n_pre)
    times = np.sort(rng.integers(0, 20 * S, 60_000))
    h.record(rng.integers(0, n_pre, times.size), times)
    r0 = rng.uniform(4600, 6600, pre.size)
    fast = SynapseBank(
        pre, post, DataDriven(DATA_DRIVEN_DUT1), DataDriven().initial_state(pre.size, r_ohm=r0)
    )

    # the same devices through the generic interface (a model subclass skips the fast kernel)
    class Plain(DataDriven):
        pass

    slow = SynapseBank(
        pre, post, Plain(DATA_DRIVEN_DUT1), DataDriven().initial_state(pre.size, r_ohm=r0)
    )
    posts, ts = rng.integers(0, n_post, 40), np.sort(rng.integers(20 * S, 21 * S, 40))
    a = fast.on_post_spikes(posts, ts, RateRule(), h)
    b = slow.on_post_spikes(posts, ts, RateRule(), h)
    assert a.synapses.tolist() == b.synapses.tolist()
    assert np.allclose(a.r_after_ohm, b.r_after_ohm, rtol=1e-12)
    assert np.allclose(fast.resistance(), slow.resistance(), rtol=1e-12)


def test_rate_rule_refuses_pulses_outside_the_fit() -> None:
    bank = SynapseBank([0], [0], DataDriven(DATA_DRIVEN_DUT1))
    with pytest.raises(ValueError, match=r"\+4 V pulse is outside"):
        bank.on_post_spike(0, S, RateRule(pulses=HUB_GUI_PULSES), SpikeHistory(1))


# ---------------------------------------------------------------------------- history
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_history_counts_equal_brute_force(data: st.DataObject) -> None:
    n, depth = 5, data.draw(st.integers(3, 30))
    h = SpikeHistory(n, depth)
    kept: list[list[int]] = [[] for _ in range(n)]
    t = 0
    for _ in range(data.draw(st.integers(1, 60))):
        t += data.draw(st.integers(0, 300))
        if data.draw(st.booleans()):
            i = data.draw(st.integers(0, n - 1))
            h.record([i], [t])
            kept[i].append(t)
        else:
            q = t - data.draw(st.integers(0, 400))  # sometimes out of time order
            w = data.draw(st.integers(0, 500))
            got = h.count(np.arange(n), q, w).tolist()
            want = [sum(1 for x in ks[-depth:] if 0 <= q - x <= w) for ks in kept]
            assert got == want


def test_history_refuses_out_of_order_spikes_and_records_nothing() -> None:
    h = SpikeHistory(3)
    h.record([0, 1], [100, 200])
    with pytest.raises(ValueError, match="time order"):
        h.record([2, 0], [300, 50])
    assert h.recorded == 2
    h.record([2], [300])  # neuron 2 was not touched by the refused block
    assert h.last_before([0, 1, 2], 1000).tolist() == [100, 200, 300]
    with pytest.raises(ValueError, match="outside"):
        h.record([3], [400])


# ---------------------------------------------------------------------------- timing, STDP
def test_timing_rule_windows() -> None:
    t = 10 * S
    pre_h = history_with({0: [t - 100_000], 1: [t - 100_001], 2: []})
    assert TimingRule().on_post(pre_h, [0, 1, 2], t).tolist() == [1, 0, 0]
    post_h = history_with({0: [t - 37_500], 1: [t - 37_501], 2: [t]})
    assert TimingRule().on_pre(post_h, [0, 1, 2], t).tolist() == [-1, 0, 0]


def test_timing_rule_on_a_bank_uses_its_pulses() -> None:
    t = 10 * S
    model = DataDriven(DATA_DRIVEN_DUT1)
    bank = SynapseBank([0, 1], [0, 0], model, model.initial_state(2, r_ohm=5000.0))
    u = bank.on_post_spike(0, t, TimingRule(), history_with({0: [t - 50_000], 1: [t - 500_000]}, 2))
    assert u.synapses.tolist() == [0]
    expected = data_driven_pulse(5000.0, 1.5, 1, DATA_DRIVEN_DUT1)  # ±1.5 V, 1 µs
    assert u.r_after_ohm[0] == pytest.approx(float(expected))
    d = bank.on_pre_spike(1, t + 10_000, TimingRule(), history_with({0: [t]}, 1))
    assert d.synapses.tolist() == [1] and d.polarity.tolist() == [-1]


def test_pair_stdp_graded_widths() -> None:
    t = 10 * S
    rule = PairSTDP(a_plus=1.0, a_minus=1.0, tau_plus_ms=20, tau_minus_ms=20,
                    pulses=PulseProgramme(2.0, 100, -1.5, 100))  # fmt: skip
    h = history_with({0: [t], 1: [t - 20_000], 2: [t - 200_000], 3: []})
    dw, width = rule.on_post(h, [0, 1, 2, 3], t)
    assert dw[0] == pytest.approx(1.0) and dw[1] == pytest.approx(np.exp(-1))
    assert width.tolist() == [100, 37, 0, 0]
    dw2, width2 = rule.on_pre(history_with({0: [t - 10_000]}, 1), [0], t)
    assert dw2[0] == pytest.approx(-np.exp(-0.5)) and width2.tolist() == [61]
    model = DataDriven(DATA_DRIVEN_DUT1)
    bank = SynapseBank([0, 1, 2, 3], [0, 0, 0, 0], model, model.initial_state(4, r_ohm=5000.0))
    u = bank.on_post_spike(0, t, rule, h)
    assert u.synapses.tolist() == [0, 1]
    assert u.r_after_ohm[0] > u.r_after_ohm[1] > 5000.0  # longer pulse, larger change


# ---------------------------------------------------------------------------- bank and weights
def test_weight_mapping_of_the_hub() -> None:
    w = WeightWindow()
    r = np.array([3000.0, 4000.0, 6500.0, 9000.0, 12000.0])
    assert w.weight_byte(r).tolist() == [0, 0, 128, 255, 255]  # round(255 * 0.5) = 128
    assert np.allclose(w.weight(r), [0, 0, 0.5, 1, 1])
    assert WeightWindow(3500, 15000).weight_byte([9250.0]).tolist() == [128]
    with pytest.raises(ValueError, match="r_min_ohm < r_max_ohm"):
        WeightWindow(9000, 4000)


def test_reading_a_presynaptic_row() -> None:
    model = DataDriven(DATA_DRIVEN_DUT1)
    bank = SynapseBank(
        [0, 0, 1], [2, 5, 2], model, model.initial_state(3, r_ohm=[4000.0, 6500.0, 9000.0])
    )
    targets, weights = bank.read_pre(0)
    assert targets.tolist() == [2, 5] and weights.tolist() == [0, 128]
    assert bank.reads == 2
    assert bank.row_of_post(2).tolist() == [0, 2]


def test_bank_with_another_device_model() -> None:
    t = 10 * S
    bank = SynapseBank([0, 1], [0, 0], Vteam(), window=WeightWindow(50, 1000))
    h = history_with({0: spikes_before(t, 30, S)}, 2)
    u = bank.on_post_spike(0, t, RateRule(pulses=PulseProgramme(1.0, 100, -1.0, 100)), h)
    assert u.synapses.tolist() == [0, 1] and u.polarity.tolist() == [1, -1]
    assert u.r_after_ohm[0] > u.r_before_ohm[0] and u.r_after_ohm[1] < u.r_before_ohm[1]


def test_bank_input_errors() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        SynapseBank([0, 1], [0], Vteam())
    with pytest.raises(ValueError, match="holds 2 devices for 3"):
        SynapseBank([0, 1, 2], [0, 0, 0], Vteam(), Vteam().initial_state(2))
    bank = SynapseBank([0], [0], Vteam())
    with pytest.raises(ValueError, match="outside"):
        bank.on_post_spike(3, S, RateRule(), SpikeHistory(1))
    with pytest.raises(ValueError, match="time order"):
        bank.on_post_spikes([0, 0], [2 * S, S], RateRule(), SpikeHistory(1))


def test_reading_many_presynaptic_spikes_at_once() -> None:
    model = DataDriven(DATA_DRIVEN_DUT1)
    r = [4000.0, 6500.0, 9000.0, 5000.0]
    bank = SynapseBank([0, 0, 1, 2], [2, 5, 2, 1], model, model.initial_state(4, r_ohm=r))
    which, targets, weights = bank.read_pres([1, 0, 1])
    assert which.tolist() == [0, 1, 1, 2]
    assert targets.tolist() == [2, 2, 5, 2]
    assert weights.tolist() == [255, 0, 128, 255]
