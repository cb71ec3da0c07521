"""Recorded spike trains as a culture: load them from the formats labs have, replay them in time.

:func:`load_spike_trains` reads a file of sorted or thresholded spikes into one
:mod:`ione.events` block (time order, integer µs from the recording's start) and a channel table
whose row ``i`` describes address key ``i``. Formats, chosen from the file:

=====================  ==========================================================================
HDF5 spike file        the sjemea / meaRtools layout (``spikes``, ``sCount``, ``names``, ``epos``)
                       used for the recordings of Cotterill et al., J. Neurophysiol. 116:306 (2016)
NWB (``.nwb``)         the Units table (pynwb); positions from the units' electrodes when present
SpikeInterface         a saved sorting (folder or ``.npz``) that ``spikeinterface.core.load`` reads
Neo                    any file a Neo IO reads (``neo.io.get_io``): NIX, Plexon, Blackrock, ...
=====================  ==========================================================================

:class:`SpikeTrainReplay` then hands out, tick by tick, the spikes that fall in each interval of
the replay's clock, at real speed or scaled, optionally looping, with searchsorted slices (no
per-spike Python work).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from ione.events import EVENT_DTYPE, EventBlock

__all__ = [
    "CHANNEL_DTYPE",
    "SpikeTrainReplay",
    "SpikeTrains",
    "load_spike_trains",
    "read_spike_trains",
    "select_channels",
    "write_sjemea_h5",
]

#: One row per channel (or unit): its name and electrode position in µm (NaN when unknown).
CHANNEL_DTYPE: Final = np.dtype([("name", "U64"), ("x_um", "<f8"), ("y_um", "<f8")])

_SJEMEA: Final = ("spikes", "sCount", "names")


@dataclass(frozen=True, slots=True)
class SpikeTrains:
    """Spikes of a recording: ``events`` (t_us from the recording's start, key = channel row,
    value 0) in time order, the ``channels`` table, the recording's ``duration_us`` (the file's
    own when it states one, else the last spike's time + 1 µs) and the ``format`` read."""

    events: EventBlock
    channels: npt.NDArray[np.void]
    duration_us: int
    format: str

    def counts(self) -> npt.NDArray[np.int64]:
        """Spikes per channel, in channel order."""
        return np.bincount(self.events["key"], minlength=len(self.channels)).astype(np.int64)


def _seconds_to_us(t_s: npt.ArrayLike, what: str) -> npt.NDArray[np.int64]:
    t = np.asarray(t_s, dtype=np.float64)
    if t.size and not np.all(np.isfinite(t)):
        bad = int(np.flatnonzero(~np.isfinite(t))[0])
        raise ValueError(f"{what}: spike time #{bad} is {float(t[bad])}, not a finite number")
    if t.size and t.min() < 0:
        raise ValueError(f"{what}: negative spike time {float(t.min())} s")
    # nearest microsecond (half up: times are non-negative)
    return np.floor(t * 1e6 + 0.5).astype(np.int64)


def _assemble(
    per_channel_us: Sequence[npt.NDArray[np.int64]],
    names: Sequence[str],
    positions: npt.ArrayLike | None,
    duration_us: int | None,
    fmt: str,
) -> SpikeTrains:
    n = len(per_channel_us)
    if n == 0:
        raise ValueError(f"{fmt}: the recording has no channels")
    if n >= 1 << 20:
        raise ValueError(f"{fmt}: {n} channels, more than a population may hold (2**20 - 1)")
    counts = np.array([len(t) for t in per_channel_us], dtype=np.int64)
    t = np.concatenate(per_channel_us) if counts.sum() else np.zeros(0, np.int64)
    key = np.repeat(np.arange(n, dtype=np.uint32), counts)
    order = np.lexsort((key, t))
    events = np.zeros(t.size, EVENT_DTYPE)
    events["t_us"], events["key"] = t[order], key[order]
    channels = np.zeros(n, CHANNEL_DTYPE)
    channels["name"] = [str(s) for s in names]
    if positions is None:
        channels["x_um"] = channels["y_um"] = np.nan
    else:
        pos = np.asarray(positions, dtype=np.float64).reshape(n, 2)
        channels["x_um"], channels["y_um"] = pos[:, 0], pos[:, 1]
    last = int(t.max()) + 1 if t.size else 0
    duration = last if duration_us is None else max(int(duration_us), last)
    return SpikeTrains(events, channels, duration, fmt)


