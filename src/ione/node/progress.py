"""The live view of a run: one table of sites, links and synapses, from the sites' snapshots.

Each site process prints a JSON snapshot about twice a second (``ione site --progress``,
:meth:`ione.node.site.SiteRuntime.snapshot`); :func:`live_view` turns the latest ones into a
rich renderable that ``ione run`` refreshes in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

__all__ = ["live_view", "plain_line"]


def _ms(us: Any) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def live_view(sites: Sequence[Any], fraction: float, total_s: float) -> Group:
    """Tables of the sites (tick lateness, work, spikes), links (state, RTT, clock offset ±
    uncertainty, frames lost of sent) and synapses (resistance, weight, pulses)."""
    header = Text(f"run {fraction * total_s:5.1f} / {total_s:.1f} s  ", style="bold")
    bar = ProgressBar(total=1.0, completed=fraction, width=40)
    st = Table(title="sites", expand=False)
    for col in ("site", "state", "ticks", "late", "lateness p99 ms", "work ms", "spikes"):
        st.add_column(col, justify="right" if col not in ("site", "state") else "left")
    lt = Table(title="links", expand=False)
    for col in ("link", "state", "RTT p50 ms", "RTT p99 ms", "offset ms", "lost / sent"):
        lt.add_column(col, justify="left" if col in ("link", "state") else "right")
    syn = Table(title="memristive synapses", expand=False)
    for col in ("synapse", "R (kΩ)", "weight", "LTP", "LTD"):
        syn.add_column(col, justify="left" if col == "synapse" else "right")
    stim = Table(title="stimulation (through each culture's guard)", expand=False)
    for col in ("site", "outputs", "delivered", "refused"):
        stim.add_column(col, justify="left" if col in ("site", "outputs") else "right")
    seen_links = set()
    for sp in sites:
        snap = sp.last
        ticks = snap.get("ticks", {})
        state = "done" if sp.done else ("running" if snap.get("elapsed_us") else "starting")
        if sp.proc.returncode not in (None, 0):
            state = f"exited {sp.proc.returncode}"
        spikes = sum(p.get("spikes", 0) for p in snap.get("processors", []))
        st.add_row(
            sp.name,
            state,
            str(ticks.get("ticks", 0)),
            str(ticks.get("late_ticks", 0)),
            _ms(ticks.get("lateness_p99_us")),
            _ms(ticks.get("work_mean_us")),
            str(spikes),
        )
        for peer, link in snap.get("links", {}).items():
            name = "-".join(sorted((sp.name, peer)))
            if name in seen_links:
                continue
            seen_links.add(name)
            off, unc = link.get("clock_offset_us"), link.get("clock_uncertainty_us")
            lt.add_row(
                f"{sp.name} → {peer}",
                str(link.get("state", "?")),
                _ms(link.get("rtt_p50_us")),
                _ms(link.get("rtt_p99_us")),
                "-" if off is None else f"{off / 1000:+.2f} ± {(unc or 0) / 1000:.2f}",
                f"{link.get('frames_lost', 0)} / {link.get('frames_sent', 0)}",
            )
        for p in snap.get("processors", []):
            if "outputs" in p:
                style = "" if p["outputs"] == "enabled" else "bold red"
                stim.add_row(
                    sp.name,
                    Text(str(p["outputs"]), style=style),
                    str(p.get("stimuli", 0)),
                    str(p.get("rejected", 0)),
                )
            for name, s in p.get("synapses", {}).items():
                r, w = s.get("r_ohm"), s.get("weight")
                syn.add_row(
                    name,
                    "-" if r is None else f"{r / 1000:.3f}",
                    "-" if w is None else f"{w:.3f}",
                    str(s.get("ltp_pulses", 0)),
                    str(s.get("ltd_pulses", 0)),
                )
    parts: list[Any] = [Group(header, bar), st, lt]
    if syn.row_count:
        parts.append(syn)
    if stim.row_count:
        parts.append(stim)
    return Group(*parts)


def plain_line(sites: Sequence[Any], fraction: float, total_s: float) -> str:
    """One line of progress for logs and pipes (no terminal)."""
    bits = [f"{fraction * total_s:5.1f}/{total_s:.0f} s"]
    for sp in sites:
        t = sp.last.get("ticks", {})
        bits.append(f"{sp.name}: late {t.get('late_ticks', 0)}/{t.get('ticks', 0)}")
        for p in sp.last.get("processors", []):
            if p.get("outputs", "enabled") != "enabled":
                bits.append(f"stimulation {p['outputs']}")
            for name, s in p.get("synapses", {}).items():
                if s.get("r_ohm") is not None:
                    bits.append(f"{name} {s['r_ohm'] / 1000:.2f} kΩ")
    return "  ".join(bits)
