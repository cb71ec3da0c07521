"""The report's numbers on a synthetic run whose every count is known (synthetic.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ione.report import ReportError, build_summary, format_table, load_run
from ione.report._run import PopulationInfo
from ione.report._summary import clean_json, locate_keys

from .synthetic import T0, write_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("report") / "run")


@pytest.fixture(scope="module")
def summary(run: Path) -> dict[str, Any]:
    return build_summary(run)


def approx(x: float) -> Any:
    return pytest.approx(x, rel=1e-6, abs=1e-9)


def test_top_level_and_phases_in_config_order(summary: dict[str, Any]) -> None:
    assert summary["experiment"] == "synthetic2020"
    assert summary["ok"] is True
    assert summary["reference"] == "southampton"
    # zurich hosts the generator: its tick 0, not the hub's or padova's earlier ones
    assert summary["t0_us"] == T0
    assert list(summary["phases"]) == ["baseline", "potentiation", "test", "depression"]
    starts = [(p["start_s"], p["stop_s"]) for p in summary["phases"].values()]
    assert starts == [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 16.0)]
    assert [p["rates_hz"] for p in summary["phases"].values()] == [
        {"SN_pre": 10.0},
        {"SN_pre": 30.0},
        {"SN_pre": 10.0},
        {"SN_pre": 2.0},
    ]


def _pulses(summary: dict[str, Any], name: str) -> list[tuple[int, int, int, int]]:
    return [
        (s["ltp_pulses"], s["ltd_pulses"], s["onset_ltp_pulses"], s["onset_ltd_pulses"])
        for s in (p["synapses"][name] for p in summary["phases"].values())
    ]


def test_pulses_in_phases_and_at_their_onset(summary: dict[str, Any]) -> None:
    # (LTP, LTD, onset LTP, onset LTD) per phase; pulses before T0 or at the end are in none
    assert _pulses(summary, "MR1") == [(0, 1, 0, 2), (4, 0, 1, 0), (0, 0, 1, 0), (0, 3, 1, 0)]
    assert _pulses(summary, "MR2") == [(0, 1, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)]
    # a synapse no meta record names, its rule unknown: no window, so never an onset pulse
    assert _pulses(summary, "synapse2") == [(1, 0, 0, 0), *[(0, 0, 0, 0)] * 3]


def test_resistance_and_weight_at_phase_bounds(summary: dict[str, Any]) -> None:
    phases = summary["phases"]
    mr1 = [
        (p["synapses"]["MR1"]["r_start_ohm"], p["synapses"]["MR1"]["r_end_ohm"])
        for p in phases.values()
    ]
    # start: last read at or before the start (4710 Ω was read exactly at 4 s); end: last read
    # before the end (the read at 16 s, the run's end, is not in the last phase)
    assert mr1 == [(4800.0, 4700.0), (4710.0, 5400.0), (5400.0, 5400.0), (5400.0, 5100.0)]
    deltas = [p["synapses"]["MR1"]["delta_r_ohm"] for p in phases.values()]
    assert deltas == [-100.0, 690.0, 0.0, -300.0]
    base = phases["baseline"]["synapses"]["MR1"]
    assert base["w_start"] == approx(0.16)
    assert base["w_end"] == approx(0.14)
    assert base["delta_w"] == approx(-0.02)
    # MR2's first read comes 2.5 s into the run: the baseline starts from it
    mr2 = phases["baseline"]["synapses"]["MR2"]
    assert (mr2["r_start_ohm"], mr2["r_end_ohm"], mr2["delta_r_ohm"]) == (6000.0, 6000.0, 0.0)
    assert mr2["w_start"] == approx(0.4)
    # no reads at all: null, not NaN
    nothing = phases["test"]["synapses"]["synapse2"]
    assert [
        nothing[k]
        for k in ("r_start_ohm", "r_end_ohm", "w_start", "w_end", "delta_r_ohm", "delta_w")
    ] == [None] * 6


def test_culture_responses_per_phase(summary: dict[str, Any]) -> None:
    bn = [p["neurons"]["BN"] for p in summary["phases"].values()]
    assert [(b["stimuli"], b["evoked_aps"]) for b in bn] == [(10, 1), (4, 2), (8, 6), (0, 0)]
    assert [b["ap_probability"] for b in bn] == [0.1, 0.5, 0.75, None]
    assert [b["mean_weight"] for b in bn[:3]] == [approx(0.2), approx(0.4), approx(0.5)]
    # one stimulus of the test phase has no peak (NaN): the mean is over the others
    assert [b["mean_peak_mv"] for b in bn] == [approx(3.0), approx(5.0), approx(7.0), None]
    assert bn[3]["mean_weight"] is None
    # stimuli the guard refused are counted apart, in their phase
    assert [b["rejected_stimuli"] for b in bn] == [1, 0, 0, 2]


def test_population_spikes_and_rates(summary: dict[str, Any]) -> None:
    pops = [p["populations"] for p in summary["phases"].values()]
    assert [p["SN_pre"]["spikes"] for p in pops] == [40, 120, 40, 8]
    assert [p["SN_pre"]["rate_hz"] for p in pops] == [10.0, 30.0, 10.0, 2.0]
    assert [p["BN"]["spikes"] for p in pops] == [0, 0, 3, 0]
    assert pops[2]["BN"]["rate_hz"] == 0.75
    assert [p["SN_post"]["spikes"] for p in pops] == [0, 0, 0, 0]


def test_links_sum_both_ends_and_count_relay_drops(summary: dict[str, Any]) -> None:
    ps, sz = summary["links"]["padova-southampton"], summary["links"]["southampton-zurich"]
    assert (ps["frames_sent"], ps["frames_lost"], ps["relay_dropped"]) == (190, 3, 10)
    assert (ps["rtt_p50_us"], ps["rtt_p99_us"]) == (30_000.0, 35_000.0)  # padova's (a's) view
    assert (ps["clock_offset_us"], ps["clock_uncertainty_us"]) == (-250_000.0, 100.0)
    assert ps["ends"]["southampton"]["rtt_p50_us"] == 31_000.0
    assert ps["relay"]["a_to_b"]["dropped_loss"] == 3
    assert (ps["down"], ps["up"]) == (0, 0)
    # no relay file for this link: null, not 0
    assert (sz["frames_sent"], sz["frames_lost"], sz["relay_dropped"]) == (110, 4, None)
    assert (sz["rtt_p50_us"], sz["rtt_p99_us"]) == (20_000.0, 25_000.0)
    assert (sz["down"], sz["up"]) == (2, 1)
    assert sz["events"]["lost"] == 1 and sz["events"]["failed"] == 1


def test_latency_by_direction_on_the_reference_clock(summary: dict[str, Any]) -> None:
    ps, sz = summary["links"]["padova-southampton"], summary["links"]["southampton-zurich"]
    to_padova = ps["latency"]["southampton->padova"]
    assert to_padova["events"] == 22
    assert to_padova["p50_ms"] == approx(15.0) and to_padova["p99_ms"] == approx(15.0)
    assert ps["latency"]["padova->southampton"] == {
        "events": 0,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }
    assert sz["latency"]["zurich->southampton"]["events"] == 208
    assert sz["latency"]["zurich->southampton"]["p50_ms"] == approx(10.0)


def test_sites(summary: dict[str, Any]) -> None:
    sites = summary["sites"]
    assert list(sites) == ["padova", "southampton", "zurich"]
    assert sites["zurich"]["ticks"]["ticks"] == 16_002
    assert sites["southampton"]["ticks"]["late_ticks"] == 2
    assert sites["zurich"]["exit_code"] == 3
    assert sites["southampton"]["reference"] is True
    assert sites["zurich"]["t0_us"] == T0
    assert sites["southampton"]["t0_us"] == T0 - 4_000
    assert sites["padova"]["t0_us"] == T0 - 7_000


def test_summary_json_is_strict(summary: dict[str, Any]) -> None:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in summary.json")

    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text, parse_constant=refuse) == summary


def test_without_relays_and_run_record(tmp_path: Path) -> None:
    run = write_run(tmp_path / "bare", relays=False, run_json=False)
    s = build_summary(run)
    assert s["ok"] is None
    assert s["links"]["padova-southampton"]["relay_dropped"] is None
    assert s["sites"]["zurich"]["exit_code"] is None


def test_without_config_the_logged_description_is_used(tmp_path: Path, run: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "config.toml").unlink()
    s = build_summary(copy)
    assert s["experiment"] == "synthetic2020"
    assert s["phases"]["potentiation"]["synapses"]["MR1"]["ltp_pulses"] == 4


def test_a_broken_relay_file_is_reported_not_fatal(tmp_path: Path, run: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "relays" / "padova-southampton.json").write_text("{not json")
    link = build_summary(copy)["links"]["padova-southampton"]
    assert link["relay_dropped"] is None
    assert "padova-southampton.json" in link["relay_error"]


def test_missing_folder_and_no_logs(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no such run folder"):
        load_run(tmp_path / "nowhere")
    with pytest.raises(ReportError, match="no site logs"):
        load_run(tmp_path)


def test_format_table_shows_every_table(summary: dict[str, Any]) -> None:
    text = format_table(summary)
    for needle in (
        "Plasticity per phase",
        "potentiation",
        "MR1",
        "4,710 → 5,400",
        "+690",
        "Culture responses",
        "0.750",
        "padova-southampton",
        "30.00 / 35.00",
        "Sites",
    ):
        assert needle in text, needle


def test_keys_are_located_in_their_populations() -> None:
    pops = [
        PopulationInfo("SN_pre", "generator", 1, 100, "z"),
        PopulationInfo("BN", "culture", 4, 10, "p"),
    ]
    pop, neuron = locate_keys(np.array([9, 10, 13, 14, 100, 101]), pops)
    assert pop.tolist() == [-1, 1, 1, -1, 0, -1]
    assert neuron[pop >= 0].tolist() == [0, 3, 0]
    assert pops[1].neuron_name(3) == "BN[3]" and pops[0].neuron_name(0) == "SN_pre"


def test_clean_json_makes_numpy_and_nan_json_ready() -> None:
    value = {"a": np.float32(np.nan), "b": np.int64(3), "c": (np.inf, 1.5), "d": np.arange(2)}
    assert clean_json(value) == {"a": None, "b": 3, "c": [None, 1.5], "d": [0, 1]}
