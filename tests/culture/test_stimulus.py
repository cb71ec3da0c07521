"""Stimulation designs and commands: quantities, validation, hostile construction, events."""

from __future__ import annotations

import json
import math
import tomllib

import numpy as np
import pytest

from ione.culture.stimulus import (
    DEFAULT_PULSE,
    Command,
    EventDesign,
    Waveform,
    command_from_event,
    commands_from_events,
)
from ione.events import make_events, make_key


def test_charge_is_current_times_duration_in_nanocoulombs() -> None:
    w = Waveform((-2.0, 0.5), (150, 600), gap_us=40)
    assert w.charges_nc() == pytest.approx([-0.3, 0.3])  # 2 µA × 150 µs = 300 pC
    assert w.net_charge_nc == pytest.approx(0.0, abs=1e-15)
    assert w.cathodic_charge_nc == pytest.approx(0.3)
    assert w.peak_current_ua == 2.0
    assert w.pulse_duration_us == 150 + 40 + 600
    assert w.n_phases == 2 and w.n_pulses == 1


def test_biphasic_is_cathodic_first_and_balanced_also_when_asymmetric() -> None:
    w = Waveform.biphasic(1.5, 200, 50)
    assert w.currents_ua == (-1.5, 1.5) and w.durations_us == (200, 200) and w.gap_us == 50
    a = Waveform.biphasic(2.0, 100, ratio=4.0)
    assert a.durations_us == (100, 400) and a.currents_ua == pytest.approx((-2.0, 0.5))
    assert a.net_charge_nc == pytest.approx(0.0, abs=1e-15)
    anodic = Waveform.biphasic(1.0, 100, cathodic_first=False)
    assert anodic.currents_ua == (1.0, -1.0)


def test_triphasic_and_monophasic() -> None:
    t = Waveform.triphasic(2.0, 80, 10)
    assert t.currents_ua == (1.0, -2.0, 1.0) and t.durations_us == (80, 80, 80)
    assert t.net_charge_nc == pytest.approx(0.0, abs=1e-15)
    assert t.pulse_duration_us == 3 * 80 + 2 * 10
    m = Waveform.monophasic(-1.0, 100)
    assert m.net_charge_nc == pytest.approx(-0.1)


def test_train_onsets_from_rate_or_period() -> None:
    w = DEFAULT_PULSE.train(5, rate_hz=200)
    assert w.onsets_us == (0, 5_000, 10_000, 15_000, 20_000)
    assert w.duration_us == 20_000 + DEFAULT_PULSE.pulse_duration_us
    assert DEFAULT_PULSE.train(3, period_us=7_000).onsets_us == (0, 7_000, 14_000)
    assert DEFAULT_PULSE.train(0).onsets_us == ()
    assert DEFAULT_PULSE.train(0).duration_us == 0
    with pytest.raises(ValueError, match="exactly one of rate_hz and period_us"):
        DEFAULT_PULSE.train(3)
    with pytest.raises(ValueError, match="rate_hz"):
        DEFAULT_PULSE.train(3, rate_hz=-1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"currents_ua": (math.nan, 1.0)}, r"currents_ua\[0\]"),
        ({"currents_ua": (math.inf, 1.0)}, r"currents_ua\[0\]"),
        ({"currents_ua": ("1", 1.0)}, r"currents_ua\[0\]"),
        ({"durations_us": (100, 0)}, r"durations_us\[1\]"),
        ({"durations_us": (100, -5)}, r"durations_us\[1\]"),
        ({"durations_us": (100, 50.5)}, r"durations_us\[1\]"),
        ({"durations_us": (100,)}, "durations_us has 1 phases"),
        ({"gap_us": -1}, "gap_us"),
        ({"onsets_us": (0, 100)}, r"onsets_us\[1\]"),
        ({"onsets_us": (-5,)}, r"onsets_us\[0\]"),
        ({"currents_ua": (), "durations_us": ()}, "1 ... 8 phases"),
        ({"currents_ua": (1.0,) * 9, "durations_us": (1,) * 9}, "1 ... 8 phases"),
        ({"currents_ua": "ab"}, "currents_ua must be a sequence"),
    ],
)
def test_waveform_validation_names_the_field(kwargs: dict, field: str) -> None:
    base = {"currents_ua": (-1.0, 1.0), "durations_us": (100, 100), "gap_us": 0, "onsets_us": (0,)}
    with pytest.raises(ValueError, match=field):
        Waveform(**{**base, **kwargs})


