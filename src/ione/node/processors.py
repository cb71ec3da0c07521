"""What each kind of site does in one tick: pacemakers, silicon neurons, cultures and the hub.

A processor is plain synchronous code: once per tick the site runtime hands it the events that
arrived (times already translated onto the local clock) and the tick's start time, and gets back
the events to send, by destination site, and the records to log. No sockets, no clocks, no
asyncio here, so a processor is tested in virtual time and a run is reproducible from its seed.

Messages between sites are event blocks (:data:`ione.events.EVENT_DTYPE`); the address says
whose event it is:

=========================  ============================  =====================================
from → to                  key                           value
=========================  ============================  =====================================
silicon/generator → hub    the spiking neuron            0
hub → culture              the target neuron             weight ``w_byte / 255``: stimulate it
culture → hub              the responding neuron         response code 0 PSP, 1 stimulated AP,
                                                         2 spontaneous AP (SYSTEM.md §1.1)
hub → silicon              the target neuron             weight ``w_byte / 255``: synaptic input
=========================  ============================  =====================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ione.culture.detect import StreamingDetector, peaks_to_events
from ione.culture.guard import MEA60, ElectrodeTable, GuardLimits, StimulationGuard, WatchdogError
from ione.culture.spiketrains import SpikeTrainReplay
from ione.culture.stimulator import ChargeCoupling, SimulatedStimulator
from ione.culture.stimulus import DEFAULT_PULSE, EventDesign, commands_from_events
from ione.culture.streams import VoltageSource
from ione.events import EVENT_DTYPE, EventBlock, concat_events, make_events
from ione.models.neuron.adex import adex_initial_state, adex_step
from ione.models.neuron.culture import CULTURE_DT_US, Culture, culture_initial_state
from ione.models.neuron.dpi import DPIParams, DPIState, dpi_initial_state, dpi_run, dpi_step
from ione.models.neuron.lif import (
    NeuronInput,
    lif_cond_initial_state,
    lif_cond_step,
    lif_curr_initial_state,
    lif_curr_step,
)
from ione.models.neuron.stimulation import (
    CapacitiveStimulation,
    classify_responses,
    response_window_end_us,
    stimulus_peak_mv,
)
from ione.models.plasticity import PairSTDP, RateRule, SpikeHistory, TimingRule
from ione.models.synapses import PlasticityUpdate, SynapseBank
from ione.record import kinds as K

__all__ = [
    "DEFAULT_LATENCY_US",
    "DELIVERED_DTYPE",
    "DELIVERED_KIND",
    "GUARD_KIND",
    "RESPONSE_DTYPE",
    "STEP_MODELS",
    "STIMULUS_DTYPE",
    "CultureProcessor",
    "ElectrodeCultureProcessor",
    "HubProcessor",
    "HubSynapses",
    "PacemakerProcessor",
    "Phase",
    "Processor",
    "RecordedCultureProcessor",
    "ReplayProcessor",
    "SiliconProcessor",
    "StaticRoute",
    "StaticRoutes",
    "StepNeuronProcessor",
    "TickResult",
    "capacitive_design",
    "default_guard_limits",
    "delivered_rows",
    "run_tick",
    "warm_up",
]

#: One row per stimulus once its response window has closed (kind ``stimuli``): onset, target,
#: weight, whether it evoked an AP, latency of the first evoked AP (or of the PSP peak), and the
#: model's peak depolarisation for that weight.
STIMULUS_DTYPE = np.dtype(
    [
        ("t_us", "<i8"),
        ("key", "<u4"),
        ("weight", "<f4"),
        ("evoked_ap", "u1"),
        ("latency_us", "<i8"),
        ("peak_mv", "<f4"),
    ]
)
#: One row per stimulus response of a culture (kind ``responses``).
RESPONSE_DTYPE = np.dtype(
    [
        ("t_us", "<i8"),
        ("key", "<u4"),
        ("weight", "<f4"),
        ("code", "u1"),
        ("latency_us", "<i8"),
        ("peak_mv", "<f4"),
    ]
)
_EMPTY = np.zeros(0, EVENT_DTYPE)
#: Kind of the guard's records in a session log (:data:`ione.culture.guard.DECISION_DTYPE`).
GUARD_KIND = "guard"
#: Kind of the pulses a culture's stimulator delivered (:data:`DELIVERED_DTYPE`).
DELIVERED_KIND = "delivered_pulses"
#: One row per delivered pulse: start, electrode, command, phases, largest |I| (µA), cathodic
#: and anodic charge (nC, both >= 0) and the pulse's length from its first phase's start to its
#: last phase's end (µs).
DELIVERED_DTYPE = np.dtype(
    [("t_us", "<i8"), ("electrode", "<i8"), ("command_id", "<i8"), ("phases", "u1"),
     ("peak_current_ua", "<f4"), ("cathodic_nc", "<f4"), ("anodic_nc", "<f4"),
     ("duration_us", "<i8")]
)  # fmt: skip


def delivered_rows(pulses: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
    """Delivered pulses (:data:`ione.culture.stimulator.PULSE_DTYPE`) as flat
    :data:`DELIVERED_DTYPE` rows for a session log."""
    out = np.zeros(pulses.size, DELIVERED_DTYPE)
    for name in ("t_us", "electrode", "command_id", "phases"):
        out[name] = pulses[name]
    q = pulses["current_ua"] * pulses["duration_us"] * 1e-3
    out["peak_current_ua"] = np.abs(pulses["current_ua"]).max(axis=1)
    out["cathodic_nc"] = -np.where(q < 0, q, 0.0).sum(axis=1)
    out["anodic_nc"] = np.where(q > 0, q, 0.0).sum(axis=1)
    out["duration_us"] = (
        pulses["duration_us"].sum(axis=1)
        + np.maximum(pulses["phases"].astype(np.int64) - 1, 0) * pulses["gap_us"]
    )
    return out


#: A remote stimulus may start at most this long after its source time (µs): two emulated hops
#: of SYSTEM.md §4 (15 ± 2 and 10 ± 2 ms) and the ticks in between fit with room to spare.
DEFAULT_LATENCY_US = 100_000


def capacitive_design(
    stimulation: CapacitiveStimulation, latency_us: int = DEFAULT_LATENCY_US
) -> EventDesign:
    """A capacitive stimulus (SYSTEM.md §3.2) as a command design: one biphasic pulse
    (:data:`~ione.culture.stimulus.DEFAULT_PULSE`, 0.1 nC per phase) per ramp, ``max_ramps``
    of them ``ramp_interval_us`` apart at weight 1, the first ``round(w * max_ramps)`` at
    weight ``w``: the ramps the culture model applies, and what the guard judges."""
    train = DEFAULT_PULSE.train(stimulation.max_ramps, period_us=stimulation.ramp_interval_us)
    return EventDesign(train, latency_us=latency_us, scale="pulses")


def default_guard_limits(n_electrodes: int, **limits: Any) -> GuardLimits:
    """SYSTEM.md §5's limits (:class:`~ione.culture.GuardLimits`' defaults) for a culture whose
    electrode ``i`` stimulates neuron ``i``: electrodes 0 ... n - 1 of a standard 60-electrode
    MEA's size (30 µm diameter); ``limits`` override fields (from a description's guard
    table)."""
    area = MEA60.area_um2[0]
    if "electrodes" not in limits:
        limits["electrodes"] = ElectrodeTable.uniform(range(n_electrodes), area)
    return GuardLimits(**limits)


@dataclass
class TickResult:
    """What one tick produced: events to send (by destination site), records to log, and the
    site's own spikes (for the :class:`StaticRoutes` of static projections)."""

    outbound: dict[str, list[EventBlock]] = field(default_factory=dict)
    records: list[tuple[str, Any]] = field(default_factory=list)
    spikes: list[EventBlock] = field(default_factory=list)

    def send(self, site: str, events: EventBlock) -> None:
        if events.size:
            self.outbound.setdefault(site, []).append(events)

    def log(self, kind: str, block: Any) -> None:
        if not isinstance(block, np.ndarray) or block.size:
            self.records.append((kind, block))

    def merge(self, other: TickResult) -> None:
        for site, blocks in other.outbound.items():
            self.outbound.setdefault(site, []).extend(blocks)
        self.records.extend(other.records)
        self.spikes.extend(other.spikes)


