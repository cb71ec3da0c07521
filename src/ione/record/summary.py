"""A merged session at a glance: its units, synapses, time base and counts.

The exporters (:mod:`ione.record.nwb`, :mod:`ione.record.neo_export`) and ``ione inspect`` read
a :class:`~ione.record.merge.Session` through the helpers here, so that a unit, a synapse and a
time mean the same thing in every output.

Optional ``meta`` fields
------------------------
A site's ``meta`` record must hold ``site`` and ``site_index``. Everything below is optional;
a missing field falls back as stated, a malformed one raises ``ValueError`` naming the site and
the field.

========================  =========================================================================
field                     meaning (fallback)
========================  =========================================================================
``populations``           ``[{"name", "index", "kind", "size"}]``, ``kind`` one of ``"culture"``,
                          ``"silicon"``, ``"generator"``: labels each unit biological, silicon or
                          generator (name ``pop<index>``; kind from the site's ``kind``, else
                          ``unknown``)
``kind``                  the site's own kind, used for populations it does not describe
``synapses``              ``[{"index", "name", "pre", "post", "device"}]``: the synapse index of the
                          ``pulses`` and ``reads`` tables → its name, e.g. ``MR1`` (``synapse<i>``)
``electrodes``            ``[{"id", "name", "x_um", "y_um", "kind", "material", "area_um2"}]``,
                          ``kind`` ``"recording"`` or ``"stimulation"`` (NWB electrodes table;
                          none)
``location``              where the site's electrodes are (``in vitro``)
``stimulation_reasons``   ``{code: name}`` of the guard's reason codes (``reason <code>``; code 0
                          of an allowed command is ``ok``)
``session_start_time``    on the reference site: ISO 8601 wall-clock time with a time zone ...
``session_start_us``      ... and the reference clock's reading at that instant (the first event)
``subject``               NWB subject of the culture: ``subject_id``, ``species``, ``sex``,
                          ``age``, ``description``, ``strain``, ``genotype``
``run_id``                on the reference site: the NWB identifier (a random UUID)
``config``                the experiment configuration; from the reference site's, the NWB
                          export reads ``description``, ``experimenter``, ``institution``, ``lab``
``versions``              :func:`ione.record.kinds.software_versions` (NWB ``was_generated_by``)
``guard_limits``          kept as they are, with every other field (NWB scratch, Neo annotation)
========================  =========================================================================

Link statistics snapshots (``links``) are JSON objects with ``t_us``, ``peer`` (site name or
index) and the counters of :class:`ione.wire.LinkStatistics` (``frames_lost``, ``events_lost``,
...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ione._time import us_to_seconds
from ione.events import split_key
from ione.record.merge import (
    Session,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "KIND_LABELS",
    "SynapseInfo",
    "TimeBase",
    "UnitTable",
    "last_link_snapshots",
    "reason_names",
    "render_summary",
    "site_meta",
    "site_names",
    "summarize",
    "summary_line",
    "synapse_names",
    "synapse_table",
    "time_base",
    "unit_table",
]

#: Population kind in ``meta`` → the label exporters give its units.
KIND_LABELS = {"culture": "biological", "biological": "biological", "silicon": "silicon",
               "generator": "generator"}  # fmt: skip


def seconds(t_us: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Microseconds (int or float array) to seconds, through :func:`ione._time.us_to_seconds`."""
    return np.asarray(us_to_seconds(np.asarray(t_us)), dtype=np.float64)


def site_names(session: Session, index: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """The site name of every site index in ``index``."""
    uniq, inverse = np.unique(np.asarray(index, dtype=np.int64), return_inverse=True)
    names = np.array([session.site_name(int(i)) for i in uniq] or [""], dtype=str)
    return names[inverse.ravel()]


def site_meta(session: Session, index: int) -> dict[str, Any]:
    """The ``meta`` record of the site with this index (empty if the session has none)."""
    return session.meta.get(session.site_name(int(index)), {})


def _list_field(meta: dict[str, Any], field: str, site: str) -> list[dict[str, Any]]:
    value = meta.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"meta of site {site!r}: {field!r} must be a list of objects")
    return value


