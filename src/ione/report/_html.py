"""``report.html``: one self-contained page (figures embedded as base64 PNG, no external files).

Every piece of text that comes from a run (names, the experiment's description, table cells) is
escaped with :func:`html.escape`, so a description holding markup shows as text.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from ione._version import __version__
from ione.report._run import RunData
from ione.report._table import TableSpec, summary_tables

__all__ = ["HOW_TO_READ", "render_html"]

#: The "how to read this" paragraph: what the reference experiment should show.
HOW_TO_READ: Final = (
    "Phases are consecutive windows of the protocol measured from the run start T0 (the tick 0 "
    "of the site that hosts the pacemaker, on the reference site's clock). In the reference "
    "experiment (SYSTEM.md §6, examples/serb2020.toml) the pacemaker's rate is set to give "
    "none / LTP / none / LTD under the rate rule: expect no LTP or LTD pulses on MR1 in phase 1 "
    "(10 Hz), LTP pulses and a rising resistance in phase 2 (> 20 Hz), no pulses in phase 3 "
    "(10 Hz) and LTD pulses with a falling resistance in phase 4 (< 5 Hz). Pulses counted as "
    "onset pulses fall in the first second of a phase, while the rule's 1 s window still holds "
    "the previous phase's spikes (or, in phase 1, the time before the run): they are transition "
    "effects, not the phase's own plasticity. The published effect is that BN's AP probability "
    "per pacemaker stimulus is low in phase 1 and high in phase 3, since MR1's weight grew in "
    "phase 2; weights hold between phases (the resistance is flat where no pulses are "
    "applied). Frames lost and relay drops count every datagram the links did not deliver."
)

_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
.description { color: #444; margin-top: 0; }
.ok { color: #1a7f1a; } .failed { color: #b00020; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f0f3f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 0.3em 0; }
p.note { font-size: 0.85em; color: #555; margin-top: -1em; }
figure { margin: 1em 0 2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #444; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
"""

_CAPTIONS: Final = {
    "raster.png": "Spikes of every population, one row per neuron; phases shaded and named.",
    "synapses.png": "Resistance and weight of each memristive synapse; ▲ LTP and ▼ LTD pulses "
    "where they were applied.",
    "response_vs_weight.png": "Each stimulated culture neuron: peak depolarisation against "
    "stimulus weight (★ evoked an AP), and the AP probability in weight bins.",
    "latency.png": "Per link direction: arrival of each received event's datagram minus the "
    "event's time, both on the reference clock.",
}


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(spec: TableSpec) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in spec.header)
    body = []
    for row in spec.rows:
        cells = "".join(
            f"<td>{_e(c)}</td>" if k < spec.left else f'<td class="num">{_e(c)}</td>'
            for k, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(spec.header)}">none in this run</td></tr>')
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in spec.notes)
    return (
        f'<table id="{_e(spec.key)}"><caption>{_e(spec.title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{notes}"
    )


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = _CAPTIONS.get(path.name, path.name)
    return (
        f'<figure id="{_e(path.stem)}"><img alt="{_e(path.name)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{_e(caption)}</figcaption></figure>'
    )


def _overview(run: RunData, summary: dict[str, Any]) -> str:
    exp = run.experiment
    ok = summary.get("ok")
    state = (
        "unknown (no run.json)"
        if ok is None
        else '<span class="ok">ran to the end</span>'
        if ok
        else '<span class="failed">did not run to the end</span>'
    )
    sites = ", ".join(f"{_e(s.name)} ({_e(s.role or 'site')}, index {s.index})" for s in exp.sites)
    links = ", ".join(_e(lk.name) for lk in exp.links) or "none"
    phases = ", ".join(
        f"{_e(w.name)} {w.rel_start_us / 1e6:g}–{w.rel_stop_us / 1e6:g} s"
        + (
            " (" + ", ".join(f"{_e(k)} {v:g} Hz" for k, v in w.rates_hz.items()) + ")"
            if w.rates_hz
            else ""
        )
        for w in run.windows
    )
    t0_from = f"tick 0 of {_e(run.t0_site)}" if run.t0_site else "first recorded event"
    items = [
        ("run folder", _e(run.run_dir)),
        ("status", state),
        ("sites", sites),
        ("links", links),
        ("phases", phases),
        ("reference clock", _e(summary.get("reference"))),
        ("run start T0", f"{_e(summary.get('t0_us'))} µs ({t0_from})"),
    ]
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def render_html(run: RunData, summary: dict[str, Any], figures: Iterable[Path]) -> str:
    """The report page of a run as one HTML document."""
    exp = run.experiment
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>ione report: {_e(exp.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>ione report: {_e(exp.name)}</h1>",
        f'<p class="description">{_e(exp.description)}</p>' if exp.description else "",
        _overview(run, summary),
        f'<h2>How to read this</h2><p id="how-to-read">{_e(HOW_TO_READ)}</p>',
        "<h2>Tables</h2>",
        *(_table(spec) for spec in summary_tables(summary)),
        "<h2>Figures</h2>",
        *(_figure(Path(p)) for p in figures),
        f'<p class="note">Generated by ione {_e(__version__)} from the run folder; the numbers '
        "are in summary.json next to this page.</p>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)
