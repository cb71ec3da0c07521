"""Quantities with units at the edge of a description: ``"25 s"``, ``"10 Hz"``, ``"4.8 kohm"``.

An experiment file writes every physical quantity of its own keys as a string holding a number
and a unit, so that no value is ever read in the wrong unit. Inside ione durations become integer
microseconds through :mod:`ione._time` (the one place that rounds), rates float hertz and
resistances float ohms.

========== =============================================== =============================
quantity   units accepted                                  stored as
========== =============================================== =============================
duration   ``us`` (or ``µs``), ``ms``, ``s``, ``min``, ``h``   ``int`` µs (``*_us`` fields)
rate       ``Hz``, ``kHz``                                 ``float`` Hz (``*_hz``)
resistance ``ohm`` (``Ω``), ``kohm`` (``kΩ``), ``Mohm`` (``MΩ``)   ``float`` Ω (``*_ohm``)
========== =============================================== =============================

Model parameters (``params`` tables) are different: they are the fields of the ione.models
parameter classes, whose names carry their unit (``tau_m_ms``, ``i_dc_na``), and take plain
numbers.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Final

from ione._time import US_PER_MS, US_PER_S, ms_to_us, seconds_to_us
from ione.network._errors import ConfigError

__all__ = [
    "format_duration",
    "format_rate",
    "format_resistance",
    "parse_duration",
    "parse_rate",
    "parse_resistance",
    "show",
]

_QUANTITY: Final = re.compile(
    r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([^\d\s.+-][^\s]*)\s*$"
)
_MAX_EXPONENT: Final = 300  # |number| < 1e301: far beyond any quantity, safe from overflow
_DURATION_UNITS: Final = {
    "us": 1,
    "µs": 1,  # micro sign
    "μs": 1,  # Greek mu
    "ms": 1_000,
    "s": 1_000_000,
    "min": 60_000_000,
    "h": 3_600_000_000,
}
_RATE_UNITS: Final = {"Hz": Decimal(1), "kHz": Decimal(1000)}
_OHM_UNITS: Final = {
    "ohm": Decimal(1),
    "Ohm": Decimal(1),
    "Ω": Decimal(1),
    "kohm": Decimal(1000),
    "kOhm": Decimal(1000),
    "kΩ": Decimal(1000),
    "Mohm": Decimal(10**6),
    "MOhm": Decimal(10**6),
    "MΩ": Decimal(10**6),
}


def show(value: object) -> str:
    """A value as a user wrote it in TOML: strings quoted, booleans lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return repr(value)


def _split(value: object, what: str, example: str, units: str, key: str) -> tuple[Decimal, str]:
    expected = f"expected {what} with a unit, such as {example} (units: {units})"
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ConfigError(f"{expected}, got {show(value)}: a number without a unit", key=key)
        raise ConfigError(f"{expected}, got {show(value)}", key=key)
    m = _QUANTITY.match(value)
    if m is None:
        raise ConfigError(f"{expected}, got {show(value)}", key=key)
    try:
        number = Decimal(m.group(1))
    except ArithmeticError:  # pragma: no cover - the pattern only admits decimal numbers
        raise ConfigError(f"{expected}, got {show(value)}", key=key) from None
    if number and number.adjusted() > _MAX_EXPONENT:
        raise ConfigError(f"expected {what} of a representable size, got {show(value)}", key=key)
    return number, m.group(2)


def parse_duration(value: object, key: str = "", *, minimum_us: int | None = 0) -> int:
    """A duration string (``"25 s"``, ``"250 us"``) as integer microseconds.

    Parameters
    ----------
    value
        The value found in the description.
    key
        Its key path, for the error message.
    minimum_us
        Smallest accepted duration (µs): 0 by default, 1 for "positive"; None for no bound.

    Raises
    ------
    ConfigError
        If the value is not a string with a number and a unit of time, or below the minimum.
    """
    units = "us, ms, s, min, h"
    number, unit = _split(value, "a duration", '"25 s" or "250 ms"', units, key)
    if unit not in _DURATION_UNITS:
        raise ConfigError(
            f'expected a duration with a unit of time ({units}), got {show(value)}: "{unit}" is '
            "not a unit of time",
            key=key,
        )
    scale = _DURATION_UNITS[unit]
    try:
        if scale == US_PER_S:
            t_us = seconds_to_us(float(number))
        elif scale == US_PER_MS:
            t_us = ms_to_us(float(number))
        else:
            t_us = seconds_to_us(float(number * scale) / US_PER_S)
    except (ValueError, OverflowError):
        raise ConfigError(
            f"expected a representable duration, got {show(value)}", key=key
        ) from None
    if minimum_us is not None and t_us < minimum_us:
        bound = {0: "a non-negative duration", 1: "a positive duration"}.get(
            minimum_us, f"a duration of at least {format_duration(minimum_us)}"
        )
        raise ConfigError(f"expected {bound}, got {show(value)}", key=key)
    return t_us


def format_duration(t_us: int) -> str:
    """Integer microseconds as the shortest exact string: ``"25 s"``, ``"250 ms"``, ``"7 us"``."""
    if t_us % US_PER_S == 0:
        return f"{t_us // US_PER_S} s"
    if t_us % US_PER_MS == 0:
        return f"{t_us // US_PER_MS} ms"
    return f"{t_us} us"


def _scaled(number: Decimal, scale: Decimal, value: object, key: str, what: str) -> float:
    result = float(number * scale)
    if not math.isfinite(result):  # pragma: no cover - _split bounds the number
        raise ConfigError(f"expected a finite {what}, got {show(value)}", key=key)
    return result


def parse_rate(value: object, key: str = "") -> float:
    """A rate string (``"10 Hz"``, ``"0.2 kHz"``) as float hertz.

    Raises
    ------
    ConfigError
        If the value is not a string with a number and a unit of rate.
    """
    number, unit = _split(value, "a rate", '"10 Hz"', "Hz, kHz", key)
    if unit not in _RATE_UNITS:
        raise ConfigError(
            f'expected a rate with a unit (Hz, kHz), got {show(value)}: "{unit}" is not a unit of '
            "rate",
            key=key,
        )
    return _scaled(number, _RATE_UNITS[unit], value, key, "rate")


def parse_resistance(value: object, key: str = "") -> float:
    """A resistance string (``"4.8 kohm"``, ``"5000 ohm"``, ``"9 kΩ"``) as float ohms.

    Raises
    ------
    ConfigError
        If the value is not a string with a number and a unit of resistance.
    """
    units = "ohm, kohm, Mohm or Ω, kΩ, MΩ"
    number, unit = _split(value, "a resistance", '"4.8 kohm"', units, key)
    if unit not in _OHM_UNITS:
        raise ConfigError(
            f'expected a resistance with a unit ({units}), got {show(value)}: "{unit}" is not a '
            "unit of resistance",
            key=key,
        )
    return _scaled(number, _OHM_UNITS[unit], value, key, "resistance")


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def format_rate(rate_hz: float) -> str:
    """Hertz as a string that parses back to the same float: ``"10 Hz"``, ``"2.5 Hz"``."""
    return f"{_plain(Decimal(repr(float(rate_hz))))} Hz"


def format_resistance(r_ohm: float) -> str:
    """Ohms as a string that parses back to the same float: ``"4.8 kohm"``, ``"470 ohm"``."""
    exact = Decimal(repr(float(r_ohm)))
    if abs(exact) >= 1000:
        return f"{_plain(exact / 1000)} kohm"
    return f"{_plain(exact)} ohm"
