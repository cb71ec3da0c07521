"""Capacitive stimulation of cultured neurons and the classification of their responses.

The stimulus (ABsyn, Serb et al., Sci. Rep. 10:2590, 2020)
-----------------------------------------------------------
A capacitive TiO2 microelectrode injects a displacement current ``I = C dV/dt`` only while its
voltage ramps. Schoen & Fromherz (J. Neurophysiol. 100:346-357, 2008) showed that one weak biphasic
stimulus (a falling and a rising ramp) depolarises a hippocampal neuron by about 1 mV through a
transient Na+ current, and that a train of such stimuli summates step by step until the neuron
fires. The model here (SYSTEM.md §3.2, values marked *default* are modelling choices, not
measurements)::

    n(w) = round(w · N_max)                            ramps per stimulus, w = w_byte / 255
    t_k  = t_stim + k · Δt_ramp,  k = 0 ... n - 1
    s(t) = Σ_k ΔV · exp(-(t - t_k) / τ_m) · H(t - t_k)   passive depolarisation (mV)
    peak = ΔV · (1 - q^n) / (1 - q),  q = exp(-Δt_ramp / τ_m),  reached at the last ramp

with ΔV = 1 mV per ramp (Schoen & Fromherz), τ_m = 20 ms, Δt_ramp = 0.5 ms and N_max = 24
(*default*). **The weight scales the number of ramps, not their amplitude**: every ramp keeps the
same small, charge-balanced amplitude (so each phase stays within the charge limits a stimulation
guard enforces), and a stronger synapse simply delivers a longer train, exactly the summation
mechanism of the experiment. With these values the peak depolarisation runs from 0 (w = 0) through
5.6 mV (w = 0.25), 10.5 mV (w = 0.5) and 14.7 mV (w = 0.75) to 18.3 mV (w = 1).

N_max is chosen so that the firing threshold of the neurons of :mod:`.culture` falls at mid
weight. An Izhikevich RS cell has a rheobase of only 4 pA, so a depolarisation held for ~τ_m
fires it from about 6 mV above rest (a noise-free :data:`~.culture.SINGLE_NEURON` answers 5 ramps
with a 6.7 mV PSP and 6 ramps with an AP), less than the 15-20 mV of a hippocampal neuron. With
noise, adaptation and (in the culture) network input, a 10 Hz pacemaker then evokes an AP in
6-10 % of its stimuli at w = 0.2, about 55 % at w = 0.5 and 97 % or more at w >= 0.8, in the
isolated surrogate and in culture neurons alike (tests/models/test_stimulation.py).

Coupling to an Izhikevich neuron
--------------------------------
The quadratic Izhikevich membrane relaxes with ~1.7 ms near rest, much faster than a real
membrane's τ_m. So that its potential follows s(t), each ramp moves v by ΔV at once (the charge
C ΔV) and a compensating current ``I_stim = g_c · s`` holds the depolarisation, with::

    g_c = -(0.08 v_rest + 5) - 1 / τ_m        (nS on the model's 1 pF membrane)

the conductance that makes the linearised membrane (u frozen) decay with τ_m instead of its own
time constant. u still responds, so long trains adapt as a real neuron does.
:func:`stimulus_coupling_ns` computes g_c; :func:`ione.models.neuron.culture.culture_run` applies
ramps this way.

Classifying the response (the 2020 hub's event types)
------------------------------------------------------
Each stimulus opens a **response window** ``[t_stim + min_latency, t_stim + T_train + tail]``
(T_train = (n - 1) Δt_ramp, the time of the peak; defaults: min_latency 1 ms, tail 20 ms = τ_m,
when the depolarisation has decayed to 1/e). Then:

- an AP of the stimulated neuron is a **stimulated AP (1)** when it falls in the window of the
  latest stimulus of that neuron with onset at least ``min_latency`` before it; its latency is
  measured from that stimulus. A stimulus with no ramps (w rounding to 0) opens no window.
- every other AP is a **spontaneous AP (2)**, its latency measured from the neuron's latest
  stimulus (or, before any stimulus, from its own previous spike, or -1 if it has none);
- a stimulus whose window holds no AP is reported as a **PSP (0)**, stamped at its peak
  (latency T_train).

So every stimulus yields exactly one report (0) or at least one (1), and every AP exactly one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from ione.events import EventBlock, make_events

__all__ = [
    "DEFAULT_RESPONSE_WINDOW",
    "DEFAULT_STIMULATION",
    "CapacitiveStimulation",
    "Ramps",
    "ResponseCode",
    "ResponseWindow",
    "Responses",
    "classify_responses",
    "merge_ramps",
    "ramp_count",
    "ramp_train",
    "response_window_end_us",
    "responses_to_events",
    "stimulus_coupling_ns",
    "stimulus_depolarisation_mv",
    "stimulus_peak_mv",
    "train_duration_us",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class ResponseCode(IntEnum):
    """Event types of the biology site, as on the 2020 hub's wire (SYSTEM.md §1.1, §1.4)."""

    PSP = 0
    STIMULATED_AP = 1
    SPONTANEOUS_AP = 2


