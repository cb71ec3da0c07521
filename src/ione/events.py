"""Events: the one structured dtype that carries spikes and events through every layer.

An *event block* is a 1-D numpy array of :data:`EVENT_DTYPE`:

========  =========  ==========================================================================
field     dtype      meaning
========  =========  ==========================================================================
``t_us``  ``<i8``    time of the event on its **source** clock, integer microseconds
``key``   ``<u4``    32-bit address of the neuron (or channel, or synapse) that produced it
``value`` ``<f4``    weight, amplitude or event type; 0 for a plain spike
========  =========  ==========================================================================

Address layout (``key``), most significant bit first::

    31      28 27            20 19                                     0
    +---------+----------------+----------------------------------------+
    |  site   |   population   |                 neuron                 |
    | 4 bits  |     8 bits     |                20 bits                 |
    +---------+----------------+----------------------------------------+

so 16 sites, 256 populations per site and 2**20 = 1,048,576 neurons per population. The layout
is a convention of ione's own tools (:func:`make_key`, :func:`split_key`); the wire carries any
32-bit key unchanged.

No function here builds a Python object per event: everything is a numpy operation over the block.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from ione._time import T_MAX_US, T_MIN_US

__all__ = [
    "EVENT_DTYPE",
    "NEURON_BITS",
    "POPULATION_BITS",
    "SITE_BITS",
    "EventBlock",
    "KeyRange",
    "as_events",
    "concat_events",
    "empty_events",
    "is_time_sorted",
    "key_neuron",
    "key_population",
    "key_site",
    "make_events",
    "make_key",
    "sort_events",
    "split_key",
    "time_slice",
]

EVENT_DTYPE: Final = np.dtype([("t_us", "<i8"), ("key", "<u4"), ("value", "<f4")])
"""The event dtype: ``t_us`` (int64 µs, source clock), ``key`` (uint32 address), ``value``
(float32)."""

EventBlock = npt.NDArray[np.void]
"""Type alias for a 1-D array of :data:`EVENT_DTYPE`."""

SITE_BITS: Final = 4
POPULATION_BITS: Final = 8
NEURON_BITS: Final = 20
_NEURON_SHIFT: Final = 0
_POPULATION_SHIFT: Final = NEURON_BITS
_SITE_SHIFT: Final = NEURON_BITS + POPULATION_BITS


@dataclass(frozen=True, slots=True)
class KeyRange:
    """A half-open range of addresses ``[start, stop)`` that a site owns."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        if not (0 <= self.start <= self.stop <= 1 << 32):
            raise ValueError(
                f"KeyRange needs 0 <= start <= stop <= 2**32, got [{self.start}, {self.stop})"
            )

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self.start <= key < self.stop

    def __len__(self) -> int:
        return self.stop - self.start

    @classmethod
    def population(cls, site: int, population: int) -> KeyRange:
        """The range covering every neuron of one population of one site."""
        start = int(make_key(site, population, 0))
        return cls(start, start + (1 << NEURON_BITS))


def empty_events(n: int = 0) -> EventBlock:
    """A zero-filled block of ``n`` events."""
    return np.zeros(n, dtype=EVENT_DTYPE)


def make_events(
    t_us: npt.ArrayLike,
    key: npt.ArrayLike,
    value: npt.ArrayLike | None = None,
) -> EventBlock:
    """Build an event block from columns (broadcast against each other).

    Parameters
    ----------
    t_us
        Event times in integer microseconds on the source clock.
    key
        32-bit addresses; see :func:`make_key`.
    value
        Optional float32 values (weights, amplitudes, event types); 0 when omitted.

    Raises
    ------
    ValueError
        If a time is not an integer within ±2**62 µs or a key does not fit in 32 bits.
    """
    t = np.asarray(t_us)
    if t.dtype.kind not in "iu":
        raise ValueError(f"t_us must be integer microseconds, got dtype {t.dtype}")
    k = np.asarray(key)
    if k.dtype.kind not in "iu":
        raise ValueError(f"key must be an integer address, got dtype {k.dtype}")
    cols: list[npt.NDArray[np.generic]] = [t, k]
    if value is not None:
        cols.append(np.asarray(value, dtype=np.float32))
    shaped = [np.atleast_1d(c).ravel() for c in np.broadcast_arrays(*cols)]
    n = shaped[0].shape[0]
    if n and (shaped[0].min() < T_MIN_US or shaped[0].max() > T_MAX_US):
        raise ValueError("t_us outside the representable range of ±2**62 µs")
    if n and (int(shaped[1].min()) < 0 or int(shaped[1].max()) > 0xFFFFFFFF):
        raise ValueError("key does not fit in 32 bits (0 ... 2**32 - 1)")
    out = np.empty(n, dtype=EVENT_DTYPE)
    out["t_us"] = shaped[0]
    out["key"] = shaped[1]
    out["value"] = shaped[2] if value is not None else 0.0
    return out


