"""A synthetic three-site run folder whose report numbers are known exactly.

The reference experiment's shape (SN_pre -> MR1 -> BN -> MR2 -> SN_post, four phases of 4 s at
10 / 30 / 10 / 2 Hz), with site logs written record by record:

- clocks: southampton (the reference, it has two links) reads true time; padova reads true time
  + 250 ms and zurich true time - 180 ms, without drift, and every clock sample is exact, so every
  time maps to the reference clock exactly;
- the run starts (tick 0 of zurich, which hosts the generator) at true time ``T0`` = 10 s; the
  other sites' tick 0 are a few ms earlier, so a report that took their T0 would be off;
- pulses, reads, stimuli, spikes, received events, link events and final snapshots placed at
  known times (in seconds from ``T0`` below) with the numbers the tests expect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np

from ione.network import Experiment, load_experiment
from ione.record import LogWriter
from ione.record import kinds as K

S: Final = 1_000_000
T0: Final = 10 * S  # true time (= southampton's clock) of zurich's tick 0
OFFSET: Final = {"padova": 250_000, "southampton": 0, "zurich": -180_000}  # clock - true time
INDEX: Final = {"padova": 1, "southampton": 2, "zurich": 3}
LATENCY_US: Final = {"zurich->southampton": 10_000, "southampton->padova": 15_000}

CONFIG: Final = """
[experiment]
name = "synthetic2020"
description = "A <script>alert('x')</script> & friends run"
seed = 1
tick = "1 ms"

[[sites]]
name = "padova"
index = 1
port = 47390
role = "biology"

[[sites]]
name = "southampton"
index = 2
port = 47391
role = "hub"

[[sites]]
name = "zurich"
index = 3
port = 47392
role = "silicon"

[[populations]]
name = "SN_pre"
site = "zurich"
kind = "generator"
size = 1
model = "regular"

[[populations]]
name = "BN"
site = "padova"
kind = "culture"
size = 1
model = "culture"
preset = "SINGLE_NEURON"

[[populations]]
name = "SN_post"
site = "zurich"
kind = "silicon"
size = 1
model = "dpi"
preset = "DYNAPSE_DPI"

[[projections]]
name = "MR1"
pre = "SN_pre"
post = "BN"
connector = "one_to_one"

[projections.synapse]
type = "memristive"
host = "southampton"
device = "data_driven"
preset = "DATA_DRIVEN_DUT1"
rule = "rate"
pulses = "DUT1_PULSES"
r_min = "4 kohm"
r_max = "9 kohm"
r_initial = "4.8 kohm"

[[projections]]
name = "MR2"
pre = "BN"
post = "SN_post"
connector = "one_to_one"

[projections.synapse]
type = "memristive"
host = "southampton"
device = "data_driven"
preset = "DATA_DRIVEN_DUT1"
rule = "rate"
pulses = "DUT1_PULSES"
r_min = "4 kohm"
r_max = "9 kohm"
r_initial = "6 kohm"

[[links]]
a = "padova"
b = "southampton"
key_file = "keys/padova-southampton.key"

[[links]]
a = "southampton"
b = "zurich"
key_file = "keys/southampton-zurich.key"

[[phases]]
name = "baseline"
duration = "4 s"
rates = { SN_pre = "10 Hz" }

[[phases]]
name = "potentiation"
duration = "4 s"
rates = { SN_pre = "30 Hz" }

[[phases]]
name = "test"
duration = "4 s"
rates = { SN_pre = "10 Hz" }

