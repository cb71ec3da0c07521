"""The 1M1T1R diffusive-memristor spiking neuron of Zhao et al. (Nature Electronics 8:1211, 2025).

Compact model, per neuron (Zhao et al. 2025, supplementary compact model)::

    x      = F + R                                       0 <= F, 0 <= R, x <= 1
    E      = (V_in - V) / (alpha + |1 - x|)   if V_in > V, else 0
    dF/dt  = mu*E - (gamma1 + beta)*F        (+ noise)   filament: grows with the field, leaks
    dR/dt  = beta*F - gamma2*R               (+ noise)   residue: slow memory of the filament
    R_d(x) = R_on*x + R_off*(exp((1 - x)/lam) - 1)/(exp(1/lam) - 1)
    C_g*dV/dt = (V_in - V)/R_d(x) - V/R_c                gate node: memristor in, resistor out
    O      = H(V - V_th)

One diffusive memristor (Ag ions drifting in an oxide) feeds the gate capacitance ``C_g`` of a
transistor, which one resistor ``R_c`` discharges. The device is volatile: its filament ``F``
forms under the input field and dissolves within ~1.6 ms (``1/(gamma1 + beta)``), so sub-threshold
inputs integrate and leak; part of it turns into a residue ``R`` that dissolves within 200 ms
(``1/gamma2``), so recent activity makes the next switching easier (intrinsic plasticity). When
``x`` approaches 1 the memristor switches from ``R_off`` to ``R_on``, the gate charges to ``V_in``
within ~10 µs and the transistor turns on; afterwards the gate leaks through ``R_c`` (2.5 ms).

Units. The fitted rates are **per second**: ``gamma1 + beta = 620 /s`` gives the 1.6 ms filament
leak and ``gamma2 = 5 /s`` the 200 ms residue. Read as per millisecond they would switch the device
within tens of microseconds, and none of the published first-spike times would hold. Field names
carry their units (``_per_s``, ``_ohm``, ``_pf``, ``_volts``, ``_ms``).

Spikes. After switching on, ``x`` chatters about 1 for as long as the input stays high, and ``O``
stays 1 (noise off, a DC input fires once and the neuron stays on). A spike is therefore a rising
edge of ``O`` through a Schmitt trigger: it is emitted when ``V`` reaches ``V_th`` while the neuron
is armed; it disarms the neuron, which re-arms once ``V`` has fallen below ``V_th - hysteresis``;
and no spike follows the previous one by less than ``tau_refrac_ms`` (0 by default: the gate leak
itself makes the neuron refractory, since ``V`` must drain through ``R_c`` before it can re-arm;
at 1 V the shortest interval is 7.9 ms). Spikes are detected at sub-step resolution.

Output stage. The transistor is a level-1 (square-law) n-MOSFET with threshold ``V_to`` and gain
``kp`` whose drain is pulled up to ``V_dd`` through the load ``R_load``. The output voltage is the
voltage across the load, ``V_out = R_load * I_D`` (the drain node sits at ``V_dd - V_out``): 0 at
rest and ~0.95 V while the gate is high, so one neuron's ``V_out`` can be the next neuron's
``V_in`` (cascading). The downstream memristor (>= 1 MΩ) loads the 47 kΩ output by < 5 %, which is
neglected.

Noise (``sigma_filament``, ``sigma_residue``; 0 in :data:`ZHAO2025`). Ion migration is a
counting process, so each state gets a chemical-Langevin term (Gillespie, J. Chem. Phys. 113:297,
2000) whose variance per sub-step ``h`` is ``sigma * (gain + loss) * h``: for ``F``,
``sigma_filament * (mu*E + (gamma1 + beta)*F) * h``, for ``R``, ``sigma_residue * (beta*F +
gamma2*R) * h`` (``sigma`` is the inverse of the effective number of migrating ions; the two
noises are drawn independently). The noise vanishes at rest, so a silent neuron stays silent.
With ``sigma = 1e-3`` on both, the first spike at 1 V DC has a standard deviation of 1.6 ms
(about 10 %), and the on state can collapse spontaneously, so a DC input may fire more than once.

Integration. ione's time step is an integer number of microseconds; each step holds ``V_in``
constant and is split into ``substeps`` equal sub-steps of ``h = dt_us/substeps``. Two methods:
``"euler"`` (forward Euler, the reference: ``dt_us=1, substeps=2`` is the 0.5 µs Euler step the
published checks were computed with) and ``"exponential"`` (exponential Euler: each linear
sub-system is solved exactly with ``E``, ``F`` and ``R_d`` frozen over the sub-step, so it is
stable at any step). Both are first order. After every sub-step the states are clipped to their
physical range: ``R`` to [0, 1], then ``F`` to [0, 1 - R]. Accuracy: the first turn-on from rest
is within 0.4 % of the reference at ``h = 10 µs`` (34.99 and 15.49 ms against 34.92 and 15.43 ms);
forward Euler diverges beyond ``2*C_g/(1/R_on + 1/R_c) = 19.9 µs`` and refuses such sub-steps.
Once switched on, however, the filament chatters about ``x = 1`` on a sub-microsecond scale that
only ``h <= 1 µs`` resolves: at ``h = 10 µs`` later spikes of a train drift by up to ~1 ms
(exponential) or spurious extra spikes appear (Euler), and from ``h = 20 µs`` the exponential
method adds spurious spikes too. Use ``h <= 1 µs`` wherever spike trains, not only first
latencies, matter.

Behaviour of :data:`ZHAO2025` with the noise off (first turn-on from rest, Euler, h = 0.5 µs):
DC 1.0 V fires at 15.43 ms, 0.8 V at 34.92 ms, 0.6 V at 77.6 ms, 0.3 V at 421 ms. Below the DC
rheobase nothing fires, ever: with ``V << V_in`` before switching, the steady state of ``F`` and
``R`` satisfies ``x*(1 + alpha - x) = V_in*mu*(beta + gamma2)/((gamma1 + beta)*gamma2)``, which
has a solution (the state settles there) only while ``V_in <= (1 + alpha)**2*(gamma1 +
beta)*gamma2/(4*mu*(beta + gamma2)) = 0.211 V``.

:func:`diffusive_step` is the numpy reference; :func:`diffusive_run` integrates many steps in one
compiled (numba) call and is tested equal to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numba
import numpy as np
import numpy.typing as npt

__all__ = [
    "ZHAO2025",
    "DiffusiveNeuronOutput",
    "DiffusiveNeuronParams",
    "DiffusiveNeuronRecord",
    "DiffusiveNeuronState",
    "diffusive_initial_state",
    "diffusive_output_volts",
    "diffusive_resistance_ohm",
    "diffusive_run",
    "diffusive_step",
]

Method = Literal["euler", "exponential"]
_METHODS: Final = ("euler", "exponential")
_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
_B = npt.NDArray[np.bool_]
#: Slack on the refractory countdown, in µs (sub-steps like 1/3 µs do not sum exactly).
_REFRAC_EPS_US: Final = 1e-9


@dataclass(frozen=True, slots=True)
class DiffusiveNeuronParams:
    """Parameters of the 1M1T1R neuron; the defaults are :data:`ZHAO2025`.

    Memristor and gate (fitted by Zhao et al. 2025): ``mu_per_v_s`` filament growth per volt of
    effective drive (1/(V·s)); ``alpha`` drive offset that bounds ``E`` as ``x -> 1``;
    ``beta_per_s`` filament-to-residue conversion; ``gamma1_per_s`` filament dissolution;
    ``gamma2_per_s`` residue dissolution; ``lam`` steepness of the switching (``R_d``);
    ``r_on_ohm``, ``r_off_ohm`` fully formed / absent filament; ``c_gate_pf`` gate capacitance;
    ``r_c_ohm`` gate-to-ground resistor; ``v_th_volts`` firing threshold of ``O``.

    Chosen by ione (not part of the fit): ``sigma_filament``, ``sigma_residue`` noise (module
    docstring); ``hysteresis_volts`` re-arm margin below ``v_th_volts``; ``tau_refrac_ms`` extra
    dead time after a spike; ``kp_a_per_v2`` transistor gain ``KP*W/L`` of the level-1 model.
    Output stage (Zhao et al. 2025): ``v_to_volts`` transistor threshold, ``r_load_ohm`` load to
    ``v_dd_volts``.
    """

    mu_per_v_s: float = 150.0
    alpha: float = 0.01
    beta_per_s: float = 20.0
    gamma1_per_s: float = 600.0
    gamma2_per_s: float = 5.0
    lam: float = 0.2
    r_on_ohm: float = 1e6
    r_off_ohm: float = 1e12
    c_gate_pf: float = 10.0
    r_c_ohm: float = 250e6
    v_th_volts: float = 0.2
    sigma_filament: float = 0.0
    sigma_residue: float = 0.0
    hysteresis_volts: float = 0.02
    tau_refrac_ms: float = 0.0
    v_to_volts: float = 0.22
    kp_a_per_v2: float = 7.5e-4
    r_load_ohm: float = 47e3
    v_dd_volts: float = 1.0

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"DiffusiveNeuronParams.{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"DiffusiveNeuronParams.{name} must be finite, got {value!r}")
        positive = (
            "mu_per_v_s",
            "alpha",
            "gamma1_per_s",
            "gamma2_per_s",
            "r_on_ohm",
            "c_gate_pf",
            "r_c_ohm",
            "kp_a_per_v2",
            "r_load_ohm",
            "v_dd_volts",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"DiffusiveNeuronParams.{name} must be > 0, got {getattr(self, name)}"
                )
        for name in (
            "beta_per_s",
            "sigma_filament",
            "sigma_residue",
            "hysteresis_volts",
            "tau_refrac_ms",
        ):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"DiffusiveNeuronParams.{name} must be >= 0, got {getattr(self, name)}"
                )
        if not self.lam >= 0.002:
            raise ValueError(
                "DiffusiveNeuronParams.lam must be >= 0.002 (exp(1/lam) overflows below), "
                f"got {self.lam}"
            )
        if not self.r_off_ohm > self.r_on_ohm:
            raise ValueError(
                f"DiffusiveNeuronParams.r_off_ohm ({self.r_off_ohm}) must exceed "
                f"r_on_ohm ({self.r_on_ohm})"
            )

    @property
    def noisy(self) -> bool:
        """Whether either noise amplitude is non-zero."""
        return self.sigma_filament > 0 or self.sigma_residue > 0


ZHAO2025: Final = DiffusiveNeuronParams()
"""Fitted 1M1T1R parameters of Zhao et al., "A spiking artificial neuron based on one diffusive
memristor, one transistor and one resistor", Nature Electronics 8:1211 (2025), supplementary
compact model; transistor threshold 0.22 V and 47 kΩ load to 1 V from the same paper. Noise off,
20 mV re-arm hysteresis, no extra dead time; the transistor gain 7.5e-4 A/V² is ione's choice."""


