"""The live view of a run: what an operator sees of each site, link, synapse and guard."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rich.console import Console

from ione.node.progress import live_view, plain_line


def site(name: str, processors: list[dict[str, Any]]) -> SimpleNamespace:
    snap = {
        "elapsed_us": 5_000_000,
        "ticks": {"ticks": 5000, "late_ticks": 3, "lateness_p99_us": 400.0, "work_mean_us": 90},
        "links": {},
        "processors": processors,
    }
    return SimpleNamespace(name=name, last=snap, done=False, proc=SimpleNamespace(returncode=None))


def render(group: Any) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(group)
    return console.export_text()


def test_a_tripped_guard_shows_in_the_live_view_and_the_plain_line() -> None:
    culture = {"kind": "culture", "stimuli": 41, "rejected": 7, "spikes": 12,
               "outputs": "DISABLED (watchdog)"}  # fmt: skip
    hub = {"kind": "HubProcessor", "synapses": {"MR1": {"r_ohm": 5100.0, "weight": 0.3}}}
    sites = [site("padova", [culture]), site("southampton", [hub])]
    text = render(live_view(sites, 0.5, 10.0))
    assert "stimulation (through each culture's guard)" in text
    row = next(line for line in text.splitlines() if "DISABLED (watchdog)" in line)
    assert "padova" in row and "41" in row and "7" in row
    line = plain_line(sites, 0.5, 10.0)
    assert "stimulation DISABLED (watchdog)" in line and "MR1 5.10 kΩ" in line
    calm = [site("padova", [{**culture, "outputs": "enabled"}])]
    assert "stimulation" not in plain_line(calm, 0.5, 10.0)
