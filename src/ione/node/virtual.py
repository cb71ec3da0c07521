"""An experiment in virtual time: every site's processors in one process, no sockets, no clock.

The sites do exactly what they do in a real run (the same processors, built the same way from
the description, :func:`ione.node.build.site_processors`), but ticks follow one another as fast
as the machine allows and events between sites arrive after their link's emulated one-way delay
(with its jitter and loss, drawn from the experiment's seed). All sites share one clock, so no
clock offset is involved. Use it to tune a protocol before booking three labs, to check what a
description does in seconds, and in tests.

With a run folder it writes the same files as ``ione run`` (each site's log, the merged
session, ``config.toml``), so ``ione report`` reads a virtual run like a real one; link
statistics are absent (there is no wire).
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ione.events import EVENT_DTYPE, EventBlock, concat_events
from ione.network import Experiment, dump_experiment
from ione.node.build import check_sources, log_path, site_meta, site_processors
from ione.node.processors import run_tick, warm_up
from ione.record import LogWriter
from ione.record import kinds as K
from ione.record.merge import SESSION_FILE, merge_run, save_session

__all__ = ["run_virtual"]


def run_virtual(
    experiment: Experiment,
    run_dir: str | os.PathLike[str] | None = None,
    *,
    t0_us: int = 0,
    emulate: bool = True,
    progress: Callable[[float], None] | None = None,
) -> dict[str, list[tuple[str, Any]]]:
    """Run ``experiment`` in virtual time.

    Parameters
    ----------
    run_dir
        If given, write the run folder there (it must not hold site logs yet).
    t0_us
        Time of tick 0 (every site's clock).
    emulate
        Apply each link's emulated delay, jitter and loss; otherwise events arrive at the next
        tick.
    progress
        Called now and then with the fraction done.

    Returns
    -------
    dict
        Per site, every record it produced, in order: ``(kind, block)``.
    """
    exp = experiment
    check_sources(exp)
    warm_up()
    tick = exp.tick_us
    duration = exp.duration_us or 0
    n_ticks = -(-duration // tick)
    names = [s.name for s in exp.sites]
    procs = {n: site_processors(exp, n, t0_us) for n in names}
    records: dict[str, list[tuple[str, Any]]] = {n: [] for n in names}
    links = {}
    for link in exp.links:
        em = link.emulation if emulate else None
        rng = np.random.default_rng(exp.seed_sequence("virtual-link", link.name))
        links[frozenset(link.sites)] = (em, rng)
    index = {s.name: s.index for s in exp.sites}
    queues: dict[str, list[tuple[int, int, str, EventBlock]]] = {n: [] for n in names}
    order = itertools.count()
    dropped = dict.fromkeys(names, 0)
    for n in names:
        records[n].append(
            ("run", {"t0_us": t0_us, "tick_us": tick, "duration_us": duration, "virtual": True})
        )
        for link in exp.links_at(n):
            peer = index[link.other(n)]
            records[n].append((K.CLOCK, K.clock_block([t0_us], [peer], [0.0], [0.0])))
    for k in range(n_ticks):
        t = t0_us + k * tick
        for n in names:
            q = queues[n]
            blocks, peers, arrivals = [], [], []
            while q and q[0][0] <= t:
                arrived, _, src, block = heapq.heappop(q)
                blocks.append(block)
                peers.append(np.full(block.size, index[src], np.uint32))
                arrivals.append(np.full(block.size, arrived, np.int64))
            inbound = concat_events(blocks) if blocks else np.zeros(0, EVENT_DTYPE)
            if blocks:
                records[n].append(
                    (
                        K.RECEIVED,
                        K.received_block(
                            inbound["t_us"],
                            inbound["t_us"],
                            np.concatenate(arrivals),
                            np.concatenate(peers),
                            inbound["key"],
                            inbound["value"],
                        ),
                    )
                )
            result = run_tick(procs[n], t, tick, inbound)
            for dest, out in result.outbound.items():
                events = concat_events(out)
                if dest == n:
                    heapq.heappush(queues[n], (t + tick, next(order), n, events))
                    continue
                entry = links.get(frozenset((n, dest)))
                if entry is None:
                    dropped[n] += events.size
                    continue
                records[n].append((K.SENT, K.sent_block(events, index[dest])))
                em, rng = entry
                sent_at = t + tick  # what a tick sends leaves at its end
                if em is None:
                    heapq.heappush(queues[dest], (sent_at, next(order), n, events))
                    continue
                if em.loss and rng.random() < em.loss:  # one datagram per tick and link
                    continue
                delay = em.delay_us + (rng.normal(0.0, em.jitter_us) if em.jitter_us else 0.0)
                arrival = sent_at + max(0, round(delay))
                heapq.heappush(queues[dest], (arrival, next(order), n, events))
            records[n].extend(result.records)
        if progress is not None and k % 5000 == 0:
            progress(k / max(1, n_ticks))
    for n in names:
        final = {
            "site": n,
            "virtual": True,
            "ticks": {"ticks": n_ticks, "late_ticks": 0},
            "links": {},
            "counters": {"no_route": dropped[n]},
            "processors": [p.status() for p in procs[n]],
            "done": True,
        }
        records[n].append(("final", final))
    if run_dir is not None:
        _write_run(exp, Path(run_dir), records)
    if progress is not None:
        progress(1.0)
    return records


def _write_run(exp: Experiment, run: Path, records: dict[str, list[tuple[str, Any]]]) -> None:
    existing = [n for n in records if log_path(run, n).exists()]
    if existing:
        raise FileExistsError(f"{run} already holds the logs of {', '.join(existing)}")
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.toml").write_text(dump_experiment(exp), encoding="utf-8")
    for n, recs in records.items():
        with LogWriter(log_path(run, n)) as log:
            log.append(K.META, {**site_meta(exp, n), "virtual": True})
            for kind, block in recs:
                log.append(kind, block)
    save_session(merge_run(run), run / SESSION_FILE)
    (run / "run.json").write_text(
        json.dumps(
            {
                "experiment": exp.name,
                "config": exp.source,
                "virtual": True,
                "ok": True,
                "exit_code": 0,
                "sites": {n: {"exit_code": 0, "ran_to_end": True} for n in records},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
