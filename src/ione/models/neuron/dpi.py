"""The DPI silicon neuron and DPI synapses of the DYNAP-SE family, in current mode.

Chicca, Stefanini, Bartolozzi & Indiveri, *Neuromorphic electronic circuits for building
autonomous cognitive systems*, Proc. IEEE 102(9):1367 (2014): the membrane of the adaptive
exponential I&F circuit is a differential-pair integrator (DPI) whose output current ``I_mem``
stands for the membrane potential, and each synapse is a DPI low-pass filter of input pulses.
The default parameters (:data:`DYNAPSE_DPI`) are those of the DYNAP-SE simulator (SYSTEM.md §3.1;
Çakal et al.'s DynapSim of the Rockpool library).

A hub weights each forwarded event with a byte; the efficacy of an event is ``w_byte / 255``
(:func:`dpi_efficacy`), and an event of efficacy 1 drives the synapse with the full-scale weight
current ``i_w_max_na``. :func:`dpi_step` is the numpy reference; :func:`dpi_run` its numba twin.
Timing conventions are those of :mod:`.lif`.
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
    _refractory_split,
    _run_arrays,
    _unpack_input,
)

__all__ = [
    "DYNAPSE_DPI",
    "DPIParams",
    "DPIState",
    "dpi_efficacy",
    "dpi_initial_state",
    "dpi_membrane_voltage_mv",
    "dpi_run",
    "dpi_step",
]


@dataclass(frozen=True, slots=True)
class DPIParams:
    """Circuit parameters of a DPI neuron with AMPA (excitatory), GABA (inhibitory) and AHP DPIs.

    Every DPI ``x`` has a capacitance ``c_x_pf``, a time constant ``tau_x_ms`` (which sets its
    leak current ``I_tau = C U_T/(kappa tau)``, ``kappa`` the mean of ``kappa_n`` and
    ``kappa_p``) and a gain ratio ``gain_x = I_g/I_tau``. Currents are in nA: ``i_0_na`` is the
    transistors' dark current (the floor of every current and the membrane's reset value),
    ``i_spkthr_na`` the spike threshold of ``I_mem``, ``i_w_max_na`` the weight current of an
    event of efficacy 1 (the sum of the four DYNAP-SE weight currents 1, 2, 4 and 8 nA),
    ``i_w_ahp_na`` the weight of the after-hyperpolarisation DPI driven by the neuron's own
    spikes (0 disables adaptation), and ``i_dc_na`` a constant input. ``feedback_gain`` scales the
    positive-feedback current (1 for the circuit, 0 to remove it).
    """

    c_mem_pf: float = 3.0
    c_ampa_pf: float = 24.5
    c_gaba_pf: float = 25.0
    c_ahp_pf: float = 40.0
    u_t_mv: float = 25.0
    kappa_n: float = 0.75
    kappa_p: float = 0.66
    i_0_na: float = 0.5e-3
    tau_mem_ms: float = 20.0
    tau_ampa_ms: float = 10.0
    tau_gaba_ms: float = 10.0
    tau_ahp_ms: float = 50.0
    gain_mem: float = 4.0
    gain_ampa: float = 100.0
    gain_gaba: float = 100.0
    gain_ahp: float = 1.0
    t_ref_ms: float = 1.0
    t_pulse_us: float = 10.0
    t_pulse_ahp_us: float = 1.0
    i_spkthr_na: float = 100.0
    i_w_max_na: float = 15.0
    i_w_ahp_na: float = 0.0
    i_dc_na: float = 0.0
    feedback_gain: float = 1.0

    def __post_init__(self) -> None:
        _check_params(
            self,
            ("c_mem_pf", "c_ampa_pf", "c_gaba_pf", "c_ahp_pf", "u_t_mv", "kappa_n", "kappa_p",
             "i_0_na", "tau_mem_ms", "tau_ampa_ms", "tau_gaba_ms", "tau_ahp_ms", "gain_mem",
             "gain_ampa", "gain_gaba", "gain_ahp", "i_spkthr_na"),
            ("t_ref_ms", "t_pulse_us", "t_pulse_ahp_us", "i_w_max_na", "i_w_ahp_na", "i_dc_na",
             "feedback_gain"),
        )  # fmt: skip
        if self.i_spkthr_na <= self.i_0_na:
            raise ValueError("DPIParams.i_spkthr_na must exceed the dark current i_0_na")
        for name in ("kappa_n", "kappa_p"):
            if getattr(self, name) >= 1.0:
                raise ValueError(f"DPIParams.{name} must be in (0, 1), got {getattr(self, name)!r}")

    @property
    def kappa(self) -> float:
        """Mean subthreshold slope factor."""
        return 0.5 * (self.kappa_n + self.kappa_p)

    def i_tau_na(self, c_pf: float, tau_ms: float) -> float:
        """Leak current ``C U_T / (kappa tau)`` of a DPI (nA): pF·mV/ms = nA·1e-3."""
        return c_pf * self.u_t_mv / (self.kappa * tau_ms) * 1e-3

    @property
    def i_tau_mem_na(self) -> float:
        """Leak current of the membrane DPI (nA)."""
        return self.i_tau_na(self.c_mem_pf, self.tau_mem_ms)

    @property
    def t_ref_us(self) -> int:
        """Refractory period in integer microseconds."""
        return round(self.t_ref_ms * US_PER_MS)

    def pulse_charge(self, tau_ms: float, gain: float, t_pulse_us: float) -> float:
        """``I_syn`` gained from one pulse of weight current 1 nA (nA per nA of ``I_w``).

        During a pulse of width ``t_pulse`` the DPI relaxes towards ``I_g I_w/I_tau =
        gain I_w``; the pulse is short against ``tau``, so its charge adds
        ``gain I_w (1 - exp(-t_pulse/tau))`` and the decay of the step accounts for the rest.
        """
        return gain * -math.expm1(-t_pulse_us / (tau_ms * US_PER_MS))


@dataclass(frozen=True, slots=True)
class DPIState:
    """State of a population of DPI neurons: output currents of the four DPIs (nA)."""

    i_mem_na: F64
    i_ampa_na: F64
    i_gaba_na: F64
    i_ahp_na: F64
    refrac_left_us: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        _freeze_arrays(
            self,
            (("i_mem_na", np.float64), ("i_ampa_na", np.float64), ("i_gaba_na", np.float64),
             ("i_ahp_na", np.float64), ("refrac_left_us", np.int64)),
        )  # fmt: skip
        for name in ("i_mem_na", "i_ampa_na", "i_gaba_na", "i_ahp_na"):
            if (getattr(self, name) < 0).any():
                raise ValueError(f"DPIState.{name} must be >= 0 (a subthreshold current)")


#: DYNAP-SE simulator defaults (SYSTEM.md §3.1; Chicca et al. 2014; DynapSim): C_mem 3 pF,
#: U_T 25 mV, kappa_n 0.75, kappa_p 0.66, I_0 0.5 pA, tau_mem 20 ms, tau_ampa 10 ms,
#: tau_ahp 50 ms, t_ref 1 ms, t_pulse 10 µs, I_spkthr 100 nA, weight currents 1/2/4/8 nA.
DYNAPSE_DPI: Final = DPIParams()


def dpi_efficacy(w_byte: npt.ArrayLike) -> F64:
    """Efficacy ``w_byte / 255`` of events weighted by a hub's weight byte (0 to 255)."""
    w = np.asarray(w_byte)
    if w.dtype.kind not in "iu":
        raise ValueError(f"w_byte must be integers, got dtype {w.dtype}")
    if w.size and (w.min() < 0 or w.max() > 255):
        raise ValueError("w_byte must lie in 0..255")
    return w.astype(np.float64) / 255.0


