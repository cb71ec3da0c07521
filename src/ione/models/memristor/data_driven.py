"""The Southampton data-driven TiOx ReRAM model (Messaris et al., IEEE TCAD 37(12), 2018).

The state of a device is its resistance ``R`` read at 0.5 V. A rectangular pulse of amplitude
``V`` moves ``R`` toward a voltage-dependent boundary at a rate that depends on both ``V`` and
``R``: the change is state-dependent, saturating and asymmetric, so the device, not the
programming circuit, decides the size of each change (SYSTEM.md §2.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from ione.models.memristor._interface import (
    FloatArray,
    as_mask,
    as_volts,
    check_duration,
    check_finite,
)

__all__ = [
    "DATA_DRIVEN_DUT1",
    "DATA_DRIVEN_DUT2",
    "DataDriven",
    "DataDrivenParams",
    "DataDrivenState",
    "data_driven_pulse",
]


@dataclass(frozen=True, slots=True)
class DataDrivenParams:
    """Parameters of the data-driven model (symbols of Messaris et al. 2018).

    Switching rate ``s(v) = a_p (exp(t_p |v|) - 1)`` for ``v > 0`` and ``a_n (exp(t_n |v|) - 1)``
    (``a_n < 0``) for ``v < 0``, in Ω/s; state sensitivity ``k_p``, ``k_n`` in 1/Ω; boundaries
    ``r_p(v) = r_p0 + r_p1 v + r_p2 v²`` and ``r_n(v)`` likewise, in Ω. The read current is
    ``i = iv_a / R * sinh(iv_b v)``. Pulses outside ``[v_min_fit, v_max_fit]`` lie outside the
    range the parameters were fitted on.
    """

    name: str
    a_p: float
    a_n: float
    t_p_per_v: float
    t_n_per_v: float
    k_p_per_ohm: float
    k_n_per_ohm: float
    r_p0_ohm: float
    r_p1_ohm_per_v: float
    r_n0_ohm: float
    r_n1_ohm_per_v: float
    v_min_fit: float
    v_max_fit: float
    r_min_nominal_ohm: float
    r_max_nominal_ohm: float
    r_p2_ohm_per_v2: float = 0.0
    r_n2_ohm_per_v2: float = 0.0
    iv_a: float = 0.24
    iv_b_per_v: float = 2.81
    note: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float | int) and not isinstance(value, bool):
                check_finite(f"DataDrivenParams.{f.name}", value)
        if self.a_p <= 0 or self.a_n >= 0:
            raise ValueError("DataDrivenParams needs a_p > 0 and a_n < 0 (SET and RESET rates)")
        if self.k_p_per_ohm <= 0 or self.k_n_per_ohm <= 0:
            raise ValueError("DataDrivenParams needs k_p_per_ohm > 0 and k_n_per_ohm > 0")
        if not self.v_min_fit < 0 < self.v_max_fit:
            raise ValueError("DataDrivenParams needs v_min_fit < 0 < v_max_fit")
        if not 0 < self.r_min_nominal_ohm < self.r_max_nominal_ohm:
            raise ValueError("DataDrivenParams needs 0 < r_min_nominal_ohm < r_max_nominal_ohm")


#: TiOx device DUT1 (4.5–6.0 kΩ) of Messaris et al. 2018, as tabulated in SYSTEM.md §2.1.
#: Its fit covers pulses up to 2.2 V in magnitude.
DATA_DRIVEN_DUT1 = DataDrivenParams(
    name="TiOx DUT1 (Messaris et al. 2018)",
    a_p=0.12, a_n=-79.03, t_p_per_v=0.59, t_n_per_v=1.12,
    k_p_per_ohm=8.10e-3, k_n_per_ohm=9.43e-3,
    r_p0_ohm=3085.0, r_p1_ohm_per_v=1862.0, r_n0_ohm=5193.0, r_n1_ohm_per_v=378.0,
    v_min_fit=-2.2, v_max_fit=2.2, r_min_nominal_ohm=4500.0, r_max_nominal_ohm=6000.0,
)  # fmt: skip

#: TiOx device DUT2 (10–17 kΩ) of Messaris et al. 2018, as tabulated in SYSTEM.md §2.1.
#: The fitted voltage range is not given with the table; ±1.5 V is ione's default limit, and the
#: I–V coefficients are DUT1's (the only ones published with the table).
DATA_DRIVEN_DUT2 = DataDrivenParams(
    name="TiOx DUT2 (Messaris et al. 2018)",
    a_p=743.47, a_n=-68012.28, t_p_per_v=6.51, t_n_per_v=0.31645,
    k_p_per_ohm=5.11e-4, k_n_per_ohm=1.17e-3,
    r_p0_ohm=16719.0, r_p1_ohm_per_v=0.0, r_n0_ohm=29304.8, r_n1_ohm_per_v=23692.8,
    v_min_fit=-1.5, v_max_fit=1.5, r_min_nominal_ohm=10000.0, r_max_nominal_ohm=17000.0,
    note="fit range [default]; I-V coefficients of DUT1 [default]",
)  # fmt: skip


def _check_range(v: FloatArray, p: DataDrivenParams, allow_extrapolation: bool) -> None:
    if allow_extrapolation or v.size == 0:
        return
    lo, hi = float(v.min()), float(v.max())
    if lo < p.v_min_fit or hi > p.v_max_fit:
        bad = lo if lo < p.v_min_fit else hi
        raise ValueError(
            f"a {bad:+g} V pulse is outside the range {p.name} was fitted on "
            f"({p.v_min_fit:+g} ... {p.v_max_fit:+g} V); scale the pulse into that range, or pass "
            "allow_extrapolation=True to accept an extrapolated response"
        )


def _pulse(
    r0: FloatArray, v: FloatArray, t_s: float, p: DataDrivenParams,
    a_p: FloatArray | float, a_n: FloatArray | float,
    rp_shift: FloatArray | float, rn_shift: FloatArray | float,
) -> FloatArray:  # fmt: skip
    """Closed-form response of every device to one pulse (no noise, no range check)."""
    av = np.abs(v)
    r = r0.copy()
    pos = (v > 0) & (t_s > 0)
    if pos.any():
        rp = p.r_p0_ohm + p.r_p1_ohm_per_v * v + p.r_p2_ohm_per_v2 * v * v + rp_shift
        s = np.asarray(a_p) * np.expm1(p.t_p_per_v * av)  # Ω/s, > 0
        k = p.k_p_per_ohm
        go = pos & (r0 < rp)
        x = -k * s * t_s
        # R = r_p + ln(1 - (1 - exp(-k (r_p - R0))) exp(-k s t)) / k, written without cancellation
        term = -np.expm1(x) + np.exp(-k * (rp - r0)) * np.exp(x)
        moved = rp + np.log(term, where=go, out=np.ones_like(r)) / k
        # rounding must never move a device against the pulse or past its boundary
        r = np.where(go, np.minimum(np.maximum(moved, r0), rp), r)
    neg = (v < 0) & (t_s > 0)
    if neg.any():
        rn = p.r_n0_ohm + p.r_n1_ohm_per_v * v + p.r_n2_ohm_per_v2 * v * v + rn_shift
        s = np.asarray(a_n) * np.expm1(p.t_n_per_v * av)  # Ω/s, < 0
        k = p.k_n_per_ohm
        go = neg & (r0 > rn)
        x = k * s * t_s
        term = -np.expm1(x) + np.exp(-k * (r0 - rn)) * np.exp(x)
        moved = rn - np.log(term, where=go, out=np.ones_like(r)) / k
        r = np.where(go, np.maximum(np.minimum(moved, r0), rn), r)
    return r


def data_driven_pulse(
    r_ohm: npt.ArrayLike,
    volts: npt.ArrayLike,
    width_us: npt.ArrayLike,
    params: DataDrivenParams,
    *,
    allow_extrapolation: bool = False,
) -> FloatArray:
    """Resistance after one rectangular pulse, by the closed-form solution (no noise).

    .. math::

        \\frac{dR}{dt} = s(v) f(R, v),\\quad
        s(v) = A_p (e^{t_p |v|} - 1)\\ (v > 0),\\ A_n (e^{t_n |v|} - 1)\\ (v < 0)

        f = e^{k_p (r_p(v) - R)} - 1\\ \\text{while } R < r_p(v),\\qquad
        f = e^{k_n (R - r_n(v))} - 1\\ \\text{while } R > r_n(v)

    which for a pulse of amplitude ``V`` and width ``t`` from ``R_0`` integrates to

    .. math::

        R = r_p + \\frac{1}{k_p}\\ln\\left(1 - (1 - e^{-k_p (r_p - R_0)}) e^{-k_p s_p t}\\right)
        \\quad (V > 0)

        R = r_n - \\frac{1}{k_n}\\ln\\left(1 - (1 - e^{-k_n (R_0 - r_n)}) e^{k_n s_n t}\\right)
        \\quad (V < 0,\\ s_n < 0)

    (Messaris et al., IEEE TCAD 37(12), 2018; SYSTEM.md §2.1). A positive pulse raises ``R``
    toward ``r_p(V)``, a negative one lowers it toward ``r_n(V)``; a device already beyond the
    boundary does not move.

    Parameters
    ----------
    r_ohm, volts, width_us
        Broadcast against each other (numpy arrays or scalars). ``width_us`` in microseconds.
    params
        :data:`DATA_DRIVEN_DUT1`, :data:`DATA_DRIVEN_DUT2` or your own fit.
    allow_extrapolation
        Accept amplitudes outside the fitted range (``ValueError`` otherwise).
    """
    r0, v, w = np.broadcast_arrays(
        np.asarray(r_ohm, dtype=np.float64), np.asarray(volts, dtype=np.float64),
        np.asarray(width_us, dtype=np.float64),
    )  # fmt: skip
    if not (np.all(np.isfinite(r0)) and np.all(np.isfinite(v)) and np.all(np.isfinite(w))):
        raise ValueError("resistances, volts and widths must be finite")
    if np.any(r0 <= 0):
        raise ValueError("resistances must be positive ohms")
    if np.any(w < 0):
        raise ValueError("pulse widths must be >= 0 µs")
    _check_range(np.atleast_1d(v), params, allow_extrapolation)
    shape = r0.shape
    r0f, vf, wf = r0.ravel(), v.ravel(), w.ravel()
    out = np.empty_like(r0f)
    for width in np.unique(wf):  # one vectorised pass per distinct width, not per device
        sel = wf == width
        out[sel] = _pulse(r0f[sel], vf[sel], float(width) * 1e-6, params, params.a_p,
                          params.a_n, 0.0, 0.0)  # fmt: skip
    return out.reshape(shape)


@dataclass(frozen=True, slots=True)
class DataDrivenState:
    """Resistance (read at 0.5 V) of every device, and each device's fixed deviations from the
    nominal parameters (device-to-device variability)."""

    r_ohm: FloatArray
    a_p_scale: FloatArray
    a_n_scale: FloatArray
    r_p_shift_ohm: FloatArray
    r_n_shift_ohm: FloatArray

    def __len__(self) -> int:
        return int(self.r_ohm.shape[0])


@dataclass(frozen=True, slots=True)
class DataDriven:
    """Arrays of data-driven TiOx devices with cycle-to-cycle and device-to-device variability.

    .. math::

        \\frac{dR}{dt} = s(v) f(R, v),\\qquad i = \\frac{a}{R} \\sinh(b v)

    each pulse applied by the closed form of :func:`data_driven_pulse` with the device's own
    rates and boundaries, its change then scaled by a log-normal cycle-to-cycle factor
    (Messaris et al., IEEE TCAD 37(12), 2018; SYSTEM.md §2.1).

    Parameters
    ----------
    params
        The device fit (:data:`DATA_DRIVEN_DUT1` by default).
    c2c_sigma
        Cycle-to-cycle variability: every pulse's change ``ΔR`` is multiplied by a log-normal
        factor of median 1 and this log-standard deviation (SYSTEM.md §2.1 suggests 0.1–0.3
        [default]). The result never crosses the pulse's boundary.
    d2d_rate_sigma
        Device-to-device variability of the switching rates: each device's ``a_p`` and ``a_n`` are
        scaled by log-normal factors of this log-standard deviation, drawn once per device.
    d2d_boundary_sigma_ohm
        Device-to-device spread (standard deviation, Ω) of the boundaries ``r_p0`` and ``r_n0``.
    allow_extrapolation
        Accept pulses outside the fitted voltage range instead of raising ``ValueError``.
    """

    params: DataDrivenParams = DATA_DRIVEN_DUT1
    c2c_sigma: float = 0.0
    d2d_rate_sigma: float = 0.0
    d2d_boundary_sigma_ohm: float = 0.0
    allow_extrapolation: bool = False

    def __post_init__(self) -> None:
        for name in ("c2c_sigma", "d2d_rate_sigma", "d2d_boundary_sigma_ohm"):
            value = getattr(self, name)
            check_finite(name, value)
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")

    @property
    def noisy(self) -> bool:
        return self.c2c_sigma > 0

    def initial_state(
        self,
        n: int,
        rng: np.random.Generator | None = None,
        r_ohm: npt.ArrayLike | None = None,
    ) -> DataDrivenState:
        """``n`` devices at ``r_ohm`` (default: the middle of the nominal range).

        ``rng`` draws the device-to-device deviations; it is required when they are enabled.
        """
        if n < 0:
            raise ValueError(f"number of devices must be >= 0, got {n}")
        p = self.params
        r0 = (p.r_min_nominal_ohm + p.r_max_nominal_ohm) / 2 if r_ohm is None else r_ohm
        r = np.array(np.broadcast_to(np.asarray(r0, dtype=np.float64), (n,)))
        if not np.all(np.isfinite(r)) or np.any(r <= 0):
            raise ValueError("initial resistances must be finite positive ohms")
        ones, zeros = np.ones(n), np.zeros(n)
        if self.d2d_rate_sigma > 0 or self.d2d_boundary_sigma_ohm > 0:
            if rng is None:
                raise ValueError("device-to-device variability needs an rng")
            sr, sb = self.d2d_rate_sigma, self.d2d_boundary_sigma_ohm
            a_p = rng.lognormal(0.0, sr, n) if sr else ones
            a_n = rng.lognormal(0.0, sr, n) if sr else ones.copy()
            r_p = rng.normal(0.0, sb, n) if sb else zeros
            r_n = rng.normal(0.0, sb, n) if sb else zeros.copy()
            return DataDrivenState(r, a_p, a_n, r_p, r_n)
        return DataDrivenState(r, ones, ones.copy(), zeros, zeros.copy())

    def apply_pulses(
        self,
        state: DataDrivenState,
        volts: npt.ArrayLike,
        width_us: int,
        mask: npt.ArrayLike | None = None,
        rng: np.random.Generator | None = None,
    ) -> DataDrivenState:
        """One rectangular pulse to every device selected by ``mask``.

        Each device follows :func:`data_driven_pulse` with its own parameters; with
        ``c2c_sigma > 0`` the change is scaled by a fresh log-normal factor (``rng`` required).
        """
        n = len(state)
        width = check_duration("width_us", width_us)
        v = as_volts(volts, n)
        m = as_mask(mask, n)
        sel = np.flatnonzero(m & (v != 0))
        if sel.size == 0 or width == 0:
            return state
        vs = v[sel]
        _check_range(vs, self.params, self.allow_extrapolation)
        p = self.params
        r0 = state.r_ohm[sel]
        r1 = _pulse(
            r0, vs, width * 1e-6, p, p.a_p * state.a_p_scale[sel], p.a_n * state.a_n_scale[sel],
            state.r_p_shift_ohm[sel], state.r_n_shift_ohm[sel],
        )  # fmt: skip
        if self.c2c_sigma > 0:
            if rng is None:
                raise ValueError("cycle-to-cycle variability needs an rng")
            factor = rng.lognormal(0.0, self.c2c_sigma, sel.size)
            noisy = r0 + (r1 - r0) * factor
            # Noise never carries a device past the boundary the pulse drives it toward.
            up = r1 > r0
            bound_p = p.r_p0_ohm + p.r_p1_ohm_per_v * vs + p.r_p2_ohm_per_v2 * vs**2
            bound_n = p.r_n0_ohm + p.r_n1_ohm_per_v * vs + p.r_n2_ohm_per_v2 * vs**2
            bound_p = bound_p + state.r_p_shift_ohm[sel]
            bound_n = bound_n + state.r_n_shift_ohm[sel]
            r1 = np.where(up, np.minimum(noisy, np.maximum(bound_p, r0)),
                          np.maximum(noisy, np.minimum(bound_n, r0)))  # fmt: skip
        r = state.r_ohm.copy()
        r[sel] = r1
        return DataDrivenState(r, state.a_p_scale, state.a_n_scale, state.r_p_shift_ohm,
                               state.r_n_shift_ohm)  # fmt: skip

    def idle(
        self, state: DataDrivenState, duration_us: int, rng: np.random.Generator | None = None
    ) -> DataDrivenState:
        """Non-volatile: nothing changes while no pulse is applied (states hold for hours)."""
        check_duration("duration_us", duration_us)
        return state

    def read(self, state: DataDrivenState, v_read: float = 0.5) -> FloatArray:
        """Read current, A: ``i = iv_a / R * sinh(iv_b * v_read)``."""
        check_finite("v_read", v_read)
        p = self.params
        return p.iv_a / state.r_ohm * math.sinh(p.iv_b_per_v * v_read)

    def resistance(self, state: DataDrivenState) -> FloatArray:
        """The state resistance: by definition the resistance read at 0.5 V."""
        return state.r_ohm.copy()
