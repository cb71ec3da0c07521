"""Adaptive exponential integrate-and-fire neurons (AdEx) with exponential synaptic conductances.

The model of Brette & Gerstner, J. Neurophysiol. 94:3637 (2005), as PyNN's
``EIF_cond_exp_isfa_ista`` cell (same parameter names and units), with its published
parameter set (:data:`BRETTE_GERSTNER_2005`) and four of the firing patterns of Naud, Marcille,
Clopath & Gerstner, Biol. Cybern. 99:335 (2008), Table 1 (``NAUD_2008_*``).

:func:`adex_step` is the numpy reference for one step of a whole population; :func:`adex_run`
is its numba twin over many steps. Timing conventions are those of :mod:`.lif`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from .lif import (
    F64,
    US_PER_MS,
    NeuronInput,
    _check_dt_us,
    _check_n_steps,
    _check_params,
    _freeze_arrays,
    _initial_v,
    _refractory_split,
    _run_arrays,
    _unpack_input,
)

__all__ = [
    "BRETTE_GERSTNER_2005",
    "NAUD_2008_ADAPTING",
    "NAUD_2008_INITIAL_BURST",
    "NAUD_2008_REGULAR_BURSTING",
    "NAUD_2008_TONIC",
    "AdExParams",
    "AdExState",
    "adex_initial_state",
    "adex_run",
    "adex_step",
]


@dataclass(frozen=True, slots=True)
class AdExParams:
    """Parameters of the AdEx cell (PyNN ``EIF_cond_exp_isfa_ista``; defaults are PyNN's).

    ``v_thresh_mv`` is the exponential threshold V_T; a spike is emitted (and ``v`` reset) when
    ``v`` exceeds ``v_spike_mv``. ``a_ns`` is the subthreshold adaptation conductance (nS, as in
    PyNN) and ``b_na`` the spike-triggered increment of the adaptation current.
    """

    c_m_nf: float = 0.281
    tau_m_ms: float = 9.3667
    tau_refrac_ms: float = 0.1
    tau_syn_e_ms: float = 5.0
    tau_syn_i_ms: float = 5.0
    v_rest_mv: float = -70.6
    v_reset_mv: float = -70.6
    v_thresh_mv: float = -50.4
    v_spike_mv: float = -40.0
    delta_t_mv: float = 2.0
    tau_w_ms: float = 144.0
    a_ns: float = 4.0
    b_na: float = 0.0805
    e_rev_e_mv: float = 0.0
    e_rev_i_mv: float = -80.0
    i_offset_na: float = 0.0

    def __post_init__(self) -> None:
        _check_params(
            self,
            ("c_m_nf", "tau_m_ms", "tau_syn_e_ms", "tau_syn_i_ms", "delta_t_mv", "tau_w_ms"),
            ("tau_refrac_ms",),
        )
        if self.v_reset_mv >= self.v_spike_mv:
            raise ValueError("AdExParams.v_reset_mv must be below v_spike_mv")
        if self.v_thresh_mv >= self.v_spike_mv:
            raise ValueError("AdExParams.v_thresh_mv (V_T) must be below v_spike_mv")

    @property
    def g_leak_us(self) -> float:
        """Leak conductance ``c_m / tau_m`` (µS)."""
        return self.c_m_nf / self.tau_m_ms

    @property
    def t_refrac_us(self) -> int:
        """Refractory period in integer microseconds."""
        return round(self.tau_refrac_ms * US_PER_MS)


@dataclass(frozen=True, slots=True)
class AdExState:
    """State of a population of AdEx cells, one element per neuron."""

    v_mv: F64
    w_na: F64
    g_e_us: F64
    g_i_us: F64
    refrac_left_us: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        _freeze_arrays(
            self,
            (("v_mv", np.float64), ("w_na", np.float64), ("g_e_us", np.float64),
             ("g_i_us", np.float64), ("refrac_left_us", np.int64)),
        )  # fmt: skip
        if (self.g_e_us < 0).any() or (self.g_i_us < 0).any():
            raise ValueError("AdExState.g_e_us and g_i_us must be >= 0")


#: Brette & Gerstner (2005), Table 1 (regular spiking, fitted to a detailed pyramidal-cell
#: model): C = 281 pF, g_L = 30 nS, E_L = -70.6 mV, V_T = -50.4 mV, Delta_T = 2 mV,
#: tau_w = 144 ms, a = 4 nS, b = 0.0805 nA, reset to E_L. The spike is cut at V_T + 5 Delta_T.
BRETTE_GERSTNER_2005: Final = AdExParams(
    c_m_nf=0.281,
    tau_m_ms=0.281 / 0.030,
    tau_refrac_ms=0.0,
    v_rest_mv=-70.6,
    v_reset_mv=-70.6,
    v_thresh_mv=-50.4,
    v_spike_mv=-50.4 + 5 * 2.0,
    delta_t_mv=2.0,
    tau_w_ms=144.0,
    a_ns=4.0,
    b_na=0.0805,
)


def _naud(
    c_pf: float, g_l_ns: float, e_l: float, a_ns: float, tau_w: float, b_pa: float, v_r: float
) -> AdExParams:
    """A row of Naud et al. (2008), Table 1, in PyNN units.

    V_T = -50 mV and Delta_T = 2 mV in every row; no refractory period; the spike is cut at
    0 mV (past V_T + 5 Delta_T the upswing takes a fraction of a millisecond, so the pattern
    does not depend on the cut).
    """
    return AdExParams(
        c_m_nf=c_pf / 1000.0,
        tau_m_ms=c_pf / g_l_ns,
        tau_refrac_ms=0.0,
        v_rest_mv=e_l,
        v_reset_mv=v_r,
        v_thresh_mv=-50.0,
        v_spike_mv=0.0,
        delta_t_mv=2.0,
        tau_w_ms=tau_w,
        a_ns=a_ns,
        b_na=b_pa / 1000.0,
    )


#: Naud et al. (2008), Table 1, tonic spiking (step current 0.5 nA).
NAUD_2008_TONIC: Final = _naud(200.0, 10.0, -70.0, 2.0, 30.0, 0.0, -58.0)
#: Naud et al. (2008), Table 1, spike-frequency adaptation (step current 0.5 nA).
NAUD_2008_ADAPTING: Final = _naud(200.0, 12.0, -70.0, 2.0, 300.0, 60.0, -58.0)
#: Naud et al. (2008), Table 1, initial burst (step current 0.4 nA).
NAUD_2008_INITIAL_BURST: Final = _naud(130.0, 18.0, -58.0, 4.0, 150.0, 120.0, -50.0)
#: Naud et al. (2008), Table 1, regular bursting (step current 0.21 nA).
NAUD_2008_REGULAR_BURSTING: Final = _naud(200.0, 10.0, -58.0, 2.0, 120.0, 100.0, -46.0)


def adex_initial_state(
    n: int, params: AdExParams, rng: np.random.Generator | None = None
) -> AdExState:
    """``n`` cells at rest with ``w = 0``, or with ``rng``, ``v`` uniform in ``[v_reset, V_T)``."""
    v = _initial_v(n, params.v_rest_mv, params.v_reset_mv, params.v_thresh_mv, rng)
    z = np.zeros(v.shape[0])
    return AdExState(v, z, z, z, np.zeros(v.shape[0], np.int64))


def adex_step(
    state: AdExState,
    inputs: NeuronInput | None,
    params: AdExParams,
    dt_us: int,
    rng: np.random.Generator | None = None,
) -> tuple[AdExState, npt.NDArray[np.bool_]]:
    """Advance AdEx cells by one step of ``dt_us``.

    Equations (Brette & Gerstner 2005, with PyNN's conductance synapses)::

        C dv/dt     = g_L (E_L - v) + g_L Delta_T exp((v - V_T)/Delta_T)
                      + g_e (E_e - v) + g_i (E_i - v) - w + i_offset + i_inj
        tau_w dw/dt = a (v - E_L) - w
        dg_x/dt     = -g_x/tau_syn_x,   g_x += weight on arrival (x = e, i)
        v > v_spike  ->  spike, v = v_reset, w += b, v clamped for tau_refrac

    Scheme: conductances decay exactly; over the step the membrane relaxes exactly towards its
    equilibrium with the exponential current and ``w`` held at their values at the start of the
    step (exponential Euler); ``w`` relaxes exactly towards ``a (v - E_L)`` with ``v`` held. The
    exponential term is evaluated at ``min(v, v_spike)`` so it cannot overflow. Use steps of at
    most 0.1 ms: the spike upswing is resolved to one step.

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
    v0 = state.v_mv
    w0 = state.w_na
    i_exp = (
        g_l * p.delta_t_mv * np.exp((np.minimum(v0, p.v_spike_mv) - p.v_thresh_mv) / p.delta_t_mv)
    )
    g_tot = g_l + g_e + g_i
    v_inf = (
        g_l * p.v_rest_mv
        + g_e * p.e_rev_e_mv
        + g_i * p.e_rev_i_mv
        + i_exp
        - w0
        + (p.i_offset_na + inj)
    ) / g_tot
    v = v_inf + (v0 - v_inf) * np.exp(-h_ms * g_tot / p.c_m_nf)
    v = np.where(h_ms > 0, v, v0)
    dt_ms = dt_us / US_PER_MS
    w_inf = (p.a_ns / 1000.0) * (v0 - p.v_rest_mv)
    w = w_inf + (w0 - w_inf) * math.exp(-dt_ms / p.tau_w_ms)
    spiked = (v > p.v_spike_mv) & (h_ms > 0)
    v = np.where(spiked, p.v_reset_mv, v)
    w = np.where(spiked, w + p.b_na, w)
    refrac = np.where(spiked, p.t_refrac_us, refrac)
    new = AdExState(
        v,
        w,
        g_e * math.exp(-dt_ms / p.tau_syn_e_ms),
        g_i * math.exp(-dt_ms / p.tau_syn_i_ms),
        refrac,
    )
    return new, spiked


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _adex_kernel(v, w, g_e, g_i, refrac, w_exc, w_inh, inj, pars, t_ref_us, dt_us, spikes):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    (c_m, g_l, tau_e, tau_i, v_rest, v_reset, v_t, v_spike, d_t, tau_w, a_us, b, e_e, e_i,
     i_off) = pars  # fmt: skip
    dt_ms = dt_us / 1000.0
    d_e = math.exp(-dt_ms / tau_e)
    d_i = math.exp(-dt_ms / tau_i)
    d_w = math.exp(-dt_ms / tau_w)
    for s in range(w_exc.shape[0]):
        for k in range(v.shape[0]):
            ge = g_e[k] + w_exc[s, k]
            gi = g_i[k] + w_inh[s, k]
            left = refrac[k]
            h = min(max(dt_us - left, 0), dt_us) / 1000.0
            refrac[k] = max(left - dt_us, 0)
            v0 = v[k]
            w0 = w[k]
            w_inf = a_us * (v0 - v_rest)
            wk = w_inf + (w0 - w_inf) * d_w
            if h > 0:
                i_exp = g_l * d_t * math.exp((min(v0, v_spike) - v_t) / d_t)
                g_tot = g_l + ge + gi
                v_inf = (
                    g_l * v_rest + ge * e_e + gi * e_i + i_exp - w0 + (i_off + inj[s, k])
                ) / g_tot
                vk = v_inf + (v0 - v_inf) * math.exp(-h * g_tot / c_m)
                if vk > v_spike:
                    spikes[s, k] = True
                    vk = v_reset
                    wk = wk + b
                    refrac[k] = t_ref_us
                v[k] = vk
            w[k] = wk
            g_e[k] = ge * d_e
            g_i[k] = gi * d_i


def adex_run(
    state: AdExState,
    params: AdExParams,
    dt_us: int,
    n_steps: int,
    w_exc: F64 | None = None,
    w_inh: F64 | None = None,
    i_inj_na: F64 | None = None,
) -> tuple[AdExState, npt.NDArray[np.bool_]]:
    """Integrate ``n_steps`` of :func:`adex_step` in compiled code.

    ``w_exc``, ``w_inh`` (µS) and ``i_inj_na`` hold one row per step, shape ``(n_steps, n)``
    (``None`` for zeros). Returns the final state and the spike raster, shape ``(n_steps, n)``.
    """
    dt_us = _check_dt_us(dt_us)
    n_steps = _check_n_steps(n_steps)
    n = state.v_mv.shape[0]
    arr = _run_arrays(n_steps, n, w_exc=w_exc, w_inh=w_inh, i_inj_na=i_inj_na)
    v, w = state.v_mv.copy(), state.w_na.copy()
    g_e, g_i = state.g_e_us.copy(), state.g_i_us.copy()
    refrac = state.refrac_left_us.copy()
    spikes = np.zeros((n_steps, n), np.bool_)
    p = params
    pars = (p.c_m_nf, p.g_leak_us, p.tau_syn_e_ms, p.tau_syn_i_ms, p.v_rest_mv, p.v_reset_mv,
            p.v_thresh_mv, p.v_spike_mv, p.delta_t_mv, p.tau_w_ms, p.a_ns / 1000.0, p.b_na,
            p.e_rev_e_mv, p.e_rev_i_mv, p.i_offset_na)  # fmt: skip
    _adex_kernel(
        v, w, g_e, g_i, refrac, arr["w_exc"], arr["w_inh"], arr["i_inj_na"], pars,
        p.t_refrac_us, dt_us, spikes,
    )  # fmt: skip
    return AdExState(v, w, g_e, g_i, refrac), spikes
