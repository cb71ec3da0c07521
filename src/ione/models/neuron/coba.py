"""COBA-4000: the conductance-based random network of Brette et al. (2007), benchmark 1.

Vogels & Abbott, J. Neurosci. 25:10786 (2005), as simplified for Brette et al., *Simulation of
networks of spiking neurons: a review of tools and strategies*, J. Comput. Neurosci. 23:349
(2007): 3200 excitatory and 800 inhibitory conductance-based LIF cells
(:data:`~ione.models.neuron.lif.BRETTE_2007_COBA`), every ordered pair of distinct cells
connected with probability 0.02, excitatory synapses adding w_e = 6 nS to ``g_e`` and inhibitory
ones w_i = 67 nS to ``g_i``, spikes arriving at the next step, dt = 0.1 ms. There is no external
input: random initial conditions (as in the benchmark's Brian script, V ~ N(-65, 5) mV,
g_e ~ N(40, 15) nS, g_i ~ N(200, 120) nS, clipped at 0) start self-sustained irregular activity
at about 20 Hz. The network also has a quiescent state: for about one seed in twenty the
initial activity dies out within ~100 ms (check the rate of a run before trusting a seed).

- :func:`coba_build` draws the connectivity (compressed sparse rows, by source) and the initial
  state from a seeded ``numpy.random.Generator``: construction, reported apart from simulation.
- :func:`coba_run` integrates many steps in one compiled (numba) call, counting spikes and
  synaptic events; :func:`coba_step` is the numpy reference, a :func:`~.lif.lif_cond_step` of
  the whole population followed by spike propagation, and is tested equal to :func:`coba_run`.

Why the compiled run is fast: the neuron update is one branch-free loop over contiguous float64
arrays that LLVM vectorises, with the exponential of the exponential Euler scheme computed by an
inlined polynomial (:func:`_exp_nonpositive`, accurate to 2 ulp) instead of a libm call that
would stop vectorisation, a multiplication by ``-dt/C`` instead of a division, and fused
multiply-adds (floating-point contraction only: no reassociation, so results stay within a few
ulp of the numpy reference); the conductances decay by constant factors (exact); refractoriness
is an int32 step counter; spikes are found by scanning a byte mask eight neurons at a time; and
propagation walks each spiking cell's row of int32 targets, adding its weight in place. Nothing
is allocated inside the loop (the spike record grows geometrically on the rare overflow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numba
import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .lif import (
    BRETTE_2007_COBA,
    F64,
    US_PER_MS,
    LIFCondParams,
    LIFCondState,
    _check_n_steps,
    lif_cond_step,
)

__all__ = [
    "COBA_4000",
    "COBANetwork",
    "COBAParams",
    "COBARecord",
    "coba_build",
    "coba_run",
    "coba_step",
]


@dataclass(frozen=True, slots=True)
class COBAParams:
    """Size, connectivity, weights, step and initial-state distributions of a COBA network.

    Weights are in µS (PyNN's unit): 0.006 µS = 6 nS. The initial state is drawn as
    ``v ~ N(v_init_mean_mv, v_init_sd_mv)`` and ``g_x ~ N(g_x_init_mean_us, g_x_init_sd_us)``
    clipped at 0.
    """

    n_exc: int = 3200
    n_inh: int = 800
    p_connect: float = 0.02
    w_exc_us: float = 0.006
    w_inh_us: float = 0.067
    dt_us: int = 100
    neuron: LIFCondParams = BRETTE_2007_COBA
    v_init_mean_mv: float = -65.0
    v_init_sd_mv: float = 5.0
    g_e_init_mean_us: float = 0.040
    g_e_init_sd_us: float = 0.015
    g_i_init_mean_us: float = 0.200
    g_i_init_sd_us: float = 0.120

    def __post_init__(self) -> None:
        for name in ("n_exc", "n_inh", "dt_us"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"COBAParams.{name} must be a non-negative integer, got {value!r}")
        if self.dt_us == 0:
            raise ValueError("COBAParams.dt_us must be > 0")
        if self.n_exc + self.n_inh >= 2**31:
            raise ValueError("COBAParams: n_exc + n_inh must fit in int32 neuron indices")
        finite = (
            "p_connect", "w_exc_us", "w_inh_us", "v_init_mean_mv", "v_init_sd_mv",
            "g_e_init_mean_us", "g_e_init_sd_us", "g_i_init_mean_us", "g_i_init_sd_us",
        )  # fmt: skip
        for name in finite:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise ValueError(f"COBAParams.{name} must be a finite number, got {value!r}")
        if not 0.0 <= self.p_connect <= 1.0:
            raise ValueError(f"COBAParams.p_connect must lie in [0, 1], got {self.p_connect!r}")
        for name in ("w_exc_us", "w_inh_us", "v_init_sd_mv", "g_e_init_sd_us", "g_i_init_sd_us"):
            if getattr(self, name) < 0:
                raise ValueError(f"COBAParams.{name} must be >= 0, got {getattr(self, name)!r}")
        if not isinstance(self.neuron, LIFCondParams):
            raise ValueError("COBAParams.neuron must be LIFCondParams")
        if self.neuron.t_refrac_us % self.dt_us:
            raise ValueError(
                f"COBAParams: the refractory period ({self.neuron.t_refrac_us} µs) must be a "
                f"multiple of dt_us ({self.dt_us})"
            )

    @property
    def n(self) -> int:
        """Number of neurons (excitatory first)."""
        return self.n_exc + self.n_inh


#: COBA-4000 exactly as BENCHMARKS.md and Brette et al. (2007), benchmark 1.
COBA_4000: Final = COBAParams()


@dataclass(frozen=True, slots=True)
class COBANetwork:
    """Connectivity of a COBA network in compressed sparse rows by source neuron.

    The targets of neuron ``j`` are ``indices[indptr[j]:indptr[j + 1]]`` (sorted); sources
    ``j < n_exc`` are excitatory.
    """

    params: COBAParams
    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]

    def __post_init__(self) -> None:
        n = self.params.n
        indptr = np.ascontiguousarray(self.indptr, np.int64)
        indices = np.ascontiguousarray(self.indices, np.int32)
        if indptr.shape != (n + 1,) or indptr[0] != 0 or (np.diff(indptr) < 0).any():
            raise ValueError(f"COBANetwork.indptr must be non-decreasing, shape ({n + 1},), from 0")
        if indices.ndim != 1 or indices.shape[0] != indptr[-1]:
            raise ValueError("COBANetwork.indices must hold indptr[-1] targets")
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise ValueError(f"COBANetwork.indices must lie in [0, {n})")
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)

    @property
    def n_synapses(self) -> int:
        """Number of synapses."""
        return int(self.indices.shape[0])

    @property
    def out_degree(self) -> npt.NDArray[np.int64]:
        """Number of targets of each neuron."""
        return np.diff(self.indptr)


@dataclass(frozen=True, slots=True)
class COBARecord:
    """Spikes and counts of a :func:`coba_run`.

    ``t_us`` are spike times from the start of the run (a spike of step ``k`` is at
    ``(k + 1) dt``), in time order and, within a step, by neuron; ``neuron`` the emitting cells.
    """

    t_us: npt.NDArray[np.int64]
    neuron: npt.NDArray[np.int32]
    n_synaptic_events: int
    n_steps: int
    dt_us: int

    @property
    def n_spikes(self) -> int:
        """Number of spikes."""
        return int(self.t_us.shape[0])

    def mean_rate_hz(self, n_neurons: int) -> float:
        """Mean firing rate per neuron over the run (Hz)."""
        duration_s = self.n_steps * self.dt_us / 1e6
        return self.n_spikes / (n_neurons * duration_s) if duration_s and n_neurons else 0.0


def coba_build(params: COBAParams, rng: np.random.Generator) -> tuple[COBANetwork, LIFCondState]:
    """Draw a COBA network's connectivity and initial state from ``rng``.

    Every ordered pair ``(j, k)``, ``j != k``, is a synapse with probability ``p_connect``,
    independently: the gaps between successive synapses in the row-major list of the
    ``n (n - 1)`` candidate pairs are geometric, so the draw costs O(synapses), not O(n²).
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    n, p = params.n, params.p_connect
    pairs = n * (n - 1)
    if pairs == 0 or p == 0.0:
        pos = np.zeros(0, np.int64)
    elif p == 1.0:
        pos = np.arange(pairs, dtype=np.int64)
    else:
        # Enough gaps to pass the last pair almost surely (6 sigma); top up in the rare case.
        expected = pairs * p
        draw = int(expected + 6.0 * math.sqrt(expected) + 64)
        chunks = [np.cumsum(rng.geometric(p, draw).astype(np.int64)) - 1]
        while chunks[-1][-1] < pairs:
            top_up = int(0.1 * expected + 64)
            chunks.append(chunks[-1][-1] + np.cumsum(rng.geometric(p, top_up).astype(np.int64)))
        pos = np.concatenate(chunks)
        pos = pos[pos < pairs]
    src = pos // (n - 1) if n > 1 else pos
    col = pos - src * (n - 1)
    tgt = col + (col >= src)  # skip the diagonal: no autapses
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    net = COBANetwork(params, indptr, tgt.astype(np.int32))
    v = rng.normal(params.v_init_mean_mv, params.v_init_sd_mv, n)
    g_e = np.maximum(rng.normal(params.g_e_init_mean_us, params.g_e_init_sd_us, n), 0.0)
    g_i = np.maximum(rng.normal(params.g_i_init_mean_us, params.g_i_init_sd_us, n), 0.0)
    return net, LIFCondState(v, g_e, g_i, np.zeros(n, np.int64))


def _propagate(net: COBANetwork, spiked: npt.NDArray[np.bool_]) -> tuple[F64, F64, int]:
    """Conductance arriving at each cell from the given spikes, and the number of events."""
    p = net.params
    src = np.flatnonzero(spiked)
    start, stop = net.indptr[src], net.indptr[src + 1]
    counts = stop - start
    total = int(counts.sum())
    # Concatenated rows of the spiking cells, without a Python loop over spikes.
    offsets = np.repeat(start - np.cumsum(counts) + counts, counts)
    targets = net.indices[offsets + np.arange(total)]
    is_exc = np.repeat(src < p.n_exc, counts)
    g_e = np.multiply(p.w_exc_us, np.bincount(targets[is_exc], minlength=p.n), dtype=np.float64)
    g_i = np.multiply(p.w_inh_us, np.bincount(targets[~is_exc], minlength=p.n), dtype=np.float64)
    return g_e, g_i, total


def coba_step(
    net: COBANetwork, state: LIFCondState
) -> tuple[LIFCondState, npt.NDArray[np.bool_], int]:
    """One step of the network: the numpy reference of :func:`coba_run`.

    Equations: those of :func:`~ione.models.neuron.lif.lif_cond_step` for every cell, then each
    spike of an excitatory (inhibitory) cell adds ``w_exc_us`` (``w_inh_us``) to ``g_e``
    (``g_i``) of each of its targets, so that it acts from the next step on (Brette et al.
    2007, benchmark 1). Returns the new state, the spike mask and the number of synaptic events.
    """
    p = net.params
    new, spiked = lif_cond_step(state, None, p.neuron, p.dt_us)
    g_e, g_i, events = _propagate(net, spiked)
    out = LIFCondState(new.v_mv, new.g_e_us + g_e, new.g_i_us + g_i, new.refrac_left_us)
    return out, spiked, events


# --------------------------------------------------------------------------- compiled kernel
@intrinsic
def _f64_bits(typingctx, x):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Reinterpret a float64 as int64 (a free bitcast that LLVM vectorises)."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, x):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Reinterpret an int64 as float64."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_LOG2E: Final = 1.4426950408889634
_LN2_HI: Final = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact
_LN2_LO: Final = 1.90821492927058770002e-10
_ROUND: Final = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer
_ROUND_BITS: Final = int(np.array(_ROUND).view(np.int64))
_C = tuple(1.0 / math.factorial(i) for i in range(14))


@numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
def _exp_nonpositive(x):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``exp(x)`` for ``x <= 0`` (to 2 ulp), branch-free so that loops calling it vectorise.

    ``x = k ln2 + r`` with ``|r| <= ln2/2`` (Cody-Waite reduction), ``exp(r)`` by its Taylor
    polynomial of degree 13 in Estrin's form (truncation < 5e-18), and the factor ``2**k``
    written straight into the exponent bits. Arguments below -700 are clamped (exp(-700) ~
    1e-304: the membrane has then reached its equilibrium to any precision).
    """
    x = max(x, -700.0)
    y = x * _LOG2E + _ROUND
    k = y - _ROUND
    r = (x - k * _LN2_HI) - k * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    p = ((_C[0] + r * _C[1]) + r2 * (_C[2] + r * _C[3])) + r4 * (
        (_C[4] + r * _C[5]) + r2 * (_C[6] + r * _C[7])
    )
    p = p + r8 * (((_C[8] + r * _C[9]) + r2 * (_C[10] + r * _C[11])) + r4 * (_C[12] + r * _C[13]))
    return p * _bits_f64((_f64_bits(y) - _ROUND_BITS + 1023) << 52)  # type: ignore[call-arg]


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _exp_nonpositive_array(x, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = _exp_nonpositive(x[i])


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _coba_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    v, g_e, g_i, refrac, indptr, indices, n_exc, n_steps, dt_us, n_ref, pars, flags, rec_t, rec_i
):
    c_m, g_l, v_rest, v_reset, v_thresh, e_e, e_i, i_off, d_e, d_i, w_e, w_i = pars
    n = v.shape[0]
    a = -(dt_us / 1000.0) / c_m
    drive_l = g_l * v_rest
    words = flags.view(np.uint64)
    n_words = words.shape[0]
    n_spikes = 0
    n_events = 0
    for s in range(n_steps):
        # Neuron update: one branch-free pass that LLVM vectorises.
        for k in range(n):
            ge = g_e[k]
            gi = g_i[k]
            g_tot = g_l + ge + gi
            v_inf = (drive_l + ge * e_e + gi * e_i + i_off) / g_tot
            v0 = v[k]
            v1 = v_inf + (v0 - v_inf) * _exp_nonpositive(a * g_tot)
            left = refrac[k]
            free = left == 0
            fire = free & (v1 > v_thresh)
            v[k] = v_reset if fire else (v1 if free else v0)
            refrac[k] = n_ref if fire else left - (not free)
            g_e[k] = ge * d_e
            g_i[k] = gi * d_i
            flags[k] = fire
        # Spikes: scan the mask eight cells at a time, then propagate along the rows.
        for w in range(n_words):
            if words[w] == 0:
                continue
            for j in range(8 * w, min(8 * w + 8, n)):
                if flags[j] == 0:
                    continue
                if n_spikes == rec_t.shape[0]:
                    grown_t = np.empty(2 * rec_t.shape[0] + 1024, np.int64)
                    grown_i = np.empty(2 * rec_t.shape[0] + 1024, np.int32)
                    grown_t[:n_spikes] = rec_t
                    grown_i[:n_spikes] = rec_i
                    rec_t = grown_t
                    rec_i = grown_i
                rec_t[n_spikes] = (s + 1) * dt_us
                rec_i[n_spikes] = j
                n_spikes += 1
                lo = indptr[j]
                hi = indptr[j + 1]
                n_events += hi - lo
                if j < n_exc:
                    for q in range(lo, hi):
                        g_e[indices[q]] += w_e
                else:
                    for q in range(lo, hi):
                        g_i[indices[q]] += w_i
    return n_spikes, n_events, rec_t, rec_i


def coba_run(
    net: COBANetwork, state: LIFCondState, n_steps: int
) -> tuple[LIFCondState, COBARecord]:
    """Integrate ``n_steps`` steps of the network in one compiled call.

    The dynamics are those of :func:`coba_step` (tested equal); the exponential of the membrane
    update is :func:`_exp_nonpositive` instead of numpy's ``exp`` (the two differ by at most
    2 ulp). The input state is not modified.

    Returns
    -------
    new_state, record
        The state after the run, and its spikes and number of synaptic events.
    """
    n_steps = _check_n_steps(n_steps)
    p = net.params
    if state.v_mv.shape[0] != p.n:
        raise ValueError(f"state has {state.v_mv.shape[0]} neurons, the network {p.n}")
    if (state.refrac_left_us % p.dt_us).any():
        raise ValueError("state.refrac_left_us must be multiples of dt_us")
    c = p.neuron
    dt_ms = p.dt_us / US_PER_MS
    pars = (c.c_m_nf, c.g_leak_us, c.v_rest_mv, c.v_reset_mv, c.v_thresh_mv, c.e_rev_e_mv,
            c.e_rev_i_mv, c.i_offset_na, math.exp(-dt_ms / c.tau_syn_e_ms),
            math.exp(-dt_ms / c.tau_syn_i_ms), p.w_exc_us, p.w_inh_us)  # fmt: skip
    v, g_e, g_i = state.v_mv.copy(), state.g_e_us.copy(), state.g_i_us.copy()
    # Refractoriness in whole steps (t_refrac is a multiple of dt): int32 counters.
    refrac = (state.refrac_left_us // p.dt_us).astype(np.int32)
    n_ref = np.int32(c.t_refrac_us // p.dt_us)
    flags = np.zeros(-(-p.n // 8) * 8, np.uint8)
    guess = int(p.n * n_steps * p.dt_us * 25e-6) + 1024  # room for 25 Hz
    n_spk, n_ev, rec_t, rec_i = _coba_kernel(
        v, g_e, g_i, refrac, net.indptr, net.indices, p.n_exc, n_steps, p.dt_us,
        n_ref, pars, flags, np.empty(guess, np.int64), np.empty(guess, np.int32),
    )  # fmt: skip
    record = COBARecord(rec_t[:n_spk].copy(), rec_i[:n_spk].copy(), int(n_ev), n_steps, p.dt_us)
    return LIFCondState(v, g_e, g_i, refrac.astype(np.int64) * p.dt_us), record


def _exp_nonpositive_checked(x: npt.ArrayLike) -> F64:
    """The compiled kernel's exponential, for testing it against ``numpy.exp`` (``x <= 0``)."""
    arr = np.ascontiguousarray(x, np.float64)
    if arr.ndim != 1:
        raise ValueError("x must be 1-D")
    if (arr > 0).any() or not np.isfinite(arr).all():
        raise ValueError("x must be finite and <= 0")
    out = np.empty_like(arr)
    _exp_nonpositive_array(arr, out)
    return out
