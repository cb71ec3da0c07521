"""Merging site logs onto one timeline, with injected clock offsets and drift."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ione.events import make_key
from ione.record import LogWriter
from ione.record import kinds as K
from ione.record.merge import load_session, merge_run, save_session, site_logs

S = 1_000_000


@dataclass(frozen=True)
class Clock:
    """A site's clock: reads ``offset + (1 + drift) * t`` at true time ``t`` (µs)."""

    offset_us: float
    drift: float

    def at(self, t: np.ndarray) -> np.ndarray:
        return np.rint(self.offset_us + (1 + self.drift) * t).astype(np.int64)

    def true(self, reading: np.ndarray) -> np.ndarray:
        return (reading - self.offset_us) / (1 + self.drift)


SITES = {"padova": (1, Clock(250_000.0, 100e-6)), "southampton": (2, Clock(0.0, 0.0)),
         "zurich": (3, Clock(-180_000.0, -80e-6))}  # fmt: skip
LINKS = [("padova", "southampton", 15_000.0), ("southampton", "zurich", 10_000.0)]


def write_run(
    run: Path, rng: np.random.Generator, duration_s: float = 30.0
) -> dict[str, np.ndarray]:
    """Logs of a three-site run; returns the true time of every spike by key and source time."""
    truth: dict[str, np.ndarray] = {}
    writers = {name: LogWriter(run / f"{name}.ionelog") for name in SITES}
    for name, (index, _) in SITES.items():
        writers[name].append(K.META, {"site": name, "site_index": index,
                                      "versions": K.software_versions()})  # fmt: skip
    # clock samples, at each end of each link, every 250 ms, with a bound the error respects
    for a, b, one_way in LINKS:
        for here, there in ((a, b), (b, a)):
            t_true = np.arange(0.0, duration_s * S, 250_000.0) + rng.uniform(0, 1000)
            ch, ct = SITES[here][1], SITES[there][1]
            true_offset = ct.at(t_true) - ch.at(t_true)
            unc = one_way + rng.uniform(0, 3000, t_true.size)  # about half a round trip
            est = true_offset + rng.uniform(-0.95, 0.95, t_true.size) * unc
            writers[here].append(K.CLOCK, K.clock_block(ch.at(t_true), SITES[there][0], est, unc))
    # spikes: each site's neurons fire; the hub receives padova's and zurich's and logs them
    for name, (index, clock) in SITES.items():
        t_true = np.sort(rng.uniform(0, duration_s * S, 3000))
        keys = make_key(index, 0, rng.integers(0, 50, t_true.size))
        stamps = clock.at(t_true)
        writers[name].append(K.SPIKES, K.spike_block(stamps, keys))
        truth[name] = t_true
        if name != "southampton":
            hub = SITES["southampton"][1]
            arrival = hub.at(t_true + 12_000)
            writers["southampton"].append(K.SPIKES, K.spike_block(stamps, keys, 0.0, arrival))
    # the hub programs and reads its devices; padova stimulates
    t_hub = np.sort(rng.uniform(0, duration_s * S, 200))
    writers["southampton"].append(
        K.PULSES, K.pulse_block(SITES["southampton"][1].at(t_hub), 0, 2.0, 100)
    )
    writers["southampton"].append(
        K.READS, K.read_block(SITES["southampton"][1].at(t_hub), 0, 5000.0, 0.2)
    )
    t_stim = np.sort(rng.uniform(0, duration_s * S, 300))
    stim = K.stim_block(t_us=SITES["padova"][1].at(t_stim), key=make_key(1, 0, 3), amplitude=1.0,
                        allowed=1)  # fmt: skip
    writers["padova"].append(K.STIMULATION, stim)
    truth["stim"] = t_stim
    truth["hub"] = t_hub
    for w in writers.values():
        w.close()
    return truth


