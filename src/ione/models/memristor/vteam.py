"""VTEAM, the voltage threshold adaptive memristor model (Kvatinsky et al., IEEE TCAS-II 62(8),
2015), with the state normalised to ``x ∈ [0, 1]`` (0: fully ON, 1: fully OFF)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import numpy.typing as npt

from ione.models.memristor._interface import (
    FloatArray,
    as_mask,
    as_volts,
    check_duration,
    check_finite,
)

__all__ = ["VTEAM_TYPICAL", "Vteam", "VteamParams", "VteamState"]


@dataclass(frozen=True, slots=True)
class VteamParams:
    """VTEAM parameters; rates ``k_off_per_s`` (> 0) and ``k_on_per_s`` (< 0) act on the
    normalised state, thresholds ``v_off`` (> 0) and ``v_on`` (< 0) are volts."""

    r_on_ohm: float = 50.0
    r_off_ohm: float = 1000.0
    k_on_per_s: float = -10.0
    k_off_per_s: float = 5e-4
    alpha_on: float = 3.0
    alpha_off: float = 1.0
    v_on: float = -0.2
    v_off: float = 0.02
    mapping: Literal["linear", "exponential"] = "linear"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float | int):
                check_finite(f"VteamParams.{f.name}", value)
        if not 0 < self.r_on_ohm < self.r_off_ohm:
            raise ValueError("VteamParams needs 0 < r_on_ohm < r_off_ohm")
        if not (self.v_on < 0 < self.v_off):
            raise ValueError("VteamParams needs v_on < 0 < v_off")
        if not (self.k_on_per_s < 0 < self.k_off_per_s):
            raise ValueError("VteamParams needs k_on_per_s < 0 < k_off_per_s")
        if self.alpha_on <= 0 or self.alpha_off <= 0:
            raise ValueError("VteamParams needs positive alpha_on and alpha_off")
        if self.mapping not in ("linear", "exponential"):
            raise ValueError(
                f"VteamParams.mapping must be 'linear' or 'exponential', got {self.mapping!r}"
            )


#: The typical VTEAM set of SYSTEM.md §2.2 (Kvatinsky et al. 2015).
VTEAM_TYPICAL = VteamParams()


@dataclass(frozen=True, slots=True)
class VteamState:
    """Normalised state of every device (0: R_on, 1: R_off)."""

    x: FloatArray

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True, slots=True)
class Vteam:
    """Arrays of VTEAM devices.

    .. math::

        \\frac{dx}{dt} = k_{off} \\left(\\frac{v}{v_{off}} - 1\\right)^{\\alpha_{off}}
        \\ (v > v_{off}),
        \\quad 0\\ (v_{on} \\le v \\le v_{off}),
        \\quad k_{on} \\left(\\frac{v}{v_{on}} - 1\\right)^{\\alpha_{on}} \\ (v < v_{on})

    with a rectangular window (``x`` clipped to [0, 1]), so a pulse of constant amplitude moves
    ``x`` linearly until a bound. ``R(x) = R_on + (R_off - R_on) x`` (linear) or
    ``R_on (R_off / R_on)^x`` (exponential). The read is ohmic, ``i = v / R``; reads below the
    thresholds do not disturb the state. Positive pulses raise ``R``.
    (Kvatinsky, Ramadan, Friedman, Kolodny, IEEE TCAS-II 62(8):786, 2015.)
    """

    params: VteamParams = VTEAM_TYPICAL

    def initial_state(
        self, n: int, rng: np.random.Generator | None = None, x: npt.ArrayLike = 0.5
    ) -> VteamState:
        xs = np.array(np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)))
        if not np.all((xs >= 0) & (xs <= 1)):
            raise ValueError("VTEAM states must lie in [0, 1]")
        return VteamState(xs)

    def rate_per_s(self, volts: npt.ArrayLike) -> FloatArray:
        """``dx/dt`` for each voltage (1/s)."""
        p = self.params
        v = np.asarray(volts, dtype=np.float64)
        up = np.where(v > p.v_off, p.k_off_per_s * np.abs(v / p.v_off - 1) ** p.alpha_off, 0.0)
        down = np.where(v < p.v_on, p.k_on_per_s * np.abs(v / p.v_on - 1) ** p.alpha_on, 0.0)
        return np.asarray(up + down, dtype=np.float64)

    def apply_pulses(
        self,
        state: VteamState,
        volts: npt.ArrayLike,
        width_us: int,
        mask: npt.ArrayLike | None = None,
        rng: np.random.Generator | None = None,
    ) -> VteamState:
        """One rectangular pulse to the devices selected by ``mask`` (exact for this window)."""
        n = len(state)
        width = check_duration("width_us", width_us)
        rate = self.rate_per_s(as_volts(volts, n))
        dx = np.where(as_mask(mask, n), rate * (width * 1e-6), 0.0)
        return VteamState(np.clip(state.x + dx, 0.0, 1.0))

    def idle(
        self, state: VteamState, duration_us: int, rng: np.random.Generator | None = None
    ) -> VteamState:
        """Non-volatile: nothing changes at 0 V."""
        check_duration("duration_us", duration_us)
        return state

    def resistance(self, state: VteamState) -> FloatArray:
        p = self.params
        if p.mapping == "linear":
            return p.r_on_ohm + (p.r_off_ohm - p.r_on_ohm) * state.x
        return p.r_on_ohm * np.exp(math.log(p.r_off_ohm / p.r_on_ohm) * state.x)

    def read(self, state: VteamState, v_read: float = 0.01) -> FloatArray:
        """Read current, A (ohmic)."""
        check_finite("v_read", v_read)
        return v_read / self.resistance(state)