def dpi_initial_state(n: int, params: DPIParams) -> DPIState:
    """``n`` neurons at rest: every current at the dark current ``i_0_na``."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    i0 = np.full(int(n), params.i_0_na)
    return DPIState(i0, i0, i0, i0, np.zeros(int(n), np.int64))


def dpi_membrane_voltage_mv(state: DPIState, params: DPIParams) -> F64:
    """Membrane voltage of the circuit, ``(U_T/kappa) ln(I_mem/I_0)`` (mV above rest)."""
    return (params.u_t_mv / params.kappa) * np.log(state.i_mem_na / params.i_0_na)


def dpi_step(
    state: DPIState,
    inputs: NeuronInput | None,
    params: DPIParams,
    dt_us: int,
    rng: np.random.Generator | None = None,
) -> tuple[DPIState, npt.NDArray[np.bool_]]:
    """Advance DPI neurons by one step of ``dt_us``.

    Equations (Chicca et al. 2014, eqs. for the DPI neuron and synapse; I_g = gain I_tau)::

        tau (1 + I_g/I_mem) dI_mem/dt + I_mem (1 + I_ahp/I_tau)
                = (I_g/I_tau) (I_in - I_ahp - I_tau) + f(I_mem)
        f(I_mem) = g_fb (I_a/I_tau) (I_mem + I_g),   I_a = I_0 (I_mem/I_0)^(kappa/(kappa+1))
        I_in     = max(I_ampa - I_gaba + i_dc + i_inj, I_0)
        tau_syn dI_syn/dt = -I_syn + I_g I_w/I_tau    during each input pulse, else -I_syn
        I_mem > I_spkthr  ->  spike, I_mem = I_0, held there for t_ref

    with ``tau = C U_T/(kappa I_tau)`` for every DPI. ``f`` is the positive feedback of the
    source follower, ``I_a = I_0 exp(kappa^2/(kappa+1) V_mem/U_T)`` with
    ``V_mem = (U_T/kappa) ln(I_mem/I_0)``. An event of efficacy ``e`` (``w_byte/255``) is a pulse
    of width ``t_pulse`` with ``I_w = e i_w_max``; each of the neuron's own spikes pulses the AHP
    DPI with ``i_w_ahp``. Every DPI output current is floored at the dark current ``I_0``, the
    AHP's included, which adds ``I_0/I_tau`` (about 9 % at the defaults) to the membrane leak,
    as in the circuit and in DynapSim. Synaptic currents decay exactly; over the
    step the membrane relaxes exactly towards its equilibrium with the input, the feedback and
    the factor ``1 + I_g/I_mem`` held at their values at the start of the step (exponential
    Euler), which is exact for the linear regime and stable for any step. With the full
    feedback (``g_fb = feedback_gain = 1``) there is no stable state above rest: an input that
    beats the leak, ``I_in`` a little above ``I_0 + I_tau``, fires the neuron sooner or later.

    Parameters
    ----------
    state
        Population state at ``t``.
    inputs
        Summed efficacies (``w_byte/255``) of the excitatory (AMPA) and inhibitory (GABA) events
        arriving in this step, and injected current (nA), or ``None``.
    params
        Circuit parameters.
    dt_us
        Step in integer microseconds.
    rng
        Unused (the model is deterministic); accepted for the common kernel signature.

    Returns
    -------
    new_state, spiked
        State at ``t + dt`` and a boolean mask of the neurons that spiked in the step.
    """
    dt_us = _check_dt_us(dt_us)
    n = state.i_mem_na.shape[0]
    e_exc, e_inh, inj = _unpack_input(inputs, n)
    c = _constants(params, dt_us)
    i0 = params.i_0_na
    i_ampa = state.i_ampa_na + c.q_ampa * e_exc
    i_gaba = state.i_gaba_na + c.q_gaba * e_inh
    i_ahp = state.i_ahp_na
    h_ms, refrac = _refractory_split(state.refrac_left_us, dt_us)
    i_mem0 = state.i_mem_na
    i_in = np.maximum(i_ampa - i_gaba + (params.i_dc_na + inj), i0)
    i_a = params.feedback_gain * i0 * (i_mem0 / i0) ** c.fb_exp
    drive = c.g_over_tau * (i_in - i_ahp - c.i_tau) + (i_a / c.i_tau) * (i_mem0 + c.i_g)
    leak = 1.0 + i_ahp / c.i_tau
    i_inf = drive / leak
    decay = np.exp(-h_ms * leak / (c.tau_mem_ms * (1.0 + c.i_g / i_mem0)))
    i_mem = np.maximum(i_inf + (i_mem0 - i_inf) * decay, i0)
    i_mem = np.where(h_ms > 0, i_mem, i_mem0)
    spiked = (i_mem > params.i_spkthr_na) & (h_ms > 0)
    i_mem = np.where(spiked, i0, i_mem)
    refrac = np.where(spiked, params.t_ref_us, refrac)
    new = DPIState(
        i_mem,
        np.maximum(i_ampa * c.d_ampa, i0),
        np.maximum(i_gaba * c.d_gaba, i0),
        np.maximum(i_ahp * c.d_ahp + c.q_ahp * spiked, i0),
        refrac,
    )
    return new, spiked


@dataclass(frozen=True, slots=True)
class _Constants:
    i_tau: float
    i_g: float
    g_over_tau: float
    tau_mem_ms: float
    fb_exp: float
    q_ampa: float
    q_gaba: float
    q_ahp: float
    d_ampa: float
    d_gaba: float
    d_ahp: float
    i0: float
    fb_gain: float
    i_dc: float
    i_spkthr: float

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)


def _constants(p: DPIParams, dt_us: int) -> _Constants:
    i_tau = p.i_tau_mem_na
    dt_ms = dt_us / US_PER_MS
    return _Constants(
        i_tau=i_tau,
        i_g=p.gain_mem * i_tau,
        g_over_tau=p.gain_mem,
        tau_mem_ms=p.tau_mem_ms,
        fb_exp=p.kappa / (p.kappa + 1.0),
        q_ampa=p.pulse_charge(p.tau_ampa_ms, p.gain_ampa, p.t_pulse_us) * p.i_w_max_na,
        q_gaba=p.pulse_charge(p.tau_gaba_ms, p.gain_gaba, p.t_pulse_us) * p.i_w_max_na,
        q_ahp=p.pulse_charge(p.tau_ahp_ms, p.gain_ahp, p.t_pulse_ahp_us) * p.i_w_ahp_na,
        d_ampa=math.exp(-dt_ms / p.tau_ampa_ms),
        d_gaba=math.exp(-dt_ms / p.tau_gaba_ms),
        d_ahp=math.exp(-dt_ms / p.tau_ahp_ms),
        i0=p.i_0_na,
        fb_gain=p.feedback_gain,
        i_dc=p.i_dc_na,
        i_spkthr=p.i_spkthr_na,
    )


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _dpi_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    i_mem, i_ampa, i_gaba, i_ahp, refrac, e_exc, e_inh, inj, c, t_ref_us, dt_us, spikes
):
    (i_tau, i_g, g_over_tau, tau_mem, fb_exp, q_ampa, q_gaba, q_ahp, d_ampa, d_gaba, d_ahp, i0,
     fb_gain, i_dc, i_spkthr) = c  # fmt: skip
    for s in range(e_exc.shape[0]):
        for k in range(i_mem.shape[0]):
            ia = i_ampa[k] + q_ampa * e_exc[s, k]
            ig = i_gaba[k] + q_gaba * e_inh[s, k]
            ih = i_ahp[k]
            left = refrac[k]
            h = min(max(dt_us - left, 0), dt_us) / 1000.0
            refrac[k] = max(left - dt_us, 0)
            spk = False
            if h > 0:
                m0 = i_mem[k]
                i_in = max(ia - ig + (i_dc + inj[s, k]), i0)
                i_a = fb_gain * i0 * (m0 / i0) ** fb_exp
                drive = g_over_tau * (i_in - ih - i_tau) + (i_a / i_tau) * (m0 + i_g)
                leak = 1.0 + ih / i_tau
                i_inf = drive / leak
                decay = math.exp(-h * leak / (tau_mem * (1.0 + i_g / m0)))
                m = max(i_inf + (m0 - i_inf) * decay, i0)
                if m > i_spkthr:
                    spk = True
                    spikes[s, k] = True
                    m = i0
                    refrac[k] = t_ref_us
                i_mem[k] = m
            i_ampa[k] = max(ia * d_ampa, i0)
            i_gaba[k] = max(ig * d_gaba, i0)
            i_ahp[k] = max(ih * d_ahp + (q_ahp if spk else 0.0), i0)


def dpi_run(
    state: DPIState,
    params: DPIParams,
    dt_us: int,
    n_steps: int,
    e_exc: F64 | None = None,
    e_inh: F64 | None = None,
    i_inj_na: F64 | None = None,
) -> tuple[DPIState, npt.NDArray[np.bool_]]:
    """Integrate ``n_steps`` of :func:`dpi_step` in compiled code.

    ``e_exc`` and ``e_inh`` (summed efficacies ``w_byte/255``) and ``i_inj_na`` hold one row per
    step, shape ``(n_steps, n)`` (``None`` for zeros). Returns the final state and the spike
    raster, shape ``(n_steps, n)``.
    """
    dt_us = _check_dt_us(dt_us)
    n_steps = _check_n_steps(n_steps)
    n = state.i_mem_na.shape[0]
    arr = _run_arrays(n_steps, n, w_exc=e_exc, w_inh=e_inh, i_inj_na=i_inj_na)
    i_mem, i_ampa = state.i_mem_na.copy(), state.i_ampa_na.copy()
    i_gaba, i_ahp = state.i_gaba_na.copy(), state.i_ahp_na.copy()
    refrac = state.refrac_left_us.copy()
    spikes = np.zeros((n_steps, n), np.bool_)
    p = params
    _dpi_kernel(
        i_mem, i_ampa, i_gaba, i_ahp, refrac, arr["w_exc"], arr["w_inh"], arr["i_inj_na"],
        _constants(p, dt_us).as_tuple(), p.t_ref_us, dt_us, spikes,
    )  # fmt: skip
    return DPIState(i_mem, i_ampa, i_gaba, i_ahp, refrac), spikes
