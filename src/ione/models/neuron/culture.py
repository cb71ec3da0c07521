"""A simulated culture: a spontaneously bursting network of Izhikevich neurons.

Dissociated hippocampal and cortical cultures fire spontaneously at roughly 0.1-5 Hz per neuron,
much of it in **network bursts**: a few hundred milliseconds in which most of the network fires,
separated by seconds of sparse activity (Wagenaar, Pine & Potter, BMC Neurosci. 7:11, 2006).
The model (SYSTEM.md §3.2) follows the Izhikevich-network models of cultures of Gritsun et al.
(Biol. Cybern. 102:293, 2010) and Lonardoni et al. (PLoS Comput. Biol. 13:e1005672, 2017):
Izhikevich neurons, sparse random connectivity, fast and slow excitation, inhibition, short-term
depression and noise. Parameter values are modelling defaults, tuned for the behaviour below.

Neurons (Izhikevich, IEEE Trans. Neural Netw. 14(6):1569, 2003, with that paper's heterogeneity)::

    dv/dt = 0.04 v² + 5 v + 140 - u + I,   du/dt = a (b v - u),   v >= 30 mV: v <- c, u <- u + d
    excitatory (80 %): a = 0.02, b = 0.2, c = -65 + 15 r², d = 8 - 6 r², r ~ U(0, r_max)
    inhibitory (20 %): fast spiking, a = 0.1, b = 0.2, c = -65, d = 2

With r_max = 1 the excitatory cells span regular spiking (r = 0; 82 % have c < -55 mV) through
intrinsically bursting (r ≈ 0.8) to a few chattering cells (r > 0.93, 7 %).

Input current (pA, on the 1 pF membrane of :mod:`.izhikevich`)::

    I = I_bias + I_ext + σ ξ / √dt + (g_E + g_S) (E_E - v) + g_I (E_I - v) + g_c s - I_AHP

- **connectivity**: each ordered pair (no autapses) is connected with probability K / (n - 1),
  K the mean in-degree (16); peak conductances are uniform in [0.5, 1.5] × the mean.
- **synapses**, conductance based, exponential: fast excitation g_E (AMPA-like, τ 5 ms), slow
  excitation g_S (NMDA-like, τ 100 ms, step 0.4 × the fast one, Mg2+ block omitted) and
  inhibition g_I (GABA_A-like, τ 10 ms). A presynaptic spike steps its targets' conductances at
  the end of its step, so they act from the next step (one-step delay).
- **short-term depression** of excitatory synapses (Tsodyks & Markram, PNAS 94:719, 1997): each
  excitatory neuron has resources x with dx/dt = (1 - x)/τ_rec; a spike releases U x, the
  conductance steps are w U x (fast) and 0.4 w U x (slow), then x <- x - U x.
- **slow adaptation** of excitatory neurons (a slow Ca2+-activated K+ current):
  dI_AHP/dt = -I_AHP/τ_AHP, and each spike adds ΔI_AHP (1 - I_AHP / I_max). It saturates at
  I_max, so that a neuron driven at 10 Hz for minutes keeps answering.
- **noise**: white current noise of intensity σ (pA·√ms), plus per-neuron bias currents below
  rheobase (4 pA).
- **stimulation**: the capacitive ramps of :mod:`.stimulation`; each ramp adds ΔV to v and to the
  stimulus depolarisation s (ds/dt = -s/τ_m), which the coupling current g_c s holds.

A burst starts when noise-driven spikes recruit the recurrent excitation; the slow excitation
sustains it for a few hundred ms; depression (x) and adaptation (I_AHP) end it, and the next one
waits for both to recover, over seconds. With :data:`HIPPOCAMPAL_CULTURE` (five seeds, 60 s each):
97-100 % of the neurons fire at 0.1-5 Hz (median 0.45-0.6 Hz; excitatory 0.4-0.55 Hz, inhibitory
about 2 Hz), 9-12 network bursts per minute lasting 230-280 ms with 96-100 % participation,
separated by 3-5 s of near silence (about 90 % of all spikes fall in bursts). As in other
homogeneous random-network models (Gritsun et al., Biol. Cybern. 105, 2011), the
inter-burst intervals are more regular (CV about 0.2) than in most recordings.

Numerics: the Izhikevich scheme of :mod:`.izhikevich` with ``dt`` = :data:`CULTURE_DT_US`
(0.1 ms; rates and burst counts change by a few per cent between 0.05 and 0.25 ms); decays are
exact exponentials per step. :func:`culture_step` is the numpy reference and :func:`culture_run`
its numba twin, tested equal bit for bit. :func:`culture_run` simulates 160 neurons at about 40×
real time in long runs and 16× real time when called once per 1 ms tick, and keeps stimulation
ramps that lie beyond the end of a call in the state, so a runtime can hand each stimulus over
once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from ione.events import EventBlock, make_events
from ione.models.neuron.izhikevich import IZHIKEVICH_MAX_DT_US, _update_one, _update_reference
from ione.models.neuron.stimulation import (
    DEFAULT_STIMULATION,
    CapacitiveStimulation,
    Ramps,
    merge_ramps,
    stimulus_coupling_ns,
)

__all__ = [
    "CULTURE_DT_US",
    "HIPPOCAMPAL_CULTURE",
    "SINGLE_NEURON",
    "Culture",
    "CultureParams",
    "CultureSpikes",
    "CultureState",
    "culture_initial_state",
    "culture_run",
    "culture_step",
    "make_culture",
]

#: Default time step of the culture (µs): 0.1 ms, ten steps per 1 ms tick.
CULTURE_DT_US: Final = 100
_V_PEAK_MV: Final = 30.0

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class CultureParams:
    """Parameters of a simulated culture (see the module docstring for the equations).

    Attributes
    ----------
    n_neurons
        Number of neurons.
    excitatory_fraction
        Fraction of excitatory neurons; the rest are fast-spiking inhibitory.
    excitatory_r_max
        Excitatory cells draw Izhikevich's heterogeneity r uniformly in [0, r_max]: 0 makes them
        all RS, 1 spans RS (r = 0) through IB (r ≈ 0.8) to CH (r = 1).
    mean_in_degree
        Expected number of inputs per neuron K: each ordered pair is connected with probability
        K / (n - 1), so the network keeps its dynamics when n changes.
    w_exc_ns, w_inh_ns
        Mean peak conductance of an excitatory / inhibitory synapse (nS, 1 pF membrane).
    tau_exc_ms, tau_inh_ms
        Decay time constants of the fast (AMPA-like) and inhibitory conductances (ms).
    slow_exc_ratio, tau_slow_exc_ms
        A slow (NMDA-like) excitatory conductance: its step is this fraction of the fast one, and
        its decay time constant (ms); it sustains a burst for a few hundred ms. It is voltage
        independent: the Mg2+ block is omitted, which keeps transcendental functions out of the
        per-step update, so that the numpy reference and the numba twin agree bit for bit.
    e_exc_mv, e_inh_mv
        Reversal potentials (mV).
    release_fraction
        U of the depressing excitatory synapses (0 < U <= 1).
    tau_rec_ms
        Recovery time constant of the synaptic resources (ms).
    ahp_increment_pa, ahp_max_pa, tau_ahp_ms
        Spike-triggered adaptation current of excitatory neurons: step per spike from rest (pA),
        saturation level (pA) and decay time constant (ms). An increment of 0 disables it.
    noise_pa_sqrt_ms
        Intensity σ of the white current noise (pA·√ms): over a step dt the current has standard
        deviation σ / √dt.
    bias_min_pa, bias_max_pa
        Per-neuron bias currents are uniform in this range (pA); keep them below rheobase (4 pA).
    stimulation
        The capacitive stimulation model (its τ_m sets the coupling of stimulus ramps).
    """

    n_neurons: int = 160
    excitatory_fraction: float = 0.8
    excitatory_r_max: float = 1.0
    mean_in_degree: float = 16.0
    w_exc_ns: float = 0.1
    w_inh_ns: float = 0.04
    tau_exc_ms: float = 5.0
    slow_exc_ratio: float = 0.4
    tau_slow_exc_ms: float = 100.0
    tau_inh_ms: float = 10.0
    e_exc_mv: float = 0.0
    e_inh_mv: float = -80.0
    release_fraction: float = 0.2
    tau_rec_ms: float = 1500.0
    ahp_increment_pa: float = 0.7
    ahp_max_pa: float = 3.0
    tau_ahp_ms: float = 4000.0
    noise_pa_sqrt_ms: float = 2.0
    bias_min_pa: float = 0.0
    bias_max_pa: float = 2.0
    stimulation: CapacitiveStimulation = field(default=DEFAULT_STIMULATION)

    def __post_init__(self) -> None:
        owner = "CultureParams"
        n = self.n_neurons
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n < 1 << 20:
            raise ValueError(f"{owner}.n_neurons must be an integer in 1 ... 2**20 - 1, got {n!r}")
        for name in (
            "excitatory_fraction",
            "excitatory_r_max",
            "release_fraction",
        ):
            value = _finite(owner, name, getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{owner}.{name} must be in [0, 1], got {value}")
        if n > 1 and self.mean_in_degree > n - 1:
            raise ValueError(
                f"{owner}.mean_in_degree ({self.mean_in_degree}) exceeds the {n - 1} "
                "possible inputs"
            )
        if self.release_fraction == 0.0:
            raise ValueError(f"{owner}.release_fraction must be > 0")
        for name in (
            "tau_exc_ms",
            "tau_slow_exc_ms",
            "tau_inh_ms",
            "tau_rec_ms",
            "tau_ahp_ms",
            "ahp_max_pa",
        ):
            if _finite(owner, name, getattr(self, name)) <= 0.0:
                raise ValueError(f"{owner}.{name} must be > 0, got {getattr(self, name)}")
        for name in (
            "mean_in_degree",
            "w_exc_ns",
            "w_inh_ns",
            "slow_exc_ratio",
            "ahp_increment_pa",
            "noise_pa_sqrt_ms",
        ):
            if _finite(owner, name, getattr(self, name)) < 0.0:
                raise ValueError(f"{owner}.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("e_exc_mv", "e_inh_mv", "bias_min_pa", "bias_max_pa"):
            _finite(owner, name, getattr(self, name))
        if self.bias_min_pa > self.bias_max_pa:
            raise ValueError(
                f"{owner}.bias_min_pa ({self.bias_min_pa}) must not exceed "
                f"bias_max_pa ({self.bias_max_pa})"
            )


def _finite(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{owner}.{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be finite, got {value!r}")
    return float(value)


#: A culture of 160 neurons (128 excitatory RS..IB, 32 fast-spiking inhibitory) that bursts
#: spontaneously: per-neuron rates 0.1-5 Hz, about 10 network bursts per minute (module docstring,
#: tests/models/test_culture.py). Structure after Izhikevich (2003), Gritsun et al. (2010) and
#: Lonardoni et al. (2017); the values are modelling defaults tuned for that behaviour.
HIPPOCAMPAL_CULTURE: Final = CultureParams()

#: One isolated regular-spiking neuron with the culture's adaptation, firing spontaneously at about
#: 0.4 Hz from noise: a surrogate for the biological neuron BN of the 2020 experiment when no
#: network is simulated.
SINGLE_NEURON: Final = CultureParams(
    n_neurons=1,
    excitatory_fraction=1.0,
    excitatory_r_max=0.0,
    mean_in_degree=0.0,
    noise_pa_sqrt_ms=3.0,
    bias_min_pa=1.0,
    bias_max_pa=1.0,
)


@dataclass(frozen=True, slots=True, eq=False)
class Culture:
    """A built culture: per-neuron parameters and the synapses (CSR by presynaptic neuron).

    Built by :func:`make_culture`; treat as immutable. Synapses of neuron ``p`` are
    ``indices[indptr[p]:indptr[p + 1]]`` (postsynaptic neurons) with ``weight_ns`` alike.
    """

    params: CultureParams
    a_per_ms: FloatArray
    b_per_ms: FloatArray
    c_mv: FloatArray
    d_mv_per_ms: FloatArray
    excitatory: BoolArray
    i_bias_pa: FloatArray
    coupling_ns: FloatArray
    indptr: IntArray
    indices: IntArray
    weight_ns: FloatArray

    @property
    def n(self) -> int:
        """Number of neurons."""
        return int(self.a_per_ms.shape[0])

    @property
    def n_synapses(self) -> int:
        """Number of synapses."""
        return int(self.indices.shape[0])


def make_culture(params: CultureParams, rng: np.random.Generator) -> Culture:
    """Build a culture: cell types, bias currents and random connectivity, all from ``rng``.

    Neurons ``0 ... n_exc - 1`` are excitatory and the rest inhibitory. The same ``params`` and
    generator state always give the same culture.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = params.n_neurons
    n_exc = round(params.excitatory_fraction * n)
    exc = np.arange(n) < n_exc
    r2 = (params.excitatory_r_max * rng.random(n)) ** 2
    a = np.where(exc, 0.02, 0.1)
    b = np.full(n, 0.2)
    c = np.where(exc, -65.0 + 15.0 * r2, -65.0)
    d = np.where(exc, 8.0 - 6.0 * r2, 2.0)
    bias = rng.uniform(params.bias_min_pa, params.bias_max_pa, size=n)
    p_connect = params.mean_in_degree / (n - 1) if n > 1 else 0.0
    connected = rng.random((n, n)) < p_connect
    np.fill_diagonal(connected, False)
    pre, post = np.nonzero(connected)  # row-major: grouped by presynaptic neuron, sorted
    mean = np.where(exc[pre], params.w_exc_ns, params.w_inh_ns)
    weight = mean * rng.uniform(0.5, 1.5, size=pre.shape[0])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n), out=indptr[1:])
    return Culture(
        params=params,
        a_per_ms=a,
        b_per_ms=b,
        c_mv=c,
        d_mv_per_ms=d,
        excitatory=exc,
        i_bias_pa=bias,
        coupling_ns=stimulus_coupling_ns(b, bias, params.stimulation),
        indptr=indptr,
        indices=post.astype(np.int64),
        weight_ns=weight.astype(np.float64),
    )


