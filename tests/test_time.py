"""Integer-microsecond time conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ione import _time


def test_seconds_and_milliseconds_round_half_away_from_zero() -> None:
    assert _time.seconds_to_us(1.5) == 1_500_000
    assert _time.seconds_to_us(2) == 2_000_000
    assert _time.seconds_to_us(0.0000005) == 1
    assert _time.seconds_to_us(-0.0000005) == -1
    assert _time.ms_to_us(0.0004) == 0
    assert _time.ms_to_us(12.5) == 12_500
    assert _time.us_to_seconds(1_500_000) == 1.5
    assert _time.us_to_ms(np.array([1500]))[0] == 1.5


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e300])
def test_bad_values_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match=r"finite|range"):
        _time.seconds_to_us(bad)
    with pytest.raises(TypeError):
        _time.seconds_to_us(True)


def test_ticks() -> None:
    assert _time.ticks_to_us([200]).tolist() == [10_000]
    assert _time.us_to_ticks([24, 25, 74, 75]).tolist() == [0, 1, 1, 2]