@dataclass(frozen=True, slots=True)
class DiffusiveNeuronState:
    """State of a population, one element per neuron.

    ``filament`` F and ``residue`` R (dimensionless, ``F + R <= 1``), ``v_gate_volts`` V,
    ``armed`` (the Schmitt trigger will fire on the next crossing of ``V_th``) and
    ``refrac_left_us`` (remaining dead time).
    """

    filament: _F64
    residue: _F64
    v_gate_volts: _F64
    armed: _B
    refrac_left_us: _F64

    def __post_init__(self) -> None:
        n = None
        for name in self.__slots__:
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.ndim != 1:
                raise ValueError(f"DiffusiveNeuronState.{name} must be a 1-D numpy array")
            want = np.bool_ if name == "armed" else np.float64
            if arr.dtype != want:
                raise ValueError(
                    f"DiffusiveNeuronState.{name} must have dtype {np.dtype(want)}, got {arr.dtype}"
                )
            if n is None:
                n = arr.shape[0]
            elif arr.shape[0] != n:
                raise ValueError(
                    f"DiffusiveNeuronState.{name} has {arr.shape[0]} neurons, filament has {n}"
                )

    @property
    def n(self) -> int:
        """Number of neurons."""
        return int(self.filament.shape[0])


@dataclass(frozen=True, slots=True)
class DiffusiveNeuronOutput:
    """What one :func:`diffusive_step` produces, per neuron.

    ``spike_count`` spikes emitted during the step (0 or 1 unless the step is longer than the
    minimum inter-spike interval); ``active`` ``O = H(V - V_th)`` at the end of the step;
    ``v_out_volts`` voltage across the load at the end of the step (drives a downstream input).
    """

    spike_count: npt.NDArray[np.int64]
    active: _B
    v_out_volts: _F64


