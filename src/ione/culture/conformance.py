"""Conformance suite for stimulators: run it against your rig's :class:`Stimulator`.

Each check is a plain function that takes a factory (a callable returning a fresh, disarmed
stimulator) and raises ``AssertionError`` with a clear message when the stimulator breaks the
contract of :mod:`ione.culture.stimulator`. Run them all from pytest::

    import pytest
    from ione.culture.conformance import ALL_CHECKS

    def make():                       # a fresh stimulator, disarmed, electrode 0 usable
        return MyRigStimulator(...)

    @pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
    def test_my_stimulator_conforms(check):
        check(make)

or all at once with :func:`run_all`. ``electrode`` names an electrode the stimulator can drive
(default 0); ``t0_us`` is the time the checks start at (default 1 s). The commands are small,
charge-balanced biphasic pulses (1 µA, 100 µs per phase) in trains at 100 Hz.

A real rig may take wall-clock time to play pulses; its ``advance(now_us)`` then reports what the
hardware has played by ``now_us``, and the checks give it that time through ``now_us``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from ione.culture.stimulator import PULSE_DTYPE, Stimulator
from ione.culture.stimulus import Command, Waveform

__all__ = [
    "ALL_CHECKS",
    "check_delivers_exactly_what_it_was_given",
    "check_disarm_is_immediate",
    "check_late_command_starts_now",
    "check_log_is_a_copy",
    "check_nothing_is_delivered_before_its_time",
    "check_rearm_delivers_again",
    "check_refuses_when_disarmed",
    "check_starts_disarmed",
    "check_time_never_goes_back",
    "run_all",
]

Factory = Callable[[], Stimulator]
_PULSE: Final = Waveform.biphasic(1.0, 100, 50)
_PERIOD_US: Final = 10_000


def _train(electrode: int, t_us: int, pulses: int, command_id: int = 7) -> Command:
    w = _PULSE.train(pulses, period_us=_PERIOD_US)
    return Command(electrode, w, t_us, t_us + 1_000_000, "conformance", command_id)


def _log(stim: Stimulator) -> npt.NDArray[np.void]:
    log = stim.delivered()
    assert isinstance(log, np.ndarray), f"delivered() must return a numpy array, got {type(log)}"
    for name in PULSE_DTYPE.names or ():
        assert log.dtype.names is not None and name in log.dtype.names, (
            f"delivered() rows lack the field {name!r} of PULSE_DTYPE (got {log.dtype})"
        )
    return log


def check_starts_disarmed(make: Factory, electrode: int = 0, t0_us: int = 1_000_000) -> None:
    """A new stimulator is disarmed, follows the protocol and has delivered nothing."""
    stim = make()
    assert isinstance(stim, Stimulator), "the object lacks methods of the Stimulator protocol"
    assert stim.armed is False, "a new stimulator must start disarmed (armed is not False)"
    assert _log(stim).shape[0] == 0, "a new stimulator has already delivered pulses"


def check_refuses_when_disarmed(make: Factory, electrode: int = 0, t0_us: int = 1_000_000) -> None:
    """deliver() returns False while disarmed and nothing is delivered, even much later."""
    stim = make()
    ok = stim.deliver(_train(electrode, t0_us, 3), t0_us)
    assert ok is False, f"deliver() while disarmed returned {ok!r}, expected False"
    stim.advance(t0_us + 10 * _PERIOD_US)
    n = _log(stim).shape[0]
    assert n == 0, f"a disarmed stimulator delivered {n} pulse(s)"


def check_delivers_exactly_what_it_was_given(
    make: Factory, electrode: int = 0, t0_us: int = 1_000_000
) -> None:
    """Every pulse of an accepted train is delivered once, at its time, with its phases."""
    stim = make()
    stim.arm(t0_us)
    cmd = _train(electrode, t0_us + 2_000, 4, command_id=42)
    assert stim.deliver(cmd, t0_us) is True, "an armed stimulator refused a safe command"
    stim.advance(t0_us + 2_000 + 5 * _PERIOD_US)
    log = _log(stim)
    want = t0_us + 2_000 + np.arange(4) * _PERIOD_US
    assert log.shape[0] == 4, f"delivered {log.shape[0]} pulses of a 4-pulse train"
    assert np.array_equal(log["t_us"], want), f"pulse times {log['t_us']} differ from {want}"
    assert np.all(log["electrode"] == electrode), f"electrodes {log['electrode']} != {electrode}"
    assert np.all(log["command_id"] == 42), f"command ids {log['command_id']} != 42"
    assert np.all(log["phases"] == 2), f"phase counts {log['phases']} != 2"
    assert np.allclose(log["current_ua"][:, :2], [-1.0, 1.0]), "phase currents differ"
    assert np.all(log["duration_us"][:, :2] == 100), "phase durations differ"
    assert np.all(log["gap_us"] == 50), "interphase gaps differ"


def check_nothing_is_delivered_before_its_time(
    make: Factory, electrode: int = 0, t0_us: int = 1_000_000
) -> None:
    """A queued pulse is not reported as delivered before its start time."""
    stim = make()
    stim.arm(t0_us)
    start = t0_us + 50_000
    assert stim.deliver(_train(electrode, start, 1), t0_us) is True
    stim.advance(start - 1)
    n = _log(stim).shape[0]
    assert n == 0, f"{n} pulse(s) reported delivered before their start time"
    stim.advance(start + 1_000)
    n = _log(stim).shape[0]
    assert n == 1, f"{n} pulse(s) delivered after the start time, expected 1"


def check_late_command_starts_now(
    make: Factory, electrode: int = 0, t0_us: int = 1_000_000
) -> None:
    """A command whose time has passed starts at now_us (its train shifted, not squeezed)."""
    stim = make()
    stim.arm(t0_us)
    now = t0_us + 3_000
    assert stim.deliver(_train(electrode, t0_us, 2), now) is True
    stim.advance(now + 3 * _PERIOD_US)
    got = _log(stim)["t_us"]
    want = now + np.arange(2) * _PERIOD_US
    assert np.array_equal(got, want), f"late train delivered at {got}, expected {want}"


def check_disarm_is_immediate(make: Factory, electrode: int = 0, t0_us: int = 1_000_000) -> None:
    """After disarm(t) no pulse starting at or after t is delivered, and nothing new is taken."""
    stim = make()
    stim.arm(t0_us)
    assert stim.deliver(_train(electrode, t0_us, 6), t0_us) is True
    stop = t0_us + 2 * _PERIOD_US + 500  # after the third pulse started
    stim.advance(stop)
    stim.disarm(stop)
    assert stim.armed is False, "armed is still True after disarm()"
    assert stim.deliver(_train(electrode, stop + 1_000, 2), stop) is False, (
        "deliver() after disarm() did not refuse"
    )
    stim.advance(t0_us + 10 * _PERIOD_US)
    t = _log(stim)["t_us"]
    late = t[t >= stop]
    assert late.size == 0, f"{late.size} pulse(s) delivered after disarm at {stop}: {late}"
    assert t.size == 3, f"{t.size} pulses delivered before disarm, expected the first 3"


def check_rearm_delivers_again(make: Factory, electrode: int = 0, t0_us: int = 1_000_000) -> None:
    """arm() after disarm() accepts new commands; cancelled pulses stay cancelled."""
    stim = make()
    stim.arm(t0_us)
    assert stim.deliver(_train(electrode, t0_us + 1_000, 3), t0_us) is True
    stim.disarm(t0_us + 500)
    stim.arm(t0_us + 600)
    assert stim.armed is True, "armed is not True after arm()"
    assert stim.deliver(_train(electrode, t0_us + 100_000, 1, command_id=8), t0_us + 600)
    stim.advance(t0_us + 200_000)
    log = _log(stim)
    assert log.shape[0] == 1 and int(log["command_id"][0]) == 8, (
        f"after re-arming, delivered command ids {log['command_id']}, expected only [8]"
    )


def check_log_is_a_copy(make: Factory, electrode: int = 0, t0_us: int = 1_000_000) -> None:
    """Changing the array delivered() returned does not change the stimulator's log."""
    stim = make()
    stim.arm(t0_us)
    stim.deliver(_train(electrode, t0_us, 1), t0_us)
    stim.advance(t0_us + _PERIOD_US)
    first = _log(stim)
    assert first.shape[0] == 1, f"expected 1 delivered pulse, got {first.shape[0]}"
    first["t_us"] = -1
    again = _log(stim)
    assert int(again["t_us"][0]) == t0_us, "delivered() returned a view into the log"


def check_time_never_goes_back(make: Factory, electrode: int = 0, t0_us: int = 1_000_000) -> None:
    """A call with a now_us earlier than a previous one raises ValueError."""
    stim = make()
    stim.arm(t0_us)
    stim.advance(t0_us + 10_000)
    try:
        stim.deliver(_train(electrode, t0_us, 1), t0_us)
    except ValueError:
        return
    raise AssertionError("deliver() accepted a now_us earlier than a previous call's")


#: Every check, in a sensible order.
ALL_CHECKS: Final = (
    check_starts_disarmed,
    check_refuses_when_disarmed,
    check_delivers_exactly_what_it_was_given,
    check_nothing_is_delivered_before_its_time,
    check_late_command_starts_now,
    check_disarm_is_immediate,
    check_rearm_delivers_again,
    check_log_is_a_copy,
    check_time_never_goes_back,
)


def run_all(make: Factory, electrode: int = 0, t0_us: int = 1_000_000) -> None:
    """Run every check; the first failure raises its ``AssertionError``."""
    for check in ALL_CHECKS:
        check(make, electrode, t0_us)
