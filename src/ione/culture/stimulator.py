"""Stimulators: what sits behind the guard and drives current into the tissue.

:class:`Stimulator` is the protocol a rig's driver implements (a typing.Protocol: no base class
to inherit); :class:`SimulatedStimulator` is the reference implementation, which stimulates ione's
simulated culture (:mod:`ione.models.neuron.culture`). :mod:`ione.culture.conformance` checks any
implementation.

The contract, with times in integer µs passed in (a stimulator reads no clock of its own):

- ``arm(now_us)`` / ``disarm(now_us)``: a stimulator starts **disarmed**. Disarming is immediate:
  no pulse that has not started yet is ever delivered (a pulse already under way is finished, so
  that no half of a balanced pulse is left in the tissue). Re-arming does not bring cancelled
  pulses back.
- ``deliver(command, now_us) -> bool``: queue every pulse of the command's train to start at
  ``max(command.t_us, now_us) + onset``. Refuses (returns False, queues nothing) when disarmed.
  The guard stands in front, so a stimulator delivers exactly what it is given; it raises
  ``ValueError`` only for a command it cannot represent at all (NaN, too many phases).
- ``advance(now_us)``: time has passed; every queued pulse starting before ``now_us`` is delivered.
- ``delivered()``: every pulse delivered so far, one :data:`PULSE_DTYPE` row each, in start order.
- ``now_us`` must never decrease from call to call (``ValueError``).

Mapping delivered charge to the culture model
---------------------------------------------
The culture model takes stimulation as "ramps": each moves the target neuron's membrane by ΔV and
adds ΔV to a stimulus depolarisation that decays with τ_m = 20 ms (SYSTEM.md §3.2, after Schoen &
Fromherz, J. Neurophysiol. 100:346, 2008: about 1 mV per weak biphasic stimulus, summating over a
train). :class:`SimulatedStimulator` turns every delivered pulse into one ramp at its start::

    ΔV = k · Q_cathodic,   Q_cathodic = Σ |I_i| d_i · 1e-3 over the cathodic phases (nC)

with k = 10 mV/nC **[default]**, so the default pulse (1 µA for 100 µs per phase, 0.1 nC) gives
the 1 mV of one stimulus in §3.2, and a burst of 10 pulses of 0.2 nC at 200 Hz (peak
2 mV · (1 - q^10)/(1 - q) ≈ 8 mV with q = exp(-5/20)) brings a neuron over threshold. Electrode e
stimulates neuron ``electrode_neurons[e]`` (default: e modulo the number of neurons). This is a
phenomenological mapping for exercising a closed loop, not a model of extracellular stimulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ione.culture.stimulus import MAX_PHASES, Command
from ione.models.neuron.culture import (
    CULTURE_DT_US,
    Culture,
    CultureSpikes,
    CultureState,
    culture_initial_state,
    culture_run,
)
from ione.models.neuron.stimulation import Ramps

__all__ = [
    "DEFAULT_COUPLING",
    "PULSE_DTYPE",
    "ChargeCoupling",
    "SimulatedStimulator",
    "Stimulator",
    "pulses_of",
]

#: One row per delivered pulse: start time, electrode, command id, number of phases, the phases'
#: currents (µA) and durations (µs) (unused phases 0), and the interphase gap (µs).
PULSE_DTYPE: Final = np.dtype(
    [("t_us", "<i8"), ("electrode", "<i8"), ("command_id", "<i8"), ("phases", "u1"),
     ("current_ua", "<f8", (MAX_PHASES,)), ("duration_us", "<i8", (MAX_PHASES,)),
     ("gap_us", "<i8")]
)  # fmt: skip


@runtime_checkable
class Stimulator(Protocol):
    """What a stimulator behind a :class:`~ione.culture.guard.StimulationGuard` provides (the
    contract is in the module docstring; :mod:`ione.culture.conformance` checks it)."""

    @property
    def armed(self) -> bool:
        """True between :meth:`arm` and :meth:`disarm`."""
        ...

    def arm(self, now_us: int) -> None:
        """Allow deliveries from now on."""
        ...

    def disarm(self, now_us: int) -> None:
        """Stop at once: cancel every pulse that has not started."""
        ...

    def deliver(self, command: Command, now_us: int) -> bool:
        """Queue the command's pulses; False (nothing queued) when disarmed."""
        ...

    def advance(self, now_us: int) -> None:
        """Deliver every queued pulse that starts before ``now_us``."""
        ...

    def delivered(self) -> npt.NDArray[np.void]:
        """Every pulse delivered so far (:data:`PULSE_DTYPE`, a copy)."""
        ...


