"""The summary as tables: the same rows for the terminal (rich) and for the HTML page.

:func:`summary_tables` turns a ``summary.json`` dictionary into plain :class:`TableSpec` rows of
text; :func:`format_table` renders them as text, :func:`print_summary` prints them with rich and
:mod:`ione.report._html` writes them as HTML tables.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["MAX_ROWS", "TableSpec", "format_table", "print_summary", "summary_tables"]

#: Rows a table shows at most; the rest are in summary.json (a note says how many).
MAX_ROWS: Final = 200
NONE: Final = "–"


@dataclass(frozen=True)
class TableSpec:
    """A titled table of text cells; the first ``left`` columns are labels (left-aligned)."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: list[list[str]]
    left: int = 1
    notes: list[str] = field(default_factory=list)


def _num(x: Any, digits: int = 0, scale: float = 1.0, signed: bool = False) -> str:
    if x is None or isinstance(x, bool) or not isinstance(x, int | float):
        return NONE
    return f"{x / scale:{'+' if signed else ''},.{digits}f}"


def _arrow(a: Any, b: Any, digits: int = 0, scale: float = 1.0) -> str:
    if a is None and b is None:
        return NONE
    return f"{_num(a, digits, scale)} → {_num(b, digits, scale)}"


def _capped(rows: list[list[str]], notes: list[str]) -> list[list[str]]:
    if len(rows) > MAX_ROWS:
        notes.append(f"showing {MAX_ROWS} of {len(rows)} rows; summary.json holds them all")
        return rows[:MAX_ROWS]
    return rows


def _synapse_table(summary: dict[str, Any]) -> TableSpec:
    rows: list[list[str]] = []
    notes: list[str] = []
    for phase, p in summary.get("phases", {}).items():
        for name, s in p.get("synapses", {}).items():
            rows.append(
                [
                    phase,
                    name,
                    _num(s["ltp_pulses"]),
                    _num(s["ltd_pulses"]),
                    _num(s["onset_ltp_pulses"]),
                    _num(s["onset_ltd_pulses"]),
                    _arrow(s["r_start_ohm"], s["r_end_ohm"]),
                    _num(s["delta_r_ohm"], signed=True),
                    _arrow(s["w_start"], s["w_end"], 3),
                ]
            )
    return TableSpec(
        "synapses",
        "Plasticity per phase (onset: pulses whose rule window reaches back before the phase)",
        (
            "phase",
            "synapse",
            "LTP",
            "LTD",
            "onset LTP",
            "onset LTD",
            "R start → end (Ω)",
            "ΔR (Ω)",
            "weight start → end",
        ),
        _capped(rows, notes),
        left=2,
        notes=notes,
    )


def _neuron_table(summary: dict[str, Any]) -> TableSpec:
    rows: list[list[str]] = []
    notes: list[str] = []
    for phase, p in summary.get("phases", {}).items():
        for name, s in p.get("neurons", {}).items():
            rows.append(
                [
                    phase,
                    name,
                    _num(s["stimuli"]),
                    _num(s["evoked_aps"]),
                    _num(s["ap_probability"], 3),
                    _num(s["mean_weight"], 3),
                    _num(s["mean_peak_mv"], 2),
                    _num(s.get("rejected_stimuli", 0)),
                ]
            )
    return TableSpec(
        "neurons",
        "Culture responses per phase (stimuli delivered, APs they evoked, stimuli the guard "
        "refused)",
        (
            "phase",
            "neuron",
            "stimuli",
            "evoked APs",
            "AP probability",
            "mean weight",
            "mean peak (mV)",
            "refused",
        ),
        _capped(rows, notes),
        left=2,
        notes=notes,
    )


def _population_table(summary: dict[str, Any]) -> TableSpec:
    rows: list[list[str]] = []
    notes: list[str] = []
    for phase, p in summary.get("phases", {}).items():
        rates = p.get("rates_hz", {})
        for name, s in p.get("populations", {}).items():
            rows.append(
                [phase, name, _num(s["spikes"]), _num(s["rate_hz"], 2), _num(rates.get(name), 2)]
            )
    return TableSpec(
        "populations",
        "Spikes per phase (rate per neuron)",
        ("phase", "population", "spikes", "rate (Hz)", "protocol rate (Hz)"),
        _capped(rows, notes),
        left=2,
        notes=notes,
    )


def _latency(lk: dict[str, Any], src: str, dst: str) -> str:
    v = lk.get("latency", {}).get(f"{src}->{dst}") or {}
    if not v.get("events"):
        return NONE
    return f"{_num(v.get('p50_ms'), 1)} / {_num(v.get('p99_ms'), 1)}"


