"""The diffusive (volatile) memristor compact model of T. Wang et al., IEEE TCAS-AI 1(2):141
(2024): a silver filament grows under bias, ruptures stochastically, and dissolves when the bias
is removed, leaving a slowly decaying residue."""

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

__all__ = ["WANG2024", "Diffusive", "DiffusiveParams", "DiffusiveState"]


@dataclass(frozen=True, slots=True)
class DiffusiveParams:
    """Parameters of the diffusive memristor (SYSTEM.md §2.2, after Wang et al. 2024).

    ``growth_rate_per_s`` is the rate of the capped growth term ``min(1, ...)``: the published
    decay rates are per second, and with a growth capped at 1 per second the filament could never
    outgrow its own decay (``γ1 = 50 /s``); ione therefore reads the growth term per millisecond
    (1000 /s) [default], which turns a device on within about a millisecond at 1 V and lets it
    relax within ~20 ms (``1/(γ1 + β)``), the volatile behaviour the device is known for.
    """

    alpha: float = 0.1
    lam: float = 0.1
    r_on_ohm: float = 17e3
    r_off_ohm: float = 10e9
    mu_per_v: float = 16.0
    beta_per_s: float = 0.2
    gamma1_per_s: float = 50.0
    gamma2_per_s: float = 0.42
    eta: float = 0.01
    kappa_per_s: float = 200.0
    m: float = 2.0
    capacitance_f: float = 10e-12
    growth_rate_per_s: float = 1000.0
    step_us: int = 10

    def __post_init__(self) -> None:
        for f in fields(self):
            check_finite(f"DiffusiveParams.{f.name}", getattr(self, f.name))
        for name in ("alpha", "lam", "r_on_ohm", "r_off_ohm", "gamma1_per_s", "gamma2_per_s",
                     "growth_rate_per_s"):  # fmt: skip
            if getattr(self, name) <= 0:
                raise ValueError(f"DiffusiveParams.{name} must be positive")
        for name in ("mu_per_v", "beta_per_s", "eta", "kappa_per_s", "m"):
            if getattr(self, name) < 0:
                raise ValueError(f"DiffusiveParams.{name} must be >= 0")
        if self.eta >= 1:
            raise ValueError("DiffusiveParams.eta (fraction lost per rupture) must be < 1")
        if self.r_on_ohm >= self.r_off_ohm:
            raise ValueError("DiffusiveParams needs r_on_ohm < r_off_ohm")
        if not isinstance(self.step_us, int) or self.step_us < 1:
            raise ValueError("DiffusiveParams.step_us must be a positive integer")
        if abs(self.gamma1_per_s + self.beta_per_s - self.gamma2_per_s) < 1e-9:
            raise ValueError("DiffusiveParams: gamma1 + beta must differ from gamma2")


#: The parameter set of SYSTEM.md §2.2 (Wang et al. 2024).
WANG2024 = DiffusiveParams()


@dataclass(frozen=True, slots=True)
class DiffusiveState:
    """Filament ``f`` and residue ``r`` of every device, ``f, r >= 0``, ``f + r <= 1``."""

    f: FloatArray
    r: FloatArray

    def __len__(self) -> int:
        return int(self.f.shape[0])


@numba.njit(cache=True, nogil=True)
def _advance(f, r, volts, active, steps, h, gmax, mu, alpha, a, beta, g2, kappa, m, eta, rng):  # type: ignore[no-untyped-def]  # pragma: no cover
    """``steps`` exponential-integrator steps of length ``h`` (s) for every active device."""
    fo = f.copy()
    ro = r.copy()
    ea = math.exp(-a * h)
    e2 = math.exp(-g2 * h)
    cross = (ea - e2) / (g2 - a)
    for i in range(f.shape[0]):
        if not active[i]:
            continue
        fi = fo[i]
        ri = ro[i]
        av = abs(volts[i])
        for _ in range(steps):
            g = 0.0
            if av > 0.0:
                g = gmax * min(1.0, mu * av / (alpha + max(0.0, 1.0 - fi - ri)))
            fs = g / a  # the filament's fixed point under this drive
            # exact solution of f' = g - a f, r' = beta f - g2 r over one step
            rn = ri * e2 + beta * (fs * (1.0 - e2) / g2 + (fi - fs) * cross)
            fn = fs + (fi - fs) * ea
            fi = max(0.0, fn)
            ri = max(0.0, rn)
            if fi + ri > 1.0:
                fi = max(0.0, 1.0 - ri)
            if kappa > 0.0 and fi > 0.0 and rng.random() < 1.0 - math.exp(-kappa * fi**m * h):
                fi -= eta * fi
        fo[i] = fi
        ro[i] = ri
    return fo, ro


