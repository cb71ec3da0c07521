"""Export a merged session to NWB (Neurodata Without Borders) with pynwb.

What the file holds (times in seconds from the session start, on the reference site's clock;
see :func:`ione.record.summary.time_base`)::

    session_start_time          wall clock at time 0 (reference meta ``session_start_time``)
    general/subject             the culture (meta ``subject``)
    general/devices             one per site; one per memristor (``<MR>_memristor``)
    general/extracellular_ephys one electrode group per site with ``electrodes`` in its meta
      electrodes                rel_x / rel_y (µm), electrode_id, electrode_name, kind, material,
                                area_um2
    units                       one row per address that spiked: site, population, neuron, kind
                                (biological / silicon / generator), key, spike_times and a ragged
                                spike_time_uncertainty (one bound per spike)
    intervals/stimulation       every stimulation command and the guard's decision: site,
                                target_key / _site / _population / _neuron, electrode (and an
                                electrodes region when the electrode is in the table),
                                amplitude, duration, allowed, reason, reason_name, time_uncertainty
    intervals/memristor_pulses  every programming pulse: site, synapse, volts, width, direction
                                (LTP for a positive pulse, LTD for a negative one), time_uncertainty
    acquisition/<MR>_resistance TimeSeries of each memristor's reads (unit "ohm")
    acquisition/<MR>_weight     the weight each read maps to (unit "1")
    scratch/ione_meta           every site's meta record (configuration, limits...) as JSON
    scratch/ione_links          every link statistics snapshot as JSON

Software versions go to ``was_generated_by``; the meta fields read are listed in
:mod:`ione.record.summary`. Without a ``subject`` in any site's meta the file gets a placeholder
subject (sex and age unknown, no species), which nwbinspector reports as missing the species.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ione._version import __version__
from ione.events import split_key
from ione.record.merge import Session, writable
from ione.record.summary import (
    TimeBase,
    reason_names,
    seconds,
    site_meta,
    site_names,
    synapse_names,
    synapse_table,
    time_base,
    unit_table,
)

if TYPE_CHECKING:
    from pynwb import NWBFile

__all__ = ["export_nwb", "session_to_nwb"]

_SUBJECT_FIELDS = ("subject_id", "species", "sex", "age", "description", "strain", "genotype",
                   "date_of_birth")  # fmt: skip
Columns = dict[str, tuple[str, Any]]  # name -> (description, data)


def _subject(session: Session, given: dict[str, Any] | None) -> dict[str, Any]:
    if given is None:
        given = next((m["subject"] for m in session.meta.values() if "subject" in m), None)
    if given is None:
        given = {"description": "not recorded: no site's meta describes the subject"}
    if not isinstance(given, dict):
        raise ValueError("meta 'subject' must be an object of NWB subject fields")
    unknown = sorted(set(given) - set(_SUBJECT_FIELDS))
    if unknown:
        raise ValueError(f"meta 'subject': unknown fields {unknown}; NWB takes {_SUBJECT_FIELDS}")
    out = {"sex": "U", "age": "P0D/", **given}  # sex unknown, age "0 days or more"
    out["subject_id"] = str(out.get("subject_id", f"{session.reference}-run"))
    if isinstance(out.get("date_of_birth"), str):
        out["date_of_birth"] = dt.datetime.fromisoformat(out["date_of_birth"])
    return out


def _versions(session: Session) -> list[list[str]]:
    seen = {"ione": __version__}
    for meta in session.meta.values():
        versions = meta.get("versions")
        for name, version in (versions if isinstance(versions, dict) else {}).items():
            if name != "platform":
                seen.setdefault(str(name), str(version))
    return [[name, version] for name, version in seen.items()]


def _columns(columns: Columns) -> list[Any]:
    from hdmf.common import VectorData

    return [VectorData(name=k, description=d, data=v) for k, (d, v) in columns.items()]


def _ragged(name: str, description: str, data: Any, ends: npt.NDArray[np.int64]) -> list[Any]:
    from hdmf.common import VectorData, VectorIndex

    col = VectorData(name=name, description=description, data=data)
    return [col, VectorIndex(name=f"{name}_index", data=ends, target=col)]


def _intervals(name: str, description: str, columns: Columns) -> Any:
    from pynwb.epoch import TimeIntervals

    n = len(columns["start_time"][1])
    return TimeIntervals(name=name, description=description, id=np.arange(n),
                         columns=_columns(columns))  # fmt: skip


def _electrodes(nwb: NWBFile, session: Session) -> dict[tuple[int, int], int]:
    """Add every site's electrodes; returns (site index, electrode id) -> table row."""
    rows: dict[tuple[int, int], int] = {}
    sites = [(name, m) for name, m in session.meta.items() if m.get("electrodes")]
    if not sites:
        return rows
    area = any("area_um2" in e for _, m in sites for e in m["electrodes"])
    columns = [("electrode_id", "electrode id in the site's meta and stimulation table"),
               ("electrode_name", "electrode name at the site"),
               ("kind", "recording or stimulation"),
               ("material", "electrode material ('' when not recorded)")]  # fmt: skip
    if area:
        columns.append(("area_um2", "electrode area (µm²; NaN: not recorded)"))
    for col, text in columns:
        nwb.add_electrode_column(name=col, description=text)
    for name, meta in sites:
        if not isinstance(meta["electrodes"], list) or not all(
            isinstance(e, dict) and "id" in e for e in meta["electrodes"]
        ):
            raise ValueError(f"meta of site {name!r}: 'electrodes' must be a list of objects "
                             "with an 'id'")  # fmt: skip
        group = nwb.create_electrode_group(
            name=name, description=f"electrodes of site {name}", device=nwb.devices[name],
            location=str(meta.get("location", "in vitro")))  # fmt: skip
        for e in meta["electrodes"]:
            extra = {"area_um2": float(e.get("area_um2", np.nan))} if area else {}
            nwb.add_electrode(
                group=group, location=group.location, rel_x=float(e.get("x_um", np.nan)),
                rel_y=float(e.get("y_um", np.nan)), electrode_id=int(e["id"]),
                electrode_name=str(e.get("name", e["id"])), kind=str(e.get("kind", "recording")),
                material=str(e.get("material", "")), **extra)  # fmt: skip
            rows[session.sites[name], int(e["id"])] = len(rows)
    return rows


