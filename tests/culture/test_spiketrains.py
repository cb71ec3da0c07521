"""Recorded spike trains: every format ione reads, replay in real and scaled time, and a recorded
neuron standing in for BN in the 2020 network."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
import pytest

from ione.culture.spiketrains import (
    CHANNEL_DTYPE,
    SpikeTrainReplay,
    load_spike_trains,
    read_spike_trains,
    select_channels,
    write_sjemea_h5,
)
from ione.events import EVENT_DTYPE, is_time_sorted
from ione.network import load_experiment
from ione.node.build import SiteError, check_sources, site_processors
from ione.node.processors import RecordedCultureProcessor, run_tick
from ione.node.virtual import run_virtual
from ione.record import kinds as K

ROOT = Path(__file__).resolve().parents[2]
MEA = ROOT.parent / "shared" / "data" / "mea"
MEA_FILES = sorted(MEA.glob("*.h5")) if MEA.is_dir() else []
needs_mea = pytest.mark.skipif(
    not MEA_FILES, reason=f"the shared MEA recordings are not at {MEA} (see docs/culture.md)"
)


def sjemea_counts(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as h5:
        return np.asarray(h5["sCount"][()], np.int64)


def small_trains(rng: np.random.Generator, n: int = 5, duration_s: float = 3.0) -> list:
    return [np.sort(rng.uniform(0, duration_s, rng.integers(0, 60))) for _ in range(n)]


# ------------------------------------------------------------------------------- the real files
@needs_mea
@pytest.mark.parametrize("path", MEA_FILES, ids=lambda p: p.stem)
def test_real_recording_loads_with_the_files_counts(path: Path) -> None:
    events, channels = load_spike_trains(path)
    counts = sjemea_counts(path)
    assert events.dtype == EVENT_DTYPE and channels.dtype == CHANNEL_DTYPE
    assert len(channels) == counts.size and is_time_sorted(events)
    np.testing.assert_array_equal(np.bincount(events["key"], minlength=counts.size), counts)
    with h5py.File(path, "r") as h5:
        names = [n.decode() for n in h5["names"][()]]
        spikes = h5["spikes"][()]
        epos = h5["epos"][()]
    assert list(channels["name"]) == names
    np.testing.assert_array_equal(channels["x_um"], epos[0])
    np.testing.assert_array_equal(channels["y_um"], epos[1])
    # channel after channel in the file; each spike at its nearest microsecond
    first = np.split(spikes, np.cumsum(counts)[:-1])
    for ch in (0, counts.size - 1):
        got = events["t_us"][events["key"] == ch]
        np.testing.assert_array_equal(got, np.floor(np.sort(first[ch]) * 1e6 + 0.5))


@needs_mea
@pytest.mark.parametrize("path", MEA_FILES, ids=lambda p: p.stem)
def test_replay_through_a_culture_site_reproduces_the_counts(path: Path) -> None:
    """The whole recording through a recorded-culture processor in 1 ms ticks, at 10x speed:
    every channel sends the hub exactly the file's sCount spikes, each once, in time order."""
    trains = read_spike_trains(path)
    t0 = 7_000_000
    proc = RecordedCultureProcessor(1 << 28, SpikeTrainReplay(trains, t0_us=t0, speed=10.0), "hub")
    sent = []
    end = t0 + trains.duration_us // 10 + 2_000
    for t in range(t0, end, 1000):
        out = run_tick([proc], t, 1000, np.zeros(0, EVENT_DTYPE))
        sent.extend(out.outbound.get("hub", []))
    ev = np.concatenate(sent)
    assert proc.replay.finished and is_time_sorted(ev)
    assert np.all(ev["value"] == 2)  # spontaneous APs
    counts = np.bincount(ev["key"] - (1 << 28), minlength=len(trains.channels))
    np.testing.assert_array_equal(counts, sjemea_counts(path))
    # times: recording time / 10 after t0, rounded up to the µs (never early)
    np.testing.assert_array_equal(
        np.sort(ev["t_us"]), t0 + np.ceil(np.sort(trains.events["t_us"]) / 10 - 1e-9)
    )


# ------------------------------------------------------------------------------------- formats
def test_sjemea_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    trains = small_trains(rng)
    names = [f"ch_{i}_unit_0" for i in range(len(trains))]
    pos = rng.uniform(0, 2000, (len(trains), 2))
    write_sjemea_h5(tmp_path / "s.h5", trains, names, pos, duration_s=3.0)
    got = read_spike_trains(tmp_path / "s.h5")
    assert got.format == "sjemea-hdf5" and got.duration_us == 3_000_000
    assert list(got.channels["name"]) == names
    np.testing.assert_allclose(got.channels[["x_um", "y_um"]].tolist(), pos)
    for i, t in enumerate(trains):
        np.testing.assert_array_equal(
            got.events["t_us"][got.events["key"] == i], np.floor(t * 1e6 + 0.5)
        )