def _check_number(owner: str, name: str, value: object, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{owner}.{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{owner}.{name} must be finite, got {value!r}")
    if positive and v <= 0.0:
        raise ValueError(f"{owner}.{name} must be > 0, got {value!r}")
    if not positive and v < 0.0:
        raise ValueError(f"{owner}.{name} must be >= 0 (a duration), got {value!r}")
    return v


def _check_int(owner: str, name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{owner}.{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {value}")
    return int(value)


@dataclass(frozen=True, slots=True)
class CapacitiveStimulation:
    """A weight-scaled train of biphasic ramps and the depolarisation it injects.

    Attributes
    ----------
    dv_per_ramp_mv
        Depolarisation added by one biphasic ramp (mV); ~1 mV (Schoen & Fromherz 2008).
    tau_m_ms
        Membrane time constant the depolarisation decays with (ms).
    ramp_interval_us
        Time between consecutive ramps of a train (µs); must be short against ``tau_m_ms`` for
        the ramps to summate.
    max_ramps
        Ramps delivered at weight 1; weight w delivers ``round(w * max_ramps)``.
    """

    dv_per_ramp_mv: float = 1.0
    tau_m_ms: float = 20.0
    ramp_interval_us: int = 500
    max_ramps: int = 24

    def __post_init__(self) -> None:
        owner = "CapacitiveStimulation"
        _check_number(owner, "dv_per_ramp_mv", self.dv_per_ramp_mv, positive=True)
        _check_number(owner, "tau_m_ms", self.tau_m_ms, positive=True)
        _check_int(owner, "ramp_interval_us", self.ramp_interval_us, minimum=1)
        _check_int(owner, "max_ramps", self.max_ramps, minimum=1)


#: Defaults of SYSTEM.md §3.2: 1 mV per ramp (Schoen & Fromherz, J. Neurophysiol. 100:346, 2008),
#: τ_m 20 ms, ramps every 0.5 ms, 24 ramps at full weight (modelling defaults).
DEFAULT_STIMULATION: Final = CapacitiveStimulation()


@dataclass(frozen=True, slots=True)
class ResponseWindow:
    """When an AP counts as caused by a stimulus (see the module docstring).

    Attributes
    ----------
    min_latency_us
        APs earlier than this after the onset cannot have been caused by the stimulus (µs).
    tail_us
        How long the window stays open after the last ramp (µs).
    """

    min_latency_us: int = 1_000
    tail_us: int = 20_000

    def __post_init__(self) -> None:
        _check_int("ResponseWindow", "min_latency_us", self.min_latency_us, minimum=0)
        _check_int("ResponseWindow", "tail_us", self.tail_us, minimum=0)


#: 1 ms minimum latency, window open until one τ_m (20 ms) after the last ramp.
DEFAULT_RESPONSE_WINDOW: Final = ResponseWindow()


def _weights(weight: npt.ArrayLike) -> FloatArray:
    w = np.atleast_1d(np.asarray(weight, dtype=np.float64))
    if w.ndim != 1:
        raise ValueError(f"weight must be a scalar or 1-D, got shape {w.shape}")
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"weight must be finite, got {w[i]} at index {i}")
    out = (w < 0.0) | (w > 1.0)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise ValueError(f"weight must be in [0, 1] (w_byte / 255), got {w[i]} at index {i}")
    return w


def ramp_count(
    weight: npt.ArrayLike, params: CapacitiveStimulation = DEFAULT_STIMULATION
) -> IntArray:
    """Ramps per stimulus: ``round(w * max_ramps)`` (halves up), one count per weight.

    Raises
    ------
    ValueError
        If a weight is NaN, infinite or outside [0, 1].
    """
    w = _weights(weight)
    return np.floor(w * params.max_ramps + 0.5).astype(np.int64)


def train_duration_us(
    weight: npt.ArrayLike, params: CapacitiveStimulation = DEFAULT_STIMULATION
) -> IntArray:
    """Time from the first to the last ramp, ``(n - 1) * ramp_interval_us`` (0 when n <= 1)."""
    n = ramp_count(weight, params)
    return np.maximum(n - 1, 0) * np.int64(params.ramp_interval_us)


def stimulus_peak_mv(
    weight: npt.ArrayLike, params: CapacitiveStimulation = DEFAULT_STIMULATION
) -> FloatArray:
    """Peak of s(t) for one train: ``ΔV (1 - q^n) / (1 - q)``, ``q = exp(-Δt_ramp / τ_m)``."""
    n = ramp_count(weight, params)
    q = math.exp(-params.ramp_interval_us / (1000.0 * params.tau_m_ms))
    out: FloatArray = params.dv_per_ramp_mv * (1.0 - q ** n.astype(np.float64)) / (1.0 - q)
    return out


def response_window_end_us(
    t_us: npt.ArrayLike,
    weight: npt.ArrayLike,
    params: CapacitiveStimulation = DEFAULT_STIMULATION,
    window: ResponseWindow = DEFAULT_RESPONSE_WINDOW,
) -> IntArray:
    """When the response window of each stimulus closes: ``t + (n(w) - 1) Δt_ramp + tail``.

    After this time the stimulus's report (PSP or stimulated AP) can no longer change.
    """
    t = np.atleast_1d(np.asarray(t_us))
    if t.dtype.kind not in "iu":
        raise ValueError(f"t_us must be integer microseconds, got dtype {t.dtype}")
    out: IntArray = t.astype(np.int64) + train_duration_us(weight, params) + window.tail_us
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Ramps:
    """Individual biphasic ramps, sorted by time: the stimulation input of a population.

    Attributes
    ----------
    t_us
        Time of each ramp (integer µs, int64), non-decreasing.
    neuron
        Index of the stimulated neuron (int64).
    dv_mv
        Depolarisation the ramp injects (mV).
    """

    t_us: IntArray
    neuron: IntArray
    dv_mv: FloatArray

    def __post_init__(self) -> None:
        n = self.t_us.shape
        if self.t_us.ndim != 1 or self.neuron.shape != n or self.dv_mv.shape != n:
            raise ValueError(
                f"Ramps needs 1-D arrays of equal length, got t_us {self.t_us.shape}, "
                f"neuron {self.neuron.shape}, dv_mv {self.dv_mv.shape}"
            )
        if n[0] > 1 and np.any(self.t_us[1:] < self.t_us[:-1]):
            raise ValueError("Ramps.t_us must be sorted (non-decreasing)")

    def __len__(self) -> int:
        return int(self.t_us.shape[0])

    @classmethod
    def empty(cls) -> Ramps:
        """No ramps."""
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))


def merge_ramps(*parts: Ramps) -> Ramps:
    """All ramps of several trains in one time-sorted block (ties keep their order)."""
    if not parts:
        return Ramps.empty()
    t = np.concatenate([p.t_us for p in parts])
    order = np.argsort(t, kind="stable")
    return Ramps(
        t[order],
        np.concatenate([p.neuron for p in parts])[order],
        np.concatenate([p.dv_mv for p in parts])[order],
    )


def ramp_train(
    t_us: npt.ArrayLike,
    neuron: npt.ArrayLike,
    weight: npt.ArrayLike,
    params: CapacitiveStimulation = DEFAULT_STIMULATION,
) -> Ramps:
    """The ramps of weight-scaled stimuli: ``round(w * max_ramps)`` ramps from each onset.

    Parameters
    ----------
    t_us
        Onset of each stimulus (integer µs).
    neuron
        Target neuron of each stimulus (index >= 0).
    weight
        Weight of each stimulus in [0, 1] (the hub's ``w_byte / 255``).
    params
        The stimulation model.

    Returns
    -------
    Ramps
        Every ramp, sorted by time.

    Raises
    ------
    ValueError
        If a weight is NaN or outside [0, 1], a neuron index is negative, a time is not an
        integer, or the arrays do not broadcast to 1-D.
    """
    t = np.atleast_1d(np.asarray(t_us))
    if t.dtype.kind not in "iu":
        raise ValueError(f"t_us must be integer microseconds, got dtype {t.dtype}")
    j = np.atleast_1d(np.asarray(neuron))
    if j.dtype.kind not in "iu":
        raise ValueError(f"neuron must be integer indices, got dtype {j.dtype}")
    w = _weights(weight)
    t, j, w = np.broadcast_arrays(t.astype(np.int64), j.astype(np.int64), w)
    if t.ndim != 1:
        raise ValueError(f"stimulus arrays must be 1-D, got shape {t.shape}")
    if j.size and int(j.min()) < 0:
        raise ValueError(f"neuron index must be >= 0, got {int(j.min())}")
    n = ramp_count(w, params)
    total = int(n.sum())
    first = np.cumsum(n) - n
    k = np.arange(total, dtype=np.int64) - np.repeat(first, n)
    times = np.repeat(t, n) + k * np.int64(params.ramp_interval_us)
    order = np.argsort(times, kind="stable")
    return Ramps(
        times[order],
        np.repeat(j, n)[order],
        np.full(total, params.dv_per_ramp_mv, dtype=np.float64),
    )


def stimulus_depolarisation_mv(
    ramps: Ramps,
    neuron: int,
    t_us: npt.ArrayLike,
    params: CapacitiveStimulation = DEFAULT_STIMULATION,
) -> FloatArray:
    """The passive depolarisation s(t) of one neuron at the given times (mV).

    s(t) = Σ_{t_k <= t} ΔV_k · exp(-(t - t_k) / τ_m) over the ramps of ``neuron``. Costs
    O(len(t_us) × ramps of the neuron); meant for analysis and tests, not for a hot loop.
    """
    t = np.atleast_1d(np.asarray(t_us, dtype=np.int64))
    mine = ramps.neuron == neuron
    tk = ramps.t_us[mine]
    dv = ramps.dv_mv[mine]
    lag_ms = (t[:, None] - tk[None, :]).astype(np.float64) / 1000.0
    kernel = np.exp(-np.maximum(lag_ms, 0.0) / params.tau_m_ms) * (lag_ms >= 0.0)
    out: FloatArray = kernel @ dv
    return out


def stimulus_coupling_ns(
    b_per_ms: npt.ArrayLike,
    i_bias_pa: npt.ArrayLike = 0.0,
    params: CapacitiveStimulation = DEFAULT_STIMULATION,
) -> FloatArray:
    """Conductance g_c that makes an Izhikevich membrane follow s(t) (nS, 1 pF membrane).

    g_c = -(0.08 v_rest + 5) - 1/τ_m, with v_rest the lower root of
    0.04 v² + (5 - b) v + 140 + I_bias = 0 (see the module docstring). Neurons biased at or above
    rheobase have no resting state; they are given the value at rheobase, clipped at 0.
    """
    b = np.asarray(b_per_ms, dtype=np.float64)
    i = np.asarray(i_bias_pa, dtype=np.float64)
    p = 5.0 - b
    disc = np.maximum(p * p - 0.16 * (140.0 + i), 0.0)
    v_rest = (-p - np.sqrt(disc)) / 0.08
    g: FloatArray = np.maximum(-(0.08 * v_rest + 5.0) - 1.0 / params.tau_m_ms, 0.0)
    return np.atleast_1d(g)


# --------------------------------------------------------------------------------------------
# Response classification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Responses:
    """Reports of the biology site, in time order, plus a per-stimulus summary.

    Attributes
    ----------
    t_us
        Time of each report: the AP time for codes 1 and 2, the PSP peak for code 0.
    neuron
        Neuron of each report.
    code
        :class:`ResponseCode` of each report (uint8: 0 PSP, 1 stimulated AP, 2 spontaneous AP).
    latency_us
        Latency from the reference (stimulus onset, or previous spike before any stimulus);
        -1 when there is no reference.
    stimulus
        Index (into the input stimuli) of the reference stimulus, -1 when there is none.
    stim_code
        Per input stimulus: 1 if it evoked at least one AP, else 0.
    stim_latency_us
        Per input stimulus: latency of its first evoked AP, or of its PSP peak.
    """

    t_us: IntArray
    neuron: IntArray
    code: npt.NDArray[np.uint8]
    latency_us: IntArray
    stimulus: IntArray
    stim_code: npt.NDArray[np.uint8]
    stim_latency_us: IntArray

    def __len__(self) -> int:
        return int(self.t_us.shape[0])


def _int_array(name: str, value: npt.ArrayLike) -> IntArray:
    a = np.atleast_1d(np.asarray(value))
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def _last_at_or_before(
    ref_neuron: IntArray,
    ref_t: IntArray,
    q_neuron: IntArray,
    q_t: IntArray,
    *,
    strict: bool,
) -> IntArray:
    """Index of the latest ref of the same neuron with ``ref_t <= q_t`` (``<`` if strict), or -1.

    Vectorised: one lexsort of refs and queries together and a running maximum.
    """
    n_ref = ref_t.shape[0]
    order = np.lexsort((ref_t, ref_neuron))
    all_n = np.concatenate([ref_neuron[order], q_neuron])
    all_t = np.concatenate([ref_t[order], q_t])
    # at equal (neuron, t) a ref sorts before a query (<=) or after it (strict <)
    kind = np.concatenate(
        [np.full(n_ref, 1 if strict else 0, np.int8), np.full(q_t.shape[0], 0 if strict else 1)]
    )
    perm = np.lexsort((kind, all_t, all_n))
    is_ref = perm < n_ref
    last = np.maximum.accumulate(np.where(is_ref, perm, -1)) if perm.size else perm
    q_rows = perm[~is_ref] - n_ref
    cand = last[~is_ref]
    out = np.full(q_t.shape[0], -1, dtype=np.int64)
    ok = cand >= 0
    ok[ok] = ref_neuron[order][cand[ok]] == q_neuron[q_rows[ok]]
    out[q_rows[ok]] = order[cand[ok]]
    return out


def classify_responses(
    stim_t_us: npt.ArrayLike,
    stim_neuron: npt.ArrayLike,
    stim_weight: npt.ArrayLike,
    spike_t_us: npt.ArrayLike,
    spike_neuron: npt.ArrayLike,
    params: CapacitiveStimulation = DEFAULT_STIMULATION,
    window: ResponseWindow = DEFAULT_RESPONSE_WINDOW,
) -> Responses:
    """Label every stimulus response and every AP as PSP (0), stimulated (1) or spontaneous AP (2).

    A stimulus of weight w opens the window ``[t + min_latency, t + (n(w) - 1) Δt_ramp + tail]``;
    an AP is stimulated when it falls in the window of the latest stimulus of its neuron with
    onset at least ``min_latency`` before it, and spontaneous otherwise; a stimulus with no AP in
    its window is a PSP stamped at its peak. The full rule is in the module docstring.

    The rule is causal, so a runtime can classify as it goes: an AP's label depends only on the
    stimuli before it, so it is final as soon as the AP is seen; a stimulus's PSP/AP report is
    final once its window has closed (:func:`response_window_end_us`).

    Parameters
    ----------
    stim_t_us, stim_neuron, stim_weight
        The stimuli: onset (µs), target neuron and weight in [0, 1].
    spike_t_us, spike_neuron
        Every AP recorded over the same span, from any neuron.
    params
        The stimulation model (gives the train length for each weight).
    window
        The response window.

    Returns
    -------
    Responses
        One report per AP and one PSP per stimulus without an evoked AP, sorted by time.

    Raises
    ------
    ValueError
        On a NaN or out-of-range weight, non-integer times, or arrays of unequal length.
    """
    st = _int_array("stim_t_us", stim_t_us)
    sn = _int_array("stim_neuron", stim_neuron)
    sw = _weights(stim_weight)
    if not st.shape == sn.shape == sw.shape:
        raise ValueError(
            f"stimulus arrays differ in length: t {st.shape}, neuron {sn.shape}, weight {sw.shape}"
        )
    at = _int_array("spike_t_us", spike_t_us)
    an = _int_array("spike_neuron", spike_neuron)
    if at.shape != an.shape:
        raise ValueError(f"spike arrays differ in length: t {at.shape}, neuron {an.shape}")
    n_ramps = ramp_count(sw, params)
    train = np.maximum(n_ramps - 1, 0) * np.int64(params.ramp_interval_us)

    # a sentinel at index -1 lets "no candidate" (-1) index safely into every per-stimulus array
    st_p = np.append(st, 0)
    n_ramps_p = np.append(n_ramps, 0)
    train_p = np.append(train, 0)
    at_p = np.append(at, 0)
    # stimulated: the latest stimulus with onset <= t - min_latency, if the AP is in its window
    cand = _last_at_or_before(sn, st, an, at - window.min_latency_us, strict=False)
    lat_c = at - st_p[cand]
    stimulated = (cand >= 0) & (n_ramps_p[cand] > 0) & (lat_c <= train_p[cand] + window.tail_us)
    # spontaneous: latency from the latest stimulus at or before the AP, else the previous spike
    ref = _last_at_or_before(sn, st, an, at, strict=False)
    prev = _last_at_or_before(an, at, an, at, strict=True)
    lat_spont = np.where(ref >= 0, at - st_p[ref], np.where(prev >= 0, at - at_p[prev], -1))
    ap_code = np.where(stimulated, ResponseCode.STIMULATED_AP, ResponseCode.SPONTANEOUS_AP)
    ap_latency = np.where(stimulated, lat_c, lat_spont)
    ap_stimulus = np.where(stimulated, cand, ref)

    # per stimulus: first evoked AP, else a PSP at the peak
    stim_code = np.zeros(st.shape[0], dtype=np.uint8)
    stim_latency = train.copy()
    if stimulated.any():
        evoked = cand[stimulated]
        lat = lat_c[stimulated]
        first = np.full(st.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, evoked, lat)
        stim_code[evoked] = ResponseCode.STIMULATED_AP
        hit = stim_code == ResponseCode.STIMULATED_AP
        stim_latency[hit] = first[hit]
    psp = stim_code == ResponseCode.PSP

    t_all = np.concatenate([at, st[psp] + train[psp]])
    order = np.argsort(t_all, kind="stable")
    return Responses(
        t_us=t_all[order],
        neuron=np.concatenate([an, sn[psp]])[order],
        code=np.concatenate([ap_code, np.zeros(int(psp.sum()), np.int64)]).astype(np.uint8)[order],
        latency_us=np.concatenate([ap_latency, train[psp]])[order],
        stimulus=np.concatenate([ap_stimulus, np.flatnonzero(psp)]).astype(np.int64)[order],
        stim_code=stim_code,
        stim_latency_us=stim_latency,
    )


def responses_to_events(responses: Responses, key_base: int = 0) -> EventBlock:
    """Reports as an event block: ``t_us``, key ``key_base + neuron``, value = the code."""
    return make_events(
        responses.t_us,
        np.int64(key_base) + responses.neuron,
        responses.code.astype(np.float32),
    )
