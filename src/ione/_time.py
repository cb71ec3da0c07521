"""Time in ione: integer microseconds everywhere.

Every timestamp and duration inside ione is an integer number of microseconds (``int`` or
``numpy.int64``), named with a ``_us`` suffix. Seconds and milliseconds appear only at the edges
(configuration files, reports, NWB export), and this module is the only place that converts to
and from them, so rounding happens in exactly one way: to the nearest microsecond, halves away
from zero.

The legacy 2020 hub counted in 50 µs ticks; :data:`TICK_50US` and :func:`ticks_to_us` /
:func:`us_to_ticks` convert those.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "TICK_50US",
    "T_MAX_US",
    "T_MIN_US",
    "US_PER_MS",
    "US_PER_S",
    "ms_to_us",
    "seconds_to_us",
    "ticks_to_us",
    "us_to_ms",
    "us_to_seconds",
    "us_to_ticks",
]

US_PER_MS = 1_000
US_PER_S = 1_000_000
#: Duration of one tick of the 2020 hub's clock (SYSTEM.md §1.4).
TICK_50US = 50
#: Range of representable event times: ±2**62 µs (about ±146,000 years). Keeping two bits of
#: head-room lets the wire format take the difference of any two valid times without overflow.
T_MAX_US = (1 << 62) - 1
T_MIN_US = -(1 << 62)


def _round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def seconds_to_us(seconds: float) -> int:
    """Convert seconds to integer microseconds (nearest, halves away from zero).

    Raises
    ------
    ValueError
        If ``seconds`` is NaN, infinite, or outside the representable range.
    """
    return _scalar_to_us(seconds, US_PER_S, "seconds")


def ms_to_us(milliseconds: float) -> int:
    """Convert milliseconds to integer microseconds (nearest, halves away from zero)."""
    return _scalar_to_us(milliseconds, US_PER_MS, "milliseconds")


def _scalar_to_us(value: float, scale: int, unit: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"expected a number of {unit}, got a bool")
    if isinstance(value, int):
        result = value * scale
    else:
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"time in {unit} must be finite, got {value!r}")
        result = _round_half_away(v * scale)
    if not T_MIN_US <= result <= T_MAX_US:
        raise ValueError(f"time {value!r} {unit} is outside the representable range of ±2**62 µs")
    return result


def us_to_seconds(t_us: int | npt.NDArray[np.int64]) -> float | npt.NDArray[np.float64]:
    """Convert integer microseconds to seconds (float64; exact below 2**53 µs)."""
    if isinstance(t_us, np.ndarray):
        return t_us.astype(np.float64) / US_PER_S
    return int(t_us) / US_PER_S


def us_to_ms(t_us: int | npt.NDArray[np.int64]) -> float | npt.NDArray[np.float64]:
    """Convert integer microseconds to milliseconds (float64)."""
    if isinstance(t_us, np.ndarray):
        return t_us.astype(np.float64) / US_PER_MS
    return int(t_us) / US_PER_MS


def ticks_to_us(ticks: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Convert 50 µs hub ticks to microseconds (exact)."""
    return np.asarray(ticks, dtype=np.int64) * TICK_50US


def us_to_ticks(t_us: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Convert microseconds to 50 µs hub ticks, rounding to the nearest tick (halves up).

    Rounding each value independently can accumulate error when the ticks are later summed as
    intervals; :func:`ione.wire.ramp8.events_to_silicon` rounds absolute times first and then
    takes differences, so its cumulative error stays below half a tick.
    """
    t = np.asarray(t_us, dtype=np.int64)
    return np.floor_divide(t + TICK_50US // 2, TICK_50US)
