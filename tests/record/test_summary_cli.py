"""The session summary, and `ione merge / export / inspect` end to end in real processes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from ione.events import make_key
from ione.record import Session, load_session, merge_run, render_summary, summarize
from ione.record.merge import open_session
from ione.record.summary import time_base
from tests.record.synthetic import (
    CLOCKS,
    HUB,
    PADOVA,
    START_TIME,
    TORN_TAIL,
    ZURICH,
    Truth,
    write_run,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, Truth]:
    folder = tmp_path_factory.mktemp("run")
    truth = write_run(folder, seed=3)
    return merge_run(folder), truth


def ione(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ione", *map(str, args)], capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_summary_counts_losses_clocks_stimulation_and_plasticity(
    run: tuple[Session, Truth],
) -> None:
    session, truth = run
    s = summarize(session)
    # t = 0 is the hub's reading 0 at START_TIME, or the first event if one was placed earlier
    origin = min(0, session.span_us[0])
    start = dt.datetime.fromisoformat(START_TIME) + dt.timedelta(microseconds=origin)
    assert s["reference"] == "southampton" and s["origin_us"] == origin
    assert s["start_time"] == start.isoformat()
    sites = {x["name"]: x for x in s["sites"]}
    assert [x["reference"] for x in s["sites"]] == [False, True, False]
    spikes = {site: sum(n for k, n in truth.spikes.items() if k >> 28 == i)
              for site, i in (("padova", PADOVA), ("zurich", ZURICH))}  # fmt: skip
    assert {n: x["spikes_produced"] for n, x in sites.items()} == {**spikes, "southampton": 0}
    assert sites["padova"]["events"]["stimulation"] == truth.stim
    assert sites["southampton"]["events"]["pulses"] == sum(truth.ltp.values()) + sum(
        truth.ltd.values()
    )
    assert sites["southampton"]["events"]["link"] == 8 and sites["zurich"]["events"]["clock"] > 0
    assert s["dropped_bytes"] == {"padova": 0, "southampton": 0, "zurich": len(TORN_TAIL)}
    losses = {(x["site"], x["peer"]): x for x in s["losses"]}
    assert {k: v["frames_lost"] for k, v in losses.items()} == truth.frames_lost
    assert {k: v["events_lost"] for k, v in losses.items()} == truth.events_lost
    # the last clock offset of each link is the true one within its bound
    for c in s["clock"]:
        here, there = (next(i for i, n in ((1, "padova"), (2, "southampton"), (3, "zurich"))
                            if n == name) for name in (c["site"], c["peer"]))  # fmt: skip
        true = CLOCKS[there].offset_us - CLOCKS[here].offset_us
        assert abs(c["offset_us"] - true) <= c["uncertainty_us"] + 0.01 * abs(true), c
    assert s["stimulation"]["rejected_by_reason"] == truth.rejected
    assert s["stimulation"]["allowed"] == truth.stim - sum(truth.rejected.values())
    plasticity = {p["synapse"]: p for p in s["plasticity"]}
    for name in ("MR1", "MR2"):
        assert (plasticity[name]["ltp"], plasticity[name]["ltd"]) == (
            truth.ltp[name],
            truth.ltd[name],
        )
        assert plasticity[name]["r_last_ohm"] == truth.r_ohm[name][-1]
    assert s["units"] == {"total": 10, "by_kind": {"biological": 8, "generator": 1, "silicon": 1}}
    pacemaker = next(p for p in s["spikes"] if p["population"] == "SN_pre")
    assert pacemaker["rate_hz"] == pytest.approx((10 + 30 + 10 + 2) / 4, rel=0.02)


def test_render_prints_every_section(run: tuple[Session, Truth]) -> None:
    console = Console(record=True, width=120)
    render_summary(run[0], console)
    text = console.export_text()
    for piece in ("southampton (ref)", "padova → southampton", "charge_density: 9", "MR1",
                  "SN_post", "biological", "Plasticity", "5000 →"):  # fmt: skip
        assert piece in text, piece


def test_an_empty_session_and_links_that_name_peers_by_index(run: tuple[Session, Truth]) -> None:
    session, _ = run
    links = {"padova": [{"t_us": 5, "peer": 2, "frames_lost": 1, "events_lost": 4},
                        {"t_us": 9, "peer": "2", "frames_lost": 3, "events_lost": 7},
                        {"t_us": 7, "peer": 2, "frames_lost": 2, "events_lost": 5}]}  # fmt: skip
    empty = dataclasses.replace(
        session, spikes=session.spikes[:0], stimulation=session.stimulation[:0],
        pulses=session.pulses[:0], reads=session.reads[:0], clock={}, meta={}, links=links,
    )  # fmt: skip
    s = summarize(empty)
    assert s["duration_s"] == 0.0 and s["units"]["total"] == 0 and s["plasticity"] == []
    assert [(x["peer"], x["frames_lost"], x["events_lost"]) for x in s["losses"]] == [
        ("southampton", 3, 7)]  # fmt: skip
    console = Console(record=True, width=120)
    render_summary(empty, console)
    assert "0 commands" in console.export_text()


def test_time_base_moves_the_wall_clock_with_an_earlier_first_event(
    run: tuple[Session, Truth],
) -> None:
    session, _ = run
    meta = {
        **session.meta,
        "southampton": {**session.meta["southampton"], "session_start_us": 2_000_000},
    }
    tb = time_base(dataclasses.replace(session, meta=meta))
    first = session.span_us[0]
    assert tb.origin_us == first
    expected = dt.datetime.fromisoformat(START_TIME) - dt.timedelta(microseconds=2_000_000 - first)
    assert tb.start_time == expected and tb.seconds(np.array([first]))[0] == 0.0


def test_merge_export_inspect_from_the_command_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    truth = write_run(run, seed=4, phase_s=2.0)
    out = ione("merge", run)
    assert out.returncode == 0, out.stderr
    assert "3 sites on southampton's clock" in out.stdout and "session.ionelog" in out.stdout
    assert len(out.stdout.strip().splitlines()) == 1
    assert f"{len(TORN_TAIL)} bytes of torn log tails skipped" in out.stdout
    merged = load_session(run / "session.ionelog")
    assert merged.spikes.size == sum(truth.spikes.values())
    # merging again replaces the session file, it does not append to it
    assert ione("merge", run, "--reference", "padova").returncode == 0
    again = load_session(run / "session.ionelog")
    assert again.reference == "padova" and again.spikes.size == merged.spikes.size
    out = ione("export", run, "--nwb", tmp_path / "a.nwb", "--neo", tmp_path / "a.nix")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a.nwb").stat().st_size > 0 and (tmp_path / "a.nix").stat().st_size > 0
    # the session file is reused as long as no site log is newer; a newer log is merged again
    session_file = run / "session.ionelog"
    before = session_file.stat().st_mtime_ns
    later = before + 5_000_000_000
    os.utime(run / "zurich.ionelog", ns=(later, later))
    assert ione("export", run, "--nwb", tmp_path / "b.nwb").returncode == 0
    assert session_file.stat().st_mtime_ns > before
    assert load_session(session_file).reference == "southampton"
    out = ione("export", session_file, "--neo", tmp_path / "b.nix")
    assert out.returncode == 0 and (tmp_path / "b.nix").exists(), out.stderr
    out = ione("inspect", run)
    assert out.returncode == 0, out.stderr
    assert "Plasticity" in out.stdout and "charge_density" in out.stdout


def test_export_merges_a_fresh_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_run(run, seed=5, phase_s=1.0, torn=False)
    assert open_session(run, cache=False).reference == "southampton"
    assert not (run / "session.ionelog").exists()
    out = ione("export", run, "--neo", tmp_path / "x.nix", "--reference", "zurich")
    assert out.returncode == 0, out.stderr
    assert load_session(run / "session.ionelog").reference == "zurich"


def _corrupt(run: Path) -> None:
    write_run(run, seed=6, phase_s=1.0)
    data = bytearray((run / "padova.ionelog").read_bytes())
    data[200] ^= 0xFF
    (run / "padova.ionelog").write_bytes(data)


def _one_site(run: Path) -> None:
    from ione.record import LogWriter
    from ione.record import kinds as K

    run.mkdir()
    with LogWriter(run / "hub.ionelog") as w:
        w.append(K.META, {"site": "hub", "site_index": HUB})
        w.append(K.SPIKES, K.spike_block([1, 2], make_key(HUB, 0, 1)))


@pytest.mark.parametrize(
    ("argv", "setup", "message"),
    [
        (["merge", "{tmp}/nowhere"], None, "nowhere: no such run folder"),
        (["inspect", "{tmp}/run"], "empty", "no site logs (*.ionelog) in this run folder"),
        (["merge", "{tmp}/run"], "corrupt", "padova.ionelog: corrupted record at byte"),
        (["merge", "{tmp}/run", "--reference", "mars"], "one", "reference site 'mars' is not"),
        (["inspect", "{tmp}/run/hub.ionelog"], "one", "not a merged session"),
        (["export", "{tmp}/run", "--nwb", "{tmp}/no/x.nwb"], "one", "no folder"),
        (["export", "{tmp}/run.txt", "--nwb", "{tmp}/x.nwb"], "text", "not an ione session log"),
    ],
)  # fmt: skip
def test_errors_are_one_line_and_exit_1(
    tmp_path: Path, argv: list[str], setup: str | None, message: str
) -> None:
    run = tmp_path / "run"
    if setup == "empty":
        run.mkdir()
    elif setup == "corrupt":
        _corrupt(run)
    elif setup in ("one", "text"):
        _one_site(run)
        (tmp_path / "run.txt").write_text("hello")
    out = ione(*(a.format(tmp=tmp_path) for a in argv))
    assert out.returncode == 1
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith(f"ione {argv[0]}: ")


def test_export_needs_an_output(tmp_path: Path) -> None:
    out = ione("export", tmp_path)
    assert out.returncode == 2 and "--nwb FILE and/or --neo FILE" in out.stderr