[[phases]]
name = "depression"
duration = "4 s"
rates = { SN_pre = "2 Hz" }
"""

# (seconds from T0, synapse index, volts): MR1 = 0, MR2 = 1, 2 = a synapse no meta describes
PULSES: Final = [
    (-0.1, 0, -1.5),  # before the run: in no phase
    (0.2, 0, -1.5),
    (0.5, 0, -1.5),  # baseline, window reaches before T0: onset LTD x2
    (1.0, 0, -1.5),  # window [0 s, 1 s] inside the baseline: LTD
    (4.5, 0, 2.0),  # potentiation, onset LTP
    (5.0, 0, 2.0),
    (5.5, 0, 2.0),
    (6.0, 0, 2.0),
    (7.999999, 0, 2.0),  # LTP x4
    (8.3, 0, 2.0),  # test: onset LTP
    (12.9, 0, 2.0),  # depression: onset LTP
    (13.0, 0, -1.5),
    (14.0, 0, -1.5),
    (15.0, 0, -1.5),  # LTD x3
    (16.0, 0, -1.5),  # at the end of the last phase: in no phase
    (2.0, 1, -1.5),  # MR2: one LTD in the baseline
    (0.1, 2, 2.0),  # synapse 2: no rule known, so no window: a plain LTP in the baseline
]
# (seconds from T0, synapse, R in ohm); weight = (R - 4 kohm) / 5 kohm
READS: Final = [
    (-0.5, 0, 4800.0),
    (1.0, 0, 4700.0),
    (4.0, 0, 4710.0),
    (6.0, 0, 5200.0),
    (7.9, 0, 5400.0),
    (10.0, 0, 5400.0),
    (15.5, 0, 5100.0),
    (16.0, 0, 5050.0),
    (2.5, 1, 6000.0),
]
# (seconds from T0, weight, evoked AP, peak mV) of the stimuli BN received
STIMULI: Final = [
    *[(0.1 + 0.3 * k, 0.2, int(k == 3), 3.0) for k in range(10)],  # baseline: 10, 1 AP
    *[(4.0 + 0.5 * k, 0.4, int(k % 2 == 0), 5.0) for k in range(4)],  # potentiation: 4, 2 APs
    *[(8.2 + 0.4 * k, 0.5, int(k < 6), 7.0 if k else float("nan")) for k in range(8)],  # 8, 6
]
# stimuli the guard refused (seconds from T0): one in baseline, two in depression
REFUSED_S: Final = (1.05, 13.0, 14.0)
# spikes per phase: SN_pre at the protocol's rates; BN three times in the test phase
SN_PRE_PER_PHASE: Final = (40, 120, 40, 8)
BN_SPIKES_S: Final = (8.5, 9.5, 10.5)


def experiment(run: Path) -> Experiment:
    return load_experiment(run / "config.toml")


def _meta(exp: Experiment, site: str) -> dict[str, Any]:
    syn = [
        {
            "index": 0,
            "name": "MR1",
            "projection": "MR1",
            "pre": "SN_pre[0]",
            "post": "BN[0]",
            "pre_key": exp.address("SN_pre"),
            "post_key": exp.address("BN"),
            "host": "southampton",
        },
        {
            "index": 1,
            "name": "MR2",
            "projection": "MR2",
            "pre": "BN[0]",
            "post": "SN_post[0]",
            "pre_key": exp.address("BN"),
            "post_key": exp.address("SN_post"),
            "host": "southampton",
        },
    ]
    return {
        "site": site,
        "site_index": INDEX[site],
        "kind": exp.site(site).role,
        "experiment": exp.name,
        "sites": INDEX,
        "populations": [
            {
                "name": p.name,
                "index": exp.population_index(p),
                "kind": p.kind,
                "size": p.size,
                "site": p.site,
                "address": exp.address(p),
            }
            for p in exp.populations_at(site)
        ],
        "synapses": syn if site == "southampton" else [],
        "config": {"name": exp.name, "description": exp.description, "toml": CONFIG},
    }


def local(site: str, seconds_from_t0: np.ndarray | float) -> np.ndarray:
    """Seconds from ``T0`` (true time) as ``site``'s clock reading (µs)."""
    t = T0 + np.rint(np.asarray(seconds_from_t0, dtype=np.float64) * S).astype(np.int64)
    return t + OFFSET[site]


