"""Sites planned from a description, and the whole 2020 network in virtual time."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ione.events import EVENT_DTYPE, make_events
from ione.network import load_experiment
from ione.node.build import SiteError, plan_site, site_processors, synapse_table
from ione.node.processors import CultureProcessor, HubProcessor, run_tick
from ione.node.virtual import run_virtual
from ione.record import kinds as K

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "serb2020.toml"


def short_serb(tmp_path: Path, phase: str = "10 s", seed: int = 2020) -> Path:
    """examples/serb2020.toml with shorter phases, its keys in tmp_path."""
    text = EXAMPLE.read_text().replace('duration = "20 s"', f'duration = "{phase}"')
    text = re.sub(r"seed = \d+", f"seed = {seed}", text, count=1)
    path = tmp_path / "serb.toml"
    path.write_text(text)
    return path


def test_plan_names_what_is_wrong(tmp_path: Path) -> None:
    exp = load_experiment(short_serb(tmp_path))
    with pytest.raises(SiteError, match=r"no site 'lisbon'.*padova, southampton, zurich"):
        plan_site(exp, "lisbon")
    with pytest.raises(SiteError, match=r"padova-southampton.*key file not found"):
        plan_site(exp, "padova")
    with pytest.raises(SiteError, match="padova has no link to zurich"):
        plan_site(exp, "padova", peers={"zurich": ("127.0.0.1", 1)}, create_keys=True)


def test_plan_of_the_hub(tmp_path: Path) -> None:
    exp = load_experiment(short_serb(tmp_path))
    plan = plan_site(exp, "southampton", create_keys=True, peers={"zurich": ("127.0.0.1", 9)})
    assert {pl.peer: pl.initiator for pl in plan.spec.links} == {"padova": False, "zurich": True}
    assert {pl.peer: pl.address for pl in plan.spec.links}["zurich"] == ("127.0.0.1", 9)
    assert (tmp_path / "keys" / "padova-southampton.key").stat().st_mode & 0o077 == 0
    assert [s["name"] for s in plan.meta["synapses"]] == ["MR1", "MR2"]
    assert [s["name"] for s in synapse_table(exp)] == ["MR1", "MR2"]
    hub = plan.make_processors(0)[0]
    assert isinstance(hub, HubProcessor)
    assert [p.bank.resistance()[0] for p in hub.projections] == [4900.0, 5500.0]
    # padova (culture), zurich (pacemaker + DPI neuron) report to the hub
    (cul,) = site_processors(exp, "padova", 0)
    assert isinstance(cul, CultureProcessor) and cul.hubs == ["southampton"]


def test_culture_runs_on_the_site_clock(tmp_path: Path) -> None:
    """A culture made for tick 0 at a large local time evokes APs when strongly stimulated."""
    exp = load_experiment(short_serb(tmp_path))
    t0 = 10**10
    (cul,) = site_processors(exp, "padova", t0)
    bn = exp.address("BN")
    codes = []
    for k in range(3000):
        t = t0 + 1000 * k
        inbound = make_events([t], [bn], [1.0]) if k % 100 == 0 else np.zeros(0, EVENT_DTYPE)
        res = run_tick([cul], t, 1000, inbound)
        codes += [int(c) for kind, b in res.records if kind == "responses" for c in b["code"]]
        assert all(e["t_us"].min() >= t for e in res.spikes)  # stamped on the site's clock
    assert codes.count(1) >= 25  # full-weight stimuli evoke APs
    with pytest.raises(ValueError, match="ticks must follow one another"):
        cul.tick(t0, 1000, np.zeros(0, EVENT_DTYPE))


def _table(records: list, kind: str, dtype: np.dtype) -> np.ndarray:
    blocks = [b for k, b in records if k == kind]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype)


def test_serb2020_in_virtual_time(tmp_path: Path) -> None:
    """SYSTEM.md §6: none / LTP / none / LTD on MR1; BN answers the same 10 Hz pacemaker more
    often after potentiation; stimulated APs never trigger plasticity; SN_post's spikes
    trigger the rule on MR2."""
    exp = load_experiment(short_serb(tmp_path))
    t0 = 5_000_000
    recs = run_virtual(exp, tmp_path / "run", t0_us=t0)
    hub, bio = recs["southampton"], recs["padova"]
    pulses = _table(hub, K.PULSES, K.PULSE_DTYPE)
    window_us = 1_000_000
    for (phase, start, stop), (ltp_expected, ltd_expected) in zip(
        exp.phase_windows(),
        [(False, False), (True, False), (False, False), (False, True)],
        strict=True,
    ):
        # pulses whose whole 1 s rate window lies inside the phase
        inside = (pulses["t_us"] >= t0 + start + window_us) & (pulses["t_us"] < t0 + stop)
        mr1 = pulses[inside & (pulses["synapse"] == 0)]
        assert bool((mr1["volts"] > 0).sum()) == ltp_expected, phase.name
        assert bool((mr1["volts"] < 0).sum()) == ltd_expected, phase.name
    # every MR1 pulse answers a PSP or spontaneous-AP report from BN, never a stimulated AP
    got = _table(hub, K.RECEIVED, K.RECEIVED_DTYPE)
    reports = got[got["key"] == exp.address("BN")]
    mr1 = pulses[pulses["synapse"] == 0]
    codes_at = {int(t): set() for t in mr1["t_us"]}
    for t, v in zip(reports["t_us"], reports["value"], strict=True):
        if int(t) in codes_at:
            codes_at[int(t)].add(int(v))
    assert all(codes and codes <= {0, 2} for codes in codes_at.values())
    stimulated = reports[reports["value"] == 1]["t_us"]
    assert stimulated.size > 0 and not np.isin(stimulated, mr1["t_us"]).any()
    # BN's AP probability per pacemaker spike: low in phase 1, high in phase 3
    stimuli = _table(bio, "stimuli", np.dtype([("t_us", "<i8"), ("evoked_ap", "u1")]))
    (_, s1, e1), _, (_, s3, e3), _ = exp.phase_windows()
    p1 = stimuli["evoked_ap"][(stimuli["t_us"] >= t0 + s1) & (stimuli["t_us"] < t0 + e1)].mean()
    p3 = stimuli["evoked_ap"][(stimuli["t_us"] >= t0 + s3) & (stimuli["t_us"] < t0 + e3)].mean()
    assert p1 < 0.2 < 0.3 < p3
    # MR2: SN_post fires on BN's APs and its spikes evaluate the rule (BN < 5 Hz: LTD)
    assert (pulses["synapse"] == 1).sum() > 0
    assert (tmp_path / "run" / "session.ionelog").is_file()