def _units(session: Session, tb: TimeBase) -> Any:
    from pynwb.misc import Units

    u = unit_table(session)
    spikes = session.spikes[u.order]
    cols = [
        *_ragged("spike_times", "spike times (s from the session start, reference clock)",
                 tb.seconds(spikes["t_us"]), u.ends),
        *_ragged("spike_time_uncertainty", "bound on each spike time's error (s), from the "
                 "clock synchronisation of its source site", seconds(spikes["uncertainty_us"]),
                 u.ends),
        *_columns({"site": ("site of the neuron", u.site),
                   "population": ("population name at its site", u.population),
                   "neuron": ("neuron index in its population (address bits 19-0)", u.neuron),
                   "kind": ("biological, silicon or generator", u.kind),
                   "key": ("32-bit ione address: site, population, neuron",
                           u.keys.astype(np.int64))}),
    ]  # fmt: skip
    return Units(name="units", id=np.arange(len(u)), columns=cols, resolution=1e-6,
                 description="spiking neurons of every site (biological and silicon), their "
                 "spikes merged onto the reference clock")  # fmt: skip


def _stimulation(session: Session, tb: TimeBase, rows: dict[tuple[int, int], int],
                 electrodes: Any) -> Any:  # fmt: skip
    from hdmf.common import DynamicTableRegion

    st = session.stimulation
    start = tb.seconds(st["t_us"])
    site, pop, neuron = split_key(st["key"])
    cols: Columns = {
        "start_time": ("command time (s)", start),
        "stop_time": ("command time + duration (s)", start + seconds(st["duration_us"])),
        "site": ("site that logged the command", site_names(session, st["site"])),
        "target_key": ("ione address of the stimulated neuron", st["key"].astype(np.int64)),
        "target_site": ("site of the target", site_names(session, site)),
        "target_population": ("population index of the target", pop.astype(np.int64)),
        "target_neuron": ("neuron index of the target", neuron.astype(np.int64)),
        "electrode": ("electrode id (electrodes table: electrode_id)",
                      st["electrode"].astype(np.int64)),
        "amplitude": ("commanded amplitude, in the site stimulator's unit",
                      st["amplitude"].astype(np.float64)),
        "duration": ("commanded duration (s)", seconds(st["duration_us"])),
        "allowed": ("the stimulation guard allowed the command", st["allowed"] > 0),
        "reason": ("the guard's reason code (0: ok)", st["reason"].astype(np.int64)),
        "reason_name": ("the guard's reason", reason_names(session)),
        "time_uncertainty": ("bound on start_time's error (s)", seconds(st["uncertainty_us"])),
    }  # fmt: skip
    table = _intervals("stimulation", "stimulation commands sent to the culture and the "
                       "stimulation guard's decisions", cols)  # fmt: skip
    if rows:  # link each command to its electrode when every one is in the table
        pairs = np.stack([st["site"].astype(np.int64), st["electrode"].astype(np.int64)])
        combos, inverse = np.unique(pairs, axis=1, return_inverse=True)
        found = np.array([rows.get((int(a), int(b)), -1) for a, b in combos.T], dtype=np.int64)
        if np.all(found >= 0):
            table.add_column(name="electrodes", description="the stimulating electrode",
                             col_cls=DynamicTableRegion, table=electrodes,
                             data=found[inverse.ravel()])  # fmt: skip
    return table


