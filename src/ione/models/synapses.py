"""Memristive synapse banks: the hub's connectivity matrix of devices, read and programmed.

A :class:`SynapseBank` holds synapses ``k = (pre[k], post[k])``, one device each, behind any
:class:`~ione.models.memristor.MemristorModel`. Reading maps each device's resistance to a weight
(SYSTEM.md §1.3)::

    w      = clip((R - R_min) / (R_max - R_min), 0, 1)      R read at 0.5 V
    w_byte = round(255 w)                                   (window 4–9 kΩ by default)

so **higher resistance means a higher weight** on these Pt/TiO2/Pt devices, and LTP is a positive
pulse. A post-synaptic trigger updates its whole row: the rule decides a direction per synapse,
the bank programs the devices through the model and re-reads them.

The bank is a long-lived, stateful object (unlike the pure device models): it updates its device
state in place, so that a row update costs microseconds however large the bank. For the hub's
own combination, the data-driven TiOx model with the rate rule, one numba kernel does the whole
row (count, decide, program with noise, re-read); any other model or rule goes through the
model's vectorised interface on the row's devices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from ione.models.memristor import DataDriven, DataDrivenState, MemristorModel
from ione.models.plasticity.history import SpikeHistory, count_window
from ione.models.plasticity.rules import PairSTDP, RateRule, TimingRule

__all__ = ["PlasticityUpdate", "SynapseBank", "WeightWindow"]


@dataclass(frozen=True, slots=True)
class WeightWindow:
    """Resistance window mapped linearly onto weights 0 ... 1 (SYSTEM.md §1.3; earlier runs used
    3.5–15 kΩ)."""

    r_min_ohm: float = 4_000.0
    r_max_ohm: float = 9_000.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.r_min_ohm) and math.isfinite(self.r_max_ohm)):
            raise ValueError("WeightWindow bounds must be finite")
        if not 0 <= self.r_min_ohm < self.r_max_ohm:
            raise ValueError("WeightWindow needs 0 <= r_min_ohm < r_max_ohm")

    def weight(self, r_ohm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        r = np.asarray(r_ohm, dtype=np.float64)
        return np.clip((r - self.r_min_ohm) / (self.r_max_ohm - self.r_min_ohm), 0.0, 1.0)

    def weight_byte(self, r_ohm: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """The byte the hub sends: ``round(clip(255 (R - R_min)/(R_max - R_min), 0, 255))``."""
        return np.rint(255.0 * self.weight(r_ohm)).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class PlasticityUpdate:
    """What one or more triggers did: every synapse that received a pulse, with the time and the
    neuron of its trigger, the direction, and its resistance and weight before and after
    (re-read)."""

    t_us: npt.NDArray[np.int64]
    neuron: npt.NDArray[np.int64]
    synapses: npt.NDArray[np.int64]
    polarity: npt.NDArray[np.int8]
    r_before_ohm: npt.NDArray[np.float64]
    r_after_ohm: npt.NDArray[np.float64]
    w_before: npt.NDArray[np.float64]
    w_after: npt.NDArray[np.float64]

    @property
    def ltp(self) -> int:
        return int(np.count_nonzero(self.polarity > 0))

    @property
    def ltd(self) -> int:
        return int(np.count_nonzero(self.polarity < 0))


@numba.njit(cache=True, nogil=True, inline="always")
def _dd_pulse(r0, v, t_s, s_nominal, rate_scale, k, b0, b1, b2, shift, factor):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Data-driven closed form for one device (see ione.models.memristor.data_driven), its change
    scaled by ``factor`` (the cycle-to-cycle log-normal draw, 1 without noise)."""
    bound = b0 + b1 * v + b2 * v * v + shift
    s = s_nominal * rate_scale
    if v > 0:
        if r0 >= bound:
            return r0
        em1 = math.expm1(-k * s * t_s)  # exp(x) - 1, exact for the tiny x of short pulses
        r1 = bound + math.log(-em1 + math.exp(-k * (bound - r0)) * (1.0 + em1)) / k
        return min(max(r0 + (r1 - r0) * factor, r0), bound)  # never against the pulse
    if r0 <= bound:
        return r0
    em1 = math.expm1(k * s * t_s)
    r1 = bound - math.log(-em1 + math.exp(-k * (r0 - bound)) * (1.0 + em1)) / k
    return max(min(r0 + (r1 - r0) * factor, r0), bound)