@dataclass(frozen=True, slots=True, eq=False)
class CultureState:
    """State of a culture at time ``t_us``; arrays have one element per neuron.

    Attributes
    ----------
    t_us
        Culture time (integer µs).
    v_mv, u_mv_per_ms
        Izhikevich membrane potential and recovery variable.
    g_exc_ns, g_slow_ns, g_inh_ns
        Fast excitatory, slow excitatory and inhibitory synaptic conductances (nS).
    resources
        Synaptic resources x of each neuron's outgoing (excitatory) synapses, in [0, 1].
    stim_mv
        Stimulus depolarisation s (mV).
    i_ahp_pa
        Adaptation current.
    pending
        Stimulation ramps at or after ``t_us`` not yet applied.
    """

    t_us: int
    v_mv: FloatArray
    u_mv_per_ms: FloatArray
    g_exc_ns: FloatArray
    g_slow_ns: FloatArray
    g_inh_ns: FloatArray
    resources: FloatArray
    stim_mv: FloatArray
    i_ahp_pa: FloatArray
    pending: Ramps = field(default_factory=Ramps.empty)


def culture_initial_state(
    culture: Culture, rng: np.random.Generator | None = None, t_us: int = 0
) -> CultureState:
    """All neurons at rest (v = -70 mV, u = b v; spread over ±5 mV with ``rng``), synapses
    recovered, no stimulus."""
    n = culture.n
    v = np.full(n, -70.0)
    if rng is not None:
        v += rng.uniform(-5.0, 5.0, size=n)
    z = np.zeros(n)
    return CultureState(
        t_us=int(t_us),
        v_mv=v,
        u_mv_per_ms=culture.b_per_ms * v,
        g_exc_ns=z.copy(),
        g_slow_ns=z.copy(),
        g_inh_ns=z.copy(),
        resources=np.ones(n),
        stim_mv=z.copy(),
        i_ahp_pa=z.copy(),
    )


