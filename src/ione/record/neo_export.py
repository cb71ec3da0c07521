"""Export a merged session to Neo (and through it to NIX files), for Elephant and friends.

:func:`session_to_neo` builds one :class:`neo.Block` with one :class:`neo.Segment`:

- a :class:`neo.SpikeTrain` per unit (every address that spiked), times in seconds from the
  session start on the reference clock, ``t_start`` 0 and ``t_stop`` 1 µs after the session's
  last event (so binning the half-open ``[t_start, t_stop)`` keeps every spike), named
  ``site/population/neuron`` and annotated with ``site``, ``population``, ``neuron``, ``kind``
  (biological, silicon or generator) and ``key``; the array annotation ``uncertainty_s`` bounds
  each spike time's error;
- an :class:`neo.IrregularlySampledSignal` per memristor for its resistance (Ω) and one for its
  weight (dimensionless), annotated with ``synapse``, ``site``, ``pre``, ``post``;
- :class:`neo.Epoch` ``stimulation`` (label: ``ok`` or the guard's reason; array annotations
  ``key``, ``electrode``, ``amplitude``, ``allowed``, ``reason``, ``uncertainty_s``) and
  ``memristor_pulses`` (label ``<MR> LTP``/``<MR> LTD``; ``volts``);
- a :class:`neo.Group` per population holding its spike trains.

The block's annotations hold the reference site, the sites, the time origin and every site's
configuration as JSON (:mod:`ione.record.summary` lists the meta fields read). The block's
``rec_datetime`` is the wall-clock time of t = 0 when the reference site recorded it (NIX keeps
whole seconds and reads it back as a naive local time; the annotation ``session_start_time``
keeps the ISO 8601 string).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ione._version import __version__
from ione.record.merge import Session, writable
from ione.record.summary import (
    reason_names,
    seconds,
    synapse_names,
    synapse_table,
    time_base,
    unit_table,
)

if TYPE_CHECKING:
    import neo

__all__ = ["export_neo", "session_to_neo"]


def session_to_neo(session: Session) -> neo.Block:
    """The session as a :class:`neo.Block` (see the module docstring)."""
    import neo
    import quantities as pq

    tb = time_base(session)
    t_stop = float(tb.seconds(tb.stop_us + 1)) * pq.s  # half-open: the last event is inside
    block = neo.Block(
        name=f"ione run on {session.reference}'s clock",
        description="neurons, memristive synapses and silicon neurons of "
        + ", ".join(sorted(session.sites))
        + ", merged by ione "
        + __version__,
        rec_datetime=tb.start_time,
        reference=session.reference,
        sites=json.dumps(session.sites),
        origin_us=int(tb.origin_us),
        session_start_time=tb.start_time.isoformat() if tb.start_time else "",
        meta=json.dumps(session.meta, default=str),
    )
    seg = neo.Segment(name="session")
    block.segments.append(seg)

    units = unit_table(session)
    groups: dict[tuple[str, str], neo.Group] = {}
    for i in range(len(units)):  # one spike train per unit
        rows = session.spikes[units.rows(i)]
        st = neo.SpikeTrain(
            tb.seconds(rows["t_us"]) * pq.s,
            t_start=0.0 * pq.s,
            t_stop=t_stop,
            name=f"{units.site[i]}/{units.population[i]}/{units.neuron[i]}",
            site=units.site[i],
            population=units.population[i],
            neuron=int(units.neuron[i]),
            kind=units.kind[i],
            key=int(units.keys[i]),
            array_annotations={"uncertainty_s": seconds(rows["uncertainty_us"])},
        )
        seg.spiketrains.append(st)
        group = (units.site[i], units.population[i])
        if group not in groups:
            groups[group] = neo.Group(
                name=f"{group[0]}/{group[1]}",
                site=group[0],
                population=group[1],
                kind=units.kind[i],
            )
        groups[group].add(st)
    block.groups.extend(groups.values())

    for syn in synapse_table(session):
        r = session.reads[
            (session.reads["site"] == syn.site) & (session.reads["synapse"] == syn.index)
        ]
        if not r.size:
            continue
        notes = {
            "synapse": syn.name,
            "site": session.site_name(syn.site),
            "pre": syn.pre or "",
            "post": syn.post or "",
        }
        times = tb.seconds(r["t_us"]) * pq.s
        seg.irregularlysampledsignals.append(
            neo.IrregularlySampledSignal(
                times,
                r["r_ohm"].astype(np.float64) * pq.ohm,
                name=f"{syn.name} resistance",
                **notes,
            )
        )
        seg.irregularlysampledsignals.append(
            neo.IrregularlySampledSignal(
                times,
                r["weight"].astype(np.float64) * pq.dimensionless,
                name=f"{syn.name} weight",
                **notes,
            )
        )

    st = session.stimulation
    if st.size:
        seg.epochs.append(
            neo.Epoch(
                times=tb.seconds(st["t_us"]) * pq.s,
                durations=seconds(st["duration_us"]) * pq.s,
                labels=np.asarray(reason_names(session)),
                name="stimulation",
                description="stimulation commands and the guard's decisions",
                array_annotations={
                    "key": st["key"].astype(np.int64),
                    "electrode": st["electrode"].astype(np.int64),
                    "amplitude": st["amplitude"].astype(np.float64),
                    "allowed": st["allowed"] > 0,
                    "reason": st["reason"].astype(np.int64),
                    "uncertainty_s": seconds(st["uncertainty_us"]),
                },
            )
        )
    p = session.pulses
    if p.size:
        labels = synapse_names(session, p)
        sign = np.where(p["volts"] > 0, " LTP", np.where(p["volts"] < 0, " LTD", " none"))
        seg.epochs.append(
            neo.Epoch(
                times=tb.seconds(p["t_us"]) * pq.s,
                durations=seconds(p["width_us"]) * pq.s,
                labels=np.char.add(labels.astype(str), sign),
                name="memristor_pulses",
                description="memristor programming pulses",
                array_annotations={
                    "volts": p["volts"].astype(np.float64),
                    "uncertainty_s": seconds(p["uncertainty_us"]),
                },
            )
        )
    block.check_relationships()
    return block


def export_neo(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write the session's :func:`session_to_neo` block to a NIX file (``.nix``), replacing it.

    Returns
    -------
    Path
        The file written.
    """
    from neo.io import NixIO

    path = writable(path)
    block: Any = session_to_neo(session)
    with NixIO(str(path), mode="ow") as io:
        io.write_block(block)
    return path
