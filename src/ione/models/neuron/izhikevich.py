"""Izhikevich point neurons (Izhikevich, IEEE Trans. Neural Netw. 14(6):1569-1572, 2003).

The model::

    dv/dt = 0.04 v² + 5 v + 140 - u + I
    du/dt = a (b v - u)
    if v >= v_peak (30 mV):  v <- c,  u <- u + d

with v in mV and t in ms. The 2003 paper calls its variables and parameters dimensionless; here
they carry the units that make the equation consistent on a 1 pF membrane: I in pA, so that 1 pA
moves v by 1 mV/ms (the current unit of NEST's ``izhikevich``), u in mV/ms, ``a`` and ``b`` in
1/ms, ``c`` in mV and ``d`` in mV/ms (the units of PyNN's ``Izhikevich``).

Numerics
--------
Each step of ``dt`` integrates v with two forward-Euler half steps of ``dt/2`` and then u with one
step of ``dt`` using the new v, exactly the scheme of the paper's MATLAB listing (which used
``dt`` = 1 ms). A half step that reaches ``v_peak`` ends the step: v is clipped to ``v_peak``, a
spike is emitted and the reset is applied in the same step. The spike is stamped at the **start**
of the step, so every spike of a run over ``[t, t + T)`` lies in that half-open interval.

``dt`` = 1 ms reproduces the paper's figures. The explicit scheme converges slowly on the spike
upstroke, so fast cells are the most sensitive: at 10 pA for 500 ms, the spike counts relative to
``dt`` = 25 µs are RS 12/12, IB 18/18, CH 46/48, FS 65/68 at 0.1 ms, and RS 12/12, IB 18/18,
CH 39/48, FS 59/68 at 0.25 ms. :data:`IZHIKEVICH_DT_US` (0.1 ms) keeps every preset within 5 %.
Steps above :data:`IZHIKEVICH_MAX_DT_US` (1 ms) are refused: the quadratic term makes Euler
unstable.

Two implementations are kept and tested equal bit for bit: :func:`izhikevich_step` (numpy
reference, one step of a population) and :func:`izhikevich_run` (a numba kernel that integrates
many steps in compiled code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, NamedTuple

import numba
import numpy as np
import numpy.typing as npt

__all__ = [
    "CHATTERING",
    "FAST_SPIKING",
    "INTRINSICALLY_BURSTING",
    "IZHIKEVICH_DT_US",
    "IZHIKEVICH_MAX_DT_US",
    "REGULAR_SPIKING",
    "IzhikevichParams",
    "IzhikevichRun",
    "IzhikevichState",
    "izhikevich_initial_state",
    "izhikevich_resting_potential_mv",
    "izhikevich_run",
    "izhikevich_step",
]

#: Largest supported time step (µs): the paper's 1 ms (two 0.5 ms half steps for v).
IZHIKEVICH_MAX_DT_US: Final = 1000
#: Recommended time step (µs): spike counts of every preset within 5 % of the dt -> 0 limit.
IZHIKEVICH_DT_US: Final = 100

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class IzhikevichParams:
    """Parameters of one Izhikevich cell type (units as in PyNN's ``Izhikevich``).

    Attributes
    ----------
    a_per_ms
        Rate of the recovery variable u (1/ms); small ``a`` is slow recovery.
    b_per_ms
        Sensitivity of u to the subthreshold v (1/ms).
    c_mv
        After-spike reset of v (mV).
    d_mv_per_ms
        After-spike increment of u (mV/ms, i.e. pA on the 1 pF membrane).
    v_peak_mv
        Spike cut-off (mV); 30 mV in the paper.
    i_offset_pa
        Constant bias current (pA) added to every input.
    """

    a_per_ms: float
    b_per_ms: float
    c_mv: float
    d_mv_per_ms: float
    v_peak_mv: float = 30.0
    i_offset_pa: float = 0.0

    def __post_init__(self) -> None:
        for name in ("a_per_ms", "b_per_ms", "c_mv", "d_mv_per_ms", "v_peak_mv", "i_offset_pa"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"IzhikevichParams.{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"IzhikevichParams.{name} must be finite, got {value!r}")
        if self.a_per_ms <= 0.0:
            raise ValueError(f"IzhikevichParams.a_per_ms must be > 0, got {self.a_per_ms}")
        if self.c_mv >= self.v_peak_mv:
            raise ValueError(
                f"IzhikevichParams.c_mv ({self.c_mv}) must lie below v_peak_mv ({self.v_peak_mv})"
            )


#: Regular spiking (RS), the typical excitatory cortical cell: tonic firing with adapting ISIs.
#: Izhikevich 2003, Fig. 2.
REGULAR_SPIKING: Final = IzhikevichParams(a_per_ms=0.02, b_per_ms=0.2, c_mv=-65.0, d_mv_per_ms=8.0)
#: Intrinsically bursting (IB): an initial burst, then tonic spikes. Izhikevich 2003, Fig. 2.
INTRINSICALLY_BURSTING: Final = IzhikevichParams(
    a_per_ms=0.02, b_per_ms=0.2, c_mv=-55.0, d_mv_per_ms=4.0
)
#: Chattering (CH): repetitive bursts of closely spaced spikes. Izhikevich 2003, Fig. 2.
CHATTERING: Final = IzhikevichParams(a_per_ms=0.02, b_per_ms=0.2, c_mv=-50.0, d_mv_per_ms=2.0)
#: Fast spiking (FS), the typical inhibitory interneuron: high rate, no adaptation.
#: Izhikevich 2003, Fig. 2.
FAST_SPIKING: Final = IzhikevichParams(a_per_ms=0.1, b_per_ms=0.2, c_mv=-65.0, d_mv_per_ms=2.0)


@dataclass(frozen=True, slots=True, eq=False)
class IzhikevichState:
    """Membrane state of a population, one element per neuron.

    Attributes
    ----------
    v_mv
        Membrane potential (mV).
    u_mv_per_ms
        Recovery variable (mV/ms).
    """

    v_mv: FloatArray
    u_mv_per_ms: FloatArray

    def __post_init__(self) -> None:
        if self.v_mv.ndim != 1 or self.v_mv.shape != self.u_mv_per_ms.shape:
            raise ValueError(
                "IzhikevichState needs 1-D v_mv and u_mv_per_ms of equal shape, got "
                f"{self.v_mv.shape} and {self.u_mv_per_ms.shape}"
            )

    @property
    def n(self) -> int:
        """Number of neurons."""
        return int(self.v_mv.shape[0])


class IzhikevichRun(NamedTuple):
    """Result of :func:`izhikevich_run`."""

    state: IzhikevichState  # state after the last step
    spike_step: npt.NDArray[np.int64]  # step index of each spike (spike at t0 + step * dt)
    spike_neuron: npt.NDArray[np.int64]  # neuron index of each spike
    v_mv: FloatArray  # (n_steps, n) membrane trace at the end of each step, or (0, n)

    def spike_times_us(self, dt_us: int, t0_us: int = 0) -> npt.NDArray[np.int64]:
        """Spike times in integer µs: ``t0_us + spike_step * dt_us``."""
        return t0_us + self.spike_step * np.int64(dt_us)


def izhikevich_resting_potential_mv(params: IzhikevichParams, i_pa: float = 0.0) -> float:
    """The stable resting potential for a constant current, in mV.

    The lower root of ``0.04 v² + (5 - b) v + 140 + I = 0`` (the fixed point where u = b v).

    Raises
    ------
    ValueError
        If the current is above rheobase, so that no resting state exists.
    """
    p = 5.0 - params.b_per_ms
    disc = p * p - 4.0 * 0.04 * (140.0 + params.i_offset_pa + i_pa)
    if disc < 0.0:
        raise ValueError(
            f"no resting state: I = {params.i_offset_pa + i_pa} pA is above rheobase "
            f"({p * p / 0.16 - 140.0:.3g} pA) for b = {params.b_per_ms}"
        )
    return (-p - math.sqrt(disc)) / 0.08


def izhikevich_initial_state(
    n: int, params: IzhikevichParams, rng: np.random.Generator | None = None
) -> IzhikevichState:
    """``n`` neurons at rest (v at :func:`izhikevich_resting_potential_mv`, u = b v).

    Above rheobase, where no rest exists, v starts at ``c`` and u at ``b c``. With ``rng``, v is
    spread uniformly over ±5 mV around that point (u kept at b v), to desynchronise a population.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    try:
        v0 = izhikevich_resting_potential_mv(params)
    except ValueError:
        v0 = params.c_mv
    v = np.full(int(n), v0, dtype=np.float64)
    if rng is not None:
        v += rng.uniform(-5.0, 5.0, size=int(n))
    return IzhikevichState(v_mv=v, u_mv_per_ms=params.b_per_ms * v)


def _check_dt(dt_us: int) -> float:
    if isinstance(dt_us, bool) or not isinstance(dt_us, int | np.integer):
        raise TypeError(f"dt_us must be an integer number of microseconds, got {dt_us!r}")
    if not 0 < dt_us <= IZHIKEVICH_MAX_DT_US:
        raise ValueError(f"dt_us must be in 1 ... {IZHIKEVICH_MAX_DT_US} µs, got {dt_us}")
    return float(dt_us) / 1000.0


def _update_reference(
    v: FloatArray,
    u: FloatArray,
    i_pa: FloatArray | float,
    a: FloatArray | float,
    b: FloatArray | float,
    c: FloatArray | float,
    d: FloatArray | float,
    v_peak: float,
    dt_ms: float,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """One step of the scheme in the module docstring, vectorised (numpy reference)."""
    h = 0.5 * dt_ms
    v1 = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + i_pa)
    first = v1 >= v_peak
    v1c = np.where(first, v_peak, v1)  # keeps the second half step finite where it is unused
    v2 = np.where(first, v_peak, v1c + h * (0.04 * v1c * v1c + 5.0 * v1c + 140.0 - u + i_pa))
    fired = v2 >= v_peak
    vv = np.where(fired, v_peak, v2)
    u_new = u + dt_ms * (a * (b * vv - u))
    v_out = np.where(fired, c, vv)
    u_out = np.where(fired, u_new + d, u_new)
    return v_out, u_out, fired


@numba.njit(cache=True, nogil=True)
def _update_one(v, u, i_pa, a, b, c, d, v_peak, dt_ms):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """One step of one neuron; the arithmetic matches :func:`_update_reference` exactly.

    Returns ``(v, u, fired)``. Also compiled into :mod:`.culture`'s kernel. numba's on-disk
    cache tracks only the file of the cached function, so after editing this function clear
    ``__pycache__`` (or touch culture.py); the run-equals-step tests catch a stale kernel.
    """
    h = 0.5 * dt_ms
    v1 = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + i_pa)
    v2 = v_peak if v1 >= v_peak else v1 + h * (0.04 * v1 * v1 + 5.0 * v1 + 140.0 - u + i_pa)
    fired = v2 >= v_peak
    if fired:
        v2 = v_peak
    u_new = u + dt_ms * (a * (b * v2 - u))
    if fired:
        return c, u_new + d, True
    return v2, u_new, False


