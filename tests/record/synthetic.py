"""Synthetic logs of the reference experiment (SYSTEM.md §6), for the export and summary tests.

Three sites: Padova (biology, site 1: the culture with BN, a capacitive stimulation electrode
and recording electrodes), Southampton (the hub, site 2: MR1 and MR2, the reference clock) and
Zurich (silicon, site 3: SN_pre, a pacemaker, and SN_post). Padova's and Zurich's clocks are
offset and drift; the hub logs the spikes it receives (duplicates the merge removes). The hub
applies LTP pulses to MR1 in phase 2 and LTD pulses in phase 4 and reads both devices; Padova
stimulates BN after each MR1 read, its guard rejecting a few commands; every site writes link
statistics snapshots; Zurich's log ends in a torn tail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ione.events import make_key
from ione.record import LogWriter
from ione.record import kinds as K

S = 1_000_000
PADOVA, HUB, ZURICH = 1, 2, 3
NAMES = {PADOVA: "padova", HUB: "southampton", ZURICH: "zurich"}
BN = make_key(PADOVA, 0, 0)
SN_PRE = make_key(ZURICH, 0, 0)
SN_POST = make_key(ZURICH, 1, 0)
TORN_TAIL = b"\xa5REC\x40\x00\x00\x00\x01\x02\x03"  # a record cut short by a crash
START_TIME = "2024-03-05T14:30:00+01:00"


@dataclass(frozen=True)
class Clock:
    """A site's clock: reads ``offset + (1 + drift) * t`` at true time ``t`` (µs)."""

    offset_us: float
    drift: float

    def at(self, t: np.ndarray) -> np.ndarray:
        return np.rint(self.offset_us + (1 + self.drift) * np.asarray(t)).astype(np.int64)


CLOCKS = {PADOVA: Clock(250_000.0, 100e-6), HUB: Clock(0.0, 0.0), ZURICH: Clock(-180_000.0, -80e-6)}
LINKS = [(PADOVA, HUB, 15_000.0), (HUB, ZURICH, 10_000.0)]


@dataclass
class Truth:
    """What the synthetic run holds, for the tests to compare against."""

    duration_s: float
    spikes: dict[int, int] = field(default_factory=dict)  # key -> spikes
    ltp: dict[str, int] = field(default_factory=dict)
    ltd: dict[str, int] = field(default_factory=dict)
    r_ohm: dict[str, np.ndarray] = field(default_factory=dict)  # hub reads per synapse
    read_us: dict[str, np.ndarray] = field(default_factory=dict)  # on the hub's clock
    stim: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason name -> count
    frames_lost: dict[tuple[str, str], int] = field(default_factory=dict)
    events_lost: dict[tuple[str, str], int] = field(default_factory=dict)


def metas() -> dict[int, dict[str, Any]]:
    """The meta records of the three sites (every optional field the exporters read)."""
    versions = K.software_versions()
    config = {
        "description": "SN_pre -> MR1 -> BN -> MR2 -> SN_post, SRDP rule",
        "rule": {"window_s": 1.0, "ltp_above": 20, "ltd_below": 5},
        "phases_hz": [10, 30, 10, 2],
    }
    return {
        PADOVA: {
            "site": "padova",
            "site_index": PADOVA,
            "kind": "culture",
            "versions": versions,
            "location": "hippocampal culture on a MEA",
            "populations": [{"name": "culture", "index": 0, "kind": "culture", "size": 8}],
            "electrodes": [
                {
                    "id": 5,
                    "name": "CME",
                    "x_um": 0.0,
                    "y_um": 0.0,
                    "kind": "stimulation",
                    "material": "TiO2",
                    "area_um2": 2000.0,
                },
                {"id": 6, "name": "ME1", "x_um": 100.0, "y_um": 0.0, "kind": "recording"},
                {"id": 7, "name": "ME2", "x_um": 200.0, "y_um": 0.0, "kind": "recording"},
            ],
            "subject": {
                "subject_id": "culture-2024-03-05",
                "species": "Rattus norvegicus",
                "sex": "U",
                "age": "P18D",
                "description": "hippocampal neurons, E18 rat embryos, 14 days in vitro",
            },
            "stimulation_reasons": {"0": "ok", "2": "charge_density", "3": "rate"},
            "guard_limits": {"max_current_ua": 3.0, "max_charge_nc": 3.0},
        },
        HUB: {
            "site": "southampton",
            "site_index": HUB,
            "kind": "hub",
            "versions": versions,
            "config": config,
            "run_id": "serb2020-synthetic-0001",
            "session_start_time": START_TIME,
            "session_start_us": 0,
            "synapses": [
                {"index": 0, "name": "MR1", "pre": "SN_pre", "post": "BN", "device": "TiOx DUT1"},
                {"index": 1, "name": "MR2", "pre": "BN", "post": "SN_post", "device": "TiOx DUT1"},
            ],
        },
        ZURICH: {
            "site": "zurich",
            "site_index": ZURICH,
            "kind": "silicon",
            "versions": versions,
            "populations": [
                {"name": "SN_pre", "index": 0, "kind": "generator", "size": 1},
                {"name": "SN_post", "index": 1, "kind": "silicon", "size": 1},
            ],
        },
    }


def _poisson(rng: np.random.Generator, rate_hz: float, t0: float, t1: float) -> np.ndarray:
    n = rng.poisson(rate_hz * (t1 - t0) / S)
    return np.sort(rng.uniform(t0, t1, n))


