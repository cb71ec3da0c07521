"""The report's figures, drawn with matplotlib's Agg canvas and written as PNG files.

==========================  ========================================================================
file                        what it shows
==========================  ========================================================================
``raster.png``              every spike of every population, one row per neuron, phases shaded and
                            named (time in s from the run start ``T0``)
``synapses.png``            each memristive synapse's resistance (kΩ) and weight against time,
                            phases shaded, LTP (▲) and LTD (▼) pulses marked where they were applied
``response_vs_weight.png``  each stimulated culture neuron: the peak depolarisation (mV) of every
                            stimulus against its weight, stimuli that evoked an AP marked; and the
                            AP probability in weight bins
``latency.png``             one histogram per link direction: arrival of each received event's
                            datagram minus the event's time, both on the reference clock (ms), with
                            p50 and p99 marked
==========================  ========================================================================

Figures are built on :class:`matplotlib.figure.Figure` objects (no pyplot, no global state), so
drawing them never needs a display. A figure with nothing to show says so in its axes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ione._time import US_PER_S
from ione.report._run import RunData
from ione.report._summary import latencies, locate_keys, stimuli

__all__ = ["FIGURES", "MAX_NEURON_PANELS", "MAX_SYNAPSE_PANELS", "write_figures"]

#: Figure files, in the order the report shows them.
FIGURES: Final = ("raster.png", "synapses.png", "response_vs_weight.png", "latency.png")
#: At most this many synapses (the first ones) get panels in ``synapses.png``.
MAX_SYNAPSE_PANELS: Final = 12
#: At most this many stimulated neurons (the first ones) get panels in ``response_vs_weight.png``.
MAX_NEURON_PANELS: Final = 8
#: Neuron rows up to which the raster labels each neuron (beyond: one label per population).
LABEL_EACH_ROW: Final = 32
DPI: Final = 110
_SHADES: Final = ("#f2f2f2", "#dde6f0")
LTP_COLOUR, LTD_COLOUR = "#2a9d2a", "#d62728"


def _seconds(run: RunData, t_us: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Reference-clock µs as seconds from the run start ``T0``."""
    return (np.asarray(t_us, dtype=np.int64) - run.t0_us).astype(np.float64) / US_PER_S


def _shade_phases(ax: Axes, run: RunData, *, names: bool = True) -> None:
    for k, win in enumerate(run.windows):
        lo, hi = win.rel_start_us / US_PER_S, win.rel_stop_us / US_PER_S
        ax.axvspan(lo, hi, color=_SHADES[k % 2], zorder=0, lw=0)
        if names:
            ax.text(
                (lo + hi) / 2,
                1.01,
                win.name,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8,
                clip_on=False,
            )
    if run.windows:
        ax.set_xlim(run.windows[0].rel_start_us / US_PER_S, run.windows[-1].rel_stop_us / US_PER_S)