def test_merged_times_lie_within_their_uncertainty(tmp_path: Path) -> None:
    truth = write_run(tmp_path, np.random.default_rng(7))
    session = merge_run(tmp_path, reference="southampton")
    ref = SITES["southampton"][1]
    assert session.sites == {n: i for n, (i, _) in SITES.items()}
    # each spike once (the hub's copies of received spikes are dropped), placed within its bound
    assert session.spikes.size == 3 * 3000
    for name, (index, clock) in SITES.items():
        rows = session.spikes[(session.spikes["key"] >> 28) == index]
        assert np.all(rows["site"] == index)  # the copy of the site that produced it
        true_ref = ref.at(clock.true(rows["t_source_us"].astype(float)))
        err = np.abs(rows["t_us"] - true_ref)
        assert np.all(err <= rows["uncertainty_us"] + 1), name
        if name == "southampton":
            assert np.all(rows["uncertainty_us"] == 0)
        else:
            assert np.all(rows["uncertainty_us"] > 0) and np.median(rows["uncertainty_us"]) < 20_000
    stim = session.stimulation
    true_stim = ref.at(truth["stim"])
    assert np.all(np.abs(stim["t_us"] - np.sort(true_stim)) <= stim["uncertainty_us"] + 1)
    assert np.array_equal(session.pulses["t_us"], ref.at(truth["hub"]))
    assert np.all(np.diff(session.spikes["t_us"]) >= 0)


def test_a_site_two_hops_away_and_another_reference(tmp_path: Path) -> None:
    write_run(tmp_path, np.random.default_rng(8), duration_s=10.0)
    session = merge_run(tmp_path, reference="padova")  # zurich reaches padova through the hub
    pad = SITES["padova"][1]
    for name, (index, clock) in SITES.items():
        rows = session.spikes[(session.spikes["key"] >> 28) == index]
        true_ref = pad.at(clock.true(rows["t_source_us"].astype(float)))
        assert np.all(np.abs(rows["t_us"] - true_ref) <= rows["uncertainty_us"] + 1), name
    z = session.spikes[(session.spikes["key"] >> 28) == 3]["uncertainty_us"]
    p = session.spikes[(session.spikes["key"] >> 28) == 2]["uncertainty_us"]
    assert np.median(z) > np.median(p)  # two hops: the uncertainties add up


def test_session_round_trip_and_default_reference(tmp_path: Path) -> None:
    write_run(tmp_path, np.random.default_rng(9), duration_s=5.0)
    session = merge_run(tmp_path)
    assert session.reference == "southampton"  # the site with most links
    save_session(session, tmp_path / "session.ionelog")
    assert [p.name for p in site_logs(tmp_path)] == ["padova.ionelog", "southampton.ionelog",
                                                     "zurich.ionelog"]  # fmt: skip
    back = load_session(tmp_path / "session.ionelog")
    assert back.sites == session.sites and back.reference == session.reference
    assert back.spikes.tobytes() == session.spikes.tobytes()
    assert back.meta["padova"]["site"] == "padova"
    assert set(back.clock) == set(SITES)


def test_merge_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no site logs"):
        merge_run(tmp_path)
    with LogWriter(tmp_path / "a.ionelog") as w:
        w.append(K.META, {"site": "a", "site_index": 1})
    with LogWriter(tmp_path / "b.ionelog") as w:
        w.append(K.META, {"site": "b", "site_index": 2})
    with pytest.raises(ValueError, match=r"no clock samples relate \['b'\]"):
        merge_run(tmp_path, reference="a")
    with pytest.raises(ValueError, match="reference site 'c'"):
        merge_run(tmp_path, reference="c")
    with LogWriter(tmp_path / "c.ionelog") as w:
        w.append(K.SPIKES, K.spike_block([1], [1]))
    with pytest.raises(ValueError, match="no meta record"):
        merge_run(tmp_path)


def test_saving_a_session_twice_replaces_it(tmp_path: Path) -> None:
    write_run(tmp_path, np.random.default_rng(10), duration_s=3.0)
    session = merge_run(tmp_path)
    save_session(session, tmp_path / "session.ionelog")
    save_session(session, tmp_path / "session.ionelog")
    assert load_session(tmp_path / "session.ionelog").spikes.size == session.spikes.size
    assert not (tmp_path / "session.ionelog.tmp").exists()