@dataclass(frozen=True, slots=True)
class Diffusive:
    """Arrays of diffusive (volatile) memristors.

    .. math::

        \\frac{df}{dt} = G \\min\\left(1, \\frac{\\mu |V|}{\\alpha + (1 - f - r)}\\right)
        - \\gamma_1 f - \\beta f - (\\text{stochastic rupture}),\\qquad
        \\frac{dr}{dt} = \\beta f - \\gamma_2 r

        f, r \\ge 0,\\ f + r \\le 1;\\ \\text{each step a rupture happens with probability }
        1 - e^{-\\kappa f^m \\Delta t} \\text{ and removes } \\eta f

        R = R_{on} \\min(f + r, 1) + R_{off}
        \\frac{e^{(1 - \\min(f + r, 1))/\\lambda} - 1}{e^{1/\\lambda} - 1}

    (T. Wang et al., IEEE TCAS-AI 1(2):141, 2024; SYSTEM.md §2.2; ``G`` see
    :class:`DiffusiveParams`). The linear part is integrated exactly over steps of
    ``params.step_us`` with the drive held constant within a step; ruptures are drawn from
    ``rng``. At 0 V the filament dissolves: the device relaxes back to its off state.
    Reads are modelled as instantaneous and non-disturbing.
    """

    params: DiffusiveParams = WANG2024

    def initial_state(self, n: int, rng: np.random.Generator | None = None) -> DiffusiveState:
        """``n`` devices in the off state (no filament, no residue)."""
        return DiffusiveState(np.zeros(n), np.zeros(n))

    def _run(
        self, state: DiffusiveState, volts: FloatArray, active: npt.NDArray[np.bool_],
        duration_us: int, rng: np.random.Generator | None,
    ) -> DiffusiveState:  # fmt: skip
        p = self.params
        if duration_us == 0 or not active.any():
            return state
        if p.kappa_per_s > 0 and rng is None:
            raise ValueError("stochastic rupture needs an rng (or set kappa_per_s=0)")
        steps, rest = divmod(duration_us, p.step_us)
        f, r = state.f, state.r
        rng_ = rng if rng is not None else np.random.default_rng(0)  # unused when kappa == 0
        a = p.gamma1_per_s + p.beta_per_s
        args = (p.growth_rate_per_s, p.mu_per_v, p.alpha, a, p.beta_per_s, p.gamma2_per_s,
                p.kappa_per_s, p.m, p.eta, rng_)  # fmt: skip
        if steps:
            f, r = _advance(f, r, volts, active, steps, p.step_us * 1e-6, *args)
        if rest:
            f, r = _advance(f, r, volts, active, 1, rest * 1e-6, *args)
        return DiffusiveState(f, r)

    def apply_pulses(
        self,
        state: DiffusiveState,
        volts: npt.ArrayLike,
        width_us: int,
        mask: npt.ArrayLike | None = None,
        rng: np.random.Generator | None = None,
    ) -> DiffusiveState:
        """A pulse of ``width_us`` to the devices in ``mask``; the others relax meanwhile."""
        n = len(state)
        width = check_duration("width_us", width_us)
        v = np.where(as_mask(mask, n), as_volts(volts, n), 0.0)
        return self._run(state, v, np.ones(n, dtype=bool), width, rng)

    def idle(
        self, state: DiffusiveState, duration_us: int, rng: np.random.Generator | None = None
    ) -> DiffusiveState:
        """Time passes at 0 V: the filament dissolves (volatility)."""
        n = len(state)
        d = check_duration("duration_us", duration_us)
        return self._run(state, np.zeros(n), np.ones(n, dtype=bool), d, rng)

    def resistance(self, state: DiffusiveState) -> FloatArray:
        p = self.params
        x = np.minimum(state.f + state.r, 1.0)
        off = np.expm1((1.0 - x) / p.lam) / math.expm1(1.0 / p.lam)
        return np.asarray(p.r_on_ohm * x + p.r_off_ohm * off, dtype=np.float64)

    def read(self, state: DiffusiveState, v_read: float = 0.1) -> FloatArray:
        """Read current, A (ohmic)."""
        check_finite("v_read", v_read)
        return v_read / self.resistance(state)