@dataclass(frozen=True, slots=True, eq=False)
class CultureSpikes:
    """Spikes of a culture run, in time order (ties by neuron index).

    Each spike is stamped at the start of the step in which v crossed 30 mV, so a run over
    ``[t, t + T)`` returns spikes in that half-open interval.
    """

    t_us: IntArray
    neuron: IntArray

    def __len__(self) -> int:
        return int(self.t_us.shape[0])

    def to_events(self, key_base: int = 0) -> EventBlock:
        """As an :mod:`ione.events` block: key ``key_base + neuron``, value 0."""
        return make_events(self.t_us, np.int64(key_base) + self.neuron)


# --------------------------------------------------------------------------------------------
# Shared per-call checks and constants
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Constants:
    dt_ms: float
    noise_scale: float
    decay_exc: float
    decay_slow: float
    decay_inh: float
    decay_stim: float
    decay_rec: float
    decay_ahp: float


def _constants(p: CultureParams, dt_us: int) -> _Constants:
    if isinstance(dt_us, bool) or not isinstance(dt_us, int | np.integer):
        raise TypeError(f"dt_us must be an integer number of microseconds, got {dt_us!r}")
    if not 0 < dt_us <= IZHIKEVICH_MAX_DT_US:
        raise ValueError(f"dt_us must be in 1 ... {IZHIKEVICH_MAX_DT_US} µs, got {dt_us}")
    dt_ms = float(dt_us) / 1000.0
    return _Constants(
        dt_ms=dt_ms,
        noise_scale=p.noise_pa_sqrt_ms / math.sqrt(dt_ms),
        decay_exc=math.exp(-dt_ms / p.tau_exc_ms),
        decay_slow=math.exp(-dt_ms / p.tau_slow_exc_ms),
        decay_inh=math.exp(-dt_ms / p.tau_inh_ms),
        decay_stim=math.exp(-dt_ms / p.stimulation.tau_m_ms),
        decay_rec=math.exp(-dt_ms / p.tau_rec_ms),
        decay_ahp=math.exp(-dt_ms / p.tau_ahp_ms),
    )


