"""Stimulators: the reference SimulatedStimulator passes the conformance suite, the suite catches
broken stimulators, and delivered charge produces responses in the simulated culture."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from ione.culture.conformance import (
    ALL_CHECKS,
    check_delivers_exactly_what_it_was_given,
    check_disarm_is_immediate,
    check_log_is_a_copy,
    check_refuses_when_disarmed,
    check_starts_disarmed,
    run_all,
)
from ione.culture.guard import GuardLimits, StimulationGuard
from ione.culture.stimulator import (
    DEFAULT_COUPLING,
    PULSE_DTYPE,
    ChargeCoupling,
    SimulatedStimulator,
    Stimulator,
    pulses_of,
)
from ione.culture.stimulus import DEFAULT_PULSE, Command, Waveform
from ione.models.neuron.culture import HIPPOCAMPAL_CULTURE, SINGLE_NEURON, make_culture


def make(seed: int = 1, **kw: Any) -> SimulatedStimulator:
    rng = np.random.default_rng(seed)
    return SimulatedStimulator(make_culture(SINGLE_NEURON, rng), rng, **kw)


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_simulated_stimulator_conforms(check: Any) -> None:
    check(make)


def test_conformance_on_another_electrode_and_time() -> None:
    rng = np.random.default_rng(2)
    net = make_culture(HIPPOCAMPAL_CULTURE, rng)
    run_all(lambda: SimulatedStimulator(net, rng), electrode=17, t0_us=5_000_000_000)


# ------------------------------------------------------------------------------------------
# The suite is not blind: broken stimulators fail it with clear messages
# ------------------------------------------------------------------------------------------


class IgnoresDisarm(SimulatedStimulator):
    def disarm(self, now_us: int) -> None:  # keeps its queue: pulses after disarm
        self._tick(now_us)
        self._armed = False


class DeliversWhenDisarmed(SimulatedStimulator):
    def deliver(self, command: Command, now_us: int) -> bool:
        armed = self._armed
        self._armed = True
        try:
            return super().deliver(command, now_us)
        finally:
            self._armed = armed


class DropsLastPulse(SimulatedStimulator):
    def deliver(self, command: Command, now_us: int) -> bool:
        w = command.waveform
        short = Waveform(w.currents_ua, w.durations_us, w.gap_us, w.onsets_us[:-1])
        return super().deliver(
            Command(
                command.electrode, short, command.t_us, command.deadline_us, "x", command.command_id
            ),
            now_us,
        )


class StartsArmed(SimulatedStimulator):
    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self._armed = True


class SharesItsLog(SimulatedStimulator):
    def delivered(self) -> np.ndarray:
        if not self._log:
            return np.zeros(0, dtype=PULSE_DTYPE)
        if len(self._log) > 1:
            self._log[:] = [np.concatenate(self._log)]
        return self._log[0]


@pytest.mark.parametrize(
    ("cls", "check", "message"),
    [
        (IgnoresDisarm, check_disarm_is_immediate, "delivered after disarm"),
        (DeliversWhenDisarmed, check_refuses_when_disarmed, "while disarmed returned True"),
        (DropsLastPulse, check_delivers_exactly_what_it_was_given, "delivered 3 pulses of a 4"),
        (StartsArmed, check_starts_disarmed, "must start disarmed"),
        (SharesItsLog, check_log_is_a_copy, "view into the log"),
    ],
)
def test_conformance_catches_broken_stimulators(cls: type, check: Any, message: str) -> None:
    def factory() -> SimulatedStimulator:
        rng = np.random.default_rng(0)
        return cls(make_culture(SINGLE_NEURON, rng), rng)  # type: ignore[no-any-return]

    with pytest.raises(AssertionError, match=message):
        check(factory)


def test_protocol_is_structural() -> None:
    assert isinstance(make(), Stimulator)
    assert not isinstance(object(), Stimulator)


# ------------------------------------------------------------------------------------------
# Delivered charge -> the culture model
# ------------------------------------------------------------------------------------------


def test_delivered_charge_maps_to_depolarisation() -> None:
    """10 mV/nC of cathodic charge: the default 0.1 nC pulse adds the 1 mV of SYSTEM.md §3.2."""
    rows = pulses_of(Command(0, DEFAULT_PULSE, 0, 1), 0)
    assert DEFAULT_COUPLING.dv_mv(rows) == pytest.approx([1.0])
    tri = pulses_of(Command(0, Waveform.triphasic(2.0, 100), 0, 1), 0)  # 0.2 nC cathodic
    assert DEFAULT_COUPLING.dv_mv(tri) == pytest.approx([2.0])
    anodic_first = pulses_of(Command(0, Waveform.biphasic(1.0, 50, cathodic_first=False), 0, 1), 0)
    assert ChargeCoupling(4.0).dv_mv(anodic_first) == pytest.approx([0.2])
    with pytest.raises(ValueError, match="mv_per_nc"):
        ChargeCoupling(-1.0)


def test_one_pulse_moves_the_membrane_by_its_charge() -> None:
    """Without noise the stimulus depolarisation right after a pulse is exactly ΔV."""
    rng = np.random.default_rng(0)
    quiet = SINGLE_NEURON.__class__(**{**_fields(SINGLE_NEURON), "noise_pa_sqrt_ms": 0.0})
    stim = SimulatedStimulator(make_culture(quiet, rng), rng)
    stim.arm(0)
    stim.deliver(Command(0, Waveform.biphasic(1.5, 100), 10_000, 20_000), 0)
    stim.advance(10_000)
    assert stim.state is not None and stim.state.stim_mv[0] == 0.0
    stim.advance(10_100)  # one 0.1 ms step that contains the pulse
    tau_decay = math.exp(-0.1 / 20.0)  # s decays over the step it is applied in
    assert stim.state.stim_mv[0] == pytest.approx(1.5 * tau_decay)


def _fields(p: Any) -> dict[str, Any]:
    return {name: getattr(p, name) for name in p.__dataclass_fields__}


def _aps_after(stim: SimulatedStimulator, onsets: np.ndarray, window_us: int) -> int:
    sp = stim.spikes().t_us
    return sum(int(np.any((sp >= t) & (sp < t + window_us))) for t in onsets)


def test_bursts_evoke_action_potentials_and_single_pulses_do_not() -> None:
    """10 pulses of 0.2 nC at 200 Hz summate to ~8 mV and fire the neuron; 1 mV pulses do not."""
    burst = Waveform.biphasic(2.0, 100, 50).train(10, rate_hz=200)
    single = DEFAULT_PULSE
    onsets = 1_000_000 + np.arange(20) * 500_000  # every 0.5 s for 10 s
    results = {}
    for name, w in (("burst", burst), ("single", single), ("none", None)):
        stim = make(seed=7)
        stim.arm(0)
        for k, t in enumerate(onsets):
            stim.advance(int(t))
            if w is not None:
                assert stim.deliver(Command(0, w, int(t), int(t) + 1_000, "test", k), int(t))
        stim.advance(int(onsets[-1]) + 500_000)
        results[name] = _aps_after(stim, onsets, 80_000)
    assert results["burst"] >= 15, results  # most bursts answered (16-19 of 20 over seeds 7-11)
    assert results["single"] <= 4 and results["none"] <= 4, results  # chance spontaneous APs


def test_guard_in_front_of_the_simulated_culture() -> None:
    """The whole chain: guard.submit -> stimulator -> culture; rejected commands do nothing."""
    stim = make(seed=3)
    guard = StimulationGuard(GuardLimits(), stimulator=stim)
    guard.rearm(0)  # arms the stimulator
    assert stim.armed
    ok = guard.submit(
        Command(0, DEFAULT_PULSE.train(3, rate_hz=100), 1_000, 5_000, "hub", 1), 1_000
    )
    hot = guard.submit(Command(0, Waveform.biphasic(3.0, 500), 100_000, 105_000, "hub", 2), 100_000)
    assert ok.allowed and hot.reason == "density"
    stim.advance(200_000)
    assert stim.delivered()["command_id"].tolist() == [1, 1, 1]


def test_electrode_map_and_errors() -> None:
    stim = make(electrode_neurons=[0, 0, 0])
    stim.arm(0)
    with pytest.raises(ValueError, match="electrode 5 has no neuron"):
        stim.deliver(Command(5, DEFAULT_PULSE, 0, 10), 0)
    nan = Command.unchecked(0, Waveform.unchecked((math.nan, 1.0), (100, 100)), 0, 10)
    with pytest.raises(ValueError, match="non-finite"):
        stim.deliver(nan, 0)
    with pytest.raises(ValueError, match=r"1 \.\.\. 8 phases"):
        stim.deliver(Command.unchecked(0, Waveform.unchecked((1.0,) * 9, (1,) * 9), 0, 10), 0)
    with pytest.raises(ValueError, match="electrode_neurons"):
        make(electrode_neurons=[0, 1])  # SINGLE_NEURON has one neuron
    with pytest.raises(TypeError, match="now_us"):
        stim.advance(1.5)  # type: ignore[arg-type]
    assert stim.pending() == 0


def test_disarm_counts_cancelled_pulses_and_refusals() -> None:
    stim = make()
    stim.arm(0)
    stim.deliver(Command(0, DEFAULT_PULSE.train(10, rate_hz=100), 0, 10), 0)
    stim.advance(25_000)
    stim.disarm(25_000)
    assert stim.cancelled == 7 and len(stim.delivered()) == 3 and stim.pending() == 0
    assert stim.deliver(Command(0, DEFAULT_PULSE, 30_000, 40_000), 30_000) is False
    assert stim.refused == 1