def _int_field(entry: dict[str, Any], key: str, field: str, site: str) -> int:
    try:
        return int(entry[key])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"meta of site {site!r}: every {field!r} entry needs an integer {key!r}, got {entry!r}"
        ) from None


@dataclass(frozen=True)
class TimeBase:
    """Where exported times start: ``t_s = (t_us - origin_us) / 1e6`` on the reference clock.

    ``origin_us`` is the reference site's ``session_start_us`` (or the first event, if earlier
    or missing); ``start_time`` is the wall-clock time at the origin, when the reference site
    recorded ``session_start_time``; ``stop_us`` is the last event.
    """

    origin_us: int
    stop_us: int
    start_time: dt.datetime | None

    def seconds(self, t_us: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return seconds(np.asarray(t_us, dtype=np.int64) - self.origin_us)

    @property
    def duration_s(self) -> float:
        return float(seconds(self.stop_us - self.origin_us))


def time_base(session: Session) -> TimeBase:
    """The time origin and wall-clock start of exports (see :class:`TimeBase`)."""
    meta = session.meta.get(session.reference, {})
    first, last = session.span_us
    start_us = meta.get("session_start_us")
    origin = first if start_us is None else min(int(start_us), first)
    wall = meta.get("session_start_time")
    start: dt.datetime | None = None
    if wall is not None:
        try:
            start = dt.datetime.fromisoformat(str(wall))
        except ValueError:
            raise ValueError(
                f"meta of site {session.reference!r}: session_start_time {wall!r} "
                "is not an ISO 8601 time"
            ) from None
        if start.tzinfo is None:
            raise ValueError(
                f"meta of site {session.reference!r}: session_start_time {wall!r} "
                "has no time zone (e.g. +00:00)"
            )
        anchor = origin if start_us is None else int(start_us)
        start -= dt.timedelta(microseconds=anchor - origin)
    return TimeBase(origin_us=origin, stop_us=max(last, origin), start_time=start)


@dataclass(frozen=True)
class UnitTable:
    """Every address that spiked, with its labels; ``order[ends[i-1]:ends[i]]`` are the rows of
    ``session.spikes`` of unit ``i`` in time order."""

    keys: npt.NDArray[np.uint32]
    site: list[str]
    population: list[str]
    neuron: npt.NDArray[np.int64]
    kind: list[str]
    order: npt.NDArray[np.intp]
    ends: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.keys.size)

    def rows(self, i: int) -> npt.NDArray[np.intp]:
        return self.order[(self.ends[i - 1] if i else 0) : self.ends[i]]


def _population_labels(session: Session, site: int, pop: int) -> tuple[str, str]:
    meta = site_meta(session, site)
    name = session.site_name(site)
    for entry in _list_field(meta, "populations", name):
        if _int_field(entry, "index", "populations", name) == pop:
            kind = str(entry.get("kind", meta.get("kind", "unknown")))
            return str(entry.get("name", f"pop{pop}")), KIND_LABELS.get(kind, kind)
    kind = str(meta.get("kind", "unknown"))
    return f"pop{pop}", KIND_LABELS.get(kind, kind)


def unit_table(session: Session) -> UnitTable:
    """One unit per address in ``session.spikes``, labelled from the sites' ``populations``."""
    keys = session.spikes["key"]
    order = np.argsort(keys, kind="stable")  # the table is in time order: units stay so
    uniq, counts = np.unique(keys, return_counts=True)
    site, pop, neuron = split_key(uniq)
    labels = {
        (int(s), int(p)): _population_labels(session, int(s), int(p))
        for s, p in {(int(s), int(p)) for s, p in zip(site, pop, strict=True)}
    }
    pairs = [labels[int(s), int(p)] for s, p in zip(site, pop, strict=True)]
    return UnitTable(
        keys=uniq, site=site_names(session, site).tolist(),
        population=[p[0] for p in pairs], neuron=neuron.astype(np.int64),
        kind=[p[1] for p in pairs], order=order, ends=np.cumsum(counts).astype(np.int64),
    )  # fmt: skip