def write_run(run: Path, seed: int = 0, phase_s: float = 5.0, *, torn: bool = True) -> Truth:
    """Write ``padova``, ``southampton`` and ``zurich`` logs of a four-phase run into ``run``."""
    rng = np.random.default_rng(seed)
    run.mkdir(parents=True, exist_ok=True)
    duration = 4 * phase_s * S
    truth = Truth(duration_s=4 * phase_s)
    w = {i: LogWriter(run / f"{n}.ionelog") for i, n in NAMES.items()}
    for i, meta in metas().items():
        w[i].append(K.META, meta)
    for a, b, one_way in LINKS:  # clock samples at both ends, every 250 ms
        for here, there in ((a, b), (b, a)):
            t = np.arange(0.0, duration + S, 250_000.0) - 500_000.0 + rng.uniform(0, 1000)
            true = CLOCKS[there].at(t) - CLOCKS[here].at(t)
            unc = one_way + rng.uniform(0, 3000, t.size)
            est = true + rng.uniform(-0.9, 0.9, t.size) * unc
            w[here].append(K.CLOCK, K.clock_block(CLOCKS[here].at(t), there, est, unc))
    # SN_pre paces at 10 / 30 / 10 / 2 Hz; BN and the rest of the culture fire; SN_post follows
    edges = np.arange(5) * phase_s * S
    pre = np.concatenate(
        [np.arange(edges[k] + 1000, edges[k + 1], S / hz) for k, hz in enumerate((10, 30, 10, 2))]
    )
    spikes: dict[int, np.ndarray] = {SN_PRE: pre}
    for n in range(8):
        spikes[make_key(PADOVA, 0, n)] = _poisson(rng, 4.0 if n == 0 else 1.5, 0, duration)
    spikes[SN_POST] = _poisson(rng, 3.0, 0, duration)
    for key, t in spikes.items():
        site = key >> 28
        keys = np.full(t.size, key, np.uint32)
        w[site].append(K.SPIKES, K.spike_block(CLOCKS[site].at(t), keys))
        w[HUB].append(
            K.SPIKES, K.spike_block(CLOCKS[site].at(t), keys, 0.0, CLOCKS[HUB].at(t + 12_000))
        )
        truth.spikes[key] = t.size
    # plasticity: LTP on MR1 in phase 2, LTD in phase 4; MR2 gets a few of each
    r = {"MR1": 5000.0, "MR2": 6000.0}
    for syn, name in enumerate(("MR1", "MR2")):
        ltp = pre[(pre >= edges[1]) & (pre < edges[2])][:: 3 if name == "MR1" else 20] + 300
        ltd = pre[pre >= edges[3]][:: 1 if name == "MR1" else 4] + 300
        t_p = np.concatenate([ltp, ltd])
        volts = np.concatenate([np.full(ltp.size, 4.0), np.full(ltd.size, -4.0)])
        w[HUB].append(K.PULSES, K.pulse_block(CLOCKS[HUB].at(t_p), syn, volts, 100))
        truth.ltp[name], truth.ltd[name] = int(ltp.size), int(ltd.size)
        t_read = np.sort(np.concatenate([pre + 100, t_p + 200])) if name == "MR1" else t_p + 200
        ohm = r[name] + np.cumsum(
            np.isin(t_read, ltp + 200) * 20.0 - np.isin(t_read, ltd + 200) * 25.0
        )
        weight = np.clip((ohm - 4000) / 5000, 0, 1)
        w[HUB].append(K.READS, K.read_block(CLOCKS[HUB].at(t_read), syn, ohm, weight))
        truth.r_ohm[name], truth.read_us[name] = ohm, CLOCKS[HUB].at(t_read)
    # Padova stimulates BN after each MR1 read that followed a pacemaker spike
    t_stim = pre + 15_000
    reason = np.zeros(t_stim.size, np.uint8)
    reason[rng.choice(t_stim.size, 9, replace=False)] = 2
    reason[np.flatnonzero(reason == 0)[::40]] = 3
    allowed = (reason == 0).astype(np.uint8)
    w[PADOVA].append(
        K.STIMULATION,
        K.stim_block(
            t_us=CLOCKS[PADOVA].at(t_stim),
            key=BN,
            electrode=5,
            amplitude=rng.uniform(0.5, 2.5, t_stim.size),
            duration_us=1000,
            allowed=allowed,
            reason=reason,
        ),
    )
    truth.stim = int(t_stim.size)
    truth.rejected = {
        "charge_density": int(np.count_nonzero(reason == 2)),
        "rate": int(np.count_nonzero(reason == 3)),
    }
    # link statistics snapshots every 5 s; the last one counts
    for a, b, _ in LINKS:
        for here, there in ((a, b), (b, a)):
            for k, t in enumerate(np.arange(S, duration + 1, 5 * S)):
                lost = k * (here + 2 * there)
                snap = {
                    "t_us": int(CLOCKS[here].at(t)),
                    "peer": NAMES[there],
                    "frames_received": 1000 * (k + 1),
                    "frames_lost": lost,
                    "events_received": 9000 * (k + 1),
                    "events_lost": 3 * lost,
                    "rtt_p50_us": 2 * 15_000.0,
                }
                w[here].append(K.LINK, snap)
            truth.frames_lost[NAMES[here], NAMES[there]] = lost
            truth.events_lost[NAMES[here], NAMES[there]] = 3 * lost
    for writer in w.values():
        writer.close()
    if torn:
        with open(run / "zurich.ionelog", "ab") as f:
            f.write(TORN_TAIL)
    return truth