def test_nwb_units(tmp_path: Path) -> None:
    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(2)
    trains = small_trains(rng, 4)
    nwb = NWBFile("spikes", "id", datetime(2026, 1, 1, tzinfo=UTC))
    nwb.add_unit_column("unit_name", "name of the unit")
    for i, t in enumerate(trains):
        nwb.add_unit(spike_times=t, unit_name=f"u{i}")
    with NWBHDF5IO(str(tmp_path / "u.nwb"), "w") as io:
        io.write(nwb)
    events, channels = load_spike_trains(tmp_path / "u.nwb")
    assert list(channels["name"]) == ["u0", "u1", "u2", "u3"]
    np.testing.assert_array_equal(np.bincount(events["key"], minlength=4), [len(t) for t in trains])
    np.testing.assert_array_equal(
        events["t_us"][events["key"] == 1], np.floor(trains[1] * 1e6 + 0.5)
    )


def test_neo_nix(tmp_path: Path) -> None:
    import neo
    import quantities as pq

    rng = np.random.default_rng(3)
    trains = small_trains(rng, 3)
    seg = neo.Segment()
    for i, t in enumerate(trains):
        seg.spiketrains.append(neo.SpikeTrain(t * pq.s, t_stop=3.0 * pq.s, name=f"n{i}"))
    block = neo.Block()
    block.segments.append(seg)
    with neo.io.NixIO(str(tmp_path / "b.nix"), mode="ow") as io:
        io.write_block(block)
    got = read_spike_trains(tmp_path / "b.nix")
    assert got.format == "neo" and list(got.channels["name"]) == ["n0", "n1", "n2"]
    assert got.duration_us == 3_000_000
    np.testing.assert_array_equal(got.counts(), [len(t) for t in trains])


@pytest.mark.filterwarnings("ignore:The extractor is not serializable")
def test_spikeinterface_sorting(tmp_path: Path) -> None:
    import spikeinterface.core as sc

    rng = np.random.default_rng(4)
    fs = 20_000.0
    frames = {f"u{i}": np.sort(rng.choice(60_000, 30, replace=False)) for i in range(3)}
    sorting = sc.NumpySorting.from_unit_dict([frames], sampling_frequency=fs)
    sorting.save(folder=tmp_path / "sorting")
    got = read_spike_trains(tmp_path / "sorting")
    assert got.format == "spikeinterface" and list(got.channels["name"]) == ["u0", "u1", "u2"]
    np.testing.assert_array_equal(
        got.events["t_us"][got.events["key"] == 2], np.floor(frames["u2"] / fs * 1e6 + 0.5)
    )


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.h5"):
        load_spike_trains(tmp_path / "nope.h5")
    (tmp_path / "x.weird").write_text("hello")
    with pytest.raises(ValueError, match=r"x\.weird: not a format ione knows"):
        load_spike_trains(tmp_path / "x.weird")
    with h5py.File(tmp_path / "bad.h5", "w") as h5:
        h5["spikes"], h5["sCount"], h5["names"] = np.arange(5.0), [2, 2], [b"a", b"b"]
    with pytest.raises(ValueError, match="sCount sums to 4 but spikes holds 5"):
        load_spike_trains(tmp_path / "bad.h5")
    with h5py.File(tmp_path / "nan.h5", "w") as h5:
        h5["spikes"], h5["sCount"], h5["names"] = [0.1, np.nan], [2], [b"a"]
    with pytest.raises(ValueError, match="spike time #1 is nan"):
        load_spike_trains(tmp_path / "nan.h5")