def _final(site: str, links: dict[str, dict[str, Any]], ticks: int) -> dict[str, Any]:
    return {
        "site": site,
        "ticks": {
            "ticks": ticks,
            "late_ticks": INDEX[site],
            "lateness_mean_us": 12.5,
            "lateness_p99_us": 80.0,
            "lateness_max_us": 300,
            "work_mean_us": 40.0,
            "work_p99_us": 90.0,
            "work_max_us": 400,
        },
        "links": links,
        "counters": {"inbound_dropped": 0},
        "done": True,
    }


def _snap(sent: int, lost: int, rtt_p50: float, rtt_p99: float, offset: float) -> dict[str, Any]:
    return {
        "state": "closed",
        "frames_sent": sent,
        "frames_received": sent - lost,
        "frames_lost": lost,
        "events_sent": sent // 2,
        "events_lost": 0,
        "rtt_p50_us": rtt_p50,
        "rtt_p99_us": rtt_p99,
        "clock_offset_us": offset,
        "clock_uncertainty_us": 100.0,
    }


def write_run(
    run: Path, *, relays: bool = True, run_json: bool = True, config: bool = True
) -> Path:
    """Write the synthetic run into ``run``; returns the folder."""
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.toml").write_text(CONFIG, encoding="utf-8")
    exp = experiment(run)
    logs = {site: LogWriter(run / f"{site}.ionelog") for site in INDEX}
    try:
        for site, log in logs.items():
            log.append(K.META, _meta(exp, site))
        # exact clock samples at both ends of both links, every second from T0 - 2 s to T0 + 18 s
        t = np.arange(-2.0, 18.5, 1.0)
        for here, there in (
            ("padova", "southampton"),
            ("southampton", "padova"),
            ("southampton", "zurich"),
            ("zurich", "southampton"),
        ):
            offset = float(OFFSET[there] - OFFSET[here])
            logs[here].append(K.CLOCK, K.clock_block(local(here, t), INDEX[there], offset, 100.0))
        # tick 0: zurich's at T0; the others a few ms earlier (their T0 must not be used)
        for site, early in (("zurich", 0.0), ("southampton", -0.004), ("padova", -0.007)):
            t0 = int(local(site, early))
            logs[site].append("run", {"t0_us": t0, "tick_us": 1000, "duration_us": 16 * S})
        # the hub's pulses and reads
        p = np.array(PULSES)
        logs["southampton"].append(
            K.PULSES, K.pulse_block(local("southampton", p[:, 0]), p[:, 1], p[:, 2], 100)
        )
        r = np.array(READS)
        logs["southampton"].append(
            K.READS,
            K.read_block(local("southampton", r[:, 0]), r[:, 1], r[:, 2], (r[:, 2] - 4000) / 5000),
        )
        # BN's stimuli, as the culture processor logs them (padova's clock)
        s = np.array(STIMULI)
        rows = np.zeros(
            len(s),
            [
                ("t_us", "<i8"),
                ("key", "<u4"),
                ("weight", "<f4"),
                ("evoked_ap", "u1"),
                ("latency_us", "<i8"),
                ("peak_mv", "<f4"),
            ],
        )
        rows["t_us"], rows["key"] = local("padova", s[:, 0]), exp.address("BN")
        rows["weight"], rows["evoked_ap"], rows["peak_mv"] = s[:, 1], s[:, 2], s[:, 3]
        rows["latency_us"] = 1500
        logs["padova"].append("stimuli", rows[:12])
        logs["padova"].append("stimuli", rows[12:])
        # the guard's decisions: the stimuli above allowed, REFUSED_S refused (padova's clock)
        refused = np.array(REFUSED_S)
        logs["padova"].append(
            K.STIMULATION,
            K.stim_block(t_us=local("padova", s[:, 0]), key=exp.address("BN"), allowed=1),
        )
        logs["padova"].append(
            K.STIMULATION,
            K.stim_block(t_us=local("padova", refused), key=exp.address("BN"), allowed=0,
                         reason=7),
        )  # fmt: skip
        # spikes: SN_pre at the protocol's rates (zurich), BN three times (padova)
        starts = (0.0, 4.0, 8.0, 12.0)
        t_pre = np.concatenate(
            [
                st + (np.arange(n) + 0.5) * 4.0 / n
                for st, n in zip(starts, SN_PRE_PER_PHASE, strict=True)
            ]
        )
        logs["zurich"].append(
            K.SPIKES, K.spike_block(local("zurich", t_pre), exp.address("SN_pre"))
        )
        logs["padova"].append(
            K.SPIKES, K.spike_block(local("padova", np.array(BN_SPIKES_S)), exp.address("BN"))
        )
        # received events: SN_pre's spikes at the hub 10 ms later; the hub's requests at padova
        # 15 ms after their hub time
        arrive = local("southampton", t_pre) + LATENCY_US["zurich->southampton"]
        logs["southampton"].append(
            K.RECEIVED,
            K.received_block(
                local("zurich", t_pre), arrive, arrive, INDEX["zurich"], exp.address("SN_pre"), 0.0
            ),
        )
        t_req = s[:, 0]
        arrive = local("padova", t_req) + LATENCY_US["southampton->padova"]
        logs["padova"].append(
            K.RECEIVED,
            K.received_block(
                local("southampton", t_req),
                arrive,
                arrive,
                INDEX["southampton"],
                exp.address("BN"),
                s[:, 1],
            ),
        )
        # link events: zurich was lost once and came back (hub's view); zurich saw a failure
        logs["southampton"].append(
            "link_event",
            {"t_us": int(local("southampton", 3.0)), "peer": "zurich", "event": "lost"},
        )
        logs["southampton"].append(
            "link_event",
            {"t_us": int(local("southampton", 3.5)), "peer": "zurich", "event": "returned"},
        )
        logs["zurich"].append(
            "link_event",
            {"t_us": int(local("zurich", 3.1)), "peer": "southampton", "event": "failed"},
        )
        # final snapshots
        logs["padova"].append(
            "final",
            _final(
                "padova", {"southampton": _snap(100, 2, 30_000.0, 35_000.0, -250_000.0)}, 16_000
            ),
        )
        logs["southampton"].append(
            "final",
            _final(
                "southampton",
                {
                    "padova": _snap(90, 1, 31_000.0, 36_000.0, 250_000.0),
                    "zurich": _snap(50, 0, 20_000.0, 25_000.0, -180_000.0),
                },
                16_001,
            ),
        )
        logs["zurich"].append(
            "final",
            _final("zurich", {"southampton": _snap(60, 4, 21_000.0, 26_000.0, 180_000.0)}, 16_002),
        )
    finally:
        for log in logs.values():
            log.close()
    if relays:
        (run / "relays").mkdir(exist_ok=True)
        relay = {
            "a_to_b": {
                "received": 100,
                "forwarded": 94,
                "duplicated": 0,
                "dropped_loss": 3,
                "dropped_overflow": 1,
                "dropped_paused": 0,
                "dropped_no_peer": 2,
            },
            "b_to_a": {
                "received": 90,
                "forwarded": 86,
                "duplicated": 0,
                "dropped_loss": 4,
                "dropped_overflow": 0,
                "dropped_paused": 0,
                "dropped_no_peer": 0,
            },
        }
        (run / "relays" / "padova-southampton.json").write_text(json.dumps(relay))
    if run_json:
        record = {
            "ok": True,
            "sites": {
                "padova": {"exit_code": 0},
                "southampton": {"exit_code": 0},
                "zurich": {"exit_code": 3},
            },
        }
        (run / "run.json").write_text(json.dumps(record))
    if not config:
        (run / "config.toml").unlink()
    return run