def _memristors(nwb: NWBFile, session: Session, tb: TimeBase) -> None:
    from pynwb import TimeSeries
    from pynwb.device import Device

    for s in synapse_table(session):
        text = f"memristive synapse {s.name}" + (f", {s.pre} -> {s.post}" if s.pre else "")
        device = f"; device {json.dumps(s.device)}" if s.device is not None else ""
        nwb.add_device(Device(name=f"{s.name}_memristor", description=text + device))
        r = session.reads[(session.reads["site"] == s.site) & (session.reads["synapse"] == s.index)]
        if not r.size:
            continue
        t = tb.seconds(r["t_us"])
        step = np.diff(t)
        timing: dict[str, Any] = {"timestamps": t}
        if t.size > 2 and step[0] > 0 and np.allclose(step, step[0], rtol=0, atol=1e-9):
            timing = {"starting_time": float(t[0]), "rate": 1.0 / float(step[0])}
        unc = float(r["uncertainty_us"].max())
        for field, unit, suffix, what in (
            ("r_ohm", "ohm", "resistance", "resistance read at the hub"),
            ("weight", "1", "weight", "weight the resistance maps to"),
        ):  # fmt: skip
            nwb.add_acquisition(TimeSeries(
                name=f"{s.name}_{suffix}", data=r[field].astype(np.float64), unit=unit, **timing,
                description=f"{text}: {what} (times within {unc:.0f} µs)"))  # fmt: skip
    p = session.pulses
    if p.size:
        start = tb.seconds(p["t_us"])
        cols: Columns = {
            "start_time": ("pulse time (s)", start),
            "stop_time": ("pulse end (s)", start + seconds(p["width_us"])),
            "site": ("site that applied the pulse", site_names(session, p["site"])),
            "synapse": ("synapse name", synapse_names(session, p)),
            "volts": ("pulse amplitude (V)", p["volts"].astype(np.float64)),
            "width": ("pulse width (s)", seconds(p["width_us"])),
            "direction": ("LTP (positive pulse) or LTD (negative pulse)",
                          np.where(p["volts"] > 0, "LTP", np.where(p["volts"] < 0, "LTD", "none"))),
            "time_uncertainty": ("bound on start_time's error (s)", seconds(p["uncertainty_us"])),
        }  # fmt: skip
        nwb.add_time_intervals(_intervals("memristor_pulses", "memristor programming pulses "
                                          "applied by the plasticity rule", cols))  # fmt: skip