def _link_table(summary: dict[str, Any]) -> TableSpec:
    rows = []
    for name, lk in summary.get("links", {}).items():
        a, b = str(lk.get("a")), str(lk.get("b"))
        offset = NONE
        if lk.get("clock_offset_us") is not None:
            offset = (
                f"{_num(lk['clock_offset_us'], 3, 1e3, signed=True)} ± "
                f"{_num(lk.get('clock_uncertainty_us'), 3, 1e3)}"
            )
        rows.append(
            [
                name,
                _num(lk.get("frames_sent")),
                _num(lk.get("frames_lost")),
                _num(lk.get("relay_dropped")),
                f"{_num(lk.get('rtt_p50_us'), 2, 1e3)} / {_num(lk.get('rtt_p99_us'), 2, 1e3)}",
                offset,
                f"{_num(lk.get('down'))} / {_num(lk.get('up'))}",
                _latency(lk, a, b),
                _latency(lk, b, a),
            ]
        )
    notes = [
        "Frames sent and lost: both ends together. Relay dropped: datagrams the internet "
        "emulator dropped both ways (– without an emulator). RTT and clock offset (b − a): "
        "site a's view. Latency: arrival − event time on the reference clock."
    ]
    return TableSpec(
        "links",
        "Links",
        (
            "link",
            "frames sent",
            "frames lost",
            "relay dropped",
            "RTT p50 / p99 (ms)",
            "clock offset (ms)",
            "down / up",
            "latency a→b p50 / p99 (ms)",
            "latency b→a p50 / p99 (ms)",
        ),
        rows,
        left=1,
        notes=notes,
    )


def _site_table(summary: dict[str, Any]) -> TableSpec:
    rows = []
    for name, s in summary.get("sites", {}).items():
        t = s.get("ticks") or {}
        label = name + (" (reference)" if s.get("reference") else "")
        if not s.get("logged"):
            label += " (no log)"
        rows.append(
            [
                label,
                str(s.get("role") or NONE),
                _num(t.get("ticks")),
                _num(t.get("late_ticks")),
                _num(t.get("lateness_mean_us"), 0),
                _num(t.get("lateness_p99_us"), 0),
                _num(t.get("lateness_max_us"), 0),
                _num(t.get("work_mean_us"), 0),
                _num(t.get("work_p99_us"), 0),
                _num(s.get("exit_code")),
            ]
        )
    return TableSpec(
        "sites",
        "Sites (tick loop: lateness of each tick's start and its work, µs)",
        (
            "site",
            "role",
            "ticks",
            "late",
            "lateness mean",
            "lateness p99",
            "lateness max",
            "work mean",
            "work p99",
            "exit code",
        ),
        rows,
        left=2,
    )


def summary_tables(summary: dict[str, Any]) -> list[TableSpec]:
    """The summary's tables: plasticity and culture responses per phase, spikes per phase,
    links and sites."""
    return [
        _synapse_table(summary),
        _neuron_table(summary),
        _population_table(summary),
        _link_table(summary),
        _site_table(summary),
    ]


def _rich(spec: TableSpec) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    # cells are Text, never markup: a name like ``MR1[k]`` must print as it is
    caption = Text(" ".join(spec.notes)) if spec.notes else None
    table = Table(
        title=Text(spec.title),
        title_justify="left",
        caption=caption,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for k, col in enumerate(spec.header):
        label = k < spec.left
        table.add_column(Text(col), justify="left" if label else "right", no_wrap=label)
    for row in spec.rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _heading(summary: dict[str, Any]) -> str:
    ok = summary.get("ok")
    state = "" if ok is None else (" — ran to the end" if ok else " — did NOT run to the end")
    return (
        f"{summary.get('experiment', '?')}: run start T0 = {summary.get('t0_us')} µs on "
        f"{summary.get('reference', '?')}'s clock{state}"
    )


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print the summary's tables with rich (to ``console``, default standard output)."""
    from rich.console import Console

    if console is None:
        console = Console()
        if not console.is_terminal:  # a file or a pipe: no need to squeeze into 80 columns
            console = Console(width=160)
    console.print(_heading(summary), markup=False, highlight=False)
    for spec in summary_tables(summary):
        if spec.rows:
            console.print(_rich(spec))


def format_table(summary: dict[str, Any], width: int = 140) -> str:
    """The summary's tables as plain text (what :func:`print_summary` prints, without colour)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system=None,
        force_terminal=False,
        no_color=True,
        highlight=False,
    )
    print_summary(summary, console)
    return buffer.getvalue()