def _is_sjemea(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        if f.read(8) != b"\x89HDF\r\n\x1a\n":
            return False
    import h5py

    with h5py.File(path, "r") as h5:
        return all(name in h5 for name in _SJEMEA)


def _read_sjemea(path: Path) -> SpikeTrains:
    import h5py

    what = f"{path} (HDF5 spike file)"
    with h5py.File(path, "r") as h5:
        spikes = np.asarray(h5["spikes"][()], dtype=np.float64).ravel()
        count = np.asarray(h5["sCount"][()], dtype=np.int64).ravel()
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["names"][()]]
        epos = np.asarray(h5["epos"][()], dtype=np.float64) if "epos" in h5 else None
        duration = h5["summary/duration"][()] if "summary/duration" in h5 else None
    if count.size != len(names):
        raise ValueError(f"{what}: sCount has {count.size} entries but names {len(names)}")
    if np.any(count < 0) or count.sum() != spikes.size:
        raise ValueError(
            f"{what}: sCount sums to {int(count.sum())} but spikes holds {spikes.size} times"
        )
    t_us = _seconds_to_us(spikes, what)
    per_channel = np.split(t_us, np.cumsum(count)[:-1])
    pos = None
    if epos is not None:
        pos = epos.T if epos.shape == (2, count.size) else epos
        if pos.shape != (count.size, 2):
            raise ValueError(f"{what}: epos has shape {epos.shape}, expected (2, {count.size})")
    dur_us = None
    if duration is not None:
        d = float(np.asarray(duration).ravel()[0])
        dur_us = round(d * 1e6) if math.isfinite(d) and d > 0 else None
    return _assemble(per_channel, names, pos, dur_us, "sjemea-hdf5")


def _read_nwb(path: Path) -> SpikeTrains:
    from pynwb import NWBHDF5IO

    what = f"{path} (NWB)"
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        units = nwb.units
        if units is None or len(units) == 0:
            raise ValueError(f"{what}: the file has no Units table (no spike trains)")
        cols = set(units.colnames)
        ids = list(units.id[:])
        names = []
        for i, uid in enumerate(ids):
            if "unit_name" in cols:
                names.append(str(units["unit_name"][i]))
            elif "name" in cols:
                names.append(str(units["name"][i]))
            else:
                names.append(f"unit_{uid}")
        per_channel = [_seconds_to_us(units.get_unit_spike_times(i), what) for i in range(len(ids))]
        pos = np.full((len(ids), 2), np.nan)
        if "electrodes" in cols:
            for i in range(len(ids)):
                rows = units["electrodes"][i]
                if len(rows) and {"x", "y"} <= set(rows.columns):
                    pos[i] = float(rows["x"].iloc[0]), float(rows["y"].iloc[0])
    return _assemble(per_channel, names, pos, None, "nwb")


def _read_spikeinterface(path: Path) -> SpikeTrains:
    import spikeinterface.core as sc

    what = f"{path} (SpikeInterface sorting)"
    sorting = sc.load(path)
    if not isinstance(sorting, sc.BaseSorting):
        raise ValueError(f"{what}: SpikeInterface reads a {type(sorting).__name__}, not a sorting")
    fs = float(sorting.get_sampling_frequency())
    ids = list(sorting.get_unit_ids())
    per_channel = []
    for uid in ids:
        frames = [
            sorting.get_unit_spike_train(uid, segment_index=s)
            for s in range(sorting.get_num_segments())
        ]
        if sorting.get_num_segments() > 1:
            raise ValueError(f"{what}: {sorting.get_num_segments()} segments; give one segment")
        per_channel.append(_seconds_to_us(np.asarray(frames[0], np.float64) / fs, what))
    pos = None
    if "x" in sorting.get_property_keys() and "y" in sorting.get_property_keys():
        pos = np.stack([sorting.get_property("x"), sorting.get_property("y")], axis=1)
    return _assemble(per_channel, [str(u) for u in ids], pos, None, "spikeinterface")


