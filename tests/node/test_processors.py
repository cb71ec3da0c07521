"""Site processors in virtual time: pacemaker, silicon neurons, culture, hub."""

from __future__ import annotations

import numpy as np
import pytest

from ione.culture.guard import REASON_CODES
from ione.events import EVENT_DTYPE, make_events, make_key
from ione.models.memristor import DATA_DRIVEN_DUT1, DataDriven, data_driven_pulse
from ione.models.neuron.culture import SINGLE_NEURON, make_culture
from ione.models.neuron.dpi import DYNAPSE_DPI
from ione.models.plasticity import DUT1_PULSES, RateRule
from ione.models.synapses import SynapseBank, WeightWindow
from ione.node.processors import (
    GUARD_KIND,
    CultureProcessor,
    HubProcessor,
    HubSynapses,
    PacemakerProcessor,
    Phase,
    SiliconProcessor,
    default_guard_limits,
)
from ione.record import kinds as K

MS = 1_000
NONE = np.zeros(0, EVENT_DTYPE)
SN_PRE, BN, SN_POST = int(make_key(3, 0, 0)), int(make_key(1, 0, 0)), int(make_key(3, 1, 0))


#: SINGLE_NEURON's capacitive stimulus: up to 24 pulses 0.5 ms apart, 30 stimuli a second.
CAPACITIVE = default_guard_limits(1, min_interval_us=500, max_pulses_per_electrode=1000)


def culture(seed: int, **kwargs):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    kwargs.setdefault("guard_limits", CAPACITIVE)
    return CultureProcessor(BN, make_culture(SINGLE_NEURON, rng), "hub", rng, **kwargs)


def run_ticks(proc, start_us: int, stop_us: int, inbound=None):  # type: ignore[no-untyped-def]
    sent, logged = [], []
    for t in range(start_us, stop_us, MS):
        ev = NONE if inbound is None else inbound(t)
        res = proc.tick(t, MS, ev)
        for blocks in res.outbound.values():
            sent.extend(blocks)
        logged.extend(res.records)
    return (np.concatenate(sent) if sent else NONE), logged


def test_pacemaker_fires_at_each_phase_rate() -> None:
    phases = [Phase("a", 0, 1_000_000, 10.0), Phase("b", 1_000_000, 2_000_000, 30.0)]
    p = PacemakerProcessor(SN_PRE, 1, phases, ["hub"])
    sent, logged = run_ticks(p, 0, 2_000_000)
    t = sent["t_us"]
    assert t[(t < 1_000_000)].tolist() == list(range(0, 1_000_000, 100_000))
    assert np.count_nonzero(t >= 1_000_000) == 30
    assert np.all(sent["key"] == SN_PRE)
    assert sum(b.size for k, b in logged if k == K.SPIKES) == sent.size


def test_silicon_neuron_fires_only_with_weighted_input() -> None:
    quiet = SiliconProcessor(SN_POST, 1, DYNAPSE_DPI, ["hub"])
    assert run_ticks(quiet, 0, 200 * MS)[0].size == 0

    def drive(t: int) -> np.ndarray:
        return make_events([t], [SN_POST], [1.0]) if t % (5 * MS) == 0 else NONE

    driven = SiliconProcessor(SN_POST, 1, DYNAPSE_DPI, ["hub"])
    out, _ = run_ticks(driven, 0, 500 * MS, drive)
    assert out.size > 0 and np.all(out["key"] == SN_POST)


@pytest.mark.parametrize(("weight", "code"), [(1.0, 1), (0.04, 0)])
def test_culture_reports_a_stimulated_ap_or_a_psp(weight: float, code: int) -> None:
    c = culture(3)

    def stim(t: int) -> np.ndarray:
        return make_events([t], [BN], [weight]) if t == 100 * MS else NONE

    sent, logged = run_ticks(c, 0, 200 * MS, stim)
    after = sent[sent["t_us"] >= 100 * MS]
    assert after.size >= 1 and int(after["value"][0]) == code
    responses = np.concatenate([b for k, b in logged if k == "responses"])
    first = responses[responses["t_us"] >= 100 * MS][0]
    assert first["code"] == code and first["weight"] == pytest.approx(weight)
    assert any(k == K.STIMULATION for k, _ in logged)


def hub(r_ohm: float = 5000.0) -> tuple[HubProcessor, HubSynapses]:
    model = DataDriven(DATA_DRIVEN_DUT1)
    bank = SynapseBank([0], [0], model, model.initial_state(1, r_ohm=r_ohm),
                       window=WeightWindow(4500, 6500))  # fmt: skip
    mr1 = HubSynapses("MR1", bank, RateRule(pulses=DUT1_PULSES), SN_PRE, 1, BN, 1, "padova",
                      post_is_culture=True)  # fmt: skip
    return HubProcessor([mr1], np.random.default_rng(0)), mr1


def test_hub_reads_the_device_and_forwards_the_weighted_event() -> None:
    h, _mr1 = hub(5500.0)
    res = h.tick(0, MS, make_events([10], [SN_PRE]))
    (sent,) = res.outbound["padova"]
    assert sent["key"].tolist() == [BN]
    assert sent["value"][0] == pytest.approx(round(255 * 0.5) / 255, abs=1e-6)  # w_byte / 255
    reads = next(b for k, b in res.records if k == K.READS)
    assert reads["r_ohm"].tolist() == [5500.0]