def _nothing(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


def raster(run: RunData) -> Figure:
    """Spikes of every population, one row per neuron (population order, top to bottom)."""
    pops = run.populations
    rows = int(sum(p.size for p in pops))
    height = min(9.0, 1.6 + 0.18 * max(rows, 4))
    fig = Figure(figsize=(10, height), layout="constrained")
    ax = fig.add_subplot()
    _shade_phases(ax, run)
    if rows == 0:
        _nothing(ax, "no populations described in the site logs")
        return fig
    offsets = np.cumsum([0] + [p.size for p in pops[:-1]]).astype(np.int64)
    spikes = run.session.spikes
    pop, neuron = locate_keys(spikes["key"], pops)
    known = pop >= 0
    y = rows - 1 - (offsets[pop[known]] + neuron[known])  # first population at the top
    x = _seconds(run, spikes["t_us"][known])
    colours = np.array([f"C{k % 10}" for k in range(len(pops))])
    ax.scatter(
        x,
        y,
        marker="|",
        s=60 if rows <= LABEL_EACH_ROW else 8,
        c=colours[pop[known]],
        linewidths=1.0,
    )
    if rows <= LABEL_EACH_ROW:
        ticks = np.arange(rows)
        labels = [p.neuron_name(i) for p in pops for i in range(p.size)][::-1]
        ax.set_yticks(ticks, labels, fontsize=8)
    else:
        mids = rows - 1 - (offsets + (np.array([p.size for p in pops]) - 1) / 2)
        ax.set_yticks(mids, [f"{p.name} ({p.size})" for p in pops], fontsize=8)
        for off in offsets[1:]:
            ax.axhline(rows - off - 0.5, color="0.5", lw=0.5)
    ax.set_ylim(-0.7, rows - 0.3)
    ax.set_xlabel("time since run start (s)")
    ax.set_title(f"Spikes ({int(known.sum())}), one row per neuron", loc="left", pad=14)
    return fig


def synapse_traces(run: RunData) -> Figure:
    """Resistance and weight of each memristive synapse against time, pulses marked."""
    syns = run.synapses[:MAX_SYNAPSE_PANELS]
    n = max(len(syns), 1)
    fig = Figure(figsize=(11, 1.2 + 2.2 * n), layout="constrained")
    axes = fig.subplots(n, 2, squeeze=False, sharex=True)
    if not syns:
        for ax in axes[0]:
            _shade_phases(ax, run)
        _nothing(axes[0][0], "no memristive synapses in this run")
        return fig
    reads, pulses = run.session.reads, run.session.pulses
    t_end = run.windows[-1].rel_stop_us / US_PER_S if run.windows else None
    for k, syn in enumerate(syns):
        rm = (reads["site"] == syn.site) & (reads["synapse"] == syn.index)
        pm = (pulses["site"] == syn.site) & (pulses["synapse"] == syn.index)
        tr, tp = _seconds(run, reads["t_us"][rm]), _seconds(run, pulses["t_us"][pm])
        volts = pulses["volts"][pm]
        # each pulse is marked on the trace at the last read before it (the state it acted on)
        before = np.clip(np.searchsorted(tr, tp, side="right") - 1, 0, None)
        for col, (values, label) in enumerate(
            ((reads["r_ohm"][rm] / 1e3, "R (kΩ)"), (reads["weight"][rm].astype(float), "weight"))
        ):
            ax = axes[k][col]
            _shade_phases(ax, run, names=k == 0)
            ax.set_ylabel(label)
            if col == 0:
                ax.set_title(
                    f"{syn.name}" + (f": {syn.pre} → {syn.post}" if syn.pre else ""),
                    loc="left",
                    fontsize=9,
                    pad=14 if k == 0 else 4,
                )
            if tr.size:
                # the state holds after the last read: draw it on to the end of the run
                last = [tr[-1]] if t_end is None else [max(t_end, tr[-1])]
                ax.step(np.r_[tr, last], np.r_[values, values[-1:]], where="post", color="0.15",
                        lw=1.0)  # fmt: skip
                at, where = values[before] if tp.size else values[:0], ax.transData
            else:
                _nothing(ax, "no reads")
                ax.set_yticks([])
                at, where = np.full(tp.size, 0.1), ax.get_xaxis_transform()
            for sel, mark, colour, name in (
                (volts > 0, "^", LTP_COLOUR, "LTP"),
                (volts < 0, "v", LTD_COLOUR, "LTD"),
            ):
                if sel.any():
                    ax.scatter(tp[sel], at[sel], marker=mark, s=14, color=colour, zorder=3,
                               transform=where, label=f"{name} ({int(sel.sum())})")  # fmt: skip
            if col == 0 and (volts != 0).any():
                ax.legend(fontsize=7, loc="upper left")
    for ax in axes[-1]:
        ax.set_xlabel("time since run start (s)")
    if len(run.synapses) > len(syns):
        fig.suptitle(f"first {len(syns)} of {len(run.synapses)} synapses", fontsize=9)
    return fig


def response_vs_weight(run: RunData) -> Figure:
    """Per stimulated culture neuron: peak depolarisation against weight, and AP probability in
    weight bins."""
    block, _ = stimuli(run)
    keys = np.unique(block["key"].astype(np.int64))[:MAX_NEURON_PANELS]
    n = max(keys.size, 1)
    fig = Figure(figsize=(10, 1.0 + 2.6 * n), layout="constrained")
    axes = fig.subplots(n, 2, squeeze=False)
    if keys.size == 0:
        _nothing(axes[0][0], "no stimuli delivered to a culture")
        _nothing(axes[0][1], "no stimuli delivered to a culture")
        return fig
    pop, neuron = locate_keys(keys, run.populations)
    bins = np.linspace(0.0, 1.0, 11)
    for k, key in enumerate(keys.tolist()):
        name = run.populations[pop[k]].neuron_name(int(neuron[k])) if pop[k] >= 0 else hex(key)
        rows = block[block["key"] == key]
        w, peak, ap = rows["weight"], rows["peak_mv"], rows["evoked_ap"] > 0
        ax = axes[k][0]
        ax.scatter(w[~ap], peak[~ap], s=10, color="0.35", label=f"PSP ({int((~ap).sum())})")
        ax.scatter(
            w[ap],
            peak[ap],
            s=22,
            marker="*",
            color=LTD_COLOUR,
            label=f"evoked AP ({int(ap.sum())})",
        )
        ax.set_xlabel("stimulus weight")
        ax.set_ylabel("peak (mV)")
        ax.set_title(f"{name}: response to each stimulus", loc="left", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        ax = axes[k][1]
        total, _ = np.histogram(w, bins)
        evoked, _ = np.histogram(w[ap], bins)
        prob = np.divide(evoked, total, out=np.zeros(total.size), where=total > 0)
        centres = (bins[:-1] + bins[1:]) / 2
        ax.bar(centres[total > 0], prob[total > 0], width=0.09, color="C0")
        for c, p, t in zip(centres[total > 0], prob[total > 0], total[total > 0], strict=True):
            ax.text(c, p, f"n={t}", ha="center", va="bottom", fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.1)
        ax.set_xlabel("stimulus weight (bins of 0.1)")
        ax.set_ylabel("AP probability")
        ax.set_title(f"{name}: AP probability by weight", loc="left", fontsize=9)
    return fig


def latency(run: RunData) -> Figure:
    """One histogram per link direction of event-to-arrival latency (ms), p50 and p99 marked."""
    lat = latencies(run)
    names = list(lat) or ["no links"]
    cols = 2 if len(names) > 1 else 1
    nrows = (len(names) + cols - 1) // cols
    fig = Figure(figsize=(10, 0.8 + 2.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        values = lat.get(name, np.zeros(0))
        ax.set_title(name.replace("->", " → "), loc="left", fontsize=9)
        ax.set_xlabel("arrival − event time (ms)")
        if values.size == 0:
            _nothing(ax, "no received events")
            continue
        ax.hist(values, bins=min(60, max(10, values.size // 5)), color="C0")
        p50, p99 = np.percentile(values, [50, 99])
        for p, label, style in ((p50, "p50", "-"), (p99, "p99", "--")):
            ax.axvline(p, color="k", ls=style, lw=1)
            ax.text(
                p,
                0.97,
                f" {label} {p:.2f} ms",
                transform=ax.get_xaxis_transform(),
                ha="left",
                va="top",
                fontsize=8,
            )
        ax.set_ylabel(f"events ({values.size})")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return fig


def write_figures(run: RunData, folder: str | Path) -> list[Path]:
    """Draw every figure of :data:`FIGURES` into ``folder`` (created); returns their paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in zip(
        FIGURES, (raster, synapse_traces, response_vs_weight, latency), strict=True
    ):
        fig = draw(run)
        path = out / name
        fig.savefig(path, dpi=DPI, format="png")
        paths.append(path)
    return paths