@dataclass(frozen=True, slots=True)
class DiffusiveNeuronRecord:
    """What :func:`diffusive_run` produces.

    Spikes are flat arrays in time order: ``spike_step`` (index of the step), ``spike_t_us``
    (end of the sub-step in which the spike was detected, in µs from the start of the run,
    rounded up to a whole µs) and ``spike_neuron``; ``n_neurons`` is the population size. With
    ``traces=True``, the state at the end of every step, shape ``(n_steps, n)``: ``filament``,
    ``residue``, ``v_gate_volts``, ``v_out_volts``; otherwise these are ``None``.
    """

    spike_step: _I64
    spike_t_us: _I64
    spike_neuron: _I64
    n_neurons: int
    filament: _F64 | None = None
    residue: _F64 | None = None
    v_gate_volts: _F64 | None = None
    v_out_volts: _F64 | None = None

    def first_spike_us(self) -> _I64:
        """Time of each neuron's first spike in this run (µs), -1 where it did not fire."""
        first = np.full(self.n_neurons, -1, dtype=np.int64)
        # Events are in time order: the first occurrence of each neuron is its first spike.
        neurons, idx = np.unique(self.spike_neuron, return_index=True)
        first[neurons] = self.spike_t_us[idx]
        return first


def diffusive_initial_state(n: int) -> DiffusiveNeuronState:
    """``n`` neurons at rest: no filament, no residue, gate at 0 V, armed."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"number of neurons must be a non-negative integer, got {n!r}")
    return DiffusiveNeuronState(
        filament=np.zeros(n),
        residue=np.zeros(n),
        v_gate_volts=np.zeros(n),
        armed=np.ones(n, dtype=np.bool_),
        refrac_left_us=np.zeros(n),
    )


def diffusive_resistance_ohm(x: npt.ArrayLike, params: DiffusiveNeuronParams = ZHAO2025) -> _F64:
    """``R_d(x) = R_on*x + R_off*(exp((1 - x)/lam) - 1)/(exp(1/lam) - 1)``, ``x`` clipped to [0, 1].

    Zhao et al. 2025: ``R_off`` at ``x = 0``, ``R_on`` at ``x = 1``, switching within the last
    ~``lam`` of ``x``.
    """
    xc = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    r_off_n = params.r_off_ohm / math.expm1(1.0 / params.lam)
    return np.asarray(params.r_on_ohm * xc + r_off_n * np.expm1((1.0 - xc) / params.lam))


def diffusive_output_volts(
    v_gate_volts: npt.ArrayLike, params: DiffusiveNeuronParams = ZHAO2025
) -> _F64:
    """``V_out = R_load * I_D``: the voltage across the load of the output transistor.

    Level-1 n-MOSFET, ``V_ov = max(V - V_to, 0)``, drain pulled up to ``V_dd`` through
    ``R_load``: ``I_D = kp/2 * V_ov**2`` in saturation (``V_ds >= V_ov``), ``I_D = kp*(V_ov*V_ds -
    V_ds**2/2)`` in the triode region, with ``V_ds = V_dd - R_load*I_D`` solved in closed form.
    """
    v = np.asarray(v_gate_volts, dtype=np.float64)
    a = 0.5 * params.kp_a_per_v2 * params.r_load_ohm
    v_dd = params.v_dd_volts
    v_ov = np.maximum(v - params.v_to_volts, 0.0)
    vds_sat = v_dd - a * v_ov * v_ov
    b = 1.0 + 2.0 * a * v_ov
    vds_tri = 2.0 * v_dd / (b + np.sqrt(np.maximum(b * b - 4.0 * a * v_dd, 0.0)))
    return np.asarray(v_dd - np.where(vds_sat >= v_ov, vds_sat, vds_tri))


def _euler_max_substep_us(params: DiffusiveNeuronParams = ZHAO2025) -> float:
    """Largest stable forward-Euler sub-step, ``2*C_g/(1/R_on + 1/R_c)`` in µs (19.9 µs for
    :data:`ZHAO2025`): beyond it the gate voltage diverges once the memristor is on."""
    return 2.0 * params.c_gate_pf * 1e-6 / (1.0 / params.r_on_ohm + 1.0 / params.r_c_ohm)


# --------------------------------------------------------------------------------------------
# Argument checks shared by both implementations
# --------------------------------------------------------------------------------------------


def _check_common(
    params: DiffusiveNeuronParams,
    dt_us: int,
    rng: np.random.Generator | None,
    substeps: int,
    method: str,
) -> None:
    if not isinstance(params, DiffusiveNeuronParams):
        raise TypeError(f"params must be DiffusiveNeuronParams, got {type(params).__name__}")
    if isinstance(dt_us, bool) or not isinstance(dt_us, int | np.integer):
        raise TypeError(f"dt_us must be an integer number of microseconds, got {dt_us!r}")
    if dt_us <= 0:
        raise ValueError(f"dt_us must be a positive number of microseconds, got {dt_us}")
    if isinstance(substeps, bool) or not isinstance(substeps, int | np.integer) or substeps < 1:
        raise ValueError(f"substeps must be an integer >= 1, got {substeps!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if method == "euler":
        h_max_us = _euler_max_substep_us(params)
        if dt_us / substeps >= h_max_us:
            raise ValueError(
                f"forward Euler is unstable for sub-steps >= {h_max_us:.3g} µs "
                f"(2*C_g/(1/R_on + 1/R_c)), got dt_us/substeps = {dt_us / substeps:.3g} µs: "
                "raise substeps or use method='exponential'"
            )
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if rng is None and params.noisy:
        raise ValueError(
            "noise is on (sigma_filament or sigma_residue > 0): pass rng=numpy.random.Generator"
        )


def _check_inputs(v: _F64, expected: tuple[int, ...], what: str) -> None:
    if v.shape != expected:
        raise ValueError(f"v_in_volts must have shape {expected} ({what}), got {v.shape}")
    bad = ~np.isfinite(v)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"v_in_volts must be finite, got {v[where]} at index {where}")


def _constants(params: DiffusiveNeuronParams, h_s: float) -> tuple[float, ...]:
    """Everything the sub-step needs, in SI units, in the order the kernels unpack it."""
    k_f = params.gamma1_per_s + params.beta_per_s
    values = (
        params.mu_per_v_s,
        params.alpha,
        params.beta_per_s,
        k_f,
        params.gamma2_per_s,
        1.0 / params.lam,
        params.r_on_ohm,
        params.r_off_ohm / math.expm1(1.0 / params.lam),
        params.c_gate_pf * 1e-12,
        1.0 / params.r_c_ohm,
        params.v_th_volts,
        params.v_th_volts - params.hysteresis_volts,
        params.tau_refrac_ms * 1e3,
        params.sigma_filament,
        params.sigma_residue,
        -math.expm1(-k_f * h_s),  # exponential method: 1 - exp(-(gamma1 + beta) h)
        -math.expm1(-params.gamma2_per_s * h_s),  # 1 - exp(-gamma2 h)
        0.5 * params.kp_a_per_v2 * params.r_load_ohm,
        params.v_to_volts,
        params.v_dd_volts,
    )
    return tuple(float(c) for c in values)


# --------------------------------------------------------------------------------------------
# numpy reference
# --------------------------------------------------------------------------------------------


def diffusive_step(
    state: DiffusiveNeuronState,
    v_in_volts: npt.ArrayLike,
    params: DiffusiveNeuronParams,
    dt_us: int,
    rng: np.random.Generator | None = None,
    *,
    substeps: int = 1,
    method: Method = "euler",
) -> tuple[DiffusiveNeuronState, DiffusiveNeuronOutput]:
    """Advance the population by one step of ``dt_us`` with the input held at ``v_in_volts``.

    Equations (Zhao et al., Nature Electronics 8:1211, 2025, supplementary compact model)::

        x          = F + R                      0 <= F, 0 <= R, x <= 1 (clipped each sub-step)
        E          = (V_in - V)/(alpha + |1 - x|)   if V_in > V, else 0
        dF/dt      = mu*E - (gamma1 + beta)*F   (+ noise)
        dR/dt      = beta*F - gamma2*R          (+ noise)
        C_g*dV/dt  = (V_in - V)/R_d(x) - V/R_c
        R_d(x)     = R_on*x + R_off*(exp((1 - x)/lam) - 1)/(exp(1/lam) - 1)
        spike      : V >= V_th while armed; re-arm once V < V_th - hysteresis

    The numpy reference: ``substeps`` forward-Euler or exponential-Euler sub-steps, noise and
    the spike rule as described in the module docstring.

    Parameters
    ----------
    state
        Population state (not modified).
    v_in_volts
        Input voltage per neuron, shape ``(n,)`` (or a scalar for all), held for the whole step.
    params
        Model parameters, e.g. :data:`ZHAO2025`.
    dt_us
        Step in integer microseconds (> 0).
    rng
        Source of the noise; required when ``params.noisy``, unused otherwise. Each sub-step
        draws ``standard_normal((2, n))`` (filament row, then residue row).
    substeps
        Sub-steps per step (``h = dt_us/substeps``); ``dt_us=1, substeps=2`` is the 0.5 µs
        reference step.
    method
        ``"euler"`` (reference) or ``"exponential"`` (exponential Euler, accurate at larger h).

    Returns
    -------
    (new_state, output)
        The state after the step and a :class:`DiffusiveNeuronOutput`.

    Raises
    ------
    ValueError
        On a non-finite or wrongly shaped input, a non-positive ``dt_us``, ``substeps < 1``, an
        unknown method, or noise without ``rng``.
    """
    _check_common(params, dt_us, rng, substeps, method)
    if not isinstance(state, DiffusiveNeuronState):
        raise TypeError(f"state must be DiffusiveNeuronState, got {type(state).__name__}")
    n = state.n
    v_in = np.asarray(v_in_volts, dtype=np.float64)
    if v_in.ndim == 0:
        v_in = np.full(n, float(v_in))
    _check_inputs(v_in, (n,), "one value per neuron")

    h_s = dt_us * 1e-6 / substeps
    h_us = dt_us / substeps
    (mu, alpha, beta, k_f, g2, inv_lam, r_on, r_off_n, c_g, g_c, v_th, v_rearm, refrac_us,
     sig_f, sig_r, dec_f, dec_r, _a, _v_to, _v_dd) = _constants(params, h_s)  # fmt: skip
    exponential = method == "exponential"
    noisy = params.noisy

    f = state.filament.copy()
    r = state.residue.copy()
    v = state.v_gate_volts.copy()
    armed = state.armed.copy()
    refrac = state.refrac_left_us.copy()
    count = np.zeros(n, dtype=np.int64)

    for _ in range(substeps):
        x = f + r
        drive = v_in - v
        e = np.where(drive > 0.0, drive / (alpha + np.abs(1.0 - x)), 0.0)
        xc = np.clip(x, 0.0, 1.0)
        g_d = 1.0 / (r_on * xc + r_off_n * np.expm1((1.0 - xc) * inv_lam))
        gain_f = mu * e
        loss_f = k_f * f
        gain_r = beta * f
        loss_r = g2 * r
        if exponential:
            df = (gain_f / k_f - f) * dec_f
            dr = (gain_r / g2 - r) * dec_r
            g = g_d + g_c
            dv = (v_in * g_d / g - v) * -np.expm1(-h_s * g / c_g)
        else:
            df = (gain_f - loss_f) * h_s
            dr = (gain_r - loss_r) * h_s
            dv = (drive * g_d - v * g_c) * (h_s / c_g)
        if noisy:
            assert rng is not None
            z = rng.standard_normal((2, n))
            df = df + np.sqrt(sig_f * (gain_f + loss_f) * h_s) * z[0]
            dr = dr + np.sqrt(sig_r * (gain_r + loss_r) * h_s) * z[1]
        r = np.clip(r + dr, 0.0, 1.0)
        f = np.clip(f + df, 0.0, 1.0 - r)
        v = v + dv
        # Schmitt trigger with dead time.
        refrac = np.maximum(refrac - h_us, 0.0)
        fire = armed & (v >= v_th) & (refrac <= _REFRAC_EPS_US)
        count += fire
        refrac = np.where(fire, refrac_us, refrac)
        armed = np.where(armed, ~fire, v < v_rearm)

    new_state = DiffusiveNeuronState(f, r, v, armed, refrac)
    out = DiffusiveNeuronOutput(count, v >= v_th, diffusive_output_volts(v, params))
    return new_state, out


# --------------------------------------------------------------------------------------------
# numba twin: many steps in one compiled call
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _out_volts(v, a, v_to, v_dd):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    v_ov = max(v - v_to, 0.0)
    vds_sat = v_dd - a * v_ov * v_ov
    if vds_sat >= v_ov:
        return v_dd - vds_sat
    b = 1.0 + 2.0 * a * v_ov
    return v_dd - 2.0 * v_dd / (b + math.sqrt(max(b * b - 4.0 * a * v_dd, 0.0)))


@numba.njit(cache=True, nogil=True)
def _run_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    f, r, v, armed, refrac, v_in, dt_us, substeps, c, exponential, noisy, rng, traces
):
    """Integrate ``v_in.shape[0]`` steps in place on (f, r, v, armed, refrac).

    Returns (spike_step, spike_t_us, spike_neuron, count); ``traces`` is (4, n_steps, n) or
    (4, 0, 0) for none. Arithmetic mirrors :func:`diffusive_step` operation by operation.
    """
    (mu, alpha, beta, k_f, g2, inv_lam, r_on, r_off_n, c_g, g_c, v_th, v_rearm, refrac_us,
     sig_f, sig_r, dec_f, dec_r, a_out, v_to, v_dd) = c  # fmt: skip
    n_steps, n = v_in.shape
    h_s = dt_us * 1e-6 / substeps
    h_us = dt_us / substeps
    want_traces = traces.shape[1] > 0
    zf = np.zeros(n)
    zr = np.zeros(n)
    cap = 64
    sp_step = np.empty(cap, dtype=np.int64)
    sp_t = np.empty(cap, dtype=np.int64)
    sp_neuron = np.empty(cap, dtype=np.int64)
    count = 0
    for s in range(n_steps):
        for k in range(substeps):
            if noisy:
                for i in range(n):
                    zf[i] = rng.standard_normal()
                for i in range(n):
                    zr[i] = rng.standard_normal()
            for i in range(n):
                vi = v_in[s, i]
                fi = f[i]
                ri = r[i]
                vg = v[i]
                x = fi + ri
                drive = vi - vg
                e = drive / (alpha + abs(1.0 - x)) if drive > 0.0 else 0.0
                xc = min(max(x, 0.0), 1.0)
                g_d = 1.0 / (r_on * xc + r_off_n * math.expm1((1.0 - xc) * inv_lam))
                gain_f = mu * e
                loss_f = k_f * fi
                gain_r = beta * fi
                loss_r = g2 * ri
                if exponential:
                    df = (gain_f / k_f - fi) * dec_f
                    dr = (gain_r / g2 - ri) * dec_r
                    g = g_d + g_c
                    dv = (vi * g_d / g - vg) * -math.expm1(-h_s * g / c_g)
                else:
                    df = (gain_f - loss_f) * h_s
                    dr = (gain_r - loss_r) * h_s
                    dv = (drive * g_d - vg * g_c) * (h_s / c_g)
                if noisy:
                    df = df + math.sqrt(sig_f * (gain_f + loss_f) * h_s) * zf[i]
                    dr = dr + math.sqrt(sig_r * (gain_r + loss_r) * h_s) * zr[i]
                ri = min(max(ri + dr, 0.0), 1.0)
                fi = min(max(fi + df, 0.0), 1.0 - ri)
                vg = vg + dv
                f[i] = fi
                r[i] = ri
                v[i] = vg
                left = max(refrac[i] - h_us, 0.0)
                if armed[i]:
                    if vg >= v_th and left <= 1e-9:
                        armed[i] = False
                        left = refrac_us
                        if count == cap:
                            cap *= 2
                            sp_step = _grow(sp_step, cap)
                            sp_t = _grow(sp_t, cap)
                            sp_neuron = _grow(sp_neuron, cap)
                        sp_step[count] = s
                        # end of the sub-step, rounded up to a whole microsecond
                        sp_t[count] = -((-(s * substeps + k + 1) * dt_us) // substeps)
                        sp_neuron[count] = i
                        count += 1
                elif vg < v_rearm:
                    armed[i] = True
                refrac[i] = left
        if want_traces:
            for i in range(n):
                traces[0, s, i] = f[i]
                traces[1, s, i] = r[i]
                traces[2, s, i] = v[i]
                traces[3, s, i] = _out_volts(v[i], a_out, v_to, v_dd)
    return sp_step[:count].copy(), sp_t[:count].copy(), sp_neuron[:count].copy()


@numba.njit(cache=True, nogil=True)
def _grow(a, cap):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    out = np.empty(cap, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


def diffusive_run(
    state: DiffusiveNeuronState,
    v_in_volts: npt.ArrayLike,
    params: DiffusiveNeuronParams,
    dt_us: int,
    rng: np.random.Generator | None = None,
    *,
    substeps: int = 1,
    method: Method = "euler",
    traces: bool = False,
) -> tuple[DiffusiveNeuronState, DiffusiveNeuronRecord]:
    """Integrate ``n_steps`` steps of :func:`diffusive_step` in one compiled call.

    Equations (Zhao et al., Nature Electronics 8:1211, 2025, supplementary compact model)::

        x          = F + R                      0 <= F, 0 <= R, x <= 1 (clipped each sub-step)
        E          = (V_in - V)/(alpha + |1 - x|)   if V_in > V, else 0
        dF/dt      = mu*E - (gamma1 + beta)*F   (+ noise)
        dR/dt      = beta*F - gamma2*R          (+ noise)
        C_g*dV/dt  = (V_in - V)/R_d(x) - V/R_c
        R_d(x)     = R_on*x + R_off*(exp((1 - x)/lam) - 1)/(exp(1/lam) - 1)
        spike      : V >= V_th while armed; re-arm once V < V_th - hysteresis

    Same integrator, spike rule and random stream as calling :func:`diffusive_step` once per row
    of ``v_in_volts`` (tested equal), without a Python loop per step or per neuron.

    Parameters
    ----------
    state
        Population state of ``n`` neurons (not modified).
    v_in_volts
        Input voltages, shape ``(n_steps, n)``: row ``s`` is held during step ``s``.
    params, dt_us, rng, substeps, method
        As for :func:`diffusive_step`.
    traces
        Also return the state at the end of every step (memory ``4 * 8 * n_steps * n`` bytes).

    Returns
    -------
    (new_state, record)
        The state after the last step and a :class:`DiffusiveNeuronRecord`.
    """
    _check_common(params, dt_us, rng, substeps, method)
    if not isinstance(state, DiffusiveNeuronState):
        raise TypeError(f"state must be DiffusiveNeuronState, got {type(state).__name__}")
    n = state.n
    # One compiled signature for every caller: C-contiguous float64 (copies broadcast views).
    v_in = np.ascontiguousarray(v_in_volts, dtype=np.float64)
    if v_in.ndim != 2:
        raise ValueError(
            f"v_in_volts must have shape (n_steps, {n}) (one row per step), got {v_in.shape}"
        )
    _check_inputs(v_in, (v_in.shape[0], n), "one row per step, one column per neuron")
    n_steps = v_in.shape[0]
    f = state.filament.copy()
    r = state.residue.copy()
    v = state.v_gate_volts.copy()
    armed = state.armed.copy()
    refrac = state.refrac_left_us.copy()
    buf = np.zeros((4, n_steps, n) if traces else (4, 0, 0))
    gen = rng if rng is not None else np.random.default_rng(0)  # typed placeholder, never drawn
    c = _constants(params, dt_us * 1e-6 / substeps)
    sp_step, sp_t, sp_neuron = _run_kernel(
        f, r, v, armed, refrac, v_in, int(dt_us), int(substeps), c,
        method == "exponential", params.noisy, gen, buf,
    )  # fmt: skip
    record = DiffusiveNeuronRecord(
        spike_step=sp_step,
        spike_t_us=sp_t,
        spike_neuron=sp_neuron,
        n_neurons=n,
        filament=buf[0] if traces else None,
        residue=buf[1] if traces else None,
        v_gate_volts=buf[2] if traces else None,
        v_out_volts=buf[3] if traces else None,
    )
    return DiffusiveNeuronState(f, r, v, armed, refrac), record