@numba.njit(cache=True, nogil=True)
def _run_kernel(v, u, i_pa, a, b, c, d, v_peak, dt_ms, n_steps, record):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    n = v.shape[0]
    v = v.copy()
    u = u.copy()
    per_step = i_pa.shape[0] > 1
    trace = np.empty((n_steps if record else 0, n), dtype=np.float64)
    cap = 1024
    s_step = np.empty(cap, dtype=np.int64)
    s_neuron = np.empty(cap, dtype=np.int64)
    count = 0
    for k in range(n_steps):
        row = k if per_step else 0
        for j in range(n):
            vj, uj, fired = _update_one(v[j], u[j], i_pa[row, j], a, b, c, d, v_peak, dt_ms)
            v[j] = vj
            u[j] = uj
            if fired:
                if count == cap:
                    cap *= 2
                    grown_step = np.empty(cap, dtype=np.int64)
                    grown_neuron = np.empty(cap, dtype=np.int64)
                    grown_step[:count] = s_step[:count]
                    grown_neuron[:count] = s_neuron[:count]
                    s_step = grown_step
                    s_neuron = grown_neuron
                s_step[count] = k
                s_neuron[count] = j
                count += 1
        if record:
            trace[k, :] = v
    return v, u, s_step[:count].copy(), s_neuron[:count].copy(), trace