def test_select_channels(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    write_sjemea_h5(tmp_path / "s.h5", small_trains(rng, 4), ["a", "b", "c", "d"])
    trains = read_spike_trains(tmp_path / "s.h5")
    sel = select_channels(trains, ["c", 0])
    assert list(sel.channels["name"]) == ["c", "a"]
    np.testing.assert_array_equal(sel.counts(), trains.counts()[[2, 0]])
    with pytest.raises(ValueError, match="no channel named 'z'"):
        select_channels(trains, ["z"])
    with pytest.raises(ValueError, match="selected twice"):
        select_channels(trains, ["a", 0])


# -------------------------------------------------------------------------------------- replay
def _trains(tmp_path: Path) -> object:
    rng = np.random.default_rng(6)
    write_sjemea_h5(tmp_path / "s.h5", small_trains(rng, 6), list("abcdef"), duration_s=3.0)
    return read_spike_trains(tmp_path / "s.h5")


def test_replay_is_the_same_for_any_split_of_time(tmp_path: Path) -> None:
    trains = _trains(tmp_path)
    rng = np.random.default_rng(7)
    whole = SpikeTrainReplay(trains, t0_us=100, speed=1.5).between(100, 100 + 10_000_000)
    parts, t, r = [], 100, SpikeTrainReplay(trains, t0_us=100, speed=1.5)
    while t < 100 + 10_000_000:
        step = int(rng.integers(0, 300_000))
        parts.append(r.between(t, t + step))
        t += step
    np.testing.assert_array_equal(np.concatenate(parts)[: whole.size], whole)
    assert whole.size == trains.events.size
    with pytest.raises(ValueError, match="must follow one another"):
        r.between(t + 5, t + 10)


def test_replay_start_and_loop(tmp_path: Path) -> None:
    trains = _trains(tmp_path)
    late = trains.events[trains.events["t_us"] >= 1_000_000]
    r = SpikeTrainReplay(trains, t0_us=0, start_us=1_000_000, loop=True)
    assert r.pass_us == 2_000_000
    got = r.between(0, 3 * r.pass_us)  # three passes
    assert got.size == 3 * late.size and is_time_sorted(got) and not r.finished
    np.testing.assert_array_equal(got["t_us"][: late.size], late["t_us"] - 1_000_000)
    np.testing.assert_array_equal(
        got["t_us"][2 * late.size :], late["t_us"] - 1_000_000 + 2 * r.pass_us
    )
    with pytest.raises(ValueError, match="speed"):
        SpikeTrainReplay(trains, speed=float("nan"))
    with pytest.raises(ValueError, match="start"):
        SpikeTrainReplay(trains, start_us=4_000_000)


# ------------------------------------------------------------------ a recorded neuron as BN
EXAMPLE = ROOT / "examples" / "serb2020_recorded.toml"


def recorded_serb(tmp_path: Path, file: Path, channels: str, size: int = 1) -> Path:
    text = EXAMPLE.read_text().replace('duration = "20 s"', 'duration = "6 s"')
    text = re.sub(r'\{ file = "[^"]*"', f'{{ file = "{file}"', text)
    text = re.sub(r'channels = "[^"]*"', f'channels = "{channels}"', text)
    text = text.replace('size = 1\nmodel = "recording"', f'size = {size}\nmodel = "recording"')
    path = tmp_path / "rec.toml"
    path.write_text(text)
    return path


def test_description_errors_name_the_population(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    write_sjemea_h5(tmp_path / "s.h5", small_trains(rng, 3), ["a", "b", "c"])
    exp = load_experiment(recorded_serb(tmp_path, tmp_path / "s.h5", "", size=1))
    with pytest.raises(SiteError, match=r"population BN .* replays 3 channels but size = 1"):
        check_sources(exp)
    exp = load_experiment(recorded_serb(tmp_path, tmp_path / "missing.h5", "a"))
    with pytest.raises(SiteError, match=r"population BN .*missing\.h5.* does not exist"):
        check_sources(exp)
    exp = load_experiment(recorded_serb(tmp_path, tmp_path / "s.h5", "zz"))
    with pytest.raises(SiteError, match="no channel named 'zz'"):
        check_sources(exp)
    done = subprocess.run(
        [sys.executable, "-m", "ione", "run", str(tmp_path / "rec.toml"), "--virtual",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "no channel named 'zz'" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()


def test_recorded_neuron_in_the_2020_network(tmp_path: Path) -> None:
    """BN replays a recorded channel: Padova sends the hub exactly the recorded spikes of the
    run's span; MR1 still follows none / LTP / none / LTD (its rule reads the pacemaker's rate at
    BN's spikes); stimuli reach Padova and are ignored."""
    rng = np.random.default_rng(9)
    # a neuron firing ~6 Hz for 30 s (recorded files need not be present for this test)
    t = np.sort(rng.uniform(0, 30, 180))
    write_sjemea_h5(tmp_path / "s.h5", [t, t[:10]], ["ch_1", "ch_2"], duration_s=30.0)
    exp = load_experiment(recorded_serb(tmp_path, tmp_path / "s.h5", "ch_1"))
    procs = site_processors(exp, "padova", 0)
    assert isinstance(procs[0], RecordedCultureProcessor)
    t0 = 3_000_000
    recs = run_virtual(exp, tmp_path / "run", t0_us=t0)
    spikes = np.concatenate([b for k, b in recs["padova"] if k == K.SPIKES])
    span = exp.duration_us or 0
    recorded_us = np.floor(t * 1e6 + 0.5)
    np.testing.assert_array_equal(spikes["t_us"] - t0, recorded_us[recorded_us < span])
    pulses = np.concatenate([b for k, b in recs["southampton"] if k == K.PULSES])
    mr1 = pulses[pulses["synapse"] == 0]
    for (phase, start, stop), (ltp, ltd) in zip(
        exp.phase_windows(),
        [(False, False), (True, False), (False, False), (False, True)],
        strict=True,
    ):
        inside = (mr1["t_us"] >= t0 + start + 1_000_000) & (mr1["t_us"] < t0 + stop)
        assert bool((mr1["volts"][inside] > 0).any()) == ltp, phase.name
        assert bool((mr1["volts"][inside] < 0).any()) == ltd, phase.name
    stimuli = [b for k, b in recs["padova"] if k == K.RECEIVED]
    assert sum(b.size for b in stimuli) > 100


@needs_mea
def test_the_example_runs(tmp_path: Path) -> None:
    """examples/serb2020_recorded.toml as shipped, in virtual time."""
    done = subprocess.run(
        [sys.executable, "-m", "ione", "run", str(EXAMPLE), "--virtual", "--plain",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "summary.json").is_file()
    assert "ran to the end" in done.stdout
