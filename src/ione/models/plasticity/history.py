"""Spike histories: the last ``depth`` spike times of every neuron, in ring buffers.

The 2020 hub kept, for each neuron, its last 100 spikes and counted those within one second of a
post-synaptic trigger (SYSTEM.md §1.2). :class:`SpikeHistory` keeps exactly that, for whole
populations, with numba kernels: recording a block of spikes and counting the spikes of many
neurons in a window cost no Python loop per spike or per neuron.

Layout: ``times[i, s]`` is the ring buffer of neuron ``i``; ``meta[i]`` holds, side by side in one
cache line, the number of spikes ever recorded, the window pointer (sequence number of the oldest
spike not yet known to have left the window), the newest spike time and the time at the pointer.
Queries in time order (the real-time case) move the pointer forward only, so a count is O(1)
amortised and touches ``meta`` alone.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["SpikeHistory", "count_window", "last_one"]

_EMPTY = np.iinfo(np.int64).min  # marks a slot that never held a spike
TOTAL, FIRST, NEWEST, OLDEST = 0, 1, 2, 3  # columns of meta


@numba.njit(cache=True, nogil=True)
def _record(times, meta, neurons, t_us):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Append spikes; returns the index of the first out-of-order spike (recording nothing),
    or -1 when all were recorded."""
    depth = times.shape[1]
    n = neurons.shape[0]
    before = np.empty(n, dtype=np.int64)
    for k in range(n):  # check the order first, so that a bad block records nothing
        i = neurons[k]
        before[k] = meta[i, NEWEST]
        if t_us[k] < meta[i, NEWEST]:  # NEWEST starts at INT64_MIN: a first spike always passes
            for j in range(k - 1, -1, -1):
                meta[neurons[j], NEWEST] = before[j]
            return k
        meta[i, NEWEST] = t_us[k]
    for k in range(n):
        i = neurons[k]
        if meta[i, FIRST] == meta[i, TOTAL]:
            meta[i, OLDEST] = t_us[k]  # the oldest spike the window pointer has not passed yet
        times[i, meta[i, TOTAL] % depth] = t_us[k]
        meta[i, TOTAL] += 1
    return -1


@numba.njit(cache=True, nogil=True)
def _advance(times, meta, i, lo):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Move neuron ``i``'s window pointer past spikes older than ``lo``; return the count."""
    depth = times.shape[1]
    tot = meta[i, TOTAL]
    f = meta[i, FIRST]
    if f < tot - depth:  # the spike it pointed at has been overwritten
        f = tot - depth
        meta[i, OLDEST] = times[i, f % depth]
    while f < tot and meta[i, OLDEST] < lo:
        f += 1
        if f < tot:
            meta[i, OLDEST] = times[i, f % depth]
    meta[i, FIRST] = f
    return tot - f


@numba.njit(cache=True, nogil=True)
def _scan(times, meta, i, lo, t_us):  # type: ignore[no-untyped-def]  # pragma: no cover
    c = 0
    for s in range(min(meta[i, TOTAL], times.shape[1])):
        ts = times[i, s]
        if lo <= ts <= t_us:
            c += 1
    return c