def test_hub_rule_post_triggers_and_stimulated_aps_never_trigger() -> None:
    h, mr1 = hub(5000.0)
    # 25 presynaptic spikes in the last second: rate > 20
    for k in range(25):
        h.tick(k * 40 * MS, MS, make_events([k * 40 * MS], [SN_PRE]))
    t = 999 * MS
    stimulated_ap = h.tick(t, MS, make_events([t], [BN], [1.0]))
    assert not [b for k, b in stimulated_ap.records if k == K.PULSES]
    psp = h.tick(t + MS, MS, make_events([t + MS], [BN], [0.0]))
    (pulses,) = [b for k, b in psp.records if k == K.PULSES]
    assert pulses["volts"].tolist() == [2.0] and pulses["width_us"].tolist() == [100]
    expected = data_driven_pulse(5000.0, 2.0, 100, DATA_DRIVEN_DUT1)
    assert mr1.bank.resistance()[0] == pytest.approx(float(expected))
    # three seconds later only a few spikes are in the window: a spontaneous AP depresses
    late = 5_000 * MS
    spont = h.tick(late, MS, make_events([late], [BN], [2.0]))
    (pulses,) = [b for k, b in spont.records if k == K.PULSES]
    assert pulses["volts"].tolist() == [-1.5]


def test_hub_culture_spikes_as_presynaptic_input() -> None:
    model = DataDriven(DATA_DRIVEN_DUT1)
    bank = SynapseBank([0], [0], model, model.initial_state(1, r_ohm=6000.0),
                       window=WeightWindow(4500, 6500))  # fmt: skip
    mr2 = HubSynapses("MR2", bank, RateRule(), BN, 1, SN_POST, 1, "zurich", pre_is_culture=True)
    h = HubProcessor([mr2], np.random.default_rng(0))
    res = h.tick(0, MS, make_events([1, 2, 3], [BN, BN, BN], [0.0, 1.0, 2.0]))
    (sent,) = res.outbound["zurich"]
    assert sent.size == 2  # a PSP is not a spike; both kinds of AP are
    assert np.all(sent["key"] == SN_POST)


def test_culture_logs_each_stimulus_outcome_once_its_window_closes() -> None:
    c = culture(4)

    def stim(t: int) -> np.ndarray:
        return (
            make_events([t], [BN], [1.0 if t == 100 * MS else 0.04])
            if t in (100 * MS, 300 * MS)
            else NONE
        )

    _, logged = run_ticks(c, 0, 400 * MS, stim)
    rows = np.concatenate([b for k, b in logged if k == "stimuli"])
    assert rows["t_us"].tolist() == [100 * MS, 300 * MS]
    assert rows["evoked_ap"].tolist() == [1, 0]
    assert rows["peak_mv"][0] > rows["peak_mv"][1] > 0


def test_the_guard_stands_between_the_hub_and_the_culture() -> None:
    """SYSTEM.md §5's default limits refuse the capacitive train (pulses 0.5 ms apart): the
    stimulus is logged as rejected, with its reason, and the neuron is never stimulated."""
    strict = culture(3, guard_limits=default_guard_limits(1))

    def stim(t: int) -> np.ndarray:
        return make_events([t - 20 * MS], [BN], [1.0]) if t == 100 * MS else NONE

    _sent, logged = run_ticks(strict, 0, 200 * MS, stim)
    stimulation = np.concatenate([b for k, b in logged if k == K.STIMULATION])
    assert stimulation["allowed"].tolist() == [0]
    assert stimulation["reason"].tolist() == [REASON_CODES["rate_electrode"]]
    guard = np.concatenate([b for k, b in logged if k == GUARD_KIND])
    assert guard["allowed"].tolist() == [0] and strict.stimuli == 0
    assert strict.stimulator.delivered().size == 0
    assert not any(k == "stimuli" for k, _ in logged)
    # a stimulus whose source time is older than the allowed latency is dropped, never late
    late = culture(3)
    run_ticks(late, 0, 200 * MS, lambda t: make_events([t - 150 * MS], [BN], [1.0])
              if t == 180 * MS else NONE)  # fmt: skip
    assert late.guard.statistics()["rejected_by_reason"] == {"deadline": 1}


def test_a_silent_hub_disables_the_outputs_until_rearmed() -> None:
    c = culture(5)
    heard = {"hub": 0}
    delivered = []
    for t in range(0, 1_000 * MS, MS):
        if t <= 300 * MS and t % (10 * MS) == 0:
            heard["hub"] = t  # the hub's link delivers a frame every 10 ms, then falls silent
        c.links_heard(t, heard)
        stim = make_events([t], [BN], [0.5]) if t % (50 * MS) == 0 else NONE
        c.tick(t, MS, stim)
        delivered.append(c.stimulator.delivered().size)
        if t == 800 * MS:
            assert not c.rearm(t)  # still silent: the guard refuses
            heard["hub"] = t  # the hub is back ...
            c.links_heard(t, heard)
            assert c.guard.enabled is False  # ... which alone re-enables nothing
            assert c.rearm(t)
    stats = c.guard.statistics()
    assert stats["trips"] == 1 and stats["rejected_by_reason"]["watchdog"] == 7  # 500 ... 800 ms
    # nothing delivered from the trip (300 ms + 200 ms timeout) to the re-arm, then again
    assert delivered[500] == delivered[799] and delivered[-1] > delivered[799]
    assert c.status()["outputs"] == "enabled"