def pulses_of(command: Command, start_us: int) -> npt.NDArray[np.void]:
    """The pulses of a command's train starting at ``start_us``, as :data:`PULSE_DTYPE` rows.

    Raises
    ------
    ValueError
        If the command cannot be represented: a non-finite current, a non-integer or
        non-positive duration, negative gap, more than :data:`MAX_PHASES` phases, or phases
        that do not match.
    """
    w = command.waveform
    try:
        cur = np.asarray(w.currents_ua, dtype=np.float64)
        dur_f = np.asarray(w.durations_us, dtype=np.float64)
        ons_f = np.asarray(w.onsets_us, dtype=np.float64)
        gap = float(w.gap_us)
        electrode = int(command.electrode)
        cid = int(command.command_id)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"cannot represent command {command!r}: {exc}") from None
    n = cur.shape[0]
    if cur.ndim != 1 or not 1 <= n <= MAX_PHASES or dur_f.shape != cur.shape:
        raise ValueError(f"a pulse needs 1 ... {MAX_PHASES} phases with one duration each")
    if not (np.all(np.isfinite(cur)) and np.all(np.isfinite(dur_f)) and np.all(np.isfinite(ons_f))):
        raise ValueError("cannot deliver a non-finite current, duration or onset")
    if (
        np.any(dur_f <= 0)
        or np.any(dur_f != np.round(dur_f))
        or not (math.isfinite(gap) and gap >= 0)
    ):
        raise ValueError("phase durations must be whole µs > 0 and the gap >= 0")
    k = ons_f.shape[0]
    out = np.zeros(k, dtype=PULSE_DTYPE)
    out["t_us"] = np.int64(start_us) + ons_f.astype(np.int64)
    out["electrode"] = electrode
    out["command_id"] = cid
    out["phases"] = n
    out["current_ua"][:, :n] = cur
    out["duration_us"][:, :n] = dur_f.astype(np.int64)
    out["gap_us"] = int(gap)
    return out


@dataclass(frozen=True, slots=True)
class ChargeCoupling:
    """How delivered charge becomes the culture model's stimulation (module docstring).

    Attributes
    ----------
    mv_per_nc
        Depolarisation per nC of cathodic charge in a pulse (mV/nC).
    """

    mv_per_nc: float = 10.0

    def __post_init__(self) -> None:
        v = self.mv_per_nc
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < math.inf:
            raise ValueError(f"ChargeCoupling.mv_per_nc must be a finite number >= 0, got {v!r}")

    def dv_mv(self, pulses: npt.NDArray[np.void]) -> npt.NDArray[np.float64]:
        """ΔV of each pulse (mV): ``mv_per_nc`` × its cathodic charge."""
        q = pulses["current_ua"] * pulses["duration_us"] / 1000.0
        out: npt.NDArray[np.float64] = self.mv_per_nc * -np.where(q < 0, q, 0.0).sum(axis=1)
        return out


#: 10 mV per nC: the default 0.1 nC pulse gives the ~1 mV of one stimulus (SYSTEM.md §3.2).
DEFAULT_COUPLING: Final = ChargeCoupling()