@numba.njit(cache=True, nogil=True)
def _srdp_dd_rows(  # type: ignore[no-untyped-def]  # pragma: no cover
    posts,
    times,
    g0,
    post_ptr,
    by_post,
    pre_by_post,
    dev,
    h_times,
    h_meta,
    h_clock,
    window_us,
    ltp_above,
    ltd_below,
    prm,
    factors,
    cursor,
    counts,
    out_i,
    out_r,
    m,
):
    """Post-synaptic triggers of the rate rule on rows of data-driven devices, in place.

    ``prm``: LTP volts, LTP width (s), LTD volts, LTD width (s), nominal SET and RESET rates at
    those volts, k_p, k_n, r_p0, r_p1, r_p2, r_n0, r_n1, r_n2, c2c sigma; ``factors`` holds
    pre-drawn cycle-to-cycle factors (used when sigma > 0). Writes (trigger,
    synapse, polarity) into ``out_i`` and (R before, R after) into ``out_r`` from position ``m``.
    Starts at trigger ``g0``; stops before a row for which the pool of normal draws might run
    short. Returns (entries written so far, next trigger to process).
    """
    v_ltp, t_ltp, v_ltd, t_ltd, sp_nom, sn_nom, kp, kn = (
        prm[0],
        prm[1],
        prm[2],
        prm[3],
        prm[4],
        prm[5],
        prm[6],
        prm[7],
    )
    rp0, rp1, rp2, rn0, rn1, rn2, sigma = (
        prm[8],
        prm[9],
        prm[10],
        prm[11],
        prm[12],
        prm[13],
        prm[14],
    )
    c = cursor[0]
    for g in range(g0, posts.shape[0]):
        j = posts[g]
        a, b = post_ptr[j], post_ptr[j + 1]
        if sigma > 0.0 and factors.shape[0] - c < b - a:
            cursor[0] = c
            return m, g
        count_window(h_times, h_meta, h_clock, pre_by_post[a:b], times[g], window_us, counts)
        # Pass 1 decides (sequential, cheap); pass 2 programs only the chosen devices, with
        # independent loads the CPU can overlap (the devices of a row are scattered in memory).
        m0 = m
        for q in range(b - a):
            n = counts[q]
            if n > ltp_above:
                pol = 1
            elif n < ltd_below:
                pol = -1
            else:
                continue
            k_syn = by_post[a + q]
            out_i[0, m] = g
            out_i[1, m] = k_syn
            out_i[2, m] = pol
            out_r[0, m] = dev[k_syn, 0]  # independent loads here, so their misses overlap
            m += 1
        for e in range(m0, m):
            k_syn = out_i[1, e]
            r0 = out_r[0, e]
            f = 1.0
            if sigma > 0.0:
                f = factors[c]
                c += 1
            if out_i[2, e] > 0:
                r1 = _dd_pulse(r0, v_ltp, t_ltp, sp_nom, dev[k_syn, 1], kp, rp0, rp1, rp2,
                               dev[k_syn, 3], f)  # fmt: skip
            else:
                r1 = _dd_pulse(r0, v_ltd, t_ltd, sn_nom, dev[k_syn, 2], kn, rn0, rn1, rn2,
                               dev[k_syn, 4], f)  # fmt: skip
            dev[k_syn, 0] = r1
            out_r[0, e] = r0
            out_r[1, e] = r1
    cursor[0] = c
    return m, posts.shape[0]