@dataclass(frozen=True)
class SynapseInfo:
    """A memristive synapse: the site that drives it, its index in that site's tables, names."""

    site: int
    index: int
    name: str
    pre: str | None = None
    post: str | None = None
    device: Any = None


def synapse_table(session: Session) -> list[SynapseInfo]:
    """Synapses with pulses or reads, or declared in ``meta``, named uniquely."""
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for table in (session.pulses, session.reads):
        pairs = np.unique(np.stack([table["site"], table["synapse"]]).astype(np.int64), axis=1)
        for s, i in pairs.T.tolist():
            found.setdefault((s, i), {})
    for name, meta in session.meta.items():
        for entry in _list_field(meta, "synapses", name):
            idx = _int_field(entry, "index", "synapses", name)
            found[session.sites.get(name, int(meta.get("site_index", -1))), idx] = entry
    names = {key: str(e.get("name", f"synapse{key[1]}")) for key, e in found.items()}
    clash = {n for n in names.values() if list(names.values()).count(n) > 1}
    out: list[SynapseInfo] = []
    for (s, i), entry in sorted(found.items()):
        name = names[s, i] if names[s, i] not in clash else f"{session.site_name(s)}_{names[s, i]}"
        pre, post = entry.get("pre"), entry.get("post")
        out.append(SynapseInfo(site=s, index=i, name=name, pre=None if pre is None else str(pre),
                               post=None if post is None else str(post),
                               device=entry.get("device")))  # fmt: skip
    return out


def synapse_names(session: Session, table: npt.NDArray[np.void]) -> npt.NDArray[np.str_]:
    """The synapse name of every row of ``session.pulses`` or ``session.reads`` (or a part)."""
    out = np.empty(table.size, dtype=object)
    for syn in synapse_table(session):
        out[(table["site"] == syn.site) & (table["synapse"] == syn.index)] = syn.name
    return out.astype(str)


def reason_names(session: Session) -> npt.NDArray[np.str_]:
    """A name per row of ``session.stimulation``: ``ok`` or the guard's reason for rejecting."""
    stim = session.stimulation
    out = np.empty(stim.size, dtype=object)
    combos = np.unique(np.stack([stim["site"], stim["reason"], stim["allowed"] > 0]), axis=1)
    for site, code, allowed in combos.T:
        given = site_meta(session, int(site)).get("stimulation_reasons", {})
        if not isinstance(given, dict):
            raise ValueError(
                f"meta of site {session.site_name(int(site))!r}: "
                "'stimulation_reasons' must map codes to names"
            )
        name = given.get(str(int(code)), "ok" if allowed and code == 0 else f"reason {code}")
        sel = (stim["site"] == site) & (stim["reason"] == code) & ((stim["allowed"] > 0) == allowed)
        out[sel] = str(name)
    return out.astype(str)


def _peer_name(session: Session, peer: Any) -> str:
    if isinstance(peer, int) or (isinstance(peer, str) and peer.isdigit()):
        return session.site_name(int(peer))
    return str(peer)


def last_link_snapshots(session: Session) -> list[dict[str, Any]]:
    """The latest link statistics snapshot of every (site, peer), with ``site`` and ``peer``."""
    out: list[dict[str, Any]] = []
    for site, snaps in sorted(session.links.items()):
        last: dict[str, dict[str, Any]] = {}
        for snap in snaps:
            peer = _peer_name(session, snap.get("peer", snap.get("peer_site", "?")))
            if peer not in last or snap.get("t_us", 0) >= last[peer].get("t_us", 0):
                last[peer] = snap
        out.extend({**snap, "site": site, "peer": peer} for peer, snap in sorted(last.items()))
    return out


def _counts(values: npt.ArrayLike) -> dict[str, int]:
    uniq, n = np.unique(np.asarray(values, dtype=str), return_counts=True)
    return {str(u): int(c) for u, c in zip(uniq, n, strict=True)}


