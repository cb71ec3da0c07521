"""NWB export of the reference experiment: nwbinspector-clean, and read back equal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from nwbinspector import Importance, inspect_nwbfile
from pynwb import NWBHDF5IO, NWBFile

from ione.record import Session, export_nwb, merge_run
from ione.record.summary import time_base
from tests.record.synthetic import BN, SN_POST, SN_PRE, START_TIME, TORN_TAIL, Truth, write_run

SEVERE = {Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, Truth]:
    folder = tmp_path_factory.mktemp("run")
    truth = write_run(folder, seed=1)
    return merge_run(folder), truth


@pytest.fixture(scope="module")
def nwb_path(run: tuple[Session, Truth], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nwb") / "run.nwb"
    assert export_nwb(run[0], path) == path
    return path


@pytest.fixture
def nwb(nwb_path: Path) -> Iterator[NWBFile]:
    with NWBHDF5IO(str(nwb_path), "r") as io:
        yield io.read()


def messages(path: Path) -> list[tuple[str, str, str]]:
    return [(m.importance.name, m.check_function_name, m.message)
            for m in inspect_nwbfile(nwbfile_path=str(path))]  # fmt: skip


def test_nwbinspector_finds_nothing_critical_and_no_violation(nwb_path: Path) -> None:
    found = messages(nwb_path)
    assert [m for m in found if Importance[m[0]] in SEVERE] == []
    # what is left are suggestions a lab fills in (who did it, where)
    assert {m[1] for m in found} <= {"check_experimenter_exists", "check_institution"}


def test_units_hold_every_spike_with_labels_and_uncertainty(
    run: tuple[Session, Truth], nwb: NWBFile
) -> None:
    session, truth = run
    units = nwb.units.to_dataframe()
    assert len(units) == len(truth.spikes) and nwb.units.resolution == 1e-6
    origin = time_base(session).origin_us
    for _, row in units.iterrows():
        key = int(row["key"])
        assert len(row["spike_times"]) == truth.spikes[key]
        rows = session.spikes[session.spikes["key"] == key]
        np.testing.assert_allclose(row["spike_times"], (rows["t_us"] - origin) / 1e6, atol=1e-9)
        np.testing.assert_allclose(row["spike_time_uncertainty"], rows["uncertainty_us"] / 1e6)
        assert np.all(np.diff(row["spike_times"]) >= 0)
    by_key = units.set_index("key")
    assert tuple(by_key.loc[BN, ["site", "population", "neuron", "kind"]]) == (
        "padova", "culture", 0, "biological")  # fmt: skip
    assert tuple(by_key.loc[SN_PRE, ["population", "kind"]]) == ("SN_pre", "generator")
    assert tuple(by_key.loc[SN_POST, ["site", "population", "kind"]]) == (
        "zurich", "SN_post", "silicon")  # fmt: skip
    # spikes of the sites whose clocks were translated carry a non-zero bound
    assert np.all(np.concatenate(units["spike_time_uncertainty"].to_list()) > 0)


def test_stimulation_intervals_and_electrodes(run: tuple[Session, Truth], nwb: NWBFile) -> None:
    session, truth = run
    stim = nwb.intervals["stimulation"].to_dataframe()
    assert len(stim) == truth.stim
    np.testing.assert_allclose(stim["stop_time"] - stim["start_time"], 1e-3)
    assert (~stim["allowed"]).sum() == sum(truth.rejected.values())
    assert stim.loc[~stim["allowed"], "reason_name"].value_counts().to_dict() == truth.rejected
    assert set(stim.loc[stim["allowed"], "reason_name"]) == {"ok"}
    assert set(stim["target_key"]) == {BN} and set(stim["electrode"]) == {5}
    np.testing.assert_allclose(stim["amplitude"], session.stimulation["amplitude"], rtol=1e-6)
    electrodes = nwb.electrodes.to_dataframe()
    assert list(electrodes["electrode_name"]) == ["CME", "ME1", "ME2"]
    assert list(electrodes["kind"]) == ["stimulation", "recording", "recording"]
    assert electrodes["area_um2"].iloc[0] == 2000.0 and np.isnan(electrodes["area_um2"].iloc[1])
    assert list(electrodes["rel_x"]) == [0.0, 100.0, 200.0]
    # each command points at its electrode row: the capacitive electrode
    region = nwb.intervals["stimulation"]["electrodes"]
    assert set(region.data[:]) == {0} and region.table is nwb.electrodes
    assert nwb.electrode_groups["padova"].device is nwb.devices["padova"]


def test_memristors_resistance_weight_and_pulses(run: tuple[Session, Truth], nwb: NWBFile) -> None:
    _, truth = run
    for name in ("MR1", "MR2"):
        r = nwb.acquisition[f"{name}_resistance"]
        w = nwb.acquisition[f"{name}_weight"]
        assert r.unit == "ohm" and w.unit == "1"
        np.testing.assert_array_equal(r.data[:], truth.r_ohm[name])
        # the hub is the reference and time 0 is its reading 0: its times come through exactly
        np.testing.assert_allclose(r.timestamps[:], truth.read_us[name] / 1e6, atol=1e-9)
        np.testing.assert_allclose(w.data[:], np.clip((truth.r_ohm[name] - 4000) / 5000, 0, 1),
                                   rtol=1e-6)  # fmt: skip
        assert nwb.devices[f"{name}_memristor"].description.endswith('"TiOx DUT1"')
    pulses = nwb.intervals["memristor_pulses"].to_dataframe()
    counts = pulses.groupby(["synapse", "direction"]).size().to_dict()
    assert counts == {(n, d): (truth.ltp if d == "LTP" else truth.ltd)[n]
                      for n in ("MR1", "MR2") for d in ("LTP", "LTD")}  # fmt: skip
    assert set(pulses.loc[pulses["direction"] == "LTP", "volts"]) == {4.0}
    np.testing.assert_allclose(pulses["width"], 100e-6)


def test_metadata_start_subject_versions_and_meta(run: tuple[Session, Truth], nwb: NWBFile) -> None:
    session, _ = run
    origin = time_base(session).origin_us  # the hub's 0 at START_TIME, or an earlier event
    assert origin <= 0 and session.meta["southampton"]["session_start_us"] == 0
    start = dt.datetime.fromisoformat(START_TIME) + dt.timedelta(microseconds=origin)
    assert nwb.session_start_time == start
    assert nwb.session_start_time.utcoffset() == dt.timedelta(hours=1)
    assert nwb.identifier == "serb2020-synthetic-0001"
    assert nwb.session_description.startswith("SN_pre -> MR1")
    assert nwb.subject.species == "Rattus norvegicus" and nwb.subject.age == "P18D"
    assert ["ione", session.meta["southampton"]["versions"]["ione"]] in nwb.was_generated_by[
        :
    ].tolist()
    assert json.loads(nwb.scratch["ione_meta"].data) == session.meta
    assert len(json.loads(nwb.scratch["ione_links"].data)["padova"]) == 4
    assert f'{{"zurich": {len(TORN_TAIL)}}}' in nwb.notes


def test_minimal_meta_falls_back_and_regular_reads_get_a_rate(
    run: tuple[Session, Truth], tmp_path: Path
) -> None:
    session, _ = run
    bare = {n: {"site": n, "site_index": i} for n, i in session.sites.items()}
    reads = session.reads[:30].copy()
    reads["t_us"] = 1_000_000 + 250_000 * np.arange(30)  # a device read every 250 ms
    minimal = dataclasses.replace(session, meta=bare, reads=reads)
    path = export_nwb(minimal, tmp_path / "bare.nwb", session_description="a bare run")
    found = messages(path)
    assert not [m for m in found if m[0] == "CRITICAL"]
    # the only violation left is the honest one: nothing says what the culture is
    assert [m[1] for m in found if m[0] == "BEST_PRACTICE_VIOLATION"] == [
        "check_subject_species_exists"]  # fmt: skip
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert set(nwb.units["kind"][:]) == {"unknown"}
        assert set(nwb.units["population"][:]) == {"pop0", "pop1"}
        series = nwb.acquisition["synapse0_resistance"]
        assert series.timestamps is None and series.rate == pytest.approx(4.0)
        # without session_start_us, t = 0 is the first event of the session
        origin = time_base(minimal).origin_us
        assert origin == minimal.span_us[0] and origin < 1_000_000
        assert series.starting_time == pytest.approx((1_000_000 - origin) / 1e6)
        assert "export time" in nwb.notes and nwb.subject.sex == "U"
        assert "electrodes" not in nwb.intervals["stimulation"].colnames


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"session_start_time": "2024-03-05T14:30:00"}, "has no time zone"),
        ({"session_start_time": "yesterday"}, "not an ISO 8601 time"),
        ({"populations": {"name": "x"}}, "'populations' must be a list of objects"),
        ({"populations": [{"name": "x"}]}, "needs an integer 'index'"),
        ({"subject": {"species": "Rattus norvegicus", "eyes": 2}}, r"unknown fields \['eyes'\]"),
    ],
)  # fmt: skip
def test_malformed_meta_is_named(
    run: tuple[Session, Truth], tmp_path: Path, meta: dict[str, object], message: str
) -> None:
    session, _ = run
    metas = {n: {**m, **meta} for n, m in session.meta.items()}
    with pytest.raises(ValueError, match=message):
        export_nwb(dataclasses.replace(session, meta=metas), tmp_path / "bad.nwb")


def test_an_empty_session_and_a_missing_folder(run: tuple[Session, Truth], tmp_path: Path) -> None:
    session, _ = run
    empty = dataclasses.replace(
        session, spikes=session.spikes[:0], stimulation=session.stimulation[:0],
        pulses=session.pulses[:0], reads=session.reads[:0], meta={})  # fmt: skip
    start = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    path = export_nwb(empty, tmp_path / "empty.nwb", session_start_time=start)
    assert not [m for m in messages(path) if m[0] == "CRITICAL"]
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.units is None and not nwb.intervals and nwb.session_start_time == start
    with pytest.raises(FileNotFoundError, match="no folder"):
        export_nwb(session, tmp_path / "missing" / "x.nwb")
    with pytest.raises(ValueError, match="timezone-aware"):
        export_nwb(session, tmp_path / "x.nwb", session_start_time=dt.datetime(2024, 1, 1))