class Processor:
    """One population's (or the hub's) work per tick."""

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        raise NotImplementedError

    def status(self) -> dict[str, Any]:
        """A few numbers for the live display (JSON-ready)."""
        return {"kind": type(self).__name__}

    def links_heard(self, t_us: int, heard: dict[str, int | None]) -> None:
        """Before each tick: when each peer's link last delivered an authentic frame (local µs;
        None before the first). A culture's guard watches its controlling links with it."""

    def rearm(self, t_us: int) -> bool:
        """An operator re-arms the site's stimulation outputs; True if nothing is disabled."""
        return True


@dataclass(frozen=True, slots=True)
class Phase:
    """A protocol phase: ``[start_us, stop_us)`` and the pacemaker rate during it."""

    name: str
    start_us: int
    stop_us: int
    rate_hz: float


class PacemakerProcessor(Processor):
    """A silicon pacemaker (or any generator): regular spikes at each phase's rate, sent to
    ``targets`` (the hub). With ``poisson=True`` the spikes are a Poisson train instead."""

    def __init__(
        self,
        key_base: int,
        size: int,
        phases: Sequence[Phase],
        targets: Sequence[str],
        *,
        poisson: bool = False,
        rng: np.random.Generator | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a pacemaker needs at least one neuron")
        if poisson and rng is None:
            raise ValueError("a Poisson generator needs an rng")
        self.key_base, self.size, self.phases = key_base, size, list(phases)
        self.targets, self.poisson, self.rng = list(targets), poisson, rng
        self.spikes = 0

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        times: list[npt.NDArray[np.int64]] = []
        for ph in self.phases:
            lo, hi = max(t_us, ph.start_us), min(t_us + dt_us, ph.stop_us)
            if hi <= lo or ph.rate_hz <= 0:
                continue
            if self.poisson:
                assert self.rng is not None
                n = int(self.rng.poisson(ph.rate_hz * self.size * (hi - lo) / 1e6))
                times.append(np.sort(self.rng.integers(lo, hi, n)))
            else:
                period = 1e6 / ph.rate_hz
                k0 = int(np.ceil((lo - ph.start_us) / period))
                k1 = int(np.ceil((hi - ph.start_us) / period))
                times.append(ph.start_us + np.rint(np.arange(k0, k1) * period).astype(np.int64))
        t = np.concatenate(times) if times else np.zeros(0, np.int64)
        if t.size:
            if self.poisson:
                assert self.rng is not None
                stamps, keys = t, self.rng.integers(0, self.size, t.size)
            else:  # every neuron of the pacemaker fires at each beat
                stamps, keys = np.repeat(t, self.size), np.tile(np.arange(self.size), t.size)
            ev = make_events(stamps, self.key_base + keys)
            self.spikes += ev.size
            for site in self.targets:
                out.send(site, ev)
            out.spikes.append(ev)
            out.log(K.SPIKES, K.spike_block(ev["t_us"], ev["key"]))
        return out

    def status(self) -> dict[str, Any]:
        return {"kind": "generator", "key_base": self.key_base, "spikes": self.spikes}


class SiliconProcessor(Processor):
    """DPI silicon neurons driven by weighted events from the hub; their spikes go to
    ``targets``. Each event's efficacy ``w`` (``w_byte / 255``) enters the sub-step it falls in."""

    def __init__(
        self,
        key_base: int,
        size: int,
        params: DPIParams,
        targets: Sequence[str],
        *,
        substep_us: int = 100,
    ) -> None:
        self.key_base, self.size, self.params = key_base, size, params
        self.targets, self.substep_us = list(targets), substep_us
        self.state: DPIState = dpi_initial_state(size, params)
        self.spikes = 0
        self.inputs = 0

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        n_sub = max(1, dt_us // self.substep_us)
        mine = inbound[
            (inbound["key"] >= self.key_base) & (inbound["key"] < self.key_base + self.size)
        ]
        e_exc = np.zeros((n_sub, self.size))
        if mine.size:
            row = np.clip((mine["t_us"] - t_us) // self.substep_us, 0, n_sub - 1)
            np.add.at(e_exc, (row, mine["key"] - self.key_base), np.clip(mine["value"], 0.0, 1.0))
            self.inputs += mine.size
        self.state, raster = dpi_run(self.state, self.params, self.substep_us, n_sub, e_exc)
        steps, neurons = np.nonzero(raster)
        if steps.size:
            ev = make_events(
                t_us + steps.astype(np.int64) * self.substep_us, self.key_base + neurons
            )
            self.spikes += ev.size
            for site in self.targets:
                out.send(site, ev)
            out.spikes.append(ev)
            out.log(K.SPIKES, K.spike_block(ev["t_us"], ev["key"]))
        return out

    def status(self) -> dict[str, Any]:
        return {
            "kind": "silicon",
            "key_base": self.key_base,
            "spikes": self.spikes,
            "inputs": self.inputs,
        }


#: Silicon models a :class:`StepNeuronProcessor` runs: name -> (initial state, step).
STEP_MODELS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "dpi": (dpi_initial_state, dpi_step),
    "lif": (lif_curr_initial_state, lif_curr_step),
    "lif_cond": (lif_cond_initial_state, lif_cond_step),
    "adex": (adex_initial_state, adex_step),
}


class StepNeuronProcessor(Processor):
    """Silicon (or simulated) neurons of a model with the common ``step(state, NeuronInput,
    params, dt_us, rng)`` form (:data:`STEP_MODELS`), driven by weighted events: each event's
    value enters ``NeuronInput.w_exc`` of the sub-step it falls in, in the model's weight unit
    (the efficacy ``w_byte / 255`` for DPI, nA for current-based and µS for conductance-based
    cells), multiplied by ``weight_scale``."""

    def __init__(
        self,
        model: str,
        key_base: int,
        size: int,
        params: Any,
        targets: Sequence[str],
        rng: np.random.Generator,
        *,
        substep_us: int = 100,
        weight_scale: float = 1.0,
    ) -> None:
        if model not in STEP_MODELS:
            raise ValueError(
                f"the runtime steps silicon models {sorted(STEP_MODELS)}; got {model!r}"
            )
        init, self._step = STEP_MODELS[model]
        self.model, self.key_base, self.size, self.params = model, key_base, size, params
        self.targets, self.substep_us, self.rng = list(targets), substep_us, rng
        self.weight_scale = weight_scale
        self.state = init(size, params) if model == "dpi" else init(size, params, rng)
        self.spikes = 0
        self.inputs = 0

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        n_sub = max(1, dt_us // self.substep_us)
        mine = inbound[
            (inbound["key"] >= self.key_base) & (inbound["key"] < self.key_base + self.size)
        ]
        w = np.zeros((n_sub, self.size))
        if mine.size:
            row = np.clip((mine["t_us"] - t_us) // self.substep_us, 0, n_sub - 1)
            values = np.clip(mine["value"].astype(np.float64), 0.0, None) * self.weight_scale
            np.add.at(w, (row, mine["key"] - self.key_base), values)
            self.inputs += mine.size
        zero = np.zeros(self.size)
        raster = np.zeros((n_sub, self.size), np.bool_)
        for k in range(n_sub):  # a handful of sub-steps per tick, each vectorised over neurons
            self.state, raster[k] = self._step(
                self.state, NeuronInput(w[k], zero), self.params, self.substep_us, self.rng
            )
        steps, neurons = np.nonzero(raster)
        if steps.size:
            ev = make_events(
                t_us + steps.astype(np.int64) * self.substep_us, self.key_base + neurons
            )
            self.spikes += ev.size
            for site in self.targets:
                out.send(site, ev)
            out.spikes.append(ev)
            out.log(K.SPIKES, K.spike_block(ev["t_us"], ev["key"]))
        return out

    def status(self) -> dict[str, Any]:
        return {
            "kind": "silicon",
            "key_base": self.key_base,
            "spikes": self.spikes,
            "inputs": self.inputs,
        }


@dataclass(frozen=True)
class StaticRoute:
    """One static projection leaving this site: pre neuron -> (post address, weight) at a site."""

    pre_key_base: int
    pre_index: npt.NDArray[np.int64]
    post_key: npt.NDArray[np.int64]
    weight: float
    post_site: str


class StaticRoutes(Processor):
    """Static projections (:class:`ione.network.StaticSynapse`) from this site's populations:
    every own spike becomes a weighted event to each of its targets' sites, sent directly (no
    hub). The site runtime calls :meth:`route` with the spikes its other processors produced."""

    def __init__(self, routes: Sequence[StaticRoute]) -> None:
        self.routes = list(routes)

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        return TickResult()

    def route(self, spikes: EventBlock) -> TickResult:
        out = TickResult()
        if not spikes.size:
            return out
        for r in self.routes:
            local = spikes["key"].astype(np.int64) - r.pre_key_base
            # connections are sorted by pre neuron: each spike fans out to its slice
            order = np.argsort(r.pre_index, kind="stable")
            pre_sorted = r.pre_index[order]
            lo = np.searchsorted(pre_sorted, local, "left")
            hi = np.searchsorted(pre_sorted, local, "right")
            counts = hi - lo
            if not counts.sum():
                continue
            spike_of = np.repeat(np.arange(spikes.size), counts)
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            conn = order[starts + np.arange(spike_of.size)]
            out.send(
                r.post_site,
                make_events(
                    spikes["t_us"][spike_of],
                    r.post_key[conn],
                    np.full(spike_of.size, r.weight, np.float32),
                ),
            )
        return out


class CultureProcessor(Processor):
    """A culture (or a single neuron) stimulated through a guard (SYSTEM.md §1.1, §3.2, §5).

    Every stimulation request from a hub becomes a command (:func:`commands_from_events` with
    the culture's :func:`capacitive_design`: a train of one biphasic pulse per capacitive ramp,
    as many as the weight asks for), which the :class:`~ione.culture.StimulationGuard` checks
    before the :class:`~ione.culture.SimulatedStimulator` delivers it into the culture model.
    Every response is classified (PSP, stimulated AP, spontaneous AP) and reported to the
    hub(s) as it becomes final. The guard watches the links of the hubs that stimulate the
    culture (:meth:`links_heard`): a silent one disables the outputs until :meth:`rearm`.
    """

    def __init__(
        self,
        key_base: int,
        culture: Culture,
        hub: str | Sequence[str] | None,
        rng: np.random.Generator,
        *,
        targets: int | None = None,
        stimulation: CapacitiveStimulation | None = None,
        memory_us: int = 2_000_000,
        t0_us: int = 0,
        guard_limits: GuardLimits | None = None,
        latency_us: int = DEFAULT_LATENCY_US,
    ) -> None:
        self.key_base, self.culture, self.rng = key_base, culture, rng
        self.hubs = [] if hub is None else [hub] if isinstance(hub, str) else list(hub)
        self.size = culture.params.n_neurons if targets is None else targets
        self.stimulation = culture.params.stimulation if stimulation is None else stimulation
        self.design = capacitive_design(self.stimulation, latency_us)
        limits = default_guard_limits(self.size) if guard_limits is None else guard_limits
        # the culture's clock is the site's: tick 0 starts at t0_us
        state = culture_initial_state(culture, rng, t_us=t0_us)
        self.stimulator = SimulatedStimulator(
            culture, rng, state=state, coupling=self.design_coupling(), dt_us=CULTURE_DT_US
        )
        self.guard = StimulationGuard(limits, self.stimulator)
        self.stimulator.arm(t0_us)
        self.t_us = t0_us
        self.memory_us = memory_us
        self._stim = np.zeros(0, [("t", "<i8"), ("n", "<i8"), ("w", "<f8"), ("end", "<i8")])
        self._spikes = np.zeros(0, [("t", "<i8"), ("n", "<i8")])
        self._commands = 0
        self._heard: dict[str, int] = {}
        self.stimuli = self.aps = self.reports = self.rejected = 0

    def design_coupling(self) -> ChargeCoupling:
        """Charge to depolarisation such that one pulse of the design moves the neuron by the
        stimulation's ``dv_per_ramp_mv``."""
        w = self.design.waveform
        cathodic = -sum(c * d for c, d in zip(w.currents_ua, w.durations_us, strict=True) if c < 0)
        return ChargeCoupling(self.stimulation.dv_per_ramp_mv / (cathodic * 1e-3))

    def links_heard(self, t_us: int, heard: dict[str, int | None]) -> None:
        for hub in self.hubs:
            last = heard.get(hub)
            if last is None:
                continue
            when = max(self.t_us, min(int(last), t_us))  # the guard's time never goes back
            if hub not in self._heard:
                self.guard.attach(hub, when)
            elif last != self._heard[hub]:
                self.guard.heartbeat(hub, when)
            self._heard[hub] = int(last)

    def rearm(self, t_us: int) -> bool:
        """Re-enable outputs after a watchdog trip (an operator's act); False if a watched link
        is still silent (the guard refuses, and says so in its records)."""
        try:
            self.guard.rearm(max(t_us, self.t_us))
        except WatchdogError:
            return False
        return True

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        if t_us != self.t_us:
            raise ValueError(
                f"culture at {self.t_us} µs asked to run a tick from {t_us} µs: ticks must "
                "follow one another from the t0_us the processor was made with"
            )
        out = TickResult()
        self.guard.poll(t_us)
        mine = inbound[
            (inbound["key"] >= self.key_base) & (inbound["key"] < self.key_base + self.size)
        ]
        if mine.size:
            self._stimulate(t_us, mine, out)
        self.stimulator.advance(t_us + dt_us)
        self.t_us = t_us + dt_us
        spikes = self.stimulator.drain_spikes()
        own = spikes.neuron < self.size
        if len(spikes):
            new = np.zeros(int(own.sum()), self._spikes.dtype)
            new["t"], new["n"] = spikes.t_us[own], spikes.neuron[own]
            self._spikes = np.concatenate([self._spikes, new])
            self.aps += new.size
            out.spikes.append(make_events(new["t"], self.key_base + new["n"]))
            out.log(K.SPIKES, K.spike_block(spikes.t_us, self.key_base + spikes.neuron))
        records = self.guard.drain_records()
        if records.size:
            out.log(GUARD_KIND, records)
        delivered = self.stimulator.drain_delivered()
        if delivered.size:
            out.log(DELIVERED_KIND, delivered_rows(delivered))
        self._report(t_us, t_us + dt_us, out)
        return out

    def _stimulate(self, t_us: int, mine: EventBlock, out: TickResult) -> None:
        """Requests to commands, through the guard, to the stimulator; log every decision."""
        local = mine.copy()
        local["key"] -= np.uint32(self.key_base)  # the electrode is the target neuron's index
        commands = commands_from_events(
            local,
            self.design,
            source=self.hubs[0] if len(self.hubs) == 1 else "remote",
            first_command_id=self._commands,
        )
        self._commands += len(commands)
        allowed = np.zeros(len(commands), bool)
        reason = np.zeros(len(commands), np.uint8)
        for i, command in enumerate(commands):  # a few per tick: stimuli, not spikes
            decision = self.guard.submit(command, t_us)
            allowed[i] = decision.allowed
            reason[i] = decision.reason_code
        n = (mine["key"] - self.key_base).astype(np.int64)
        w = mine["value"].astype(np.float64)
        out.log(
            K.STIMULATION,
            K.stim_block(
                t_us=t_us, key=mine["key"], electrode=n, amplitude=mine["value"],
                duration_us=0, allowed=allowed.astype(np.uint8), reason=reason,
            ),
        )  # fmt: skip
        self.rejected += int((~allowed).sum())
        if not allowed.any():
            return
        n, w = n[allowed], np.clip(w[allowed], 0.0, 1.0)
        onset = np.full(n.size, t_us, np.int64)
        rows = np.zeros(n.size, self._stim.dtype)
        rows["t"], rows["n"], rows["w"] = onset, n, w
        rows["end"] = response_window_end_us(onset, w, self.stimulation)
        self._stim = np.concatenate([self._stim, rows])
        self.stimuli += n.size

    def status(self) -> dict[str, Any]:
        return {
            "kind": "culture",
            "key_base": self.key_base,
            "stimuli": self.stimuli,
            "rejected": self.rejected,
            "outputs": "enabled" if self.guard.enabled else "DISABLED (watchdog)",
            "spikes": self.aps,
            "reports": self.reports,
        }

    def _report(self, t0: int, t1: int, out: TickResult) -> None:
        s, a = self._stim, self._spikes
        closing = (s["end"] >= t0) & (s["end"] < t1)
        if not closing.any() and not (a["t"] >= t0).any():
            return  # no AP in this tick and no window closes: nothing becomes final
        res = classify_responses(s["t"], s["n"], s["w"], a["t"], a["n"], self.stimulation)
        # APs seen in this tick are final at once; PSPs once their stimulus's window closed
        ap = (res.code > 0) & (res.t_us >= t0) & (res.t_us < t1)
        psp_stims = np.flatnonzero((res.stim_code == 0) & (s["end"] >= t0) & (s["end"] < t1))
        psp = (res.code == 0) & np.isin(res.stimulus, psp_stims)
        send = ap | psp
        if send.any():
            ev = make_events(
                res.t_us[send], self.key_base + res.neuron[send], res.code[send].astype(np.float32)
            )
            for hub in self.hubs:
                out.send(hub, ev)
            self.reports += ev.size
            stim = res.stimulus[send]
            rows = np.zeros(ev.size, RESPONSE_DTYPE)
            rows["t_us"], rows["key"], rows["code"] = ev["t_us"], ev["key"], res.code[send]
            rows["latency_us"] = res.latency_us[send]
            has = stim >= 0
            w_pad = np.append(s["w"], np.nan)  # index -1: no stimulus before this AP
            rows["weight"] = w_pad[np.where(has, stim, -1)]
            rows["peak_mv"] = np.where(
                has,
                stimulus_peak_mv(np.nan_to_num(rows["weight"]).clip(0, 1), self.stimulation),
                np.nan,
            )
            out.log("responses", rows)
        closed = (s["end"] >= t0) & (s["end"] < t1)
        if closed.any():
            rows = np.zeros(int(closed.sum()), STIMULUS_DTYPE)
            rows["t_us"], rows["key"] = s["t"][closed], self.key_base + s["n"][closed]
            rows["weight"], rows["evoked_ap"] = s["w"][closed], res.stim_code[closed]
            rows["latency_us"] = res.stim_latency_us[closed]
            rows["peak_mv"] = stimulus_peak_mv(s["w"][closed], self.stimulation)
            out.log("stimuli", rows)
        # forget what can no longer change a report
        keep = t1 - self.memory_us
        self._stim = s[s["end"] >= keep]
        self._spikes = a[a["t"] >= keep]


class ElectrodeCultureProcessor(Processor):
    """A culture seen through its electrodes: every tick, the voltages sampled during it
    (:class:`~ione.culture.streams.VoltageSource`) go through the streaming detector
    (:class:`~ione.culture.detect.StreamingDetector`); each detected spike is reported to the
    hub(s) as a spontaneous AP (code 2) of its channel's neuron, stamped with its sample's time
    (sample 0 at ``t0_us``), and logged with its amplitude. A played-back recording cannot
    answer stimulation: stimuli addressed to it are counted."""

    def __init__(
        self,
        key_base: int,
        source: VoltageSource,
        detector: StreamingDetector,
        hub: str | Sequence[str] | None,
        *,
        t0_us: int = 0,
    ) -> None:
        if detector.n_channels != source.n_channels:
            raise ValueError(
                f"the detector has {detector.n_channels} channels, the source {source.n_channels}"
            )
        self.key_base, self.source, self.detector, self.t0_us = key_base, source, detector, t0_us
        self.size = source.n_channels
        self.keys = key_base + np.arange(self.size, dtype=np.int64)
        self.hubs = [] if hub is None else [hub] if isinstance(hub, str) else list(hub)
        self.spikes = self.samples = self.stimuli_ignored = 0

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        if inbound.size:
            k = inbound["key"].astype(np.int64) - self.key_base
            self.stimuli_ignored += int(np.count_nonzero((k >= 0) & (k < self.size)))
        block = self.source.until(t_us + dt_us - self.t0_us)
        self.samples += block.samples.shape[0]
        peaks = self.detector.process(block.samples)
        if peaks.size:
            ev = peaks_to_events(peaks, self.detector.sampling_rate_hz, self.t0_us, self.keys)
            out.spikes.append(make_events(ev["t_us"], ev["key"]))
            out.log(K.SPIKES, K.spike_block(ev["t_us"], ev["key"], ev["value"]))
            report = make_events(ev["t_us"], ev["key"], np.float32(2.0))
            for hub in self.hubs:
                out.send(hub, report)
            self.spikes += ev.size
        return out

    def status(self) -> dict[str, Any]:
        return {
            "kind": "electrodes",
            "key_base": self.key_base,
            "samples": self.samples,
            "spikes": self.spikes,
            "stimuli ignored": self.stimuli_ignored,
        }


class RecordedCultureProcessor(Processor):
    """A culture whose neurons replay recorded spike trains (:class:`SpikeTrainReplay`): each
    recorded spike is reported to the hub(s) as a spontaneous AP (code 2) of the channel's
    neuron, at its replay time. A recording cannot answer stimulation: stimuli addressed to it
    are counted (and, like everything that arrives, kept in the ``received`` records), never
    turned into responses."""

    def __init__(
        self, key_base: int, replay: SpikeTrainReplay, hub: str | Sequence[str] | None
    ) -> None:
        self.key_base, self.replay = key_base, replay
        self.size = len(replay.trains.channels)
        self.hubs = [] if hub is None else [hub] if isinstance(hub, str) else list(hub)
        self.spikes = self.stimuli_ignored = 0

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        if inbound.size:
            k = inbound["key"].astype(np.int64) - self.key_base
            self.stimuli_ignored += int(np.count_nonzero((k >= 0) & (k < self.size)))
        got = self.replay.between(t_us, t_us + dt_us)
        if got.size:
            key = self.key_base + got["key"].astype(np.int64)
            out.spikes.append(make_events(got["t_us"], key))
            out.log(K.SPIKES, K.spike_block(got["t_us"], key))
            ev = make_events(got["t_us"], key, np.float32(2.0))
            for hub in self.hubs:
                out.send(hub, ev)
            self.spikes += got.size
        return out

    def status(self) -> dict[str, Any]:
        return {
            "kind": "recording",
            "key_base": self.key_base,
            "spikes": self.spikes,
            "stimuli ignored": self.stimuli_ignored,
            "finished": self.replay.finished,
        }


@dataclass
class HubSynapses:
    """One memristive projection hosted by the hub (e.g. MR1, the ABsyn from SN_pre to BN).

    ``rule`` is the rate rule (SRDP, post-triggered), a timing rule (``TimingRule``,
    ``PairSTDP``: presynaptic spikes also act, through the postsynaptic history) or None (the
    devices are only read)."""

    name: str
    bank: SynapseBank
    rule: RateRule | TimingRule | PairSTDP | None
    pre_key_base: int
    pre_size: int
    post_key_base: int
    post_size: int
    post_site: str
    pre_is_culture: bool = False  # pre spikes arrive as culture reports: codes 1 and 2 are APs
    post_is_culture: bool = False  # post triggers are culture reports: codes 0 and 2 only
    synapse_offset: int = 0  # this bank's first synapse in the run-wide numbering
    history: SpikeHistory = field(init=False)
    post_history: SpikeHistory | None = field(init=False)
    newest_us: npt.NDArray[np.int64] = field(init=False)  # latest recorded spike per pre neuron
    newest_post_us: npt.NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        depth = self.rule.depth if isinstance(self.rule, RateRule) else 100
        self.history = SpikeHistory(self.pre_size, depth)
        timing = isinstance(self.rule, TimingRule | PairSTDP)
        self.post_history = SpikeHistory(self.post_size, depth) if timing else None
        self.newest_us = np.full(self.pre_size, np.iinfo(np.int64).min)
        self.newest_post_us = np.full(self.post_size, np.iinfo(np.int64).min)


def _monotonic(t: npt.NDArray[np.int64], idx: npt.NDArray[np.int64], newest: Any) -> Any:
    """Times made non-decreasing per neuron (a clock correction never reorders a history)."""
    t = t.copy()
    for k in range(t.size):  # one per spike of the tick (a handful), not per synapse
        t[k] = max(t[k], newest[idx[k]])
        newest[idx[k]] = t[k]
    return t


class HubProcessor(Processor):
    """The synapse hub (SYSTEM.md §1.1): on a presynaptic spike read the device(s) and send the
    weighted event to the postsynaptic site; on a postsynaptic trigger apply the rule to the row,
    program, re-read. Stimulated APs never trigger plasticity; with the rate rule presynaptic
    spikes alone never do. With ``read_interval_us`` every device is also read at that interval
    (resistance traces between plasticity events)."""

    def __init__(
        self,
        projections: Sequence[HubSynapses],
        rng: np.random.Generator,
        *,
        read_interval_us: int | None = None,
    ) -> None:
        self.projections = list(projections)
        self.rng = rng
        self.read_interval_us = read_interval_us
        self._next_read: int | None = None

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        ev = inbound[np.argsort(inbound["t_us"], kind="stable")] if inbound.size else _EMPTY
        for p in self.projections:
            self._pre(p, ev, out)
            self._post(p, ev, out)
        if self.read_interval_us is not None:
            if self._next_read is None:
                self._next_read = t_us
            if t_us >= self._next_read:
                for p in self.projections:
                    r = p.bank.resistance()
                    ids = np.arange(r.size) + p.synapse_offset
                    out.log(K.READS, K.read_block(t_us, ids, r, p.bank.window.weight(r)))
                self._next_read += self.read_interval_us * (
                    1 + (t_us - self._next_read) // self.read_interval_us
                )
        return out

    def _pre(self, p: HubSynapses, ev: EventBlock, out: TickResult) -> None:
        sel = (ev["key"] >= p.pre_key_base) & (ev["key"] < p.pre_key_base + p.pre_size)
        if p.pre_is_culture:
            sel &= ev["value"] >= 1  # only APs (stimulated or spontaneous) are spikes
        pre = ev[sel]
        if not pre.size:
            return
        idx = (pre["key"] - p.pre_key_base).astype(np.int64)
        t = _monotonic(pre["t_us"], idx, p.newest_us)
        p.history.record(idx, t)
        if p.post_history is not None and isinstance(p.rule, TimingRule | PairSTDP):
            for k in range(idx.size):  # the timing rules' depression side, spike by spike
                u = p.bank.on_pre_spike(int(idx[k]), int(t[k]), p.rule, p.post_history, self.rng)
                self._log_update(p, u, out)
        which, syn, r = p.bank.read_synapses(idx)
        if not syn.size:
            return
        weight = p.bank.window.weight(r).astype(np.float32)
        # the weight travels as the hub's byte, w_byte / 255 (SYSTEM.md §1.3)
        weight = (np.rint(weight * 255.0) / 255.0).astype(np.float32)
        out.send(p.post_site, make_events(t[which], p.post_key_base + p.bank.post[syn], weight))
        out.log(K.READS, K.read_block(t[which], syn + p.synapse_offset, r, weight))

    def _post(self, p: HubSynapses, ev: EventBlock, out: TickResult) -> None:
        sel = (ev["key"] >= p.post_key_base) & (ev["key"] < p.post_key_base + p.post_size)
        if p.post_is_culture:
            sel &= (ev["value"] == 0) | (ev["value"] == 2)  # PSPs and spontaneous APs only
        post = ev[sel]
        if not post.size or p.rule is None:
            return
        idx = (post["key"] - p.post_key_base).astype(np.int64)
        t = _monotonic(post["t_us"], idx, p.newest_post_us)
        order = np.argsort(t, kind="stable")
        u = p.bank.on_post_spikes(idx[order], t[order], p.rule, p.history, self.rng)
        if p.post_history is not None:
            p.post_history.record(idx, t)
        self._log_update(p, u, out)

    def status(self) -> dict[str, Any]:
        synapses = {}
        for p in self.projections:
            r = p.bank.resistance()
            synapses[p.name] = {
                "n": int(r.size),
                "r_ohm": float(r.mean()) if r.size else None,
                "weight": float(p.bank.window.weight(r).mean()) if r.size else None,
                "ltp_pulses": p.bank.ltp_pulses,
                "ltd_pulses": p.bank.ltd_pulses,
                "triggers": p.bank.triggers,
            }
        return {"kind": "hub", "synapses": synapses}

    @staticmethod
    def _log_update(p: HubSynapses, u: PlasticityUpdate, out: TickResult) -> None:
        if not u.synapses.size or p.rule is None:
            return
        ids = u.synapses + p.synapse_offset
        pulses = p.rule.pulses
        volts = np.where(u.polarity > 0, pulses.ltp_volts, pulses.ltd_volts)
        width = np.where(u.polarity > 0, pulses.ltp_width_us, pulses.ltd_width_us)
        out.log(K.PULSES, K.pulse_block(u.t_us, ids, volts, width))
        out.log(K.READS, K.read_block(u.t_us, ids, u.r_after_ohm, u.w_after))


class ReplayProcessor(Processor):
    """Stands in for a recorded site: sends the events it sent in the recorded run (its
    ``sent`` records), each at the same time after tick 0 and with the same address and value,
    to the same peers. What it receives is ignored.

    Parameters
    ----------
    sent
        The recorded ``sent`` rows (:data:`ione.record.kinds.SENT_DTYPE`).
    recorded_t0_us
        Tick 0 of the recorded run (its ``run`` record), on the recorded site's clock.
    t0_us
        Tick 0 of this run.
    peers
        Site name by site index.
    """

    def __init__(
        self,
        sent: npt.NDArray[np.void],
        recorded_t0_us: int,
        t0_us: int,
        peers: dict[int, str],
    ) -> None:
        order = np.argsort(sent["t_us"], kind="stable")
        self.sent = sent[order]
        self.rel_us = self.sent["t_us"].astype(np.int64) - recorded_t0_us
        unknown = sorted(set(np.unique(self.sent["peer"]).tolist()) - set(peers))
        if unknown:
            raise ValueError(f"the recording sends to sites {unknown}, which this run lacks")
        self.peers, self.t0_us = peers, t0_us
        self._next = int(np.searchsorted(self.rel_us, 0))  # nothing from before tick 0
        self.replayed = 0

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        stop = int(np.searchsorted(self.rel_us, t_us + dt_us - self.t0_us, "left"))
        if stop > self._next:
            rows = self.sent[self._next : stop]
            times = self.t0_us + self.rel_us[self._next : stop]
            for peer in np.unique(rows["peer"]):
                sel = rows["peer"] == peer
                out.send(
                    self.peers[int(peer)],
                    make_events(times[sel], rows["key"][sel], rows["value"][sel]),
                )
            self.replayed += stop - self._next
            self._next = stop
        return out

    def status(self) -> dict[str, Any]:
        return {"kind": "replay", "replayed": self.replayed, "recorded": int(self.sent.size)}


def run_tick(
    processors: Sequence[Processor], t_us: int, dt_us: int, inbound: EventBlock
) -> TickResult:
    """One tick of a site's processors: each works on the inbound events, then the static
    routes turn the site's own spikes into weighted events for their targets."""
    result = TickResult()
    for proc in processors:
        result.merge(proc.tick(t_us, dt_us, inbound))
    if result.spikes:
        spikes = concat_events(result.spikes)
        for proc in processors:
            if isinstance(proc, StaticRoutes):
                result.merge(proc.route(spikes))
    return result


def warm_up() -> None:
    """Load every compiled kernel a site may call (the first call of a numba kernel in a process
    loads or compiles it, which would otherwise make the first ticks of a run late)."""
    from ione.models.memristor import DataDriven
    from ione.models.neuron.culture import SINGLE_NEURON, make_culture
    from ione.models.neuron.dpi import DYNAPSE_DPI
    from ione.wire import FrameCodec

    rng = np.random.default_rng(0)
    codec = FrameCodec(bytes(32), key_id=0, link_id=0, direction=0)
    for frame in codec.seal_events(make_events([0, 1], [0, 1], [0.0, 0.5]), 0):
        codec.open(frame)
    sil = SiliconProcessor(0, 1, DYNAPSE_DPI, [])
    sil.tick(0, 1_000, make_events([0], [0], [0.5]))
    cul = CultureProcessor(0, make_culture(SINGLE_NEURON, rng), "hub", rng)
    cul.tick(0, 1_000, make_events([0], [0], [0.5]))
    model = DataDriven()
    bank = SynapseBank([0], [0], model, model.initial_state(1, r_ohm=5000.0))
    hub = HubProcessor([HubSynapses("w", bank, RateRule(), 0, 1, 1, 1, "x")], rng)
    hub.tick(0, 1_000, make_events([0, 1], [0, 1], [0.0, 0.0]))
