"""The numbers of a run: per phase, per synapse, per stimulated neuron, per link and per site.

:func:`summarize_run` turns a :class:`~ione.report._run.RunData` into the ``summary.json``
dictionary described in :mod:`ione.report` (every value JSON-ready: no NaN, no numpy types).
Everything is computed with whole-array numpy operations; Python loops run over phases, synapses,
neurons and links, never over spikes, pulses or reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ione._time import US_PER_MS, us_to_seconds
from ione.report._run import PopulationInfo, RunData, Window

__all__ = [
    "LATENCY_DTYPE",
    "STIMULUS_FIELDS",
    "clean_json",
    "latencies",
    "locate_keys",
    "stimuli",
    "summarize_run",
]

#: The fields of a culture's ``stimuli`` records the report reads (one row per stimulus once
#: its response window closed; ``t_us`` on the culture site's clock).
STIMULUS_FIELDS: Final = np.dtype(
    [
        ("t_us", "<i8"),
        ("key", "<u4"),
        ("weight", "<f8"),
        ("evoked_ap", "<i8"),
        ("latency_us", "<i8"),
        ("peak_mv", "<f8"),
    ]
)
#: The fields of ``received`` records the latency figure reads.
LATENCY_DTYPE: Final = np.dtype([("t_us", "<i8"), ("arrived_us", "<i8"), ("peer", "<u4")])
#: Relay counters that count a datagram the emulator did not deliver.
RELAY_DROPS: Final = ("dropped_loss", "dropped_overflow", "dropped_paused", "dropped_no_peer")
#: Counters of a link's final snapshot shown for each end.
LINK_FIELDS: Final = (
    "state",
    "frames_sent",
    "frames_received",
    "frames_lost",
    "frames_in_flight",
    "events_sent",
    "events_received",
    "events_lost",
    "duplicates",
    "reordered",
    "auth_failed",
    "malformed",
    "rtt_min_us",
    "rtt_p50_us",
    "rtt_p99_us",
    "clock_offset_us",
    "clock_uncertainty_us",
    "sessions",
)
LINK_EVENTS: Final = ("joined", "lost", "returned", "closed", "failed")


def clean_json(value: Any) -> Any:
    """``value`` with numpy scalars and arrays made Python, NaN and infinities made None and
    tuples made lists, so that ``json.dumps(..., allow_nan=False)`` accepts it."""
    if isinstance(value, Mapping):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean_json(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _float(x: Any) -> float | None:
    """A finite float, or None (missing, NaN, infinite)."""
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _seconds(t_us: int) -> float:
    return float(us_to_seconds(int(t_us)))


def locate_keys(
    keys: npt.ArrayLike, populations: list[PopulationInfo]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For every address: the index of its population in ``populations`` (-1 when none owns it)
    and the neuron's index in that population."""
    k = np.asarray(keys, dtype=np.int64)
    if not populations:
        return np.full(k.shape, -1, np.int64), np.zeros(k.shape, np.int64)
    base = np.array([p.address for p in populations], np.int64)
    size = np.array([p.size for p in populations], np.int64)
    order = np.argsort(base, kind="stable")
    pos = np.searchsorted(base[order], k, side="right") - 1
    pop = order[np.clip(pos, 0, None)]
    neuron = k - base[pop]
    inside = (pos >= 0) & (neuron >= 0) & (neuron < size[pop])
    return np.where(inside, pop, -1), np.where(inside, neuron, 0)


def _neuron_names(keys: npt.NDArray[np.int64], populations: list[PopulationInfo]) -> list[str]:
    pop, neuron = locate_keys(keys, populations)
    return [
        populations[p].neuron_name(n) if p >= 0 else f"0x{k:08x}"
        for p, n, k in zip(pop.tolist(), neuron.tolist(), keys.tolist(), strict=True)
    ]