def test_unchecked_keeps_hostile_values_as_given() -> None:
    w = Waveform.unchecked((math.nan, "x"), (-5, 0), -1, (3, 1))
    assert w.currents_ua[1] == "x" and math.isnan(w.currents_ua[0])
    assert w.durations_us == (-5, 0) and w.gap_us == -1 and w.onsets_us == (3, 1)
    c = Command.unchecked(-3, w, math.inf, None, 42, "id")
    assert c.electrode == -3 and c.deadline_us is None and c.source == 42


def test_command_validation() -> None:
    ok = Command(2, DEFAULT_PULSE, 100, 200, "padova", 9)
    assert ok.to_dict()["source"] == "padova"
    with pytest.raises(ValueError, match="electrode"):
        Command(-1, DEFAULT_PULSE, 0, 10)
    with pytest.raises(ValueError, match="electrode"):
        Command(True, DEFAULT_PULSE, 0, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="deadline_us"):
        Command(0, DEFAULT_PULSE, 100, 50)
    with pytest.raises(ValueError, match="t_us"):
        Command(0, DEFAULT_PULSE, 1 << 63, 1 << 63)
    with pytest.raises(ValueError, match="waveform"):
        Command(0, {"currents_ua": [1]}, 0, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source"):
        Command(0, DEFAULT_PULSE, 0, 10, "")
    with pytest.raises(ValueError, match="command_id"):
        Command(0, DEFAULT_PULSE, 0, 10, "x", -2)


def test_dicts_round_trip_through_json_and_toml() -> None:
    cmd = Command(5, Waveform.triphasic(1.0, 100, 20).train(3, rate_hz=100), 1_000, 9_000, "zh", 4)
    assert Command.from_dict(json.loads(json.dumps(cmd.to_dict()))) == cmd
    toml = """
    [design]
    shape = "biphasic"
    amplitude_ua = 1.5
    phase_us = 120
    gap_us = 30
    pulses = 4
    rate_hz = 100
    """
    w = Waveform.from_dict(tomllib.loads(toml)["design"])
    assert w == Waveform.biphasic(1.5, 120, 30).train(4, rate_hz=100)
    mono = Waveform.from_dict({"shape": "monophasic", "amplitude_ua": 1.0, "phase_us": 50})
    assert mono.currents_ua == (-1.0,)


def test_dict_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match="unknown waveform key"):
        Waveform.from_dict({"currents_ua": [1], "durations_us": [1], "amp": 3})
    with pytest.raises(ValueError, match="missing 'durations_us'"):
        Waveform.from_dict({"currents_ua": [1]})
    with pytest.raises(ValueError, match="shape must be"):
        Waveform.from_dict({"shape": "square", "amplitude_ua": 1, "phase_us": 1})
    with pytest.raises(ValueError, match="missing 'phase_us'"):
        Waveform.from_dict({"shape": "biphasic", "amplitude_ua": 1})
    with pytest.raises(ValueError, match="unknown command key"):
        Command.from_dict({**Command(0, DEFAULT_PULSE, 0, 1).to_dict(), "priority": 1})
    with pytest.raises(ValueError, match="missing 'deadline_us'"):
        Command.from_dict({"electrode": 0, "waveform": DEFAULT_PULSE.to_dict(), "t_us": 0})