def _selected(table: npt.NDArray[np.void], syn: SynapseInfo) -> npt.NDArray[np.void]:
    selected: npt.NDArray[np.void] = table[
        (table["site"] == syn.site) & (table["synapse"] == syn.index)
    ]
    return selected


def summarize(session: Session) -> dict[str, Any]:
    """Counts, losses, clock offsets, stimulation and plasticity of a session (JSON-ready)."""
    tb = time_base(session)
    units = unit_table(session)
    source = split_key(session.spikes["key"])[0]
    sites = []
    for name, index in sorted(session.sites.items(), key=lambda kv: kv[1]):
        own = [t["t_us"][t["site"] == index] for t in
               (session.spikes, session.stimulation, session.pulses, session.reads)]  # fmt: skip
        times = np.concatenate(own)
        sites.append({
            "name": name, "index": index, "reference": name == session.reference,
            "first_s": float(tb.seconds(times.min())) if times.size else None,
            "last_s": float(tb.seconds(times.max())) if times.size else None,
            "events": {"spikes": int(own[0].size), "stimulation": int(own[1].size),
                       "pulses": int(own[2].size), "reads": int(own[3].size),
                       "clock": int(session.clock.get(name, np.zeros(0)).size),
                       "link": len(session.links.get(name, []))},
            "spikes_produced": int(np.count_nonzero(source == index)),
            "dropped_bytes": int(session.dropped_bytes.get(name, 0)),
        })  # fmt: skip
    pops: dict[tuple[str, str, str], list[int]] = {}
    for i in range(len(units)):
        pops.setdefault((units.site[i], units.population[i], units.kind[i]), []).append(
            int(units.rows(i).size)
        )
    duration = tb.duration_s
    spikes = [{"site": s, "population": p, "kind": k, "units": len(n), "spikes": sum(n),
               "rate_hz": sum(n) / len(n) / duration if duration > 0 else None}
              for (s, p, k), n in sorted(pops.items())]  # fmt: skip
    clocks = []
    for name, c in sorted(session.clock.items()):
        for peer in np.unique(c["peer"]):
            rows = c[c["peer"] == peer]
            last = rows[np.argmax(rows["t_us"])]
            clocks.append({"site": name, "peer": session.site_name(int(peer)),
                           "offset_us": float(last["offset_us"]),
                           "uncertainty_us": float(last["uncertainty_us"]),
                           "samples": int(rows.size)})  # fmt: skip
    counters = ("frames_received", "frames_lost", "events_received", "events_lost")
    losses = [{"site": x["site"], "peer": x["peer"], "t_s": float(tb.seconds(x.get("t_us", 0))),
               **{k: int(x.get(k) or 0) for k in counters}}
              for x in last_link_snapshots(session)]  # fmt: skip
    plasticity = []
    for syn in synapse_table(session):
        p, r = _selected(session.pulses, syn), _selected(session.reads, syn)
        plasticity.append({
            "synapse": syn.name, "site": session.site_name(syn.site), "index": syn.index,
            "ltp": int(np.count_nonzero(p["volts"] > 0)),
            "ltd": int(np.count_nonzero(p["volts"] < 0)), "reads": int(r.size),
            "r_first_ohm": float(r["r_ohm"][0]) if r.size else None,
            "r_last_ohm": float(r["r_ohm"][-1]) if r.size else None,
        })  # fmt: skip
    allowed = session.stimulation["allowed"] > 0
    rejected = reason_names(session)[~allowed]
    stimulation = {"total": int(allowed.size), "allowed": int(np.count_nonzero(allowed)),
                   "rejected": int(rejected.size),
                   "rejected_by_reason": _counts(rejected)}  # fmt: skip
    return {
        "reference": session.reference, "duration_s": duration, "origin_us": tb.origin_us,
        "start_time": tb.start_time.isoformat() if tb.start_time else None, "sites": sites,
        "units": {"total": len(units), "by_kind": _counts(units.kind)}, "spikes": spikes,
        "losses": losses, "dropped_bytes": {s["name"]: s["dropped_bytes"] for s in sites},
        "clock": clocks, "stimulation": stimulation, "plasticity": plasticity,
    }  # fmt: skip


