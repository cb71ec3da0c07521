"""The interface every memristive device model offers, and shared input checks.

A *model* is an immutable object holding its parameters; a *state* is an immutable dataclass of
numpy arrays, one element per device. Every method is a pure function of its arguments::

    state = model.initial_state(n, rng)
    state = model.apply_pulses(state, volts, width_us, mask, rng)   # program (write)
    state = model.idle(state, duration_us, rng)                      # time passes at 0 V
    amps  = model.read(state, v_read)                                # read current
    ohms  = model.resistance(state)                                  # resistance as read

Voltages are volts, times integer microseconds, currents amperes, resistances ohms. ``mask``
selects the devices that receive a pulse (None: all). Noise comes only from ``rng``.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["MemristorModel", "as_mask", "as_volts", "check_duration", "check_finite"]

S = TypeVar("S")
FloatArray = npt.NDArray[np.float64]


class MemristorModel(Protocol[S]):
    """What the synapse bank and the hub need from any device model."""

    def initial_state(self, n: int, rng: np.random.Generator | None = None) -> S: ...

    def apply_pulses(
        self,
        state: S,
        volts: npt.ArrayLike,
        width_us: int,
        mask: npt.ArrayLike | None = None,
        rng: np.random.Generator | None = None,
    ) -> S: ...

    def idle(self, state: S, duration_us: int, rng: np.random.Generator | None = None) -> S: ...

    def read(self, state: S, v_read: float) -> FloatArray: ...

    def resistance(self, state: S) -> FloatArray: ...


def check_finite(name: str, value: float) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a finite number."""
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


def check_duration(name: str, value_us: int) -> int:
    """An integer number of microseconds >= 0, or ``ValueError`` naming ``name``."""
    if isinstance(value_us, bool) or not isinstance(value_us, int | np.integer):
        raise ValueError(f"{name} must be an integer number of microseconds, got {value_us!r}")
    if value_us < 0:
        raise ValueError(f"{name} must be >= 0 µs, got {value_us}")
    return int(value_us)


def as_volts(volts: npt.ArrayLike, n: int) -> FloatArray:
    """Pulse amplitudes broadcast to ``n`` devices; NaN or infinite amplitudes are refused."""
    v = np.asarray(volts, dtype=np.float64)
    try:
        v = np.broadcast_to(v, (n,))
    except ValueError:
        raise ValueError(f"volts of shape {np.shape(volts)} do not fit {n} devices") from None
    if not np.all(np.isfinite(v)):
        raise ValueError("pulse amplitudes must be finite volts (got NaN or infinity)")
    return v


def as_mask(mask: npt.ArrayLike | None, n: int) -> npt.NDArray[np.bool_]:
    """Which of ``n`` devices a pulse reaches (None: all)."""
    if mask is None:
        return np.ones(n, dtype=bool)
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValueError(f"mask must be boolean, got dtype {m.dtype}")
    try:
        return np.broadcast_to(m, (n,))
    except ValueError:
        raise ValueError(f"mask of shape {m.shape} does not fit {n} devices") from None
