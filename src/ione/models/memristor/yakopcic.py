"""The Yakopcic generalised memristor model (Yakopcic et al., IEEE EDL 32(10), 2011)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numba
import numpy as np
import numpy.typing as npt

from ione.models.memristor._interface import (
    FloatArray,
    as_mask,
    as_volts,
    check_duration,
    check_finite,
)

__all__ = ["YAKOPCIC_DEFAULT", "Yakopcic", "YakopcicParams", "YakopcicState"]

#: Largest change of the state per integration sub-step.
_MAX_DX = 0.01


@dataclass(frozen=True, slots=True)
class YakopcicParams:
    """Yakopcic parameters (SYSTEM.md §2.2 default set). Thresholds in volts, ``a_p``/``a_n``
    in 1/s, ``a1``/``a2`` in amperes."""

    a1: float = 0.17
    a2: float = 0.17
    b_per_v: float = 0.05
    v_p: float = 0.16
    v_n: float = 0.15
    a_p_per_s: float = 4000.0
    a_n_per_s: float = 4000.0
    x_p: float = 0.3
    x_n: float = 0.5
    alpha_p: float = 1.0
    alpha_n: float = 5.0
    x0: float = 0.11
    eta: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            check_finite(f"YakopcicParams.{f.name}", getattr(self, f.name))
        if self.v_p <= 0 or self.v_n <= 0:
            raise ValueError("YakopcicParams needs positive thresholds v_p and v_n")
        if not (0 <= self.x_p < 1 and 0 <= self.x_n < 1):
            raise ValueError("YakopcicParams needs 0 <= x_p, x_n < 1")
        if not 0 <= self.x0 <= 1:
            raise ValueError("YakopcicParams.x0 must lie in [0, 1]")
        if self.eta not in (1.0, -1.0):
            raise ValueError("YakopcicParams.eta is the direction of motion: +1 or -1")


#: The default set of SYSTEM.md §2.2.
YAKOPCIC_DEFAULT = YakopcicParams()


@dataclass(frozen=True, slots=True)
class YakopcicState:
    """State variable ``x ∈ [0, 1]`` of every device (more ``x``: more current)."""

    x: FloatArray

    def __len__(self) -> int:
        return int(self.x.shape[0])


@numba.njit(cache=True, nogil=True)
def _dxdt(x, g, xp, xn, ap, an):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    if g > 0:
        if x >= xp:
            return g * math.exp(-ap * (x - xp)) * ((xp - x) / (1.0 - xp) + 1.0)
        return g
    if g < 0:
        if x <= 1.0 - xn:
            return g * math.exp(an * (x + xn - 1.0)) * (x / (1.0 - xn))
        return g
    return 0.0


@numba.njit(cache=True, nogil=True)
def _integrate_kernel(x, g, width_s, xp, xn, ap, an, max_dx):  # type: ignore[no-untyped-def]  # pragma: no cover
    """RK4 over one pulse for every device, each with as many sub-steps as its rate needs."""
    out = x.copy()
    for i in range(x.shape[0]):
        gi = g[i]
        if gi == 0.0:
            continue
        nsub = max(1, math.ceil(abs(gi) * width_s / max_dx))
        h = width_s / nsub
        xi = out[i]
        for _ in range(nsub):
            k1 = _dxdt(xi, gi, xp, xn, ap, an)
            k2 = _dxdt(xi + 0.5 * h * k1, gi, xp, xn, ap, an)
            k3 = _dxdt(xi + 0.5 * h * k2, gi, xp, xn, ap, an)
            k4 = _dxdt(xi + h * k3, gi, xp, xn, ap, an)
            xi = xi + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0
            xi = min(1.0, max(0.0, xi))
        out[i] = xi
    return out


def _window_np(x: FloatArray, g: FloatArray, p: YakopcicParams) -> FloatArray:
    up = np.where(
        x >= p.x_p, np.exp(-p.alpha_p * (x - p.x_p)) * ((p.x_p - x) / (1 - p.x_p) + 1), 1.0
    )
    down = np.where(x <= 1 - p.x_n, np.exp(p.alpha_n * (x + p.x_n - 1)) * (x / (1 - p.x_n)), 1.0)
    return np.asarray(g * np.where(g > 0, up, np.where(g < 0, down, 0.0)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Yakopcic:
    """Arrays of Yakopcic devices.

    .. math::

        I = a_1 x \\sinh(b V)\\ (V \\ge 0),\\quad a_2 x \\sinh(b V)\\ (V < 0)

        g(V) = A_p (e^V - e^{V_p})\\ (V > V_p),\\quad -A_n (e^{-V} - e^{V_n})\\ (V < -V_n),
        \\quad 0\\ \\text{otherwise}

        \\frac{dx}{dt} = \\eta\\, g(V)\\, f(x)

    with the windows of Yakopcic et al.: while ``x`` rises, ``f = e^{-α_p (x - x_p)} w_p(x)``
    above ``x_p`` (``w_p = (x_p - x)/(1 - x_p) + 1``) and 1 below; while it falls,
    ``f = e^{α_n (x + x_n - 1)} w_n(x)`` below ``1 - x_n`` (``w_n = x / (1 - x_n)``) and 1 above.
    A pulse is integrated with RK4 in sub-steps that change ``x`` by at most 0.01 (numba); a
    vectorised numpy version with a common step is kept as the reference. Positive pulses raise
    ``x`` (and the current), i.e. lower the resistance. (Yakopcic, Taha, Subramanyam, Pino, Rogers,
    IEEE Electron Device Letters 32(10):1436, 2011.)
    """

    params: YakopcicParams = YAKOPCIC_DEFAULT
    v_read: float = 0.1

    def __post_init__(self) -> None:
        check_finite("v_read", self.v_read)
        if self.v_read == 0:
            raise ValueError("v_read must be non-zero to define a resistance")

    def initial_state(
        self, n: int, rng: np.random.Generator | None = None, x: npt.ArrayLike | None = None
    ) -> YakopcicState:
        x0 = self.params.x0 if x is None else x
        xs = np.array(np.broadcast_to(np.asarray(x0, dtype=np.float64), (n,)))
        if not np.all((xs >= 0) & (xs <= 1)):
            raise ValueError("Yakopcic states must lie in [0, 1]")
        return YakopcicState(xs)

    def drive_per_s(self, volts: npt.ArrayLike) -> FloatArray:
        """``η g(V)`` for each voltage (1/s)."""
        p = self.params
        v = np.asarray(volts, dtype=np.float64)
        g = np.where(v > p.v_p, p.a_p_per_s * (np.exp(v) - math.exp(p.v_p)), 0.0)
        g = np.where(v < -p.v_n, -p.a_n_per_s * (np.exp(-v) - math.exp(p.v_n)), g)
        return np.asarray(p.eta * g, dtype=np.float64)

    def apply_pulses(
        self,
        state: YakopcicState,
        volts: npt.ArrayLike,
        width_us: int,
        mask: npt.ArrayLike | None = None,
        rng: np.random.Generator | None = None,
    ) -> YakopcicState:
        n = len(state)
        width = check_duration("width_us", width_us)
        g = np.where(as_mask(mask, n), self.drive_per_s(as_volts(volts, n)), 0.0)
        p = self.params
        x = _integrate_kernel(state.x, g, width * 1e-6, p.x_p, p.x_n, p.alpha_p, p.alpha_n, _MAX_DX)
        return YakopcicState(x)

    def apply_pulses_reference(
        self, state: YakopcicState, volts: npt.ArrayLike, width_us: int, substeps: int
    ) -> YakopcicState:
        """Vectorised numpy RK4 with ``substeps`` common steps (the reference for the kernel)."""
        n = len(state)
        g = self.drive_per_s(as_volts(volts, n))
        h = check_duration("width_us", width_us) * 1e-6 / substeps
        x = state.x.copy()
        p = self.params
        for _ in range(substeps):
            k1 = _window_np(x, g, p)
            k2 = _window_np(x + 0.5 * h * k1, g, p)
            k3 = _window_np(x + 0.5 * h * k2, g, p)
            k4 = _window_np(x + h * k3, g, p)
            x = np.clip(x + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6, 0.0, 1.0)
        return YakopcicState(x)

    def idle(
        self, state: YakopcicState, duration_us: int, rng: np.random.Generator | None = None
    ) -> YakopcicState:
        """Non-volatile: nothing changes at 0 V."""
        check_duration("duration_us", duration_us)
        return state

    def read(self, state: YakopcicState, v_read: float | None = None) -> FloatArray:
        """Read current, A."""
        v = self.v_read if v_read is None else v_read
        check_finite("v_read", v)
        a = self.params.a1 if v >= 0 else self.params.a2
        return a * state.x * math.sinh(self.params.b_per_v * v)

    def resistance(self, state: YakopcicState) -> FloatArray:
        """``v_read / I(v_read)``; infinite for ``x = 0``."""
        with np.errstate(divide="ignore"):
            return np.asarray(self.v_read / self.read(state), dtype=np.float64)