# ---------------------------------------------------------------------------------- synapses
def _last_at_or_before(
    row: npt.NDArray[np.int64],
    t: npt.NDArray[np.int64],
    q_row: npt.NDArray[np.int64],
    q_t: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """For each query (q_row, q_t): the index of the last sample of that row with t <= q_t, in
    arrays sorted by (row, t); -1 when there is none."""
    if row.size == 0:
        return np.full(q_row.shape, -1, np.int64)
    t_min, span = int(t.min()), int(t.max() - t.min())
    width = span + 3  # sample times map to 1 ... span + 1, queries are clipped to 0 ... span + 2
    code = row * width + (t - t_min + 1)
    q = q_row * width + np.clip(q_t - t_min + 1, 0, span + 2)
    pos = np.searchsorted(code, q, side="right") - 1
    ok = (pos >= 0) & (row[np.clip(pos, 0, None)] == q_row)
    return np.where(ok, pos, -1)


def _synapse_rows(run: RunData, table: npt.NDArray[np.void]) -> npt.NDArray[np.int64]:
    """Row of :attr:`RunData.synapses` for every row of ``session.pulses`` / ``reads``."""
    if not run.synapses or table.size == 0:
        return np.full(table.size, -1, np.int64)
    codes = np.array([(s.site << 32) | s.index for s in run.synapses], np.int64)
    order = np.argsort(codes)
    mine = (table["site"].astype(np.int64) << 32) | table["synapse"].astype(np.int64)
    pos = np.clip(np.searchsorted(codes[order], mine), 0, codes.size - 1)
    return np.where(codes[order][pos] == mine, order[pos], -1)


def _phase_synapses(run: RunData) -> list[dict[str, dict[str, Any]]]:
    n = len(run.synapses)
    pulses, reads = run.session.pulses, run.session.reads
    p_row = _synapse_rows(run, pulses)
    p_t = pulses["t_us"].astype(np.int64)
    window = np.array([s.window_us for s in run.synapses] or [0], np.int64)
    volts = pulses["volts"].astype(np.float64)
    r_row = _synapse_rows(run, reads)
    keep = r_row >= 0
    order = np.lexsort((reads["t_us"][keep], r_row[keep]))
    rr, rt = r_row[keep][order], reads["t_us"][keep][order].astype(np.int64)
    r_ohm, w = reads["r_ohm"][keep][order], reads["weight"][keep][order]
    rows = np.arange(n, dtype=np.int64)
    first = np.searchsorted(rr, rows, side="left")
    has_any = np.zeros(n, bool)
    valid = first < rr.size
    has_any[valid] = rr[first[valid]] == rows[valid]

    out = []
    for win in run.windows:
        inside = (p_row >= 0) & (p_t >= win.start_us) & (p_t < win.stop_us)
        onset = inside & (p_t - window[np.clip(p_row, 0, None)] < win.start_us)
        plain = inside & ~onset

        def count(mask: npt.NDArray[np.bool_]) -> list[int]:
            return [int(c) for c in np.bincount(p_row[mask], minlength=n)]

        ltp, ltd = count(plain & (volts > 0)), count(plain & (volts < 0))
        on_ltp, on_ltd = count(onset & (volts > 0)), count(onset & (volts < 0))
        start = _last_at_or_before(rr, rt, rows, np.full(n, win.start_us, np.int64))
        start = np.where((start < 0) & has_any, first, start)
        end = _last_at_or_before(rr, rt, rows, np.full(n, win.stop_us - 1, np.int64))
        phase: dict[str, dict[str, Any]] = {}
        for k, syn in enumerate(run.synapses):
            r0 = _float(r_ohm[start[k]]) if start[k] >= 0 else None
            r1 = _float(r_ohm[end[k]]) if end[k] >= 0 else None
            w0 = _float(w[start[k]]) if start[k] >= 0 else None
            w1 = _float(w[end[k]]) if end[k] >= 0 else None
            phase[syn.name] = {
                "ltp_pulses": ltp[k],
                "ltd_pulses": ltd[k],
                "onset_ltp_pulses": on_ltp[k],
                "onset_ltd_pulses": on_ltd[k],
                "r_start_ohm": r0,
                "r_end_ohm": r1,
                "w_start": w0,
                "w_end": w1,
                "delta_r_ohm": None if r0 is None or r1 is None else r1 - r0,
                "delta_w": None if w0 is None or w1 is None else w1 - w0,
            }
        out.append(phase)
    return out


# ---------------------------------------------------------------------------------- neurons
def stimuli(run: RunData) -> tuple[npt.NDArray[np.void], npt.NDArray[np.int64]]:
    """Every stimulus a culture delivered (fields of :data:`STIMULUS_FIELDS`) with its onset on
    the reference clock (µs), in onset order."""
    parts, times = [], []
    for site in run.session.sites:
        block = run.blocks(site, "stimuli", STIMULUS_FIELDS)
        if block.size:
            parts.append(block)
            times.append(run.to_reference(site, block["t_us"]))
    if not parts:
        return np.zeros(0, STIMULUS_FIELDS), np.zeros(0, np.int64)
    block, t = np.concatenate(parts), np.concatenate(times)
    order = np.argsort(t, kind="stable")
    return block[order], t[order]


def refused(run: RunData) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Stimuli a culture site's guard refused: (target key, time on the reference clock)."""
    stim = run.session.stimulation
    no = stim[stim["allowed"] == 0]
    return no["key"].astype(np.int64), no["t_us"].astype(np.int64)


def _phase_neurons(run: RunData) -> list[dict[str, dict[str, Any]]]:
    block, t = stimuli(run)
    refused_key, refused_t = refused(run)
    keys, inverse = np.unique(
        np.concatenate([block["key"].astype(np.int64), refused_key]), return_inverse=True
    )
    inverse, refused_inverse = inverse[: block.size], inverse[block.size :]
    names = _neuron_names(keys, run.populations)
    n = keys.size
    evoked = (block["evoked_ap"] > 0).astype(np.float64)
    peak = block["peak_mv"]
    has_peak = np.isfinite(peak)
    out = []
    for win in run.windows:
        m = (t >= win.start_us) & (t < win.stop_us)
        idx = inverse[m]
        count = np.bincount(idx, minlength=n)
        aps = np.bincount(idx, weights=evoked[m], minlength=n)
        w_sum = np.bincount(idx, weights=block["weight"][m], minlength=n)
        pm = m & has_peak
        p_n = np.bincount(inverse[pm], minlength=n)
        p_sum = np.bincount(inverse[pm], weights=peak[pm], minlength=n)
        rm = (refused_t >= win.start_us) & (refused_t < win.stop_us)
        rejected = np.bincount(refused_inverse[rm], minlength=n)
        phase = {}
        for k, name in enumerate(names):
            c = int(count[k])
            phase[name] = {
                "stimuli": c,
                "evoked_aps": int(aps[k]),
                "ap_probability": float(aps[k]) / c if c else None,
                "mean_weight": _float(w_sum[k] / c) if c else None,
                "mean_peak_mv": _float(p_sum[k] / p_n[k]) if p_n[k] else None,
                "rejected_stimuli": int(rejected[k]),
            }
        out.append(phase)
    return out


# ------------------------------------------------------------------------------ populations
def _phase_populations(run: RunData) -> list[dict[str, dict[str, Any]]]:
    spikes = run.session.spikes
    pop, _ = locate_keys(spikes["key"], run.populations)
    t = spikes["t_us"]
    n = len(run.populations)
    out = []
    for win in run.windows:
        m = (pop >= 0) & (t >= win.start_us) & (t < win.stop_us)
        count = np.bincount(pop[m], minlength=n)
        seconds = _seconds(win.duration_us)
        out.append(
            {
                p.name: {
                    "spikes": int(count[k]),
                    "rate_hz": float(count[k]) / (p.size * seconds) if seconds > 0 else None,
                }
                for k, p in enumerate(run.populations)
            }
        )
    return out


def _rates(run: RunData, win: Window) -> dict[str, float | None]:
    """The generator rates (Hz) the protocol sets during a phase."""
    out: dict[str, float | None] = {}
    for pop in run.experiment.populations:
        if pop.kind != "generator":
            continue
        rate = win.rates_hz.get(pop.name, pop.rate_hz)
        out[pop.name] = _float(rate)
    return out


# ------------------------------------------------------------------------------------ links
def latencies(run: RunData) -> dict[str, npt.NDArray[np.float64]]:
    """Per link direction (``"a->b"``): for every event ``b`` received from ``a``, the arrival
    of its datagram minus the event's time, both on the reference clock, in ms."""
    out: dict[str, npt.NDArray[np.float64]] = {}
    sites = run.session.sites
    for link in run.experiment.links:
        for src, dst in ((link.a, link.b), (link.b, link.a)):
            lat = np.zeros(0)
            if src in sites and dst in sites:
                rows = run.blocks(dst, "received", LATENCY_DTYPE)
                rows = rows[rows["peer"] == sites[src]]
                if rows.size:
                    try:
                        arrived = run.to_reference(dst, rows["arrived_us"])
                        sent = run.to_reference(src, rows["t_us"])
                    except ValueError:  # no clock samples relate one of the sites
                        arrived = sent = np.zeros(0, np.int64)
                    lat = (arrived - sent).astype(np.float64) / US_PER_MS
            out[f"{src}->{dst}"] = lat
    return out


def _latency_stats(lat: npt.NDArray[np.float64]) -> dict[str, Any]:
    if lat.size == 0:
        return {"events": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    p50, p99 = np.percentile(lat, [50, 99])
    return {
        "events": int(lat.size),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "max_ms": float(lat.max()),
    }


def _end(run: RunData, site: str, peer: str) -> dict[str, Any] | None:
    final = run.last_json(site, "final")
    links = final.get("links") if final else None
    snap = links.get(peer) if isinstance(links, dict) else None
    if not isinstance(snap, dict):
        return None
    return {k: clean_json(snap.get(k)) for k in LINK_FIELDS if k in snap}


def _sum(*values: Any) -> int | None:
    nums = [int(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    return sum(nums) if nums else None


def _relay(value: dict[str, Any] | str | None) -> tuple[int | None, dict[str, Any] | None]:
    if not isinstance(value, dict):
        return None, None
    total, detail = 0, {}
    for direction in ("a_to_b", "b_to_a"):
        d = value.get(direction)
        d = d if isinstance(d, dict) else {}
        keep = ("received", "forwarded", "duplicated", *RELAY_DROPS)
        detail[direction] = {k: clean_json(d.get(k)) for k in keep if k in d}
        total += sum(int(d.get(k) or 0) for k in RELAY_DROPS)
    return total, detail


def _links(run: RunData, lat: dict[str, npt.NDArray[np.float64]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for link in run.experiment.links:
        a, b = _end(run, link.a, link.b), _end(run, link.b, link.a)
        ea, eb = a or {}, b or {}
        rtt = a if a is not None else eb  # site a's view; b's when a logged no final snapshot
        events = dict.fromkeys(LINK_EVENTS, 0)
        for site, peer in ((link.a, link.b), (link.b, link.a)):
            for rec in run.records(site, "link_event"):
                if isinstance(rec, dict) and rec.get("peer") == peer and rec.get("event") in events:
                    events[rec["event"]] += 1
        relay = run.relays.get(link.name)
        dropped, detail = _relay(relay)
        out[link.name] = {
            "a": link.a,
            "b": link.b,
            "frames_sent": _sum(ea.get("frames_sent"), eb.get("frames_sent")),
            "frames_lost": _sum(ea.get("frames_lost"), eb.get("frames_lost")),
            "events_sent": _sum(ea.get("events_sent"), eb.get("events_sent")),
            "events_lost": _sum(ea.get("events_lost"), eb.get("events_lost")),
            "relay_dropped": dropped,
            "relay": detail,
            "relay_error": relay if isinstance(relay, str) else None,
            "rtt_p50_us": _float((rtt or {}).get("rtt_p50_us")),
            "rtt_p99_us": _float((rtt or {}).get("rtt_p99_us")),
            "clock_offset_us": _float((rtt or {}).get("clock_offset_us")),
            "clock_uncertainty_us": _float((rtt or {}).get("clock_uncertainty_us")),
            "down": events["lost"] + events["failed"],
            "up": events["returned"],
            "events": events,
            "latency": {
                d: _latency_stats(lat[d]) for d in (f"{link.a}->{link.b}", f"{link.b}->{link.a}")
            },
            "ends": {link.a: a, link.b: b},
        }
    return out


# ------------------------------------------------------------------------------------ sites
def _sites(run: RunData) -> dict[str, Any]:
    s = run.session
    rec_sites = (run.run_record or {}).get("sites")
    rec_sites = rec_sites if isinstance(rec_sites, dict) else {}
    out: dict[str, Any] = {}
    for site in run.experiment.sites:
        name = site.name
        final = run.last_json(name, "final") if name in s.sites else None
        start = run.last_json(name, "run") if name in s.sites else None
        t0 = None
        if start is not None and isinstance(start.get("t0_us"), int | float):
            try:
                t0 = int(run.to_reference(name, np.array([int(start["t0_us"])]))[0])
            except ValueError:
                t0 = None
        entry = rec_sites.get(name)
        exit_code = entry.get("exit_code") if isinstance(entry, dict) else None
        out[name] = {
            "index": site.index,
            "role": site.role,
            "logged": name in s.sites,
            "reference": name == s.reference,
            "t0_us": t0,
            "ticks": clean_json(final.get("ticks")) if final else None,
            "counters": clean_json(final.get("counters")) if final else None,
            "log_dropped_bytes": s.dropped_bytes.get(name),
            "exit_code": exit_code if isinstance(exit_code, int) else None,
        }
    return out


def summarize_run(run: RunData) -> dict[str, Any]:
    """The ``summary.json`` dictionary of a run (layout: :mod:`ione.report`)."""
    synapses = _phase_synapses(run)
    neurons = _phase_neurons(run)
    populations = _phase_populations(run)
    phases = {}
    for k, win in enumerate(run.windows):
        phases[win.name] = {
            "start_s": _seconds(win.rel_start_us),
            "stop_s": _seconds(win.rel_stop_us),
            "rates_hz": _rates(run, win),
            "synapses": synapses[k],
            "neurons": neurons[k],
            "populations": populations[k],
        }
    ok = (run.run_record or {}).get("ok")
    summary = {
        "experiment": run.experiment.name,
        "ok": ok if isinstance(ok, bool) else None,
        "reference": run.session.reference,
        "t0_us": int(run.t0_us),
        "phases": phases,
        "links": _links(run, latencies(run)),
        "sites": _sites(run),
    }
    return clean_json(summary)  # type: ignore[no-any-return]
