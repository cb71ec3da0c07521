"""Leaky integrate-and-fire neurons with exponential synapses, current- and conductance-based.

The two cells of PyNN's standard library, ``IF_curr_exp`` and ``IF_cond_exp`` (Davison et al.,
Front. Neuroinform. 2:11, 2009), with their parameter names and units (ms, mV, nA, nF, µS):

- current-based: :class:`LIFCurrParams`, :func:`lif_curr_step`, :func:`lif_curr_run`;
- conductance-based: :class:`LIFCondParams`, :func:`lif_cond_step`, :func:`lif_cond_run`.

``*_step`` is the numpy reference (one time step of a whole population); ``*_run`` is its numba
twin, which integrates many steps in compiled code and is tested equal to the reference.

Timing conventions, shared by every point neuron of :mod:`ione.models.neuron`: a step advances
``t -> t + dt``. Synaptic input arriving in the step (:class:`NeuronInput`) is added to the
synaptic variables at ``t``; the membrane is integrated over the step; a neuron whose membrane
ends the step above threshold spikes at ``t + dt``, is reset and stays clamped at ``v_reset``
for ``tau_refrac`` (to the microsecond: a neuron released in the middle of a step integrates for
the rest of it). Synaptic variables keep decaying during the refractory period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt

__all__ = [
    "BRETTE_2007_COBA",
    "DYNAPSE_LIF_SURROGATE",
    "PYNN_IF_COND_EXP",
    "PYNN_IF_CURR_EXP",
    "LIFCondParams",
    "LIFCondState",
    "LIFCurrParams",
    "LIFCurrState",
    "NeuronInput",
    "lif_cond_initial_state",
    "lif_cond_run",
    "lif_cond_step",
    "lif_curr_initial_state",
    "lif_curr_run",
    "lif_curr_step",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
US_PER_MS: Final = 1000.0


# --------------------------------------------------------------------------- validation helpers
def _check_params(obj: Any, positive: tuple[str, ...], non_negative: tuple[str, ...] = ()) -> None:
    """Reject non-finite fields, and non-positive / negative ones, naming the field."""
    cls = type(obj).__name__
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{cls}.{f.name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{cls}.{f.name} must be finite, got {value!r}")
    for name in positive:
        if getattr(obj, name) <= 0:
            raise ValueError(f"{cls}.{name} must be > 0, got {getattr(obj, name)!r}")
    for name in non_negative:
        if getattr(obj, name) < 0:
            raise ValueError(f"{cls}.{name} must be >= 0, got {getattr(obj, name)!r}")


def _check_dt_us(dt_us: int) -> int:
    if isinstance(dt_us, bool) or not isinstance(dt_us, int | np.integer) or dt_us <= 0:
        raise ValueError(f"dt_us must be a positive integer number of microseconds, got {dt_us!r}")
    return int(dt_us)


def _check_n_steps(n_steps: int) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    return int(n_steps)


def _as_array(owner: str, name: str, value: Any, dtype: type, n: int | None = None) -> Any:
    """``value`` as a 1-D contiguous array of ``dtype`` (of length ``n``), finite, or ValueError."""
    arr: npt.NDArray[Any] = np.ascontiguousarray(value, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(
            f"{owner}.{name} must be 1-D (one value per neuron), got shape {arr.shape}"
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{owner}.{name} has {arr.shape[0]} values for {n} neurons")
    if dtype is np.float64 and not np.isfinite(arr).all():
        raise ValueError(f"{owner}.{name} contains NaN or infinite values")
    return arr


def _freeze_arrays(obj: Any, spec: tuple[tuple[str, type], ...]) -> int:
    """Coerce and validate the array fields of a frozen state; all share one length."""
    owner = type(obj).__name__
    n: int | None = None
    for name, dtype in spec:
        arr = _as_array(owner, name, getattr(obj, name), dtype, n)
        if name == "refrac_left_us" and (arr < 0).any():
            raise ValueError(f"{owner}.refrac_left_us must be >= 0")
        n = arr.shape[0]
        object.__setattr__(obj, name, arr)
    assert n is not None
    return n


# --------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True, slots=True)
class NeuronInput:
    """What reaches a population during one step: summed synaptic weights and injected current.

    Attributes
    ----------
    w_exc, w_inh
        Sum, per neuron, of the weights of the excitatory / inhibitory spikes that arrive in this
        step, as non-negative magnitudes in the receiving model's weight unit: nA for
        current-based cells, µS for conductance-based cells (PyNN's units), and the efficacy
        ``w_byte / 255`` for the DPI silicon neuron. Shape ``(n,)``.
    i_inj_na
        Current injected into each neuron during the step (nA), in addition to the cell's
        ``i_offset_na``; ``None`` for none. Shape ``(n,)``.
    """

    w_exc: F64
    w_inh: F64
    i_inj_na: F64 | None = None

    def __post_init__(self) -> None:
        exc = _as_array("NeuronInput", "w_exc", self.w_exc, np.float64)
        inh = _as_array("NeuronInput", "w_inh", self.w_inh, np.float64, exc.shape[0])
        for name, arr in (("w_exc", exc), ("w_inh", inh)):
            if (arr < 0).any():
                raise ValueError(
                    f"NeuronInput.{name} must be >= 0 (a magnitude; the receptor sets the sign)"
                )
        object.__setattr__(self, "w_exc", exc)
        object.__setattr__(self, "w_inh", inh)
        if self.i_inj_na is not None:
            inj = _as_array("NeuronInput", "i_inj_na", self.i_inj_na, np.float64, exc.shape[0])
            object.__setattr__(self, "i_inj_na", inj)

    @property
    def n(self) -> int:
        """Number of neurons."""
        return int(self.w_exc.shape[0])


def _unpack_input(inputs: NeuronInput | None, n: int) -> tuple[F64, F64, F64]:
    if inputs is None:
        zero = np.zeros(n)
        return zero, zero, zero
    if inputs.n != n:
        raise ValueError(f"NeuronInput is for {inputs.n} neurons, the state has {n}")
    inj = np.zeros(n) if inputs.i_inj_na is None else inputs.i_inj_na
    return inputs.w_exc, inputs.w_inh, inj


def _run_arrays(n_steps: int, n: int, **arrays: Any) -> dict[str, F64]:
    """Validate per-step input rasters of shape ``(n_steps, n)`` (``None`` means zeros)."""
    out: dict[str, F64] = {}
    for name, value in arrays.items():
        if value is None:
            out[name] = np.zeros((n_steps, n))
            continue
        arr: F64 = np.ascontiguousarray(value, dtype=np.float64)
        if arr.shape != (n_steps, n):
            raise ValueError(
                f"{name} must have shape (n_steps, n) = {(n_steps, n)}, got {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        if name.startswith("w_") and (arr < 0).any():
            raise ValueError(f"{name} must be >= 0 (a magnitude; the receptor sets the sign)")
        out[name] = arr
    return out


def _refractory_split(refrac_left_us: I64, dt_us: int) -> tuple[F64, I64]:
    """Integration time (ms) left in this step after refractoriness, and the new refractory time."""
    h_ms = np.clip(dt_us - refrac_left_us, 0, dt_us) / US_PER_MS
    return h_ms, np.maximum(refrac_left_us - dt_us, 0)


# ------------------------------------------------------------------------------ current-based
@dataclass(frozen=True, slots=True)
class LIFCurrParams:
    """Parameters of the current-based LIF cell (PyNN ``IF_curr_exp``; defaults are PyNN's)."""

    c_m_nf: float = 1.0
    tau_m_ms: float = 20.0
    tau_refrac_ms: float = 0.1
    tau_syn_e_ms: float = 5.0
    tau_syn_i_ms: float = 5.0
    v_rest_mv: float = -65.0
    v_reset_mv: float = -65.0
    v_thresh_mv: float = -50.0
    i_offset_na: float = 0.0

    def __post_init__(self) -> None:
        _check_params(
            self, ("c_m_nf", "tau_m_ms", "tau_syn_e_ms", "tau_syn_i_ms"), ("tau_refrac_ms",)
        )
        if self.v_reset_mv >= self.v_thresh_mv:
            raise ValueError("LIFCurrParams.v_reset_mv must be below v_thresh_mv")

    @property
    def t_refrac_us(self) -> int:
        """Refractory period in integer microseconds."""
        return round(self.tau_refrac_ms * US_PER_MS)


@dataclass(frozen=True, slots=True)
class LIFCurrState:
    """State of a population of current-based LIF cells, one element per neuron."""

    v_mv: F64
    i_syn_e_na: F64
    i_syn_i_na: F64
    refrac_left_us: I64

    def __post_init__(self) -> None:
        _freeze_arrays(
            self,
            (("v_mv", np.float64), ("i_syn_e_na", np.float64), ("i_syn_i_na", np.float64),
             ("refrac_left_us", np.int64)),
        )  # fmt: skip


#: PyNN's default ``IF_curr_exp`` cell (Davison et al. 2009).
PYNN_IF_CURR_EXP: Final = LIFCurrParams()

#: A lighter surrogate of the DYNAP-SE DPI neuron (SYSTEM.md §3.1, time constants of the
#: DYNAP-SE simulator: membrane 20 ms, refractory period 1 ms, synapse 10 ms; Chicca et al.,
#: Proc. IEEE 102(9):1367, 2014). Feed it weights ``w_byte / 255`` in nA: a full-weight event
#: (1 nA) depolarises the resting cell by 20 mV at the PSP's peak, 13.9 ms later, and fires it,
#: as a full-weight event fires :data:`~ione.models.neuron.dpi.DYNAPSE_DPI`; events of
#: ``w_byte`` below about 191 stay subthreshold.
DYNAPSE_LIF_SURROGATE: Final = LIFCurrParams(
    c_m_nf=0.25, tau_m_ms=20.0, tau_refrac_ms=1.0, tau_syn_e_ms=10.0, tau_syn_i_ms=10.0,
    v_rest_mv=-65.0, v_reset_mv=-65.0, v_thresh_mv=-50.0,
)  # fmt: skip


def lif_curr_initial_state(
    n: int, params: LIFCurrParams, rng: np.random.Generator | None = None
) -> LIFCurrState:
    """``n`` cells at rest, or with ``rng``, with ``v`` uniform in ``[v_reset, v_thresh)``."""
    v = _initial_v(n, params.v_rest_mv, params.v_reset_mv, params.v_thresh_mv, rng)
    return LIFCurrState(v, np.zeros(n), np.zeros(n), np.zeros(n, np.int64))


def _initial_v(
    n: int, v_rest: float, v_lo: float, v_hi: float, rng: np.random.Generator | None
) -> F64:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if rng is None:
        return np.full(int(n), v_rest)
    return rng.uniform(v_lo, v_hi, int(n))


def _curr_propagators(h_ms: F64, tau_m: float, tau_s: float) -> tuple[F64, F64]:
    """``exp(-h/tau_m)`` and the exact response of the membrane to a decaying current.

    For ``I(t) = I0 exp(-t/tau_s)`` and ``C dv/dt = -C v/tau_m + I``, ``v(h) - v(0) exp(-h/tau_m)``
    is ``I0/C * p(h)`` with ``p = tau_m tau_s/(tau_s - tau_m) (exp(-h/tau_s) - exp(-h/tau_m))``,
    or ``h exp(-h/tau_m)`` when the two time constants are equal.
    """
    e_m = np.exp(-h_ms / tau_m)
    if math.isclose(tau_m, tau_s, rel_tol=1e-9):
        return e_m, h_ms * e_m
    return e_m, (tau_m * tau_s / (tau_s - tau_m)) * (np.exp(-h_ms / tau_s) - e_m)


def lif_curr_step(
    state: LIFCurrState,
    inputs: NeuronInput | None,
    params: LIFCurrParams,
    dt_us: int,
    rng: np.random.Generator | None = None,
) -> tuple[LIFCurrState, npt.NDArray[np.bool_]]:
    """Advance current-based LIF cells by one step of ``dt_us``, integrating exactly.

    Equations (Rotter & Diesmann, Biol. Cybern. 81:381, 1999, exact integration; PyNN
    ``IF_curr_exp``)::

        C dv/dt        = C (v_rest - v)/tau_m + I_e - I_i + i_offset + i_inj
        dI_e/dt        = -I_e/tau_syn_e,     I_e += w_exc on arrival
        dI_i/dt        = -I_i/tau_syn_i,     I_i += w_inh on arrival
        v > v_thresh  ->  spike, v = v_reset, clamped for tau_refrac

    Input current (``i_offset`` + ``i_inj``) is constant over the step; the synaptic currents
    decay exactly, and the membrane follows the closed-form solution of the linear system, so the
    result does not depend on ``dt`` except through the threshold being checked once per step.

    Parameters
    ----------
    state
        Population state at ``t``.
    inputs
        Weights (nA) arriving in this step and injected current, or ``None``.
    params
        Cell parameters.
    dt_us
        Step in integer microseconds.
    rng
        Unused (the model is deterministic); accepted for the common kernel signature.

    Returns
    -------
    new_state, spiked
        State at ``t + dt`` and a boolean mask of the cells that spiked in the step.
    """
    dt_us = _check_dt_us(dt_us)
    n = state.v_mv.shape[0]
    w_exc, w_inh, inj = _unpack_input(inputs, n)
    p = params
    i_e = state.i_syn_e_na + w_exc
    i_i = state.i_syn_i_na + w_inh
    h_ms, refrac = _refractory_split(state.refrac_left_us, dt_us)
    dt_ms = dt_us / US_PER_MS
    # Synaptic currents at the moment the membrane starts integrating (after refractoriness).
    lag_ms = dt_ms - h_ms
    i_e0 = i_e * np.exp(-lag_ms / p.tau_syn_e_ms)
    i_i0 = i_i * np.exp(-lag_ms / p.tau_syn_i_ms)
    e_m, p_e = _curr_propagators(h_ms, p.tau_m_ms, p.tau_syn_e_ms)
    _, p_i = _curr_propagators(h_ms, p.tau_m_ms, p.tau_syn_i_ms)
    v_inf = p.v_rest_mv + (p.i_offset_na + inj) * (p.tau_m_ms / p.c_m_nf)
    v = v_inf + (state.v_mv - v_inf) * e_m + (i_e0 * p_e - i_i0 * p_i) / p.c_m_nf
    v = np.where(h_ms > 0, v, state.v_mv)
    spiked = (v > p.v_thresh_mv) & (h_ms > 0)
    v = np.where(spiked, p.v_reset_mv, v)
    refrac = np.where(spiked, p.t_refrac_us, refrac)
    decay_e, decay_i = math.exp(-dt_ms / p.tau_syn_e_ms), math.exp(-dt_ms / p.tau_syn_i_ms)
    return LIFCurrState(v, i_e * decay_e, i_i * decay_i, refrac), spiked


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _curr_prop(h, tau_m, tau_s):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    e_m = math.exp(-h / tau_m)
    if abs(tau_m - tau_s) <= 1e-9 * max(abs(tau_m), abs(tau_s)):
        return e_m, h * e_m
    return e_m, (tau_m * tau_s / (tau_s - tau_m)) * (math.exp(-h / tau_s) - e_m)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _lif_curr_kernel(v, i_e, i_i, refrac, w_exc, w_inh, inj, pars, t_ref_us, dt_us, spikes):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    c_m, tau_m, tau_e, tau_i, v_rest, v_reset, v_thresh, i_off = pars
    dt_ms = dt_us / 1000.0
    d_e = math.exp(-dt_ms / tau_e)
    d_i = math.exp(-dt_ms / tau_i)
    for s in range(w_exc.shape[0]):
        for k in range(v.shape[0]):
            ie = i_e[k] + w_exc[s, k]
            ii = i_i[k] + w_inh[s, k]
            left = refrac[k]
            h = min(max(dt_us - left, 0), dt_us) / 1000.0
            refrac[k] = max(left - dt_us, 0)
            if h > 0:
                lag = dt_ms - h
                e_m, p_e = _curr_prop(h, tau_m, tau_e)
                _, p_i = _curr_prop(h, tau_m, tau_i)
                ie0 = ie * math.exp(-lag / tau_e)
                ii0 = ii * math.exp(-lag / tau_i)
                v_inf = v_rest + (i_off + inj[s, k]) * (tau_m / c_m)
                vk = v_inf + (v[k] - v_inf) * e_m + (ie0 * p_e - ii0 * p_i) / c_m
                if vk > v_thresh:
                    spikes[s, k] = True
                    vk = v_reset
                    refrac[k] = t_ref_us
                v[k] = vk
            i_e[k] = ie * d_e
            i_i[k] = ii * d_i


def lif_curr_run(
    state: LIFCurrState,
    params: LIFCurrParams,
    dt_us: int,
    n_steps: int,
    w_exc: F64 | None = None,
    w_inh: F64 | None = None,
    i_inj_na: F64 | None = None,
) -> tuple[LIFCurrState, npt.NDArray[np.bool_]]:
    """Integrate ``n_steps`` of :func:`lif_curr_step` in compiled code.

    ``w_exc``, ``w_inh`` and ``i_inj_na`` hold one row per step, shape ``(n_steps, n)`` (``None``
    for zeros). Returns the final state and the spike raster, shape ``(n_steps, n)``.
    """
    dt_us = _check_dt_us(dt_us)
    n_steps = _check_n_steps(n_steps)
    n = state.v_mv.shape[0]
    a = _run_arrays(n_steps, n, w_exc=w_exc, w_inh=w_inh, i_inj_na=i_inj_na)
    v, i_e, i_i = state.v_mv.copy(), state.i_syn_e_na.copy(), state.i_syn_i_na.copy()
    refrac = state.refrac_left_us.copy()
    spikes = np.zeros((n_steps, n), np.bool_)
    p = params
    pars = (p.c_m_nf, p.tau_m_ms, p.tau_syn_e_ms, p.tau_syn_i_ms, p.v_rest_mv, p.v_reset_mv,
            p.v_thresh_mv, p.i_offset_na)  # fmt: skip
    _lif_curr_kernel(v, i_e, i_i, refrac, a["w_exc"], a["w_inh"], a["i_inj_na"], pars,
                     p.t_refrac_us, dt_us, spikes)  # fmt: skip
    return LIFCurrState(v, i_e, i_i, refrac), spikes


# ------------------------------------------------------------------------- conductance-based
@dataclass(frozen=True, slots=True)
class LIFCondParams:
    """Parameters of the conductance-based LIF cell (PyNN ``IF_cond_exp``; defaults are PyNN's)."""

    c_m_nf: float = 1.0
    tau_m_ms: float = 20.0
    tau_refrac_ms: float = 0.1
    tau_syn_e_ms: float = 5.0
    tau_syn_i_ms: float = 5.0
    v_rest_mv: float = -65.0
    v_reset_mv: float = -65.0
    v_thresh_mv: float = -50.0
    e_rev_e_mv: float = 0.0
    e_rev_i_mv: float = -70.0
    i_offset_na: float = 0.0

    def __post_init__(self) -> None:
        _check_params(
            self, ("c_m_nf", "tau_m_ms", "tau_syn_e_ms", "tau_syn_i_ms"), ("tau_refrac_ms",)
        )
        if self.v_reset_mv >= self.v_thresh_mv:
            raise ValueError("LIFCondParams.v_reset_mv must be below v_thresh_mv")

    @property
    def g_leak_us(self) -> float:
        """Leak conductance ``c_m / tau_m`` (µS)."""
        return self.c_m_nf / self.tau_m_ms

    @property
    def t_refrac_us(self) -> int:
        """Refractory period in integer microseconds."""
        return round(self.tau_refrac_ms * US_PER_MS)


@dataclass(frozen=True, slots=True)
class LIFCondState:
    """State of a population of conductance-based LIF cells, one element per neuron."""

    v_mv: F64
    g_e_us: F64
    g_i_us: F64
    refrac_left_us: I64

    def __post_init__(self) -> None:
        _freeze_arrays(
            self,
            (("v_mv", np.float64), ("g_e_us", np.float64), ("g_i_us", np.float64),
             ("refrac_left_us", np.int64)),
        )  # fmt: skip
        if (self.g_e_us < 0).any() or (self.g_i_us < 0).any():
            raise ValueError("LIFCondState.g_e_us and g_i_us must be >= 0")


#: PyNN's default ``IF_cond_exp`` cell (Davison et al. 2009).
PYNN_IF_COND_EXP: Final = LIFCondParams()

#: The cell of the COBA benchmark: Brette et al., J. Comput. Neurosci. 23:349 (2007), benchmark 1,
#: after Vogels & Abbott, J. Neurosci. 25:10786 (2005): C = 200 pF, g_L = 10 nS (tau_m = 20 ms),
#: E_L = V_reset = -60 mV, V_th = -50 mV, 5 ms refractory period, tau_e = 5 ms, tau_i = 10 ms,
#: E_e = 0 mV, E_i = -80 mV.
BRETTE_2007_COBA: Final = LIFCondParams(
    c_m_nf=0.2, tau_m_ms=20.0, tau_refrac_ms=5.0, tau_syn_e_ms=5.0, tau_syn_i_ms=10.0,
    v_rest_mv=-60.0, v_reset_mv=-60.0, v_thresh_mv=-50.0, e_rev_e_mv=0.0, e_rev_i_mv=-80.0,
)  # fmt: skip


def lif_cond_initial_state(
    n: int, params: LIFCondParams, rng: np.random.Generator | None = None
) -> LIFCondState:
    """``n`` cells at rest, or with ``rng``, with ``v`` uniform in ``[v_reset, v_thresh)``."""
    v = _initial_v(n, params.v_rest_mv, params.v_reset_mv, params.v_thresh_mv, rng)
    return LIFCondState(v, np.zeros(n), np.zeros(n), np.zeros(n, np.int64))


def lif_cond_step(
    state: LIFCondState,
    inputs: NeuronInput | None,
    params: LIFCondParams,
    dt_us: int,
    rng: np.random.Generator | None = None,
) -> tuple[LIFCondState, npt.NDArray[np.bool_]]:
    """Advance conductance-based LIF cells by one step of ``dt_us`` (exponential Euler).

    Equations (PyNN ``IF_cond_exp``; Brette et al., J. Comput. Neurosci. 23:349, 2007)::

        C dv/dt    = g_L (v_rest - v) + g_e (E_e - v) + g_i (E_i - v) + i_offset + i_inj
        dg_e/dt    = -g_e/tau_syn_e,     g_e += w_exc on arrival
        dg_i/dt    = -g_i/tau_syn_i,     g_i += w_inh on arrival
        v > v_thresh  ->  spike, v = v_reset, clamped for tau_refrac

    with ``g_L = c_m/tau_m``. The conductances decay exactly; over a step the membrane relaxes
    exactly towards ``v_inf = (g_L v_rest + g_e E_e + g_i E_i + I)/g_tot`` with time constant
    ``C/g_tot``, the conductances held at their value at the start of the step (the exponential
    Euler scheme, as Brian2's ``exponential_euler``), so ``v`` always stays between the lowest
    and highest of ``v_rest``, ``E_e``, ``E_i`` and the current's own equilibrium.

    Parameters
    ----------
    state
        Population state at ``t``.
    inputs
        Conductances (µS) arriving in this step and injected current, or ``None``.
    params
        Cell parameters.
    dt_us
        Step in integer microseconds.
    rng
        Unused (the model is deterministic); accepted for the common kernel signature.

    Returns
    -------
    new_state, spiked
        State at ``t + dt`` and a boolean mask of the cells that spiked in the step.
    """
    dt_us = _check_dt_us(dt_us)
    n = state.v_mv.shape[0]
    w_exc, w_inh, inj = _unpack_input(inputs, n)
    p = params
    g_e = state.g_e_us + w_exc
    g_i = state.g_i_us + w_inh
    h_ms, refrac = _refractory_split(state.refrac_left_us, dt_us)
    g_l = p.g_leak_us
    g_tot = g_l + g_e + g_i
    v_inf = (
        g_l * p.v_rest_mv + g_e * p.e_rev_e_mv + g_i * p.e_rev_i_mv + (p.i_offset_na + inj)
    ) / g_tot
    v = v_inf + (state.v_mv - v_inf) * np.exp(-h_ms * g_tot / p.c_m_nf)
    v = np.where(h_ms > 0, v, state.v_mv)
    spiked = (v > p.v_thresh_mv) & (h_ms > 0)
    v = np.where(spiked, p.v_reset_mv, v)
    refrac = np.where(spiked, p.t_refrac_us, refrac)
    dt_ms = dt_us / US_PER_MS
    decay_e, decay_i = math.exp(-dt_ms / p.tau_syn_e_ms), math.exp(-dt_ms / p.tau_syn_i_ms)
    return LIFCondState(v, g_e * decay_e, g_i * decay_i, refrac), spiked


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _lif_cond_kernel(v, g_e, g_i, refrac, w_exc, w_inh, inj, pars, t_ref_us, dt_us, spikes):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    c_m, g_l, tau_e, tau_i, v_rest, v_reset, v_thresh, e_e, e_i, i_off = pars
    dt_ms = dt_us / 1000.0
    d_e = math.exp(-dt_ms / tau_e)
    d_i = math.exp(-dt_ms / tau_i)
    for s in range(w_exc.shape[0]):
        for k in range(v.shape[0]):
            ge = g_e[k] + w_exc[s, k]
            gi = g_i[k] + w_inh[s, k]
            left = refrac[k]
            h = min(max(dt_us - left, 0), dt_us) / 1000.0
            refrac[k] = max(left - dt_us, 0)
            if h > 0:
                g_tot = g_l + ge + gi
                v_inf = (g_l * v_rest + ge * e_e + gi * e_i + (i_off + inj[s, k])) / g_tot
                vk = v_inf + (v[k] - v_inf) * math.exp(-h * g_tot / c_m)
                if vk > v_thresh:
                    spikes[s, k] = True
                    vk = v_reset
                    refrac[k] = t_ref_us
                v[k] = vk
            g_e[k] = ge * d_e
            g_i[k] = gi * d_i


def lif_cond_run(
    state: LIFCondState,
    params: LIFCondParams,
    dt_us: int,
    n_steps: int,
    w_exc: F64 | None = None,
    w_inh: F64 | None = None,
    i_inj_na: F64 | None = None,
) -> tuple[LIFCondState, npt.NDArray[np.bool_]]:
    """Integrate ``n_steps`` of :func:`lif_cond_step` in compiled code.

    ``w_exc``, ``w_inh`` (µS) and ``i_inj_na`` hold one row per step, shape ``(n_steps, n)``
    (``None`` for zeros). Returns the final state and the spike raster, shape ``(n_steps, n)``.
    """
    dt_us = _check_dt_us(dt_us)
    n_steps = _check_n_steps(n_steps)
    n = state.v_mv.shape[0]
    a = _run_arrays(n_steps, n, w_exc=w_exc, w_inh=w_inh, i_inj_na=i_inj_na)
    v, g_e, g_i = state.v_mv.copy(), state.g_e_us.copy(), state.g_i_us.copy()
    refrac = state.refrac_left_us.copy()
    spikes = np.zeros((n_steps, n), np.bool_)
    p = params
    pars = (p.c_m_nf, p.g_leak_us, p.tau_syn_e_ms, p.tau_syn_i_ms, p.v_rest_mv, p.v_reset_mv,
            p.v_thresh_mv, p.e_rev_e_mv, p.e_rev_i_mv, p.i_offset_na)  # fmt: skip
    _lif_cond_kernel(v, g_e, g_i, refrac, a["w_exc"], a["w_inh"], a["i_inj_na"], pars,
                     p.t_refrac_us, dt_us, spikes)  # fmt: skip
    return LIFCondState(v, g_e, g_i, refrac), spikes
