"""What each kind of site does in one tick: pacemakers, silicon neurons, cultures and the hub.

The culture processors live in :mod:`ione.node.cultures` and are re-exported here.

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

from ione.events import EVENT_DTYPE, EventBlock, concat_events, make_events
from ione.models.neuron.adex import adex_initial_state, adex_step
from ione.models.neuron.dpi import DPIParams, DPIState, dpi_initial_state, dpi_run, dpi_step
from ione.models.neuron.lif import (
    NeuronInput,
    lif_cond_initial_state,
    lif_cond_step,
    lif_curr_initial_state,
    lif_curr_step,
)
from ione.models.plasticity import PairSTDP, RateRule, SpikeHistory, TimingRule
from ione.models.synapses import PlasticityUpdate, SynapseBank
from ione.node._tick import Processor, TickResult
from ione.node.cultures import (
    DEFAULT_LATENCY_US,
    DELIVERED_DTYPE,
    DELIVERED_KIND,
    GUARD_KIND,
    RESPONSE_DTYPE,
    STIMULUS_DTYPE,
    CultureProcessor,
    ElectrodeCultureProcessor,
    RecordedCultureProcessor,
    capacitive_design,
    default_guard_limits,
    delivered_rows,
)
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

_EMPTY = np.zeros(0, EVENT_DTYPE)


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


class _SubstepNeurons(Processor):
    """What silicon neuron processors share: weighted inputs binned into the sub-steps of a
    tick, and the raster of the sub-steps turned into spikes for their targets."""

    key_base: int
    size: int
    substep_us: int
    targets: list[str]
    spikes: int
    inputs: int

    def _inputs(
        self, t_us: int, n_sub: int, inbound: EventBlock, upper: float | None, scale: float
    ) -> npt.NDArray[np.float64]:
        """(sub-step, neuron) sums of the values addressed to these neurons, each clipped to
        ``[0, upper]`` and multiplied by ``scale``."""
        w = np.zeros((n_sub, self.size))
        mine = inbound[
            (inbound["key"] >= self.key_base) & (inbound["key"] < self.key_base + self.size)
        ]
        if mine.size:
            row = np.clip((mine["t_us"] - t_us) // self.substep_us, 0, n_sub - 1)
            values = np.clip(mine["value"].astype(np.float64), 0.0, upper) * scale
            np.add.at(w, (row, mine["key"] - self.key_base), values)
            self.inputs += mine.size
        return w

    def _emit(self, raster: npt.NDArray[np.bool_], t_us: int, out: TickResult) -> None:
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

    def status(self) -> dict[str, Any]:
        return {
            "kind": "silicon",
            "key_base": self.key_base,
            "spikes": self.spikes,
            "inputs": self.inputs,
        }


class SiliconProcessor(_SubstepNeurons):
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
        e_exc = self._inputs(t_us, n_sub, inbound, 1.0, 1.0)
        self.state, raster = dpi_run(self.state, self.params, self.substep_us, n_sub, e_exc)
        self._emit(raster, t_us, out)
        return out


#: Silicon models a :class:`StepNeuronProcessor` runs: name -> (initial state, step).
STEP_MODELS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "dpi": (dpi_initial_state, dpi_step),
    "lif": (lif_curr_initial_state, lif_curr_step),
    "lif_cond": (lif_cond_initial_state, lif_cond_step),
    "adex": (adex_initial_state, adex_step),
}


class StepNeuronProcessor(_SubstepNeurons):
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
        w = self._inputs(t_us, n_sub, inbound, None, self.weight_scale)
        zero = np.zeros(self.size)
        raster = np.zeros((n_sub, self.size), np.bool_)
        for k in range(n_sub):  # a handful of sub-steps per tick, each vectorised over neurons
            self.state, raster[k] = self._step(
                self.state, NeuronInput(w[k], zero), self.params, self.substep_us, self.rng
            )
        self._emit(raster, t_us, out)
        return out


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