def izhikevich_step(
    state: IzhikevichState,
    i_pa: npt.ArrayLike,
    params: IzhikevichParams,
    dt_us: int,
    rng: np.random.Generator | None = None,
) -> tuple[IzhikevichState, npt.NDArray[np.bool_]]:
    """Advance a population by one step (numpy reference).

    dv/dt = 0.04 v² + 5 v + 140 - u + I,  du/dt = a (b v - u),  v >= v_peak: v <- c, u <- u + d
    (Izhikevich, IEEE Trans. Neural Netw. 14(6):1569, 2003), integrated as in the module docstring.

    Parameters
    ----------
    state
        Current membrane state.
    i_pa
        Input current (pA), a scalar or one value per neuron, held over the step.
        ``params.i_offset_pa`` is added.
    params
        Cell parameters (for example :data:`REGULAR_SPIKING`).
    dt_us
        Time step, 1 ... :data:`IZHIKEVICH_MAX_DT_US` µs.
    rng
        Not used: the neuron is deterministic and noise enters through ``i_pa``. Accepted so that
        every kernel has the same signature.

    Returns
    -------
    (new_state, fired)
        ``fired[j]`` is True when neuron j spiked during the step (reset already applied).

    Raises
    ------
    ValueError
        If ``dt_us`` is out of range or ``i_pa`` has the wrong shape or a non-finite value.
    """
    del rng
    dt_ms = _check_dt(dt_us)
    i = np.asarray(i_pa, dtype=np.float64)
    if i.ndim > 1 or (i.ndim == 1 and i.shape[0] != state.n):
        raise ValueError(f"i_pa must be a scalar or have shape ({state.n},), got {i.shape}")
    if not np.all(np.isfinite(i)):
        raise ValueError("i_pa must be finite (found NaN or inf)")
    v, u, fired = _update_reference(
        state.v_mv,
        state.u_mv_per_ms,
        i + params.i_offset_pa,
        params.a_per_ms,
        params.b_per_ms,
        params.c_mv,
        params.d_mv_per_ms,
        params.v_peak_mv,
        dt_ms,
    )
    return IzhikevichState(v_mv=v, u_mv_per_ms=u), fired