def as_events(block: object, *, what: str = "events") -> EventBlock:
    """Return ``block`` as a contiguous 1-D event block, or raise a clear ``TypeError``.

    Accepts any array whose dtype has the fields of :data:`EVENT_DTYPE` with the same types
    (field order and padding may differ; such arrays are converted).
    """
    if not isinstance(block, np.ndarray):
        raise TypeError(
            f"{what} must be a numpy array of ione.events.EVENT_DTYPE, got {type(block).__name__}"
        )
    if block.dtype == EVENT_DTYPE:
        if block.ndim != 1:
            raise TypeError(f"{what} must be 1-D, got shape {block.shape}")
        return block if block.flags.c_contiguous else np.ascontiguousarray(block)
    names = block.dtype.names or ()
    missing = [f for f in EVENT_DTYPE.names or () if f not in names]
    if missing:
        raise TypeError(
            f"{what} has dtype {block.dtype}; missing field(s) {missing} of EVENT_DTYPE"
        )
    for f in EVENT_DTYPE.names or ():
        if block.dtype[f] != EVENT_DTYPE[f]:
            raise TypeError(
                f"{what} field {f!r} has dtype {block.dtype[f]}, expected {EVENT_DTYPE[f]}"
            )
    if block.ndim != 1:
        raise TypeError(f"{what} must be 1-D, got shape {block.shape}")
    out = np.empty(block.shape[0], dtype=EVENT_DTYPE)
    for f in EVENT_DTYPE.names or ():
        out[f] = block[f]
    return out


def concat_events(blocks: Iterable[EventBlock]) -> EventBlock:
    """Concatenate event blocks into one new block (order preserved)."""
    parts = [as_events(b) for b in blocks]
    if not parts:
        return empty_events()
    return np.concatenate(parts)


def sort_events(block: EventBlock) -> EventBlock:
    """Return the block sorted by time, ties broken by key; equal (time, key) keep their order."""
    order = np.lexsort((block["key"], block["t_us"]))
    out: EventBlock = block[order]
    return out


def is_time_sorted(block: EventBlock) -> bool:
    """True when ``t_us`` never decreases along the block."""
    t = block["t_us"]
    return bool(t.shape[0] < 2 or np.all(t[1:] >= t[:-1]))


def time_slice(block: EventBlock, start_us: int, stop_us: int) -> EventBlock:
    """Events with ``start_us <= t_us < stop_us`` of a **time-sorted** block, as a view.

    Uses binary search, so it costs O(log n); the block must be sorted (see
    :func:`sort_events`, :func:`is_time_sorted`).
    """
    t = block["t_us"]
    lo = int(np.searchsorted(t, start_us, side="left"))
    hi = int(np.searchsorted(t, stop_us, side="left"))
    out: EventBlock = block[lo : max(lo, hi)]
    return out


def make_key(
    site: npt.ArrayLike, population: npt.ArrayLike, neuron: npt.ArrayLike
) -> npt.NDArray[np.uint32]:
    """Compose 32-bit addresses from site (0–15), population (0–255) and neuron (0–2**20-1).

    Raises
    ------
    ValueError
        If any part is out of its range.
    """
    s = np.asarray(site, dtype=np.int64)
    p = np.asarray(population, dtype=np.int64)
    n = np.asarray(neuron, dtype=np.int64)
    for name, arr, bits in (
        ("site", s, SITE_BITS),
        ("population", p, POPULATION_BITS),
        ("neuron", n, NEURON_BITS),
    ):
        if arr.size and (arr.min() < 0 or arr.max() >= 1 << bits):
            raise ValueError(
                f"{name} must be in 0 ... {(1 << bits) - 1}, got {arr.min()} ... {arr.max()}"
            )
    key = (s << _SITE_SHIFT) | (p << _POPULATION_SHIFT) | (n << _NEURON_SHIFT)
    return key.astype(np.uint32)


def key_site(key: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """Site part of addresses."""
    return (np.asarray(key, dtype=np.uint32) >> np.uint32(_SITE_SHIFT)).astype(np.uint32)


def key_population(key: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """Population part of addresses."""
    k = np.asarray(key, dtype=np.uint32)
    return ((k >> np.uint32(_POPULATION_SHIFT)) & np.uint32((1 << POPULATION_BITS) - 1)).astype(
        np.uint32
    )


def key_neuron(key: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """Neuron part of addresses."""
    return (np.asarray(key, dtype=np.uint32) & np.uint32((1 << NEURON_BITS) - 1)).astype(np.uint32)


def split_key(
    key: npt.ArrayLike,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """Split addresses into (site, population, neuron)."""
    return key_site(key), key_population(key), key_neuron(key)
