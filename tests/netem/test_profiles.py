"""Profiles: presets from SYSTEM.md §4, validation that names the field, dict and trace I/O."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ione.netem import (
    LAN,
    PADOVA_SOUTHAMPTON,
    PROFILES,
    SOUTHAMPTON_ZURICH,
    GilbertElliott,
    Profile,
    load_delay_trace,
    profile_from_dict,
    profile_to_dict,
    resolve_profile,
)


def test_presets_carry_the_emulation_defaults_of_system_md() -> None:
    assert (PADOVA_SOUTHAMPTON.delay_us, PADOVA_SOUTHAMPTON.jitter_us) == (15_000, 2_000)
    assert (SOUTHAMPTON_ZURICH.delay_us, SOUTHAMPTON_ZURICH.jitter_us) == (10_000, 2_000)
    assert PADOVA_SOUTHAMPTON.loss == SOUTHAMPTON_ZURICH.loss == 0.001
    # floors: half the fibre round-trip floors (11.3 ms and 8.1 ms)
    assert (PADOVA_SOUTHAMPTON.min_delay_us, SOUTHAMPTON_ZURICH.min_delay_us) == (5_650, 4_050)
    assert (LAN.delay_us, LAN.jitter_us, LAN.loss) == (200, 50, 0.0)
    assert PROFILES["padova-southampton"] is PADOVA_SOUTHAMPTON
    assert PROFILES["southampton-zurich"] is SOUTHAMPTON_ZURICH
    assert PROFILES["lan"] is LAN
    assert all(name == p.name for name, p in PROFILES.items())


@pytest.mark.parametrize(
    ("changes", "error", "names"),
    [
        ({"delay_us": -1}, ValueError, "Profile.delay_us"),
        ({"delay_us": 1.5}, TypeError, "Profile.delay_us"),
        ({"jitter_us": True}, TypeError, "Profile.jitter_us"),
        ({"delay_us": 61_000_000}, ValueError, "Profile.delay_us"),
        ({"loss": 1.5}, ValueError, "Profile.loss"),
        ({"duplicate": math.nan}, ValueError, "Profile.duplicate"),
        ({"reorder": "0.1"}, TypeError, "Profile.reorder"),
        ({"reorder": 0.1}, ValueError, "Profile.reorder_gap_us"),
        ({"loss": 0.1, "burst": GilbertElliott(0.1, 0.5)}, ValueError, "Profile.loss"),
        ({"burst": (0.1, 0.5)}, TypeError, "Profile.burst"),
        ({"delay_us": 100, "min_delay_us": 200}, ValueError, "Profile.min_delay_us"),
        ({"delay_trace_us": (1, 2), "jitter_us": 5}, ValueError, "Profile.jitter_us"),
        ({"delay_trace_us": (1, -2)}, ValueError, "Profile.delay_trace_us[1]"),
        ({"delay_trace_us": [1, 2]}, TypeError, "Profile.delay_trace_us"),
        ({"name": ""}, TypeError, "Profile.name"),
    ],
)
def test_invalid_profiles_are_rejected_naming_the_field(
    changes: dict[str, object], error: type[Exception], names: str
) -> None:
    with pytest.raises(error, match=names.replace("[", r"\[").replace("]", r"\]")):
        Profile(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ((1.2, 0.5), "p_good_to_bad"),
        ((0.1, -0.1), "p_bad_to_good"),
        ((0.1, 0.5, 2.0), "loss_good"),
        ((0.0, 0.0), "both 0"),
    ],
)
def test_invalid_burst_models_are_rejected(args: tuple[float, ...], names: str) -> None:
    with pytest.raises(ValueError, match=names):
        GilbertElliott(*args)


def test_gilbert_elliott_closed_forms() -> None:
    ge = GilbertElliott(0.01, 0.25)
    assert ge.stationary_bad == pytest.approx(0.01 / 0.26)
    assert ge.loss_rate == pytest.approx(0.01 / 0.26)
    assert ge.mean_bad_run == pytest.approx(4.0)
    mixed = GilbertElliott(0.1, 0.3, loss_good=0.01, loss_bad=0.5)
    assert mixed.loss_rate == pytest.approx(0.75 * 0.01 + 0.25 * 0.5)
    assert Profile(burst=ge).loss_rate == ge.loss_rate
    assert Profile(loss=0.2).loss_rate == 0.2


def test_profiles_round_trip_through_dicts() -> None:
    custom = Profile(
        delay_us=3_000,
        jitter_us=0,
        loss=0.0,
        duplicate=0.1,
        reorder=0.2,
        reorder_gap_us=500,
        burst=GilbertElliott(0.1, 0.4, 0.0, 0.9),
        delay_trace_us=(1, 2, 3),
        name="x",
    )
    for p in (*PROFILES.values(), custom):
        assert profile_from_dict(profile_to_dict(p)) == p


def test_dicts_start_from_a_preset_and_name_unknown_fields() -> None:
    p = profile_from_dict({"preset": "southampton-zurich", "loss": 0.02})
    assert p.delay_us == 10_000 and p.loss == 0.02 and p.name == "southampton-zurich+custom"
    with pytest.raises(ValueError, match=r"unknown profile field.*'delay_ms'"):
        profile_from_dict({"delay_ms": 5})
    with pytest.raises(ValueError, match=r"unknown burst field.*'p'"):
        profile_from_dict({"burst": {"p": 1}})
    with pytest.raises(ValueError, match="unknown profile 'mars'"):
        profile_from_dict({"preset": "mars"})
    with pytest.raises(TypeError, match="JSON object"):
        profile_from_dict([1, 2])  # type: ignore[arg-type]


def test_resolve_profile_takes_names_profiles_and_dicts() -> None:
    assert resolve_profile("lan") is LAN
    assert resolve_profile(LAN) is LAN
    assert resolve_profile({"delay_us": 7}).delay_us == 7
    with pytest.raises(ValueError, match="presets are"):
        resolve_profile("LAN ")


def test_delay_traces_load_with_comments_and_reject_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "trace.txt"
    good.write_text("# one-way delays, µs\n15000\n\n14800  # a dip\n16100\n")
    assert load_delay_trace(good) == (15_000, 14_800, 16_100)
    bad = tmp_path / "bad.txt"
    bad.write_text("15000\n15.5\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected a delay in integer µs"):
        load_delay_trace(bad)
    negative = tmp_path / "neg.txt"
    negative.write_text("-3\n")
    with pytest.raises(ValueError, match=r"neg.txt:1: delay -3"):
        load_delay_trace(negative)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(ValueError, match="holds no delays"):
        load_delay_trace(empty)