def session_to_nwb(
    session: Session, *, session_description: str | None = None, identifier: str | None = None,
    session_start_time: dt.datetime | None = None, subject: dict[str, Any] | None = None,
    experimenter: list[str] | None = None, institution: str | None = None, lab: str | None = None,
) -> NWBFile:  # fmt: skip
    """Build the in-memory :class:`pynwb.NWBFile` of a session (see the module docstring).

    Parameters
    ----------
    session
        A merged session (:func:`ione.record.merge_run`).
    session_description, identifier, experimenter, institution, lab
        NWB metadata; by default from the reference site's ``config`` (``description``,
        ``experimenter``, ``institution``, ``lab``) and ``run_id`` (else a random UUID).
    session_start_time
        Timezone-aware wall-clock time of t = 0; by default from the reference site's meta,
        else the time of the export (and the notes say so).
    subject
        NWB subject fields; by default the first site's meta ``subject``.

    Raises
    ------
    ValueError
        If a meta field the export reads is malformed, or the start time has no time zone.
    """
    from pynwb import NWBFile
    from pynwb.device import Device
    from pynwb.file import Subject

    tb = time_base(session)
    ref = session.meta.get(session.reference, {})
    config: dict[str, Any] = ref["config"] if isinstance(ref.get("config"), dict) else {}
    sites = ", ".join(f"{n} (site {i})" for n, i in sorted(session.sites.items()))
    notes = [f"Merged by ione {__version__} from the logs of {sites} onto {session.reference}'s "
             f"clock; t = 0 s is its reading {tb.origin_us} µs."]  # fmt: skip
    start = session_start_time or tb.start_time
    if start is None:
        start = dt.datetime.now(dt.UTC)
        notes.append("The wall-clock start was not recorded: session_start_time is the export "
                     "time.")  # fmt: skip
    if start.tzinfo is None:
        raise ValueError("session_start_time must be timezone-aware")
    torn = {k: v for k, v in session.dropped_bytes.items() if v}
    if torn:
        notes.append(f"Torn log tails dropped (bytes): {json.dumps(torn)}.")
    names = ", ".join(sorted(session.sites))
    nwb = NWBFile(
        session_description=session_description or str(
            config.get("description") or f"ione run of {len(session.sites)} linked sites: {names}"),
        identifier=identifier or str(ref.get("run_id") or uuid.uuid4()),
        session_start_time=start, timestamps_reference_time=start,
        experiment_description=f"Neurons, memristive synapses and silicon neurons at {names} "
        "linked over the internet by ione; every event is placed on the reference clock with a "
        "bound on its timing error.",
        notes=" ".join(notes), keywords=["ione", "bio-hybrid", "memristor", "neuromorphic"],
        was_generated_by=_versions(session),
        experimenter=experimenter or config.get("experimenter"),
        institution=institution or config.get("institution"), lab=lab or config.get("lab"),
        subject=Subject(**_subject(session, subject)),
    )  # fmt: skip
    for name, index in sorted(session.sites.items(), key=lambda kv: kv[1]):
        kind = site_meta(session, index).get("kind", "site")
        nwb.add_device(Device(name=name, description=f"{kind} site {name} (site index {index})"))
    rows = _electrodes(nwb, session)
    if session.spikes.size:
        nwb.units = _units(session, tb)
    if session.stimulation.size:
        nwb.add_time_intervals(_stimulation(session, tb, rows, nwb.electrodes))
    _memristors(nwb, session, tb)
    nwb.add_scratch(json.dumps(session.meta, default=str), name="ione_meta",
                    description="every site's meta record (configuration, limits)")  # fmt: skip
    if any(session.links.values()):
        nwb.add_scratch(json.dumps(session.links, default=str), name="ione_links",
                        description="every link statistics snapshot of every site")  # fmt: skip
    return nwb


def export_nwb(
    session: Session, path: str | os.PathLike[str], *, session_description: str | None = None,
    **kwargs: Any,
) -> Path:  # fmt: skip
    """Write a session to an NWB (HDF5) file, replacing it; keywords as :func:`session_to_nwb`.

    Returns
    -------
    Path
        The file written.
    """
    from pynwb import NWBHDF5IO

    path = writable(path)
    nwb = session_to_nwb(session, session_description=session_description, **kwargs)
    with NWBHDF5IO(str(path), mode="w") as io:
        io.write(nwb)
    return path