def _take(state: Any, idx: npt.NDArray[np.int64]) -> Any:
    return type(state)(**{f.name: getattr(state, f.name)[idx] for f in fields(state)})


def _put(state: Any, idx: npt.NDArray[np.int64], sub: Any) -> None:
    for f in fields(state):
        getattr(state, f.name)[idx] = getattr(sub, f.name)


class SynapseBank:
    """Synapses ``(pre[k], post[k])`` with one memristive device each.

    Parameters
    ----------
    pre, post
        Presynaptic and postsynaptic neuron index of every synapse.
    model
        The device model (any :class:`~ione.models.memristor.MemristorModel`).
    state
        Initial device state for ``len(pre)`` devices (default: ``model.initial_state(n, rng)``).
    n_pre, n_post
        Population sizes (default: largest index + 1).
    window
        Resistance window of the weight mapping.
    rng
        Draws the device-to-device variability when ``state`` is not given.
    """

    def __init__(
        self,
        pre: npt.ArrayLike,
        post: npt.ArrayLike,
        model: MemristorModel[Any],
        state: Any | None = None,
        *,
        n_pre: int | None = None,
        n_post: int | None = None,
        window: WeightWindow | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.pre = np.ascontiguousarray(pre, dtype=np.int64).ravel()
        self.post = np.ascontiguousarray(post, dtype=np.int64).ravel()
        if self.pre.shape != self.post.shape:
            raise ValueError(f"pre ({self.pre.size}) and post ({self.post.size}) differ in length")
        n = self.pre.size
        if n and (self.pre.min() < 0 or self.post.min() < 0):
            raise ValueError("neuron indices must be >= 0")
        self.n_pre = int(self.pre.max() + 1 if n else 0) if n_pre is None else n_pre
        self.n_post = int(self.post.max() + 1 if n else 0) if n_post is None else n_post
        if n and (self.pre.max() >= self.n_pre or self.post.max() >= self.n_post):
            raise ValueError("a synapse refers to a neuron beyond n_pre / n_post")
        self.model = model
        self.window = window or WeightWindow()
        st = model.initial_state(n, rng) if state is None else state
        if len(st) != n:
            raise ValueError(f"device state holds {len(st)} devices for {n} synapses")
        # The bank owns (and updates in place) its own copy of the device state.
        self.state = type(st)(**{f.name: np.array(getattr(st, f.name)) for f in fields(st)})
        if isinstance(self.state, DataDrivenState):
            # One row per device, its five numbers side by side: programming a device touches
            # one cache line. The state's arrays are views of these columns.
            self._packed = np.stack([getattr(self.state, f.name) for f in fields(self.state)], 1)
            self.state = DataDrivenState(*(self._packed[:, c] for c in range(5)))
        self._by_post = np.argsort(self.post, kind="stable")
        self._post_ptr = np.searchsorted(self.post[self._by_post], np.arange(self.n_post + 1))
        self._pre_by_post = np.ascontiguousarray(self.pre[self._by_post])
        self._counts = np.empty(int(np.diff(self._post_ptr).max()) if self.n_post else 0, np.int64)
        self._by_pre = np.argsort(self.pre, kind="stable")
        self._pre_ptr = np.searchsorted(self.pre[self._by_pre], np.arange(self.n_pre + 1))
        self.ltp_pulses = 0
        self.ltd_pulses = 0
        self.triggers = 0
        self.reads = 0
        self._factors = np.empty(0)  # cycle-to-cycle factors drawn from the caller's rng in blocks
        self._cursor = np.zeros(1, np.int64)

    def __len__(self) -> int:
        return int(self.pre.size)

    # ------------------------------------------------------------------ reading
    def resistance(self) -> npt.NDArray[np.float64]:
        """Every device's resistance as read (Ω)."""
        return self.model.resistance(self.state)

    def weights(self) -> npt.NDArray[np.float64]:
        """Every synapse's weight in 0 ... 1."""
        return self.window.weight(self.resistance())

    def row_of_post(self, post: int) -> npt.NDArray[np.int64]:
        """Synapse indices onto postsynaptic neuron ``post``."""
        return self._by_post[self._post_ptr[post] : self._post_ptr[post + 1]]

    def row_of_pre(self, pre: int) -> npt.NDArray[np.int64]:
        """Synapse indices from presynaptic neuron ``pre``."""
        return self._by_pre[self._pre_ptr[pre] : self._pre_ptr[pre + 1]]

    def read_pre(self, pre: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
        """What the hub does on a spike of ``pre``: read each of its synapses and return the
        postsynaptic targets with their weight bytes."""
        syn = self.row_of_pre(pre)
        self.reads += syn.size
        return self.post[syn], self.window.weight_byte(self._resistance(syn))

    def read_pres(
        self, pres: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
        """:meth:`read_pre` for many presynaptic spikes at once (e.g. one tick's):
        ``(index of the spike in pres, postsynaptic target, weight byte)`` for every synapse."""
        which, syn, _ = self._rows_of_pres(pres)
        self.reads += syn.size
        return which, self.post[syn], self.window.weight_byte(self._resistance(syn))

    def read_synapses(
        self, pres: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Like :meth:`read_pres`, with the synapse indices and their resistances:
        ``(index of the spike in pres, synapse, resistance in Ω)``."""
        which, syn, _ = self._rows_of_pres(pres)
        self.reads += syn.size
        return which, syn, self._resistance(syn)

    def _rows_of_pres(
        self, pres: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        p = np.asarray(pres, dtype=np.int64).ravel()
        if p.size and (p.min() < 0 or p.max() >= self.n_pre):
            raise ValueError(f"presynaptic neuron outside 0 ... {self.n_pre - 1}")
        lo, hi = self._pre_ptr[p], self._pre_ptr[p + 1]
        lengths = hi - lo
        which = np.repeat(np.arange(p.size), lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        syn = self._by_pre[np.repeat(lo, lengths) + offsets]
        return which, syn, p

    def _resistance(self, syn: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        st = self.state
        if isinstance(st, DataDrivenState):  # the state is the resistance: read it directly
            out: npt.NDArray[np.float64] = st.r_ohm[syn]
            return out
        return self.model.resistance(_take(st, syn))

    # ------------------------------------------------------------------ programming
    def on_post_spike(
        self,
        post: int,
        t_us: int,
        rule: RateRule | TimingRule | PairSTDP,
        pre_history: SpikeHistory,
        rng: np.random.Generator | None = None,
    ) -> PlasticityUpdate:
        """A post-synaptic trigger of ``post`` at ``t_us``: evaluate the rule on the whole row,
        program the devices it selects, re-read them."""
        return self.on_post_spikes([post], [t_us], rule, pre_history, rng)

    def on_post_spikes(
        self,
        posts: npt.ArrayLike,
        t_us: npt.ArrayLike,
        rule: RateRule | TimingRule | PairSTDP,
        pre_history: SpikeHistory,
        rng: np.random.Generator | None = None,
    ) -> PlasticityUpdate:
        """Several post-synaptic triggers in time order (e.g. all of one tick), row by row."""
        p = np.asarray(posts, dtype=np.int64).ravel()
        t = np.broadcast_to(np.asarray(t_us, dtype=np.int64), p.shape)
        if p.size and (p.min() < 0 or p.max() >= self.n_post):
            raise ValueError(f"postsynaptic neuron outside 0 ... {self.n_post - 1}")
        if p.size > 1 and np.any(np.diff(t) < 0):
            raise ValueError("post-synaptic triggers must come in time order")
        self.triggers += p.size
        if isinstance(rule, RateRule) and isinstance(self.model, DataDriven):
            return self._rate_rule_data_driven(p, np.ascontiguousarray(t), rule, pre_history, rng)
        updates = [
            self._post_row(int(j), int(tt), rule, pre_history, rng)
            for j, tt in zip(p, t, strict=True)
        ]
        return _concat(updates)

    def _post_row(
        self, post: int, t_us: int, rule: RateRule | TimingRule | PairSTDP,
        pre_history: SpikeHistory, rng: np.random.Generator | None,
    ) -> PlasticityUpdate:  # fmt: skip
        syn = self.row_of_post(post)
        pre = self.pre[syn]
        if isinstance(rule, RateRule):
            decisions = rule.decide(pre_history, pre, t_us)
            widths = np.where(decisions > 0, rule.pulses.ltp_width_us, rule.pulses.ltd_width_us)
            return self._program(
                syn, post, t_us, decisions, rule.pulses.volts(decisions), widths, rng
            )
        if isinstance(rule, TimingRule):
            decisions = rule.on_post(pre_history, pre, t_us)
            return self._program(syn, post, t_us, decisions, rule.pulses.volts(decisions),
                                 np.full(syn.size, rule.pulses.ltp_width_us), rng)  # fmt: skip
        _, widths = rule.on_post(pre_history, pre, t_us)
        decisions = np.where(widths > 0, 1, 0).astype(np.int8)
        return self._program(syn, post, t_us, decisions, rule.pulses.volts(decisions), widths, rng)

    def on_pre_spike(
        self,
        pre: int,
        t_us: int,
        rule: TimingRule | PairSTDP,
        post_history: SpikeHistory,
        rng: np.random.Generator | None = None,
    ) -> PlasticityUpdate:
        """The depression side of timing rules (the rate rule never acts on presynaptic spikes,
        and is refused here)."""
        if isinstance(rule, RateRule):
            raise TypeError("the rate rule is post-triggered: presynaptic spikes never trigger it")
        syn = self.row_of_pre(pre)
        post = self.post[syn]
        if isinstance(rule, TimingRule):
            decisions = rule.on_pre(post_history, post, t_us)
            widths = np.full(syn.size, rule.pulses.ltd_width_us)
        else:
            _, widths = rule.on_pre(post_history, post, t_us)
            decisions = np.where(widths > 0, -1, 0).astype(np.int8)
        return self._program(syn, pre, t_us, decisions, rule.pulses.volts(decisions), widths, rng)

    def idle(self, duration_us: int, rng: np.random.Generator | None = None) -> None:
        """Let time pass at 0 V (matters for volatile devices)."""
        self.state = self.model.idle(self.state, duration_us, rng)

    def _program(
        self, syn: npt.NDArray[np.int64], neuron: int, t_us: int,
        decisions: npt.NDArray[np.int8], volts: npt.NDArray[np.float64],
        widths: npt.NDArray[np.int64], rng: np.random.Generator | None,
    ) -> PlasticityUpdate:  # fmt: skip
        """Program the selected devices of a row through the model (any model)."""
        go = decisions != 0
        chosen = syn[go]
        sub = _take(self.state, chosen)
        r0 = self.model.resistance(sub)
        for width in np.unique(widths[go]):  # one vectorised call per distinct pulse width
            sel = widths[go] == width
            sub = self.model.apply_pulses(sub, volts[go], int(width), sel, rng)
        _put(self.state, chosen, sub)
        r1 = self.model.resistance(sub)
        return self._report(t_us, neuron, chosen, decisions[go], r0, r1)

    def _rate_rule_data_driven(
        self, posts: npt.NDArray[np.int64], t_us: npt.NDArray[np.int64], rule: RateRule,
        history: SpikeHistory, rng: np.random.Generator | None,
    ) -> PlasticityUpdate:  # fmt: skip
        model = self.model
        assert isinstance(model, DataDriven)
        p, prog = model.params, rule.pulses
        for v in (prog.ltp_volts, prog.ltd_volts):
            if not model.allow_extrapolation and not p.v_min_fit <= v <= p.v_max_fit:
                raise ValueError(
                    f"a {v:+g} V pulse is outside the range {p.name} was fitted on "
                    f"({p.v_min_fit:+g} ... {p.v_max_fit:+g} V); use pulses in range (e.g. "
                    "DUT1_PULSES) or allow_extrapolation=True"
                )
        if history.depth != rule.depth:
            raise ValueError(
                f"the rule counts the last {rule.depth} spikes; the history keeps {history.depth}"
            )
        if history.n < self.n_pre:
            raise ValueError(f"the spike history holds {history.n} neurons, the bank {self.n_pre}")
        n_max = int((self._post_ptr[posts + 1] - self._post_ptr[posts]).sum())
        if model.c2c_sigma > 0 and rng is None:
            raise ValueError("cycle-to-cycle variability needs an rng")
        st = self.state
        assert isinstance(st, DataDrivenState)
        prm = np.array([
            prog.ltp_volts, prog.ltp_width_us * 1e-6, prog.ltd_volts, prog.ltd_width_us * 1e-6,
            p.a_p * math.expm1(p.t_p_per_v * abs(prog.ltp_volts)),
            p.a_n * math.expm1(p.t_n_per_v * abs(prog.ltd_volts)),
            p.k_p_per_ohm, p.k_n_per_ohm, p.r_p0_ohm, p.r_p1_ohm_per_v, p.r_p2_ohm_per_v2,
            p.r_n0_ohm, p.r_n1_ohm_per_v, p.r_n2_ohm_per_v2, model.c2c_sigma,
        ])  # fmt: skip
        out_i = np.empty((3, n_max), np.int64)
        out_r = np.empty((2, n_max))
        m, g = 0, 0
        while g < posts.size:
            m, g = _srdp_dd_rows(
                posts, t_us, g, self._post_ptr, self._by_post, self._pre_by_post, self._packed,
                *history.arrays,
                np.int64(rule.window_us), rule.ltp_above, rule.ltd_below, prm, self._factors,
                self._cursor, self._counts, out_i, out_r, m,
            )  # fmt: skip
            if g < posts.size:
                # Noise comes from rng in blocks, drawn between rows, never inside a row.
                assert rng is not None
                z = rng.standard_normal(max(1 << 16, self._counts.size))
                self._factors = np.exp(model.c2c_sigma * z)
                self._cursor[0] = 0
        trig = out_i[0, :m]
        return self._report(t_us[trig], posts[trig], out_i[1, :m], out_i[2, :m].astype(np.int8),
                            out_r[0, :m], out_r[1, :m])  # fmt: skip

    def _report(
        self, t_us: npt.ArrayLike, neuron: npt.ArrayLike, syn: npt.NDArray[np.int64],
        pol: npt.NDArray[np.int8], r0: npt.NDArray[np.float64], r1: npt.NDArray[np.float64],
    ) -> PlasticityUpdate:  # fmt: skip
        n_ltp = int(np.count_nonzero(pol > 0))
        self.ltp_pulses += n_ltp
        self.ltd_pulses += syn.size - n_ltp
        self.reads += syn.size
        w = self.window
        t = np.full(syn.shape, t_us, np.int64) if np.ndim(t_us) == 0 else np.asarray(t_us, np.int64)
        nrn = (
            np.full(syn.shape, neuron, np.int64)
            if np.ndim(neuron) == 0
            else np.asarray(neuron, np.int64)
        )
        return PlasticityUpdate(t, nrn, syn, pol, r0, r1, w.weight(r0), w.weight(r1))

    def statistics(self) -> dict[str, int]:
        return {"synapses": len(self), "triggers": self.triggers, "ltp_pulses": self.ltp_pulses,
                "ltd_pulses": self.ltd_pulses, "reads": self.reads}  # fmt: skip


def _concat(updates: list[PlasticityUpdate]) -> PlasticityUpdate:
    if len(updates) == 1:
        return updates[0]
    return PlasticityUpdate(*(np.concatenate([getattr(u, f.name) for u in updates])
                              for f in fields(PlasticityUpdate)))  # fmt: skip
