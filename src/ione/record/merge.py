"""One timeline: the logs of every site of a run, merged onto one site's clock.

Every site stamps events on its own clock and records, for each of its links, samples of the
peer's clock offset with a guaranteed uncertainty (:mod:`ione.wire`'s clock estimator). Merging
builds, for every site ``S``, the map from ``S``'s clock to the reference clock ``R``::

    t_R = t_S + D(t_S),     D = clock_R - clock_S,   |error| <= U(t_S)

from the samples either end recorded (a sample ``offset = S - R`` taken at ``R`` counts as
``D = -offset`` at ``t_S = t_R + offset``), interpolating linearly between samples (a convex
combination, so the interpolated uncertainty bounds the interpolated error) and holding the
nearest sample beyond the ends, where the uncertainty grows by ``max_drift_ppm`` per second of
distance. Sites without a direct link to the reference are reached through others, their
uncertainties adding up. Every event keeps its own uncertainty in the merged session.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ione.events import key_site
from ione.record import kinds as K
from ione.record.log import LogReader, LogWriter

__all__ = [
    "MERGED_PULSE_DTYPE",
    "MERGED_READ_DTYPE",
    "MERGED_SPIKE_DTYPE",
    "MERGED_STIM_DTYPE",
    "ClockMap",
    "Session",
    "SiteLog",
    "load_session",
    "merge",
    "merge_run",
    "open_session",
    "read_site_log",
    "save_session",
    "site_logs",
    "writable",
]

SESSION_FILE: Final = "session.ionelog"
LOG_SUFFIX: Final = ".ionelog"

_MERGED = [("t_us", "<i8"), ("uncertainty_us", "<f8"), ("site", "<u2")]
MERGED_SPIKE_DTYPE: Final = np.dtype(
    [*_MERGED, ("t_source_us", "<i8"), ("key", "<u4"), ("value", "<f4")]
)
MERGED_STIM_DTYPE: Final = np.dtype(
    [*_MERGED, *((n, K.STIM_DTYPE[n].str) for n in K.STIM_DTYPE.names if n != "t_us")]  # type: ignore[union-attr]
)
MERGED_PULSE_DTYPE: Final = np.dtype(
    [*_MERGED, *((n, K.PULSE_DTYPE[n].str) for n in K.PULSE_DTYPE.names if n != "t_us")]  # type: ignore[union-attr]
)
MERGED_READ_DTYPE: Final = np.dtype(
    [*_MERGED, *((n, K.READ_DTYPE[n].str) for n in K.READ_DTYPE.names if n != "t_us")]  # type: ignore[union-attr]
)


@dataclass
class SiteLog:
    """Everything one site recorded, gathered by kind."""

    path: Path
    name: str
    index: int
    meta: dict[str, Any]
    spikes: npt.NDArray[np.void]
    clock: npt.NDArray[np.void]
    stimulation: npt.NDArray[np.void]
    pulses: npt.NDArray[np.void]
    reads: npt.NDArray[np.void]
    links: list[dict[str, Any]]
    other: dict[str, list[Any]]
    dropped_bytes: int


def _cat(blocks: list[Any], dtype: np.dtype) -> npt.NDArray[np.void]:
    arrays = [b for b in blocks if isinstance(b, np.ndarray)]
    for b in arrays:
        if b.dtype != dtype:
            raise ValueError(f"a block of dtype {b.dtype} where {dtype} was expected")
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)


def read_site_log(path: str | os.PathLike[str]) -> SiteLog:
    """Read one site's log; its ``meta`` records must name the site and its index."""
    reader = LogReader(path)
    records = reader.read_all()
    meta: dict[str, Any] = {}
    for m in records.pop(K.META, []):
        if isinstance(m, dict):
            meta.update(m)
    if "site" not in meta or "site_index" not in meta:
        raise ValueError(f"{path}: no meta record with 'site' and 'site_index'")
    return SiteLog(
        path=Path(path), name=str(meta["site"]), index=int(meta["site_index"]), meta=meta,
        spikes=_cat(records.pop(K.SPIKES, []), K.SPIKE_DTYPE),
        clock=_cat(records.pop(K.CLOCK, []), K.CLOCK_DTYPE),
        stimulation=_cat(records.pop(K.STIMULATION, []), K.STIM_DTYPE),
        pulses=_cat(records.pop(K.PULSES, []), K.PULSE_DTYPE),
        reads=_cat(records.pop(K.READS, []), K.READ_DTYPE),
        links=[x for x in records.pop(K.LINK, []) if isinstance(x, dict)],
        other=records, dropped_bytes=reader.dropped_bytes,
    )  # fmt: skip


