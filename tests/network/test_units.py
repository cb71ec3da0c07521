"""Quantities with units at the edge: parsed once, written back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ione.network import (
    ConfigError,
    format_duration,
    format_rate,
    format_resistance,
    parse_duration,
    parse_rate,
    parse_resistance,
)


@pytest.mark.parametrize(
    ("text", "t_us"),
    [
        ("25 s", 25_000_000),
        ("250 ms", 250_000),
        ("250 us", 250),
        ("250 µs", 250),
        ("250 μs", 250),
        ("2 min", 120_000_000),
        ("1 h", 3_600_000_000),
        ("0.1 s", 100_000),
        ("1.5ms", 1_500),
        ("  1e-3 s ", 1_000),
        ("0.4 us", 0),
        ("1e-999999999 s", 0),
    ],
)
def test_durations_become_integer_microseconds(text: str, t_us: int) -> None:
    assert parse_duration(text) == t_us


@pytest.mark.parametrize(
    ("t_us", "text"), [(25_000_000, "25 s"), (250_000, "250 ms"), (1_500, "1500 us"), (0, "0 s")]
)
def test_durations_are_written_in_the_largest_exact_unit(t_us: int, text: str) -> None:
    assert format_duration(t_us) == text


@pytest.mark.parametrize(
    ("text", "ohm"),
    [("4.8 kohm", 4800.0), ("9 kΩ", 9000.0), ("470 ohm", 470.0), ("1 MΩ", 1e6), ("2 Mohm", 2e6)],
)
def test_resistances_become_ohms(text: str, ohm: float) -> None:
    assert parse_resistance(text) == ohm


def test_rates_become_hertz() -> None:
    assert parse_rate("10 Hz") == 10.0 and parse_rate("0.2 kHz") == 200.0


@given(st.integers(min_value=0, max_value=10**15))
def test_durations_round_trip(t_us: int) -> None:
    assert parse_duration(format_duration(t_us)) == t_us


@given(st.floats(min_value=0.0, max_value=1e9, allow_nan=False))
def test_rates_and_resistances_round_trip_exactly(x: float) -> None:
    assert parse_rate(format_rate(x)) == x
    assert parse_resistance(format_resistance(x)) == x


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (parse_duration, 25, "got 25: a number without a unit"),
        (parse_duration, True, "got true"),
        (parse_duration, "25", 'got "25"'),
        (parse_duration, "25 sec", '"sec" is not a unit of time'),
        (parse_duration, "-1 s", "expected a non-negative duration"),
        (parse_duration, "1e300 s", "expected a representable duration"),
        (parse_rate, "10", 'expected a rate with a unit, such as "10 Hz"'),
        (parse_rate, "10 MHz", '"MHz" is not a unit of rate'),
        (parse_rate, [10], "got an array"),
        (parse_resistance, "5 k", '"k" is not a unit of resistance'),
        (parse_resistance, {"r": 1}, "got a table"),
        (parse_resistance, "1e400 ohm", "expected a resistance of a representable size"),
        (parse_rate, "1e999999 kHz", "expected a rate of a representable size"),
        (parse_duration, "9e9999999999 min", "expected a duration of a representable size"),
    ],
)
def test_bad_quantities_say_what_was_expected(parse, value, expected) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        parse(value, "a.b")
    assert info.value.key == "a.b" and expected in str(info.value)


def test_a_minimum_can_be_lifted_or_raised() -> None:
    assert parse_duration("-1 s", minimum_us=None) == -1_000_000
    with pytest.raises(ConfigError, match="expected a duration of at least 2 ms"):
        parse_duration("1 ms", minimum_us=2_000)
