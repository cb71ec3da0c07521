"""The public API of ione.netem is deliberate: this list changes only on purpose."""

from __future__ import annotations

import subprocess
import sys

import ione.netem

NETEM_ALL = [
    "LAN",
    "PADOVA_SOUTHAMPTON",
    "PROFILES",
    "SOUTHAMPTON_ZURICH",
    "ControlError",
    "Decisions",
    "DirectionStatistics",
    "GilbertElliott",
    "Impairment",
    "ImpairmentStatistics",
    "Profile",
    "Relay",
    "RelayClient",
    "RelayOptions",
    "RelayStatistics",
    "load_delay_trace",
    "profile_from_dict",
    "profile_to_dict",
    "resolve_profile",
    "run_relay",
]


def test_netem_exports_exactly_its_api() -> None:
    assert ione.netem.__all__ == NETEM_ALL
    for name in NETEM_ALL:
        assert getattr(ione.netem, name) is not None
        doc = getattr(getattr(ione.netem, name), "__doc__", None)
        if callable(getattr(ione.netem, name)):
            assert doc and doc.strip(), f"{name} has no docstring"


def test_help_lists_the_options() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ione.netem", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    for option in ("--profile", "--b-peer", "--control-port", "--stats-out", "--spin-us"):
        assert option in out.stdout