def _with_ramps(state: CultureState, ramps: Ramps | None, n: int) -> Ramps:
    if ramps is None or len(ramps) == 0:
        return state.pending
    if not isinstance(ramps, Ramps):
        raise TypeError(f"ramps must be ione.models.neuron.stimulation.Ramps, got {ramps!r}")
    if int(ramps.t_us[0]) < state.t_us:
        raise ValueError(
            f"a stimulation ramp at {int(ramps.t_us[0])} µs lies before the culture time "
            f"{state.t_us} µs"
        )
    if int(ramps.neuron.min()) < 0 or int(ramps.neuron.max()) >= n:
        raise ValueError(f"ramp neuron index outside 0 ... {n - 1}")
    if not np.all(np.isfinite(ramps.dv_mv)):
        raise ValueError("ramp dv_mv must be finite")
    return merge_ramps(state.pending, ramps) if len(state.pending) else ramps


def _external(i_ext_pa: npt.ArrayLike | None, n: int) -> FloatArray:
    if i_ext_pa is None:
        return np.zeros(n)
    try:
        i = np.broadcast_to(np.asarray(i_ext_pa, dtype=np.float64), (n,)).copy()
    except ValueError:
        raise ValueError(
            f"i_ext_pa must be a scalar or have shape ({n},), got {np.shape(i_ext_pa)}"
        ) from None
    if not np.all(np.isfinite(i)):
        raise ValueError("i_ext_pa must be finite (found NaN or inf)")
    return i