def izhikevich_run(
    state: IzhikevichState,
    i_pa: npt.ArrayLike,
    params: IzhikevichParams,
    dt_us: int,
    n_steps: int,
    *,
    record_v: bool = False,
) -> IzhikevichRun:
    """Integrate ``n_steps`` steps in compiled code (numba twin of :func:`izhikevich_step`).

    Same equations and arithmetic as :func:`izhikevich_step`; the two are tested equal bit for bit.

    Parameters
    ----------
    state
        Initial membrane state.
    i_pa
        Input current (pA): a scalar, one value per neuron ``(n,)`` held for the whole run, or one
        row per step ``(n_steps, n)``. ``params.i_offset_pa`` is added.
    params
        Cell parameters.
    dt_us
        Time step, 1 ... :data:`IZHIKEVICH_MAX_DT_US` µs.
    n_steps
        Number of steps (>= 0).
    record_v
        Also return v after every step, shape ``(n_steps, n)``.

    Returns
    -------
    IzhikevichRun
        Final state, spikes as (step index, neuron index) in time order, and the optional trace.
    """
    dt_ms = _check_dt(dt_us)
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    n = state.n
    i = np.asarray(i_pa, dtype=np.float64)
    if i.ndim == 0:
        i2 = np.full((1, n), float(i))
    elif i.shape == (n,):
        i2 = i.reshape(1, n)
    elif i.shape == (n_steps, n):
        i2 = i
    else:
        raise ValueError(
            f"i_pa must be a scalar or have shape ({n},) or ({n_steps}, {n}), got {i.shape}"
        )
    if not np.all(np.isfinite(i2)):
        raise ValueError("i_pa must be finite (found NaN or inf)")
    i2 = np.ascontiguousarray(i2 + params.i_offset_pa)
    v, u, s_step, s_neuron, trace = _run_kernel(
        np.ascontiguousarray(state.v_mv, dtype=np.float64),
        np.ascontiguousarray(state.u_mv_per_ms, dtype=np.float64),
        i2,
        float(params.a_per_ms),
        float(params.b_per_ms),
        float(params.c_mv),
        float(params.d_mv_per_ms),
        float(params.v_peak_mv),
        dt_ms,
        int(n_steps),
        bool(record_v),
    )
    return IzhikevichRun(IzhikevichState(v_mv=v, u_mv_per_ms=u), s_step, s_neuron, trace)