def _read_neo(path: Path) -> SpikeTrains:
    import neo
    import quantities as pq

    what = f"{path} (Neo)"
    io = neo.io.get_io(str(path))
    try:
        block = io.read_block(lazy=False)
    finally:
        close = getattr(io, "close", None)
        if close is not None:
            close()
    if len(block.segments) != 1:
        raise ValueError(f"{what}: {len(block.segments)} segments; give a file with one segment")
    trains = block.segments[0].spiketrains
    if not trains:
        raise ValueError(f"{what}: the file has no spike trains")
    names = [str(st.name) if st.name else f"unit_{i}" for i, st in enumerate(trains)]
    start = min(float(st.t_start.rescale(pq.s).magnitude) for st in trains)
    per_channel = [
        _seconds_to_us(np.asarray(st.rescale(pq.s).magnitude, np.float64) - start, what)
        for st in trains
    ]
    stop = max(float(st.t_stop.rescale(pq.s).magnitude) for st in trains) - start
    return _assemble(per_channel, names, None, round(stop * 1e6), "neo")


def load_spike_trains(
    path: str | os.PathLike[str],
) -> tuple[EventBlock, npt.NDArray[np.void]]:
    """Spike trains of a recording: ``(events, channels)``.

    ``events`` is an :mod:`ione.events` block in time order (t_us from the recording's start,
    rounded to the nearest µs; key ``i`` = row ``i`` of ``channels``; value 0), ``channels`` a
    :data:`CHANNEL_DTYPE` table (name, x_um, y_um). The format is chosen from the file (module
    docstring); :func:`read_spike_trains` also gives the recording's duration.

    Raises
    ------
    FileNotFoundError
        No such file or folder.
    ValueError
        A format no reader knows, or a file whose content is inconsistent (the message says
        what).
    """
    trains = read_spike_trains(path)
    return trains.events, trains.channels


