"""Neo export: a NIX file that reads back equal, and that Elephant's statistics agree with."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import neo
import numpy as np
import pytest
import quantities as pq
from elephant.kernels import GaussianKernel
from elephant.statistics import instantaneous_rate, mean_firing_rate, time_histogram
from neo.io import NixIO

from ione.record import Session, export_neo, merge_run, session_to_neo
from ione.record.summary import summarize, time_base
from tests.record.synthetic import BN, SN_POST, SN_PRE, Truth, write_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, Truth]:
    folder = tmp_path_factory.mktemp("run")
    truth = write_run(folder, seed=2)
    return merge_run(folder), truth


@pytest.fixture(scope="module")
def block(run: tuple[Session, Truth], tmp_path_factory: pytest.TempPathFactory) -> neo.Block:
    path = tmp_path_factory.mktemp("neo") / "run.nix"
    assert export_neo(run[0], path) == path
    with NixIO(str(path), mode="ro") as io:
        blocks = io.read_all_blocks()
    assert len(blocks) == 1 and len(blocks[0].segments) == 1
    return blocks[0]


def test_spike_trains_read_back_with_annotations(
    run: tuple[Session, Truth], block: neo.Block
) -> None:
    session, truth = run
    tb = time_base(session)
    trains = block.segments[0].spiketrains
    assert len(trains) == len(truth.spikes)
    for st in trains:
        key = int(st.annotations["key"])
        rows = session.spikes[session.spikes["key"] == key]
        assert len(st) == truth.spikes[key] and st.units == pq.s
        np.testing.assert_allclose(st.magnitude, (rows["t_us"] - tb.origin_us) / 1e6, atol=1e-9)
        np.testing.assert_allclose(
            st.array_annotations["uncertainty_s"], rows["uncertainty_us"] / 1e6
        )
        assert float(st.t_start) == 0.0
        assert float(st.t_stop) == pytest.approx((tb.stop_us + 1 - tb.origin_us) / 1e6)
        assert (
            st.name
            == f"{st.annotations['site']}/{st.annotations['population']}/{st.annotations['neuron']}"
        )
    kinds = {int(st.annotations["key"]): st.annotations["kind"] for st in trains}
    assert (kinds[BN], kinds[SN_PRE], kinds[SN_POST]) == ("biological", "generator", "silicon")
    groups = {g.name: len(g.spiketrains) for g in block.groups}
    assert groups == {"padova/culture": 8, "zurich/SN_pre": 1, "zurich/SN_post": 1}
    assert block.annotations["reference"] == "southampton"
    assert json.loads(block.annotations["meta"]) == session.meta
    assert block.annotations["session_start_time"] == "2024-03-05T14:30:00+01:00"


def test_memristor_signals_and_epochs(run: tuple[Session, Truth], block: neo.Block) -> None:
    _, truth = run
    seg = block.segments[0]
    signals = {s.name: s for s in seg.irregularlysampledsignals}
    assert set(signals) == {"MR1 resistance", "MR1 weight", "MR2 resistance", "MR2 weight"}
    for name in ("MR1", "MR2"):
        r, w = signals[f"{name} resistance"], signals[f"{name} weight"]
        assert r.units == pq.ohm and w.units == pq.dimensionless
        np.testing.assert_array_equal(r.magnitude.ravel(), truth.r_ohm[name])
        np.testing.assert_allclose(r.times.rescale(pq.s).magnitude, truth.read_us[name] / 1e6)
        assert r.annotations["synapse"] == name and r.annotations["site"] == "southampton"
    epochs = {e.name: e for e in seg.epochs}
    stim = epochs["stimulation"]
    assert len(stim) == truth.stim
    labels, counts = np.unique(stim.labels, return_counts=True)
    ok = truth.stim - sum(truth.rejected.values())
    assert dict(zip(labels, counts, strict=True)) == {"ok": ok, **truth.rejected}
    np.testing.assert_allclose(stim.durations.rescale(pq.s).magnitude, 1e-3)
    assert set(stim.array_annotations["key"]) == {BN}
    assert int(np.count_nonzero(~stim.array_annotations["allowed"])) == sum(truth.rejected.values())
    pulses = epochs["memristor_pulses"]
    labels, counts = np.unique(pulses.labels, return_counts=True)
    assert dict(zip(labels, counts, strict=True)) == {
        f"{n} {d}": (truth.ltp if d == "LTP" else truth.ltd)[n]
        for n in ("MR1", "MR2") for d in ("LTP", "LTD")}  # fmt: skip


@pytest.mark.filterwarnings("ignore:The 'copy' argument in Quantity is deprecated")
def test_elephant_rates_agree_with_the_session(
    run: tuple[Session, Truth], block: neo.Block
) -> None:
    session, truth = run
    trains = block.segments[0].spiketrains
    duration = float(trains[0].t_stop - trains[0].t_start)
    summary = summarize(session)
    for st in trains:
        rate = mean_firing_rate(st).rescale(pq.Hz)
        assert float(rate) == pytest.approx(truth.spikes[int(st.annotations["key"])] / duration)
    per_pop = {(p["site"], p["population"]): p["spikes"] for p in summary["spikes"]}
    for group in block.groups:
        site, pop = group.name.split("/")
        rates = [float(mean_firing_rate(st).rescale(pq.Hz)) for st in group.spiketrains]
        assert sum(rates) * duration == pytest.approx(per_pop[site, pop])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # binning must not discard a spike
        hist = time_histogram(trains, bin_size=duration / 20 * pq.s)
    assert int(hist.magnitude.sum()) == session.spikes.size
    pacemaker = next(st for st in trains if st.annotations["key"] == SN_PRE)
    kernel = GaussianKernel(300 * pq.ms)
    rate = instantaneous_rate(pacemaker, 10 * pq.ms, kernel=kernel, border_correction=True)
    # the pacemaker's four phases: 10, 30, 10 and 2 Hz, 5 s each
    quarters = np.array_split(rate.magnitude.ravel(), 4)
    means = [float(q[50:-50].mean()) for q in quarters]
    np.testing.assert_allclose(means, [10, 30, 10, 2], rtol=0.1)
    assert float(rate.magnitude.mean()) * duration == pytest.approx(len(pacemaker), rel=0.02)


def test_a_session_without_stimulation_or_memristors(
    run: tuple[Session, Truth], tmp_path: Path
) -> None:
    session, _ = run
    bare = dataclasses.replace(session, stimulation=session.stimulation[:0],
                               pulses=session.pulses[:0], reads=session.reads[:0],
                               meta={n: {"site": n} for n in session.sites})  # fmt: skip
    built = session_to_neo(bare)
    seg = built.segments[0]
    assert not seg.epochs and not seg.irregularlysampledsignals and built.rec_datetime is None
    assert {st.annotations["kind"] for st in seg.spiketrains} == {"unknown"}
    path = export_neo(bare, tmp_path / "bare.nix")
    with NixIO(str(path), mode="ro") as io:
        assert len(io.read_block().segments[0].spiketrains) == len(seg.spiketrains)
    with pytest.raises(FileNotFoundError, match="no folder"):
        export_neo(bare, tmp_path / "missing" / "x.nix")