@dataclass(frozen=True)
class ClockMap:
    """Map from one site's clock to the reference clock: ``t_R = t + D(t)`` ± ``U(t)``."""

    t_us: npt.NDArray[np.float64]  # sample times on the site's clock, sorted
    d_us: npt.NDArray[np.float64]  # reference minus site clock at those times
    u_us: npt.NDArray[np.float64]  # their uncertainties
    max_drift_ppm: float = 500.0

    @classmethod
    def identity(cls) -> ClockMap:
        z = np.zeros(1)
        return cls(z, z, z)

    def __call__(
        self, t_us: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        t = np.asarray(t_us, dtype=np.float64)
        if self.t_us.size == 1 and self.u_us[0] == 0 and self.d_us[0] == 0:
            return np.asarray(t_us, dtype=np.int64).copy(), np.zeros(t.shape)
        d = np.interp(t, self.t_us, self.d_us)
        u = np.interp(t, self.t_us, self.u_us)
        outside = np.maximum(self.t_us[0] - t, 0) + np.maximum(t - self.t_us[-1], 0)
        u = u + self.max_drift_ppm * 1e-6 * outside
        return np.rint(t + d).astype(np.int64), u

    def then(self, outer: ClockMap) -> ClockMap:
        """This map followed by ``outer`` (a site reached through an intermediate one)."""
        mid, u1 = self(self.t_us)
        t2, u2 = outer(mid)
        return ClockMap(self.t_us, t2 - self.t_us, u1 + u2, self.max_drift_ppm)


def _edges(
    clocks: dict[int, npt.NDArray[np.void]],
) -> dict[tuple[int, int], list[tuple[float, float, float]]]:
    """(a, b) -> samples (t on a's clock, b - a, uncertainty), from both ends of each link."""
    edges: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
    for index, c in clocks.items():
        for peer in np.unique(c["peer"]):
            rows = c[c["peer"] == peer]
            a, b = index, int(peer)
            t, off, unc = rows["t_us"].astype(float), rows["offset_us"], rows["uncertainty_us"]
            edges.setdefault((a, b), []).extend(zip(t, off, unc, strict=True))
            # the same samples seen from the peer: at its time t + off, a - b = -off
            edges.setdefault((b, a), []).extend(zip(t + off, -off, unc, strict=True))
    return edges


def _clock_maps(logs: list[SiteLog], reference: int, max_drift_ppm: float) -> dict[int, ClockMap]:
    return _clock_maps_from({log.index: log.clock for log in logs}, reference, max_drift_ppm)


def _clock_maps_from(
    clocks: dict[int, npt.NDArray[np.void]], reference: int, max_drift_ppm: float
) -> dict[int, ClockMap]:
    edges = _edges(clocks)
    maps = {reference: ClockMap.identity()}
    queue = deque([reference])
    while queue:
        inner = queue.popleft()
        for (a, b), samples in edges.items():
            if b != inner or a in maps:
                continue
            s = np.array(sorted(samples))
            # samples (t on a's clock, b - a): t_b = t_a + (b - a), then on to the reference
            direct = ClockMap(s[:, 0], s[:, 1], s[:, 2], max_drift_ppm)
            maps[a] = direct if inner == reference else direct.then(maps[inner])
            queue.append(a)
    return maps


@dataclass
class Session:
    """A run merged onto the clock of its reference site.

    Every table has ``t_us`` (reference clock), ``uncertainty_us`` (bound on that time's error)
    and ``site`` (index of the site that recorded the row), followed by the recorded fields.
    """

    reference: str
    sites: dict[str, int]
    spikes: npt.NDArray[np.void]
    stimulation: npt.NDArray[np.void]
    pulses: npt.NDArray[np.void]
    reads: npt.NDArray[np.void]
    clock: dict[str, npt.NDArray[np.void]] = field(default_factory=dict)
    links: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    dropped_bytes: dict[str, int] = field(default_factory=dict)
    #: Every other record kind of each site as recorded (site -> kind -> blocks or JSON
    #: records), e.g. a culture's ``stimuli`` or a site's ``run`` record; times in them are on
    #: that site's clock (:meth:`to_reference` places them).
    other: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    max_drift_ppm: float = 500.0

    def to_reference(
        self, site: str, t_us: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Times on ``site``'s clock placed on the reference clock, with their uncertainty."""
        if site not in self.sites:
            raise KeyError(f"no site {site!r} in this session; sites: {sorted(self.sites)}")
        maps = self.__dict__.get("_maps")
        if maps is None:
            by_index = {self.sites[n]: c for n, c in self.clock.items() if n in self.sites}
            maps = _clock_maps_from(by_index, self.sites[self.reference], self.max_drift_ppm)
            self.__dict__["_maps"] = maps
        index = self.sites[site]
        if index not in maps:
            raise ValueError(f"no clock samples relate {site!r} to the reference")
        return maps[index](t_us)

    def site_name(self, index: int) -> str:
        for name, i in self.sites.items():
            if i == index:
                return name
        return f"site {index}"

    @property
    def span_us(self) -> tuple[int, int]:
        """First and last time of any merged event (reference clock)."""
        times = [
            t["t_us"] for t in (self.spikes, self.stimulation, self.pulses, self.reads) if t.size
        ]
        if not times:
            return 0, 0
        return int(min(t.min() for t in times)), int(max(t.max() for t in times))


def _place(rows: npt.NDArray[np.void], times: npt.NDArray[np.int64], unc: npt.NDArray[np.float64],
           site: int, dtype: np.dtype) -> npt.NDArray[np.void]:  # fmt: skip
    out = np.zeros(rows.size, dtype=dtype)
    out["t_us"], out["uncertainty_us"], out["site"] = times, unc, site
    for name in dtype.names or ():
        if name not in ("t_us", "uncertainty_us", "site") and name in (rows.dtype.names or ()):
            out[name] = rows[name]
    return out


def merge(
    logs: Iterable[SiteLog], reference: str | None = None, *, max_drift_ppm: float = 500.0
) -> Session:
    """Merge site logs onto the clock of ``reference`` (default: the site with most links).

    Raises
    ------
    ValueError
        If two logs claim the same site, the reference is unknown, or a site's clock cannot be
        related to the reference (no chain of clock samples).
    """
    logs = list(logs)
    if not logs:
        raise ValueError("no site logs to merge")
    by_index: dict[int, SiteLog] = {}
    for log in logs:
        if log.index in by_index:
            raise ValueError(
                f"{log.path} and {by_index[log.index].path} both claim site {log.index}"
            )
        by_index[log.index] = log
    sites = {log.name: log.index for log in logs}
    if reference is None:
        reference = max(logs, key=lambda g: (np.unique(g.clock["peer"]).size, -g.index)).name
    if reference not in sites:
        raise ValueError(f"reference site {reference!r} is not among {sorted(sites)}")
    maps = _clock_maps(logs, sites[reference], max_drift_ppm)
    missing = sorted(log.name for log in logs if log.index not in maps)
    if missing:
        raise ValueError(f"no clock samples relate {missing} to the reference {reference!r}")

    def spikes_of(log: SiteLog) -> npt.NDArray[np.void]:
        s = log.spikes
        source = key_site(s["key"]).astype(np.int64)
        known = np.isin(source, list(maps))
        # an event's source time is on the clock of the site its address belongs to; events of
        # unknown sites are placed by the time the recording site received them
        t = np.where(known, s["t_us"], s["t_local_us"])
        clock_of = np.where(known, source, log.index)
        times = np.empty(s.size, np.int64)
        unc = np.empty(s.size)
        for site in np.unique(clock_of):
            sel = clock_of == site
            times[sel], unc[sel] = maps[int(site)](t[sel])
        out = _place(s, times, unc, log.index, MERGED_SPIKE_DTYPE)
        out["t_source_us"] = t
        return out

    def table(rows_of: str, dtype: np.dtype) -> npt.NDArray[np.void]:
        parts = []
        for log in logs:
            rows = getattr(log, rows_of)
            times, unc = maps[log.index](rows["t_us"])
            parts.append(_place(rows, times, unc, log.index, dtype))
        out = np.concatenate(parts) if parts else np.zeros(0, dtype)
        return out[np.argsort(out["t_us"], kind="stable")]

    spikes = np.concatenate([spikes_of(log) for log in logs])
    # A spike recorded both where it was produced and where it was received counts once: keep
    # the copy of the site it belongs to (else the first), ordered by reference time.
    own = (key_site(spikes["key"]) == spikes["site"]).astype(np.int8)
    order = np.lexsort((-own, spikes["t_source_us"], spikes["key"]))
    ordered = spikes[order]
    first = np.ones(ordered.size, bool)
    first[1:] = (ordered["key"][1:] != ordered["key"][:-1]) | (
        ordered["t_source_us"][1:] != ordered["t_source_us"][:-1])  # fmt: skip
    spikes = ordered[first]
    spikes = spikes[np.argsort(spikes["t_us"], kind="stable")]
    return Session(
        reference=reference, sites=sites, spikes=spikes,
        stimulation=table("stimulation", MERGED_STIM_DTYPE),
        pulses=table("pulses", MERGED_PULSE_DTYPE), reads=table("reads", MERGED_READ_DTYPE),
        clock={log.name: log.clock for log in logs}, links={log.name: log.links for log in logs},
        meta={log.name: log.meta for log in logs},
        dropped_bytes={log.name: log.dropped_bytes for log in logs},
        other={log.name: log.other for log in logs}, max_drift_ppm=max_drift_ppm,
    )  # fmt: skip


def site_logs(run: str | os.PathLike[str]) -> list[Path]:
    """The site logs of a run folder (every ``*.ionelog`` but the merged session)."""
    folder = Path(run)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run folder")
    logs = sorted(p for p in folder.glob(f"*{LOG_SUFFIX}") if p.name != SESSION_FILE)
    if not logs:
        raise FileNotFoundError(f"{folder}: no site logs (*{LOG_SUFFIX}) in this run folder")
    return logs


def merge_run(run: str | os.PathLike[str], reference: str | None = None) -> Session:
    """Read and merge every site log of a run folder."""
    return merge([read_site_log(p) for p in site_logs(run)], reference)


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write a merged session as a log of its own (``session.ionelog`` in the run folder),
    replacing an earlier one at once (written aside, then renamed over it)."""
    path = writable(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with LogWriter(tmp) as w:
        w.append("session", {"reference": session.reference, "sites": session.sites,
                             "meta": session.meta, "links": session.links,
                             "dropped_bytes": session.dropped_bytes})  # fmt: skip
        w.append("merged_spikes", session.spikes)
        w.append("merged_stimulation", session.stimulation)
        w.append("merged_pulses", session.pulses)
        w.append("merged_reads", session.reads)
        for name, clock in session.clock.items():
            w.append(f"clock:{name}", clock)
        for name, kinds in session.other.items():
            for kind, items in kinds.items():
                for item in items:
                    w.append(f"other:{name}:{kind}", item)
    os.replace(tmp, path)
    return path


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read a session written by :func:`save_session`."""
    records = LogReader(path).read_all()
    if "session" not in records:
        raise ValueError(f"{path}: not a merged session (no 'session' record)")
    head = records["session"][-1]

    def one(kind: str, dtype: np.dtype) -> npt.NDArray[np.void]:
        return _cat(records.get(kind, []), dtype)

    return Session(
        reference=head["reference"], sites={k: int(v) for k, v in head["sites"].items()},
        spikes=one("merged_spikes", MERGED_SPIKE_DTYPE),
        stimulation=one("merged_stimulation", MERGED_STIM_DTYPE),
        pulses=one("merged_pulses", MERGED_PULSE_DTYPE),
        reads=one("merged_reads", MERGED_READ_DTYPE),
        clock={k.split(":", 1)[1]: _cat(v, K.CLOCK_DTYPE) for k, v in records.items()
               if k.startswith("clock:")},
        links=head.get("links", {}), meta=head.get("meta", {}),
        dropped_bytes=head.get("dropped_bytes", {}), other=_other(records),
    )  # fmt: skip


def _other(records: dict[str, list[Any]]) -> dict[str, dict[str, list[Any]]]:
    out: dict[str, dict[str, list[Any]]] = {}
    for key, items in records.items():
        if key.startswith("other:"):
            _, site, kind = key.split(":", 2)
            out.setdefault(site, {})[kind] = items
    return out


def open_session(
    path: str | os.PathLike[str], reference: str | None = None, *, cache: bool = True
) -> Session:
    """A run's merged session: ``path`` is a run folder or a session file.

    For a folder, ``session.ionelog`` is used when it is at least as new as every site log and
    on the requested reference; otherwise the site logs are merged again (and, with ``cache``,
    the merged session replaces ``session.ionelog``).

    Raises
    ------
    FileNotFoundError
        If the path does not exist or a folder holds no site logs.
    ValueError
        If a log is not a valid ione log or is corrupted, the reference is unknown, or a session
        file was merged on another reference.
    """
    path = Path(path)
    if path.is_file():
        session = load_session(path)
        if reference is not None and reference != session.reference:
            raise ValueError(
                f"{path} was merged on the clock of {session.reference!r}, not {reference!r}: "
                "give the run folder to merge it again"
            )
        return session
    logs = site_logs(path)
    merged = path / SESSION_FILE
    if merged.is_file() and merged.stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in logs):
        session = load_session(merged)
        if reference is None or reference == session.reference:
            return session
    session = merge_run(path, reference)
    if cache:
        with contextlib.suppress(OSError):  # a read-only run folder can still be exported
            save_session(session, merged)
    return session


def writable(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`Path`, after checking that its folder exists."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: no folder {path.parent} to write into")
    return path