def test_from_dict_unvalidated_passes_anything_on() -> None:
    raw = {
        "electrode": "7",
        "waveform": {"currents_ua": [math.nan, 1e300], "durations_us": [-1, 0], "gap_us": -3},
        "t_us": 1.5,
        "deadline_us": -math.inf,
    }
    c = Command.from_dict(raw, validate=False)
    assert c.electrode == "7" and c.t_us == 1.5 and c.deadline_us == -math.inf
    assert c.waveform.durations_us == (-1, 0) and c.waveform.onsets_us == (0,)
    assert math.isnan(c.waveform.currents_ua[0])
    with pytest.raises(ValueError, match=r"currents_ua\[0\] must be a finite number"):
        Command.from_dict(raw)


def test_events_become_amplitude_scaled_commands_with_deadlines() -> None:
    keys = make_key(1, 0, [4, 7, 4])
    ev = make_events([1_000, 2_000, 3_000], keys, [1.0, 0.5, np.nan])
    design = EventDesign(Waveform.biphasic(2.0, 100, 10), latency_us=20_000)
    cmds = commands_from_events(ev, design, source="hub", first_command_id=100, offset_us=-500)
    assert [c.electrode for c in cmds] == [4, 7, 4]
    assert [c.t_us for c in cmds] == [500, 1_500, 2_500]
    assert [c.deadline_us for c in cmds] == [20_500, 21_500, 22_500]
    assert [c.command_id for c in cmds] == [100, 101, 102]
    assert {c.source for c in cmds} == {"hub"}
    assert cmds[0].waveform.currents_ua == (-2.0, 2.0)
    assert cmds[1].waveform.currents_ua == (-1.0, 1.0)
    assert all(math.isnan(c) for c in cmds[2].waveform.currents_ua)  # left for the guard
    assert cmds[1].waveform.durations_us == (100, 100) and cmds[1].waveform.gap_us == 10


def test_events_scale_the_number_of_pulses() -> None:
    design = EventDesign(DEFAULT_PULSE.train(10, rate_hz=100), scale="pulses")
    ev = make_events(np.zeros(6, np.int64), np.arange(6), [1.0, 0.5, 0.04, -1.0, 7.0, np.inf])
    cmds = commands_from_events(ev, design, source="hub")
    assert [c.waveform.n_pulses for c in cmds[:5]] == [10, 5, 0, 0, 10]
    assert cmds[1].waveform.onsets_us == (0, 10_000, 20_000, 30_000, 40_000)
    assert cmds[1].waveform.currents_ua == DEFAULT_PULSE.currents_ua
    assert all(math.isinf(c) for c in cmds[5].waveform.currents_ua)


def test_electrode_map_sends_unknown_keys_to_minus_one() -> None:
    ev = make_events([0, 0, 0], [10, 11, 12], [1.0, 1.0, 1.0])
    cmds = commands_from_events(ev, source="hub", electrode_map={11: 3, 10: 0})
    assert [c.electrode for c in cmds] == [0, 3, -1]
    assert [c.electrode for c in commands_from_events(ev, source="h", electrode_map={})] == [-1] * 3


def test_command_from_event_takes_one_row() -> None:
    ev = make_events([5_000], make_key(0, 0, 2), [0.25])
    c = command_from_event(ev[0], source="ctl", command_id=3)
    assert c.electrode == 2 and c.command_id == 3 and c.deadline_us == 55_000
    assert c.waveform.currents_ua == (-0.25, 0.25)
    with pytest.raises(ValueError, match="one event"):
        command_from_event(make_events([0, 1], [0, 0]), source="ctl")


def test_many_events_convert_in_one_pass() -> None:
    n = 20_000
    rng = np.random.default_rng(0)
    ev = make_events(np.sort(rng.integers(0, 10**7, n)), rng.integers(0, 60, n), rng.random(n))
    cmds = commands_from_events(ev, source="hub")
    assert len(cmds) == n
    got = np.array([c.waveform.currents_ua[1] for c in cmds])
    assert np.allclose(got, ev["value"].astype(np.float64))
    assert np.array_equal([c.deadline_us for c in cmds], ev["t_us"] + 50_000)


def test_event_design_validation() -> None:
    with pytest.raises(ValueError, match="scale"):
        EventDesign(scale="volume")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="latency_us"):
        EventDesign(latency_us=-1)