@numba.njit(cache=True, nogil=True)
def count_window(times, meta, clock, neurons, t_us, window_us, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    """For each neuron, its spikes among its last ``depth`` with ``0 <= t_us - t <= window_us``.

    ``clock[0]`` is the latest query time and ``clock[1]`` the window the pointers serve (set by
    the first query). A query at or after ``clock[0]`` with that window uses the window pointers
    (moving them forward); any other query, or one for a neuron with spikes after ``t_us``, scans
    the neuron's buffer and leaves the pointers alone. (The fast path is written out here rather
    than in a helper: a call per neuron would cost more than the work.)
    """
    lo = t_us - window_us
    depth = times.shape[1]
    if clock[1] < 0:
        clock[1] = window_us
    in_order = t_us >= clock[0] and window_us == clock[1]
    if in_order:
        clock[0] = t_us
    for k in range(neurons.shape[0]):
        i = neurons[k]
        tot = meta[i, TOTAL]
        if tot == 0:
            out[k] = 0
        elif in_order and meta[i, NEWEST] <= t_us:
            f = meta[i, FIRST]
            if f >= tot - depth and (f == tot or meta[i, OLDEST] >= lo):
                out[k] = tot - f  # nothing left the window since the pointer last moved
            else:
                out[k] = _advance(times, meta, i, lo)
        else:
            out[k] = _scan(times, meta, i, lo, t_us)


@numba.njit(cache=True, nogil=True)
def last_one(times, meta, i, t_us):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Latest spike of neuron ``i`` at or before ``t_us`` (INT64_MIN if none)."""
    best = np.iinfo(np.int64).min
    if meta[i, NEWEST] <= t_us:
        return meta[i, NEWEST]
    for s in range(min(meta[i, TOTAL], times.shape[1])):
        ts = times[i, s]
        if best < ts <= t_us:
            best = ts
    return best


@numba.njit(cache=True, nogil=True)
def _last_before(times, meta, neurons, t_us, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    for k in range(neurons.shape[0]):
        out[k] = last_one(times, meta, neurons[k], t_us)


class SpikeHistory:
    """The last ``depth`` spike times (µs) of each of ``n`` neurons.

    Spikes are recorded in time order per neuron (as they happen; a block that breaks the order
    is refused whole). When a neuron's buffer is full its oldest spike is overwritten, so only its
    last ``depth`` spikes ever count — the "last 100 spikes" of the hub's rule.
    """

    def __init__(self, n: int, depth: int = 100) -> None:
        if n < 0 or depth < 1:
            raise ValueError(f"need n >= 0 neurons and depth >= 1, got n={n}, depth={depth}")
        self.n = n
        self.depth = depth
        self._times = np.full((n, depth), _EMPTY, dtype=np.int64)
        self._meta = np.zeros((n, 4), dtype=np.int64)
        self._meta[:, NEWEST] = _EMPTY
        self._meta[:, OLDEST] = _EMPTY
        self._clock = np.array([_EMPTY, -1], dtype=np.int64)  # latest query, pointer window

    @property
    def recorded(self) -> int:
        """Spikes recorded so far (all neurons)."""
        return int(self._meta[:, TOTAL].sum())

    def record(self, neurons: npt.ArrayLike, t_us: npt.ArrayLike) -> None:
        """Append spikes: neuron indices and their times (broadcast), in time order."""
        idx = np.asarray(neurons, dtype=np.int64).ravel()
        t = np.ascontiguousarray(np.broadcast_to(np.asarray(t_us, dtype=np.int64), idx.shape))
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            raise ValueError(f"neuron index outside 0 ... {self.n - 1}")
        bad = _record(self._times, self._meta, idx, t)
        if bad >= 0:
            raise ValueError(
                f"spike {bad} of neuron {idx[bad]} at {t[bad]} µs is older than that neuron's "
                "latest spike: record spikes in time order"
            )

    def count(self, neurons: npt.ArrayLike, t_us: int, window_us: int) -> npt.NDArray[np.int64]:
        """Spikes of each neuron with ``0 <= t_us - t_spike <= window_us`` among its last
        ``depth``."""
        idx = np.asarray(neurons, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            raise ValueError(f"neuron index outside 0 ... {self.n - 1}")
        out = np.empty(idx.size, dtype=np.int64)
        count_window(*self.arrays, idx, np.int64(t_us), np.int64(window_us), out)
        return out

    def last_before(self, neurons: npt.ArrayLike, t_us: int) -> npt.NDArray[np.int64]:
        """Time of each neuron's latest spike at or before ``t_us`` (``INT64_MIN`` if none)."""
        idx = np.asarray(neurons, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            raise ValueError(f"neuron index outside 0 ... {self.n - 1}")
        out = np.empty(idx.size, dtype=np.int64)
        _last_before(self._times, self._meta, idx, np.int64(t_us), out)
        return out

    @property
    def arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(times, meta, clock): the buffers the numba kernels work on."""
        return self._times, self._meta, self._clock

    @property
    def times(self) -> npt.NDArray[np.int64]:
        """The ring buffers (read-only view), ``INT64_MIN`` where a slot is empty."""
        view = self._times.view()
        view.flags.writeable = False
        return view
