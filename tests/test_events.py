"""Event blocks and addresses."""

from __future__ import annotations

import numpy as np
import pytest

from ione.events import (
    EVENT_DTYPE,
    KeyRange,
    as_events,
    concat_events,
    empty_events,
    is_time_sorted,
    key_neuron,
    make_events,
    make_key,
    sort_events,
    split_key,
    time_slice,
)


def test_dtype_is_the_documented_one() -> None:
    assert EVENT_DTYPE.names == ("t_us", "key", "value")
    assert EVENT_DTYPE["t_us"] == np.int64 and EVENT_DTYPE["key"] == np.uint32
    assert EVENT_DTYPE["value"] == np.float32 and EVENT_DTYPE.itemsize == 16


def test_make_events_broadcasts_and_validates() -> None:
    ev = make_events([1, 2, 3], 7)
    assert ev["key"].tolist() == [7, 7, 7] and ev["value"].tolist() == [0, 0, 0]
    ev = make_events(np.arange(3), [1, 2, 3], 0.5)
    assert ev["value"].tolist() == [0.5] * 3
    with pytest.raises(ValueError, match="integer microseconds"):
        make_events([1.5], [1])
    with pytest.raises(ValueError, match="32 bits"):
        make_events([1], [2**32])
    with pytest.raises(ValueError, match="2\\*\\*62"):
        make_events([2**62], [1])


def test_addresses_hold_a_million_neurons_per_population() -> None:
    keys = make_key(15, 255, [0, 2**20 - 1])
    site, pop, neuron = split_key(keys)
    assert site.tolist() == [15, 15] and pop.tolist() == [255, 255]
    assert neuron.tolist() == [0, 2**20 - 1]
    with pytest.raises(ValueError, match=r"neuron must be in 0 \.\.\. 1048575"):
        make_key(0, 0, 2**20)
    with pytest.raises(ValueError, match="site"):
        make_key(16, 0, 0)
    r = KeyRange.population(2, 3)
    assert len(r) == 2**20 and int(make_key(2, 3, 5)) in r and int(make_key(2, 4, 0)) not in r
    assert key_neuron(make_key(2, 3, 12345)).tolist() == 12345


def test_sort_concat_slice() -> None:
    a = make_events([30, 10, 20, 10], [1, 2, 3, 1])
    s = sort_events(a)
    assert s["t_us"].tolist() == [10, 10, 20, 30] and s["key"].tolist() == [1, 2, 3, 1]
    assert is_time_sorted(s) and not is_time_sorted(a)
    c = concat_events([s, make_events([40], [9])])
    assert c.size == 5 and c.dtype == EVENT_DTYPE
    assert time_slice(c, 10, 30)["t_us"].tolist() == [10, 10, 20]
    assert time_slice(c, 35, 20).size == 0
    assert concat_events([]).size == 0 and empty_events(3).size == 3


def test_as_events_converts_or_explains() -> None:
    other = np.zeros(2, [("value", "<f4"), ("t_us", "<i8"), ("key", "<u4"), ("extra", "u1")])
    other["t_us"] = [5, 6]
    ev = as_events(other)
    assert ev.dtype == EVENT_DTYPE and ev["t_us"].tolist() == [5, 6]
    with pytest.raises(TypeError, match="missing field"):
        as_events(np.zeros(2, [("t_us", "<i8")]))
    with pytest.raises(TypeError, match="field 'key' has dtype"):
        as_events(np.zeros(2, [("t_us", "<i8"), ("key", "<i8"), ("value", "<f4")]))
    with pytest.raises(TypeError, match="numpy array"):
        as_events([1, 2])
    strided = make_events(np.arange(10), np.arange(10))[::2]
    assert as_events(strided).flags.c_contiguous
