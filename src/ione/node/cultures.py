"""What a culture site does in one tick: a simulated culture stimulated through its guard, a
culture seen through its electrodes, and a recorded culture replayed (docs/culture.md).

Requests from a hub arrive as events whose key is the target neuron and whose value is the
weight; reports go back to the hub(s) with the responding neuron's key and the response code:
0 PSP, 1 stimulated AP, 2 spontaneous AP (SYSTEM.md §1.1; :mod:`ione.node.processors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ione.culture.detect import StreamingDetector, peaks_to_events
from ione.culture.guard import MEA60, ElectrodeTable, GuardLimits, StimulationGuard, WatchdogError
from ione.culture.spiketrains import SpikeTrainReplay
from ione.culture.stimulator import ChargeCoupling, SimulatedStimulator
from ione.culture.stimulus import DEFAULT_PULSE, EventDesign, commands_from_events
from ione.culture.streams import VoltageSource
from ione.events import EventBlock, make_events
from ione.models.neuron.culture import CULTURE_DT_US, Culture, culture_initial_state
from ione.models.neuron.stimulation import (
    CapacitiveStimulation,
    classify_responses,
    response_window_end_us,
    stimulus_peak_mv,
)
from ione.node._tick import Processor, TickResult
from ione.record import kinds as K

__all__ = [
    "DEFAULT_LATENCY_US",
    "DELIVERED_DTYPE",
    "DELIVERED_KIND",
    "GUARD_KIND",
    "RESPONSE_DTYPE",
    "STIMULUS_DTYPE",
    "CultureProcessor",
    "ElectrodeCultureProcessor",
    "RecordedCultureProcessor",
    "capacitive_design",
    "default_guard_limits",
    "delivered_rows",
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


class _PlaybackCulture(Processor):
    """What the cultures that only report spikes share: a recording cannot answer stimulation,
    so stimuli addressed to it are counted (and, like everything that arrives, kept in the
    ``received`` records); each spike goes to the hub(s) as a spontaneous AP (code 2)."""

    kind = "playback"

    def __init__(self, key_base: int, size: int, hub: str | Sequence[str] | None) -> None:
        self.key_base, self.size = key_base, size
        self.hubs = [] if hub is None else [hub] if isinstance(hub, str) else list(hub)
        self.spikes = self.stimuli_ignored = 0

    def _ignore(self, inbound: EventBlock) -> None:
        if inbound.size:
            k = inbound["key"].astype(np.int64) - self.key_base
            self.stimuli_ignored += int(np.count_nonzero((k >= 0) & (k < self.size)))

    def _report(self, out: TickResult, t_us: npt.ArrayLike, key: npt.ArrayLike, value: Any) -> None:
        """Spikes at ``t_us`` of neurons ``key``: to the static routes, the log (with ``value``,
        e.g. the amplitude) and the hub(s)."""
        out.spikes.append(make_events(t_us, key))
        out.log(K.SPIKES, K.spike_block(t_us, key, value))
        report = make_events(t_us, key, np.float32(2.0))
        for hub in self.hubs:
            out.send(hub, report)
        self.spikes += int(np.size(t_us))

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key_base": self.key_base,
            "spikes": self.spikes,
            "stimuli ignored": self.stimuli_ignored,
        }


class ElectrodeCultureProcessor(_PlaybackCulture):
    """A culture seen through its electrodes: every tick, the voltages sampled during it
    (:class:`~ione.culture.streams.VoltageSource`) go through the streaming detector
    (:class:`~ione.culture.detect.StreamingDetector`); each detected spike is reported to the
    hub(s) as a spontaneous AP (code 2) of its channel's neuron, stamped with its sample's time
    (sample 0 at ``t0_us``), and logged with its amplitude. A played-back recording cannot
    answer stimulation: stimuli addressed to it are counted."""

    kind = "electrodes"

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
        super().__init__(key_base, source.n_channels, hub)
        self.source, self.detector, self.t0_us = source, detector, t0_us
        self.keys = key_base + np.arange(self.size, dtype=np.int64)
        self.samples = 0

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        self._ignore(inbound)
        block = self.source.until(t_us + dt_us - self.t0_us)
        self.samples += block.samples.shape[0]
        peaks = self.detector.process(block.samples)
        if peaks.size:
            ev = peaks_to_events(peaks, self.detector.sampling_rate_hz, self.t0_us, self.keys)
            self._report(out, ev["t_us"], ev["key"], ev["value"])
        return out

    def status(self) -> dict[str, Any]:
        return {**super().status(), "samples": self.samples}


class RecordedCultureProcessor(_PlaybackCulture):
    """A culture whose neurons replay recorded spike trains (:class:`SpikeTrainReplay`): each
    recorded spike is reported to the hub(s) as a spontaneous AP (code 2) of the channel's
    neuron, at its replay time. A recording cannot answer stimulation: stimuli addressed to it
    are counted, never turned into responses."""

    kind = "recording"

    def __init__(
        self, key_base: int, replay: SpikeTrainReplay, hub: str | Sequence[str] | None
    ) -> None:
        super().__init__(key_base, len(replay.trains.channels), hub)
        self.replay = replay

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        out = TickResult()
        self._ignore(inbound)
        got = self.replay.between(t_us, t_us + dt_us)
        if got.size:
            self._report(out, got["t_us"], self.key_base + got["key"].astype(np.int64), 0.0)
        return out

    def status(self) -> dict[str, Any]:
        return {**super().status(), "finished": self.replay.finished}