class SimulatedStimulator:
    """The reference :class:`Stimulator`: delivers pulses into a simulated culture.

    Parameters
    ----------
    culture
        The network (:func:`ione.models.neuron.culture.make_culture`).
    rng
        Noise source of the culture.
    state
        Starting state; by default the culture starts at rest at the first time it is given
        (rounded down to ``dt_us``). A state given at any µs makes the culture step at that
        time + k ``dt_us``.
    coupling
        Delivered charge to model input (module docstring).
    electrode_neurons
        Neuron stimulated by each electrode index; default ``electrode % n_neurons``.
    dt_us
        The culture's time step.

    Examples
    --------
    >>> import numpy as np
    >>> from ione.models.neuron.culture import SINGLE_NEURON, make_culture
    >>> from ione.culture.stimulus import Command, Waveform
    >>> rng = np.random.default_rng(0)
    >>> stim = SimulatedStimulator(make_culture(SINGLE_NEURON, rng), rng)
    >>> stim.arm(0)
    >>> burst = Waveform.biphasic(2.0, 100, 50).train(10, rate_hz=200)
    >>> stim.deliver(Command(0, burst, t_us=10_000, deadline_us=20_000), now_us=0)
    True
    >>> stim.advance(100_000)
    >>> len(stim.delivered()), len(stim.spikes()) > 0
    (10, True)
    """

    def __init__(
        self,
        culture: Culture,
        rng: np.random.Generator,
        *,
        state: CultureState | None = None,
        coupling: ChargeCoupling = DEFAULT_COUPLING,
        electrode_neurons: npt.ArrayLike | None = None,
        dt_us: int = CULTURE_DT_US,
    ) -> None:
        if not isinstance(culture, Culture):
            raise TypeError(f"culture must be a Culture, got {type(culture).__name__}")
        self.culture = culture
        self.rng = rng
        self.coupling = coupling
        self.dt_us = int(dt_us)
        # the culture steps at phase + k * dt_us: a state given at any µs sets the phase
        self._phase = 0 if state is None else int(state.t_us) % self.dt_us
        self._state = state
        if electrode_neurons is None:
            self._map: npt.NDArray[np.int64] | None = None
        else:
            m = np.asarray(electrode_neurons, dtype=np.int64)
            if m.ndim != 1 or (m.size and (m.min() < 0 or m.max() >= culture.n)):
                raise ValueError(f"electrode_neurons must be 1-D indices in 0 ... {culture.n - 1}")
            self._map = m
        self._armed = False
        self._now: int | None = None
        self._queue = np.zeros(0, dtype=PULSE_DTYPE)
        self._log: list[npt.NDArray[np.void]] = []
        self._drained = 0
        self._spike_t: list[npt.NDArray[np.int64]] = []
        self._spike_j: list[npt.NDArray[np.int64]] = []
        self.refused = 0  #: commands refused while disarmed
        self.cancelled = 0  #: pulses cancelled by disarm

    # ------------------------------------------------------------------ protocol
    @property
    def armed(self) -> bool:
        return self._armed

    def arm(self, now_us: int) -> None:
        self._tick(now_us)
        self._armed = True

    def disarm(self, now_us: int) -> None:
        self._tick(now_us)
        self._armed = False
        self.cancelled += self._queue.shape[0]
        self._queue = self._queue[:0]

    def deliver(self, command: Command, now_us: int) -> bool:
        now = self._tick(now_us)
        if not self._armed:
            self.refused += 1
            return False
        try:
            t = int(command.t_us)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"cannot represent t_us {command.t_us!r}") from None
        rows = pulses_of(command, max(t, now))
        if rows.shape[0]:
            self._neurons(rows["electrode"])  # fails early for an electrode without a neuron
            q = np.concatenate([self._queue, rows])
            self._queue = q[np.argsort(q["t_us"], kind="stable")]
        return True

    def advance(self, now_us: int) -> None:
        now = self._tick(now_us)
        due = int(np.searchsorted(self._queue["t_us"], now, side="left"))
        out, self._queue = self._queue[:due], self._queue[due:]
        ramps = None
        if due:
            self._log.append(out)
            dv = self.coupling.dv_mv(out)
            ramps = Ramps(out["t_us"].copy(), self._neurons(out["electrode"]), dv)
        state = self._state
        assert state is not None
        target = now - (now - self._phase) % self.dt_us
        if target > state.t_us or ramps is not None:
            self._state, spikes = culture_run(
                state, ramps, self.culture, max(0, target - state.t_us), self.rng, dt_us=self.dt_us
            )
            if len(spikes):
                self._spike_t.append(spikes.t_us)
                self._spike_j.append(spikes.neuron)

    def drain_delivered(self) -> npt.NDArray[np.void]:
        """The pulses delivered since the previous call (or the start), for a runtime that logs
        them as they go; :meth:`delivered` still returns them all."""
        new = self._log[self._drained :]
        self._drained = len(self._log)
        return np.concatenate(new) if new else np.zeros(0, dtype=PULSE_DTYPE)

    def delivered(self) -> npt.NDArray[np.void]:
        if not self._log:
            return np.zeros(0, dtype=PULSE_DTYPE)
        return np.concatenate(self._log)

    # ------------------------------------------------------------------ the culture side
    def drain_spikes(self) -> CultureSpikes:
        """The spikes since the previous call (or the start), removed from :meth:`spikes`:
        for a runtime that reports them as they come."""
        out = self.spikes()
        self._spike_t.clear()
        self._spike_j.clear()
        return out

    def spikes(self) -> CultureSpikes:
        """Every spike of the culture so far (or since :meth:`drain_spikes`)."""
        if not self._spike_t:
            return CultureSpikes(np.zeros(0, np.int64), np.zeros(0, np.int64))
        return CultureSpikes(np.concatenate(self._spike_t), np.concatenate(self._spike_j))

    @property
    def state(self) -> CultureState | None:
        """The culture's state (None before the first call)."""
        return self._state

    def pending(self) -> int:
        """Pulses queued and not yet delivered."""
        return int(self._queue.shape[0])

    def _neurons(self, electrodes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        if self._map is None:
            if electrodes.size and electrodes.min() < 0:
                raise ValueError(f"electrode {int(electrodes.min())} has no neuron")
            out: npt.NDArray[np.int64] = electrodes % self.culture.n
            return out
        bad = (electrodes < 0) | (electrodes >= self._map.shape[0])
        if bad.any():
            raise ValueError(
                f"electrode {int(electrodes[bad][0])} has no neuron in electrode_neurons"
            )
        return self._map[electrodes]

    def _tick(self, now_us: int) -> int:
        if isinstance(now_us, bool) or not isinstance(now_us, int | np.integer):
            raise TypeError(f"now_us must be integer microseconds, got {now_us!r}")
        now = int(now_us)
        if self._now is not None and now < self._now:
            raise ValueError(f"now_us went backwards: {now} after {self._now}")
        self._now = now
        if self._state is None:
            self._state = culture_initial_state(self.culture, self.rng, now - now % self.dt_us)
        return now
