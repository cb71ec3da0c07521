"""Reports of a run: ``summary.json``, ``report.html`` with PNG figures, and a printed table.

A *run folder* holds each site's session log (``<site>.ionelog``), the experiment as run
(``config.toml``; without it, the description the sites logged in their ``meta`` records), and
optionally the supervisor's ``run.json`` and the internet emulator's ``relays/<a>-<b>.json``.
``ione report RUN`` (or :func:`write_report`) writes ``summary.json``, ``report.html`` and
``figures/*.png`` into it and prints the per-phase tables (docs/report.md).

Definitions
-----------
All times are integer µs on the **reference clock**: the clock of the site the merged session
is placed on (:func:`ione.record.merge.open_session`, by default the site with most links).

- **Run start T0**: the ``t0_us`` of the ``run`` record (the local time of tick 0) of the site
  hosting the experiment's first generator population, placed on the reference clock; without a
  generator, the reference site's (then any site's; then the first merged event).
- **Phase k** spans ``[T0 + start_k, T0 + stop_k)``, ``start_k``/``stop_k`` from
  :meth:`ione.network.Experiment.phase_windows` (one phase ``run`` over the whole duration when
  the experiment has no phases). ``start_s``/``stop_s`` in the summary are relative to T0 (s).
- **Per phase, per memristive synapse** (named as in the hub's ``meta`` synapses, e.g. ``MR1``):
  ``ltp_pulses``/``ltd_pulses`` count the pulses (volts > 0 LTP, < 0 LTD) at time ``t`` in the
  phase whose rule window ``[t - window_us, t]`` lies inside the phase; pulses in the phase whose
  window starts before the phase are ``onset_ltp_pulses``/``onset_ltd_pulses`` (transition
  effects: the rate rule's 1 s window still holds the previous phase's spikes, or in the first
  phase the time before the run). ``window_us`` is the projection's rule window: the rate rule's
  counting window, the longer of a timing rule's two windows, 0 for no rule (or pair STDP).
  ``r_start_ohm``/``w_start``: the last read at or before the phase start (else the synapse's
  first read); ``r_end_ohm``/``w_end``: the last read before the phase end;
  ``delta_r_ohm = r_end_ohm - r_start_ohm`` (Ω), ``delta_w = w_end - w_start``.
- **Per phase, per stimulated culture neuron** (``BN`` in a one-neuron population, ``BN[3]``
  otherwise), from the cultures' ``stimuli`` records with each stimulus onset placed on the
  reference clock: ``stimuli``, ``evoked_aps``, ``ap_probability = evoked_aps / stimuli`` (null
  without stimuli), ``mean_weight`` (0 ... 1), ``mean_peak_mv`` (the model's peak
  depolarisation, mV) and ``rejected_stimuli`` (requests the stimulation guard refused).
- **Per phase, per population**: ``spikes`` in the phase (merged spikes whose addresses the
  population owns) and ``rate_hz = spikes / (size * phase duration in s)``; ``rates_hz`` holds
  the generator rates the protocol sets in the phase (Hz).
- **Per link** (``a-b``): ``frames_sent``/``frames_lost`` (and ``events_sent``/``events_lost``)
  summed over both ends' final snapshots; ``relay_dropped``: the emulator's
  ``dropped_loss + dropped_overflow + dropped_paused + dropped_no_peer`` summed over both
  directions (null without a relay file); ``rtt_p50_us``, ``rtt_p99_us``, ``clock_offset_us``
  (b's clock − a's) and ``clock_uncertainty_us`` from site a's final snapshot (b's if a has
  none), both ends' numbers under ``ends``; ``down`` (``lost`` + ``failed`` link events of both
  ends), ``up`` (``returned``) and every event count under ``events``; ``latency`` per direction
  (``"a->b"``): events, p50, p99 and max of the datagram arrival minus the event's time, both on
  the reference clock (ms).
- **Per site**: the final tick statistics (``ticks``: ticks, late ticks, lateness and work time
  in µs), counters, T0 of the site on the reference clock and the exit code from ``run.json``.

summary.json
------------
::

    {"experiment": str, "ok": bool | null, "reference": site, "t0_us": int,
     "phases": {<phase>: {"start_s", "stop_s", "rates_hz": {<generator>: Hz},
                "synapses": {<name>: {"ltp_pulses", "ltd_pulses", "onset_ltp_pulses",
                                      "onset_ltd_pulses", "r_start_ohm", "r_end_ohm", "w_start",
                                      "w_end", "delta_r_ohm", "delta_w"}},
                "neurons": {<name>: {"stimuli", "evoked_aps", "ap_probability", "mean_weight",
                                     "mean_peak_mv", "rejected_stimuli"}},
                "populations": {<name>: {"spikes", "rate_hz"}}}},
     "links": {<a-b>: {"a", "b", "frames_sent", "frames_lost", "events_sent", "events_lost",
                       "relay_dropped", "relay", "relay_error", "rtt_p50_us", "rtt_p99_us",
                       "clock_offset_us", "clock_uncertainty_us", "down", "up", "events",
                       "latency", "ends"}},
     "sites": {<site>: {"index", "role", "logged", "reference", "t0_us", "ticks", "counters",
                        "log_dropped_bytes", "exit_code"}}}

Phases keep the configuration's order. The JSON is strict: a missing or undefined number is
``null``, never NaN.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

from ione.report._figures import FIGURES, write_figures
from ione.report._html import render_html
from ione.report._run import ReportError, RunData, load_run
from ione.report._summary import summarize_run
from ione.report._table import format_table, print_summary

__all__ = [
    "FIGURES",
    "HTML_FILE",
    "SUMMARY_FILE",
    "ReportError",
    "build_summary",
    "format_table",
    "load_run",
    "print_summary",
    "write_report",
]

SUMMARY_FILE: Final = "summary.json"
HTML_FILE: Final = "report.html"
FIGURE_DIR: Final = "figures"


def build_summary(run_dir: str | os.PathLike[str] | RunData) -> dict[str, Any]:
    """The summary of a run folder (layout and definitions: :mod:`ione.report`).

    Raises
    ------
    ReportError
        If the folder does not exist, holds no site logs, or a log cannot be merged.
    ione.network.ConfigError
        If ``config.toml`` is not a valid description (the message names the file).
    """
    run = run_dir if isinstance(run_dir, RunData) else load_run(run_dir)
    return summarize_run(run)


def _write_text(path: Path, text: str) -> None:
    """Write aside, then rename over ``path``: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(
    run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Write ``summary.json``, ``report.html`` and ``figures/*.png`` for a run folder (into
    ``out_dir``, default the run folder itself, replacing earlier ones); returns the HTML path.

    Raises
    ------
    ReportError, ione.network.ConfigError
        As :func:`build_summary`.
    OSError
        If the output folder cannot be written.
    """
    run = load_run(run_dir)
    out = Path(run_dir) if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize_run(run)
    _write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2, allow_nan=False) + "\n")
    figures = write_figures(run, out / FIGURE_DIR)
    page = out / HTML_FILE
    _write_text(page, render_html(run, summary, figures))
    return page