def read_spike_trains(path: str | os.PathLike[str]) -> SpikeTrains:
    """Like :func:`load_spike_trains`, as a :class:`SpikeTrains` with duration and format."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"spike file {p} does not exist")
    if _is_sjemea(p):
        return _read_sjemea(p)
    if p.suffix.lower() == ".nwb":
        return _read_nwb(p)
    tried = ["HDF5 spike file (spikes, sCount, names)", "NWB Units"]
    if p.is_dir() or p.suffix.lower() in (".npz", ".json", ".pkl", ".pickle", ".zarr"):
        try:
            return _read_spikeinterface(p)
        except (ImportError, ValueError, OSError, KeyError, TypeError) as exc:
            tried.append(f"SpikeInterface ({exc})")
    import neo

    try:
        neo.io.get_io(str(p))  # raises for a suffix no Neo IO claims
    except (OSError, ValueError) as exc:
        tried.append(f"Neo ({exc})")
    else:
        return _read_neo(p)
    raise ValueError(
        f"cannot read spike trains from {p}: not a format ione knows; tried " + "; ".join(tried)
    )


def select_channels(trains: SpikeTrains, channels: Sequence[str | int] | None) -> SpikeTrains:
    """Keep the given channels (names or row numbers), renumbered 0 ... in the order given."""
    if channels is None:
        return trains
    names = list(trains.channels["name"])
    rows = []
    for c in channels:
        if isinstance(c, bool):
            raise ValueError(f"channel {c!r}: expected a name or a row number")
        if isinstance(c, int | np.integer):
            if not 0 <= int(c) < len(names):
                raise ValueError(f"channel row {c} is outside 0 ... {len(names) - 1}")
            rows.append(int(c))
        elif c in names:
            rows.append(names.index(c))
        else:
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            raise ValueError(f"no channel named {c!r} in the recording (it has {shown})")
    if len(set(rows)) != len(rows):
        raise ValueError("a channel is selected twice")
    lookup = np.full(len(names), -1, np.int64)
    lookup[rows] = np.arange(len(rows))
    new = lookup[trains.events["key"]]
    keep = new >= 0
    events = trains.events[keep].copy()
    events["key"] = new[keep].astype(np.uint32)
    return SpikeTrains(events, trains.channels[rows].copy(), trains.duration_us, trains.format)


def write_sjemea_h5(
    path: str | os.PathLike[str],
    trains_s: Sequence[npt.ArrayLike],
    names: Sequence[str],
    positions_um: npt.ArrayLike | None = None,
    *,
    duration_s: float | None = None,
    array: str = "unknown",
) -> None:
    """Write spike trains (seconds, one array per channel) in the sjemea / meaRtools HDF5 layout."""
    import h5py

    if len(trains_s) != len(names):
        raise ValueError(f"{len(trains_s)} spike trains but {len(names)} names")
    arrays = [np.sort(np.asarray(t, np.float64).ravel()) for t in trains_s]
    counts = np.array([a.size for a in arrays], np.int32)
    spikes = np.concatenate(arrays) if arrays else np.zeros(0)
    stop = float(spikes.max()) if spikes.size else 0.0
    duration = stop if duration_s is None else float(duration_s)
    with h5py.File(path, "w") as h5:
        h5["spikes"] = spikes
        h5["sCount"] = counts
        h5["names"] = np.array([n.encode() for n in names])
        if positions_um is not None:
            h5["epos"] = np.asarray(positions_um, np.float64).reshape(len(names), 2).T
        h5["array"] = np.array([array.encode()])
        h5["summary/N"] = np.array([len(names)])
        h5["summary/duration"] = np.array([duration])
        h5["summary/totalspikes"] = np.array([spikes.size])
        rate = counts / duration if duration > 0 else np.zeros(len(names))
        h5["summary/frate"] = rate


@dataclass
class SpikeTrainReplay:
    """Hands out a recording's spikes interval by interval on the replay's own clock.

    A spike recorded at ``t`` (µs from the recording's start) is replayed at
    ``t0_us + (t - start_us) / speed``; ``speed`` 2 plays twice as fast. Spikes before
    ``start_us`` are skipped. With ``loop`` the recording starts again after ``duration_us``
    (measured from ``start_us``); without it the replay ends there.

    Every spike is handed out exactly once as long as the intervals asked for follow one
    another (:meth:`between`), whatever their lengths.
    """

    trains: SpikeTrains
    t0_us: int = 0
    speed: float = 1.0
    start_us: int = 0
    loop: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.speed, int | float) and math.isfinite(self.speed)) or not (
            0.001 <= self.speed <= 1000.0
        ):
            raise ValueError(f"speed: expected 0.001 ... 1000 (x real time), got {self.speed!r}")
        if not 0 <= int(self.start_us) < max(self.trains.duration_us, 1):
            raise ValueError(
                f"start: {self.start_us} µs is outside the recording "
                f"(0 ... {self.trains.duration_us} µs)"
            )
        ev = self.trains.events
        ev = ev[ev["t_us"] >= self.start_us]
        self._events = ev
        # replay time of each spike within one pass, relative to t0_us (ceil: never early)
        rel = (ev["t_us"] - self.start_us).astype(np.float64) / float(self.speed)
        self._rel = np.ceil(rel - 1e-9).astype(np.int64)
        span = (self.trains.duration_us - self.start_us) / float(self.speed)
        self.pass_us = max(math.ceil(span), 1)
        self._cursor = 0  # next spike (in passes * n + index)
        self._until = 0  # replay time (relative) up to which spikes were handed out

    @property
    def finished(self) -> bool:
        """No spike is left to hand out (never, with ``loop``, unless the recording is empty)."""
        n = self._events.size
        return (not self.loop and self._cursor >= n) or n == 0

    def between(self, t_from_us: int, t_to_us: int) -> EventBlock:
        """Spikes replayed in ``[t_from_us, t_to_us)`` on the replay clock, in time order."""
        if t_from_us != self._until + self.t0_us:
            raise ValueError(
                f"replay asked for spikes from {t_from_us} µs but it has handed out spikes "
                f"up to {self._until + self.t0_us} µs: intervals must follow one another"
            )
        if t_to_us < t_from_us:
            raise ValueError(f"interval [{t_from_us}, {t_to_us}) runs backwards")
        lo, hi = t_from_us - self.t0_us, t_to_us - self.t0_us
        self._until = hi
        n = self._events.size
        if n == 0:
            return np.zeros(0, EVENT_DTYPE)
        parts: list[EventBlock] = []
        first_pass = lo // self.pass_us if self.loop else 0
        last_pass = (hi - 1) // self.pass_us if self.loop else 0
        for k in range(int(first_pass), int(last_pass) + 1):  # passes touched: 1, rarely 2
            off = k * self.pass_us
            a = int(np.searchsorted(self._rel, lo - off, "left"))
            b = int(np.searchsorted(self._rel, hi - off, "left"))
            if b > a:
                block = self._events[a:b].copy()
                block["t_us"] = self.t0_us + off + self._rel[a:b]
                parts.append(block)
            self._cursor = k * n + b
        if not parts:
            return np.zeros(0, EVENT_DTYPE)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