def _ragged(indptr: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """Positions of all synapses of ``rows`` (in row order) and the row each belongs to."""
    counts = indptr[rows + 1] - indptr[rows]
    total = int(counts.sum())
    owner = np.repeat(np.arange(rows.shape[0]), counts)
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return indptr[rows][owner] + offset, owner


# --------------------------------------------------------------------------------------------
# numpy reference
# --------------------------------------------------------------------------------------------


def culture_step(
    state: CultureState,
    ramps: Ramps | None,
    culture: Culture,
    dt_us: int,
    rng: np.random.Generator,
    *,
    i_ext_pa: npt.ArrayLike | None = None,
) -> tuple[CultureState, BoolArray]:
    """Advance the culture by one step ``[t, t + dt)`` (numpy reference).

    Equations (Izhikevich, IEEE TNN 14:1569, 2003; Tsodyks & Markram, PNAS 94:719, 1997; the
    module docstring has the details)::

        dv/dt = 0.04 v² + 5 v + 140 - u + I,  du/dt = a (b v - u),  v >= 30: v <- c, u <- u + d
        I     = I_bias + I_ext + σ ξ/√dt + (g_E + g_S)(E_E - v) + g_I (E_I - v) + g_c s - I_AHP
        dg/dt = -g/τ (each g),  dx/dt = (1 - x)/τ_rec,  ds/dt = -s/τ_m,  dI_AHP/dt = -I_AHP/τ_AHP
        excitatory spike: g_E += w U x, g_S += r w U x, x -= U x, I_AHP += ΔI (1 - I_AHP/I_max)
        inhibitory spike: g_I += w;   ramp: v += ΔV, s += ΔV

    Order within a step: ramps with ``t <= t_ramp < t + dt`` move v and s; the current is formed
    (one standard normal per neuron, in index order, from ``rng``); the neurons are updated; all
    decays are applied; spikes (in neuron order) step the conductances of their targets and
    deplete resources; the adaptation current steps.

    Parameters
    ----------
    state
        Culture state at t.
    ramps
        New stimulation ramps (at or after t), or None. Later ramps are kept in the state.
    culture
        The network.
    dt_us
        Time step (1 ... 1000 µs).
    rng
        Source of the noise.
    i_ext_pa
        Extra current per neuron (pA) held over the step, or None.

    Returns
    -------
    (new_state, fired)
        ``fired[j]`` is True when neuron j spiked in this step (spike time t).
    """
    p = culture.params
    k = _constants(p, dt_us)
    n = culture.n
    pending = _with_ramps(state, ramps, n)
    i_ext = _external(i_ext_pa, n)
    t = state.t_us
    v = state.v_mv.copy()
    s = state.stim_mv.copy()
    due = int(np.searchsorted(pending.t_us, t + dt_us, side="left"))
    np.add.at(s, pending.neuron[:due], pending.dv_mv[:due])
    np.add.at(v, pending.neuron[:due], pending.dv_mv[:due])
    xi = rng.standard_normal(n) if p.noise_pa_sqrt_ms > 0.0 else np.zeros(n)
    ge, gn, gi = state.g_exc_ns, state.g_slow_ns, state.g_inh_ns
    i = (
        culture.i_bias_pa
        + i_ext
        + k.noise_scale * xi
        + (ge + gn) * (p.e_exc_mv - v)
        + gi * (p.e_inh_mv - v)
        + culture.coupling_ns * s
        - state.i_ahp_pa
    )
    v, u, fired = _update_reference(
        v,
        state.u_mv_per_ms,
        i,
        culture.a_per_ms,
        culture.b_per_ms,
        culture.c_mv,
        culture.d_mv_per_ms,
        _V_PEAK_MV,
        k.dt_ms,
    )
    ge = ge * k.decay_exc
    gn = gn * k.decay_slow
    gi = gi * k.decay_inh
    s = s * k.decay_stim
    x = 1.0 - (1.0 - state.resources) * k.decay_rec
    ahp = state.i_ahp_pa * k.decay_ahp
    f = np.flatnonzero(fired)
    fe = f[culture.excitatory[f]]
    fi = f[~culture.excitatory[f]]
    released = p.release_fraction * x[fe]
    syn, owner = _ragged(culture.indptr, fe)
    np.add.at(ge, culture.indices[syn], culture.weight_ns[syn] * released[owner])
    if p.slow_exc_ratio > 0.0:
        slow = p.slow_exc_ratio * released
        np.add.at(gn, culture.indices[syn], culture.weight_ns[syn] * slow[owner])
    x[fe] = x[fe] - released
    ahp[fe] = ahp[fe] + p.ahp_increment_pa * (1.0 - ahp[fe] / p.ahp_max_pa)
    syn, _ = _ragged(culture.indptr, fi)
    np.add.at(gi, culture.indices[syn], culture.weight_ns[syn])
    new = CultureState(
        t_us=t + int(dt_us),
        v_mv=v,
        u_mv_per_ms=u,
        g_exc_ns=ge,
        g_slow_ns=gn,
        g_inh_ns=gi,
        resources=x,
        stim_mv=s,
        i_ahp_pa=ahp,
        pending=Ramps(pending.t_us[due:], pending.neuron[due:], pending.dv_mv[due:]),
    )
    return new, fired


# --------------------------------------------------------------------------------------------
# numba twin
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _run_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    v, u, ge, gn, gi, x, s, ahp,  # state (copied)
    a, b, c, d, exc, bias, gc, indptr, indices, w,  # network
    i_ext, ramp_t, ramp_j, ramp_dv,  # inputs
    t0, dt_us, n_steps,  # time
    dt_ms, noise_scale, dec_e, dec_n, dec_i, dec_s, dec_rec, dec_ahp,  # constants
    use, slow_ratio, e_exc, e_inh, ahp_inc, ahp_max, v_peak, noisy, rng,
):  # fmt: skip
    n = v.shape[0]
    v = v.copy()
    u = u.copy()
    ge = ge.copy()
    gn = gn.copy()
    gi = gi.copy()
    x = x.copy()
    s = s.copy()
    ahp = ahp.copy()
    fired = np.zeros(n, dtype=np.bool_)
    cap = 1024
    sp_t = np.empty(cap, dtype=np.int64)
    sp_j = np.empty(cap, dtype=np.int64)
    count = 0
    r = 0
    n_ramps = ramp_t.shape[0]
    for k in range(n_steps):
        t = t0 + k * dt_us
        while r < n_ramps and ramp_t[r] < t + dt_us:
            j = ramp_j[r]
            s[j] += ramp_dv[r]
            v[j] += ramp_dv[r]
            r += 1
        for j in range(n):
            xi = rng.standard_normal() if noisy else 0.0
            i = (
                bias[j]
                + i_ext[j]
                + noise_scale * xi
                + (ge[j] + gn[j]) * (e_exc - v[j])
                + gi[j] * (e_inh - v[j])
                + gc[j] * s[j]
                - ahp[j]
            )
            vj, uj, fj = _update_one(v[j], u[j], i, a[j], b[j], c[j], d[j], v_peak, dt_ms)
            v[j] = vj
            u[j] = uj
            fired[j] = fj
        for j in range(n):
            ge[j] = ge[j] * dec_e
            gn[j] = gn[j] * dec_n
            gi[j] = gi[j] * dec_i
            s[j] = s[j] * dec_s
            x[j] = 1.0 - (1.0 - x[j]) * dec_rec
            ahp[j] = ahp[j] * dec_ahp
        for j in range(n):
            if not fired[j]:
                continue
            if count == cap:
                cap *= 2
                grown_t = np.empty(cap, dtype=np.int64)
                grown_j = np.empty(cap, dtype=np.int64)
                grown_t[:count] = sp_t[:count]
                grown_j[:count] = sp_j[:count]
                sp_t = grown_t
                sp_j = grown_j
            sp_t[count] = t
            sp_j[count] = j
            count += 1
            if exc[j]:
                released = use * x[j]
                for q in range(indptr[j], indptr[j + 1]):
                    ge[indices[q]] += w[q] * released
                if slow_ratio > 0.0:
                    slow = slow_ratio * released
                    for q in range(indptr[j], indptr[j + 1]):
                        gn[indices[q]] += w[q] * slow
                x[j] = x[j] - released
                ahp[j] = ahp[j] + ahp_inc * (1.0 - ahp[j] / ahp_max)
            else:
                for q in range(indptr[j], indptr[j + 1]):
                    gi[indices[q]] += w[q]
    return v, u, ge, gn, gi, x, s, ahp, r, sp_t[:count].copy(), sp_j[:count].copy()