def summary_line(session: Session) -> str:
    """One line: sites, reference, duration and the main counts."""
    s = summarize(session)
    lost = sum(x["events_lost"] for x in s["losses"])
    torn = sum(s["dropped_bytes"].values())
    return (
        f"{len(s['sites'])} sites on {s['reference']}'s clock, {s['duration_s']:.1f} s: "
        f"{session.spikes.size} spikes from {s['units']['total']} units, "
        f"{s['stimulation']['total']} stimulations ({s['stimulation']['rejected']} rejected), "
        f"{session.pulses.size} pulses, {session.reads.size} reads, {lost} events lost"
        + (f", {torn} bytes of torn log tails skipped" if torn else "")
    )


def _table(title: str, header: tuple[str, ...], rows: Iterable[Iterable[Any]], left: int) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for k, col in enumerate(header):
        table.add_column(col, justify="left" if k < left else "right")
    for row in rows:
        table.add_row(*("–" if v is None else str(v) for v in row))
    return table


def render_summary(session: Session, console: Console | None = None) -> None:
    """Print :func:`summarize` as rich tables (to ``console``, default standard output)."""
    from rich.console import Console

    console = console or Console()
    s = summarize(session)
    start = f", started {s['start_time']}" if s["start_time"] else ""
    console.print(f"[bold]Session[/] on [bold]{s['reference']}[/]'s clock: "
                  f"{s['duration_s']:.3f} s{start}")  # fmt: skip
    console.print(_table(
        "Sites (events each recorded; spikes by the site that fired them)",
        ("site", "span (s)", "spikes", "stim", "pulses", "reads", "clock", "links", "torn (B)"),
        ([x["name"] + (" (ref)" if x["reference"] else ""),
          f"{x['first_s']:.3f}–{x['last_s']:.3f}" if x["first_s"] is not None else None,
          x["spikes_produced"], *(x["events"][k] for k in
                                  ("stimulation", "pulses", "reads", "clock", "link")),
          x["dropped_bytes"]] for x in s["sites"]), left=1))  # fmt: skip
    console.print(_table(
        "Spikes", ("site", "population", "kind", "units", "spikes", "rate per unit (Hz)"),
        ([p["site"], p["population"], p["kind"], p["units"], p["spikes"],
          None if p["rate_hz"] is None else f"{p['rate_hz']:.2f}"] for p in s["spikes"]),
        left=3))  # fmt: skip
    clock = {(c["site"], c["peer"]): c for c in s["clock"]}
    loss = {(x["site"], x["peer"]): x for x in s["losses"]}
    rows = []
    for pair in sorted(set(clock) | set(loss)):
        c, x = clock.get(pair), loss.get(pair) or {}
        off = f"{c['offset_us'] / 1e3:+.3f} ± {c['uncertainty_us'] / 1e3:.3f}" if c else None
        rows.append([f"{pair[0]} → {pair[1]}", off, x.get("frames_lost"), x.get("events_lost")])
    console.print(_table("Links (last snapshot)",
                         ("site → peer", "clock offset (ms)", "frames lost", "events lost"),
                         rows, left=1))  # fmt: skip
    st = s["stimulation"]
    reasons = ", ".join(f"{k}: {v}" for k, v in st["rejected_by_reason"].items())
    console.print(f"[bold]Stimulation[/]: {st['total']} commands, {st['allowed']} allowed, "
                  f"{st['rejected']} rejected" + (f" ({reasons})" if reasons else ""))  # fmt: skip
    console.print(_table(
        "Plasticity", ("synapse", "site", "LTP pulses", "LTD pulses", "reads", "R first → last"),
        ([p["synapse"], p["site"], p["ltp"], p["ltd"], p["reads"],
          f"{p['r_first_ohm']:.0f} → {p['r_last_ohm']:.0f} Ω" if p["reads"] else None]
         for p in s["plasticity"]), left=2))  # fmt: skip