def culture_run(
    state: CultureState,
    ramps: Ramps | None,
    culture: Culture,
    duration_us: int,
    rng: np.random.Generator,
    *,
    dt_us: int = CULTURE_DT_US,
    i_ext_pa: npt.ArrayLike | None = None,
) -> tuple[CultureState, CultureSpikes]:
    """Simulate ``[t, t + duration)`` in compiled code (numba twin of :func:`culture_step`).

    Same equations, order of operations and random stream as ``duration_us / dt_us`` calls of
    :func:`culture_step`; the two are tested equal bit for bit.

    Parameters
    ----------
    state
        Culture state at t.
    ramps
        New stimulation ramps (at or after t; see :func:`ione.models.neuron.stimulation.ramp_train`)
        or None. Ramps beyond the end of this call stay pending in the returned state, so a
        runtime can hand over each stimulus once and advance the culture tick by tick.
    culture
        The network.
    duration_us
        Simulated time (µs), a non-negative multiple of ``dt_us``.
    rng
        Source of the noise (advanced in place).
    dt_us
        Time step (µs), :data:`CULTURE_DT_US` by default.
    i_ext_pa
        Extra current per neuron (pA) held over the whole call, or None.

    Returns
    -------
    (new_state, spikes)
        The state at ``t + duration`` and the spikes in ``[t, t + duration)``.

    Raises
    ------
    ValueError
        On a negative duration or one that is not a multiple of ``dt_us``, a ramp before t, a
        ramp addressed to a missing neuron, or a non-finite ``i_ext_pa``.

    Examples
    --------
    A site runtime advancing the culture by 1 ms ticks and stimulating neuron 3 with weight 0.8
    (19 ramps over 9 ms, of which the first tick applies two):

    >>> import numpy as np
    >>> from ione.models.neuron import culture, stimulation
    >>> rng = np.random.default_rng(1)
    >>> net = culture.make_culture(culture.HIPPOCAMPAL_CULTURE, rng)
    >>> state = culture.culture_initial_state(net, rng)
    >>> ramps = stimulation.ramp_train(state.t_us, 3, 0.8)
    >>> state, spikes = culture.culture_run(state, ramps, net, 1_000, rng)
    >>> state.t_us, len(state.pending)
    (1000, 17)
    >>> state, spikes = culture.culture_run(state, None, net, 1_000, rng)
    >>> events = spikes.to_events(key_base=0x2000000)
    """
    p = culture.params
    k = _constants(p, dt_us)
    if isinstance(duration_us, bool) or not isinstance(duration_us, int | np.integer):
        raise TypeError(f"duration_us must be an integer number of µs, got {duration_us!r}")
    if duration_us < 0:
        raise ValueError(f"duration_us must be >= 0, got {duration_us}")
    if duration_us % dt_us:
        raise ValueError(f"duration_us ({duration_us}) must be a multiple of dt_us ({dt_us})")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = culture.n
    pending = _with_ramps(state, ramps, n)
    i_ext = _external(i_ext_pa, n)
    v, u, ge, gn, gi, x, s, ahp, used, sp_t, sp_j = _run_kernel(
        state.v_mv,
        state.u_mv_per_ms,
        state.g_exc_ns,
        state.g_slow_ns,
        state.g_inh_ns,
        state.resources,
        state.stim_mv,
        state.i_ahp_pa,
        culture.a_per_ms,
        culture.b_per_ms,
        culture.c_mv,
        culture.d_mv_per_ms,
        culture.excitatory,
        culture.i_bias_pa,
        culture.coupling_ns,
        culture.indptr,
        culture.indices,
        culture.weight_ns,
        i_ext,
        pending.t_us,
        pending.neuron,
        pending.dv_mv,
        np.int64(state.t_us),
        np.int64(dt_us),
        int(duration_us // dt_us),
        k.dt_ms,
        k.noise_scale,
        k.decay_exc,
        k.decay_slow,
        k.decay_inh,
        k.decay_stim,
        k.decay_rec,
        k.decay_ahp,
        float(p.release_fraction),
        float(p.slow_exc_ratio),
        float(p.e_exc_mv),
        float(p.e_inh_mv),
        float(p.ahp_increment_pa),
        float(p.ahp_max_pa),
        _V_PEAK_MV,
        p.noise_pa_sqrt_ms > 0.0,
        rng,
    )
    new = CultureState(
        t_us=state.t_us + int(duration_us),
        v_mv=v,
        u_mv_per_ms=u,
        g_exc_ns=ge,
        g_slow_ns=gn,
        g_inh_ns=gi,
        resources=x,
        stim_mv=s,
        i_ahp_pa=ahp,
        pending=Ramps(pending.t_us[used:], pending.neuron[used:], pending.dv_mv[used:]),
    )
    return new, CultureSpikes(sp_t, sp_j)
