"""Recording: crash-safe session logs, one timeline across sites, NWB and Neo export.

- :class:`LogWriter` / :class:`LogReader`: the append-only session log of one site
  (docs/record-format.md); :mod:`ione.record.kinds` names the records a site writes.
- :func:`merge_run` / :func:`merge`: every site's log on one clock, each event with its timing
  uncertainty (:class:`Session`); :func:`save_session` / :func:`load_session` /
  :func:`open_session`.
- :func:`export_nwb` (NWB, validated by nwbinspector) and :func:`export_neo` (Neo, NIX files);
  :func:`summarize` / :func:`render_summary` for ``ione inspect``.
"""

from ione.record import kinds
from ione.record.log import CorruptLogError, LogReader, LogWriter
from ione.record.merge import (
    Session,
    load_session,
    merge,
    merge_run,
    open_session,
    read_site_log,
    save_session,
    site_logs,
)
from ione.record.neo_export import export_neo, session_to_neo
from ione.record.nwb import export_nwb, session_to_nwb
from ione.record.summary import render_summary, summarize

__all__ = [
    "CorruptLogError",
    "LogReader",
    "LogWriter",
    "Session",
    "export_neo",
    "export_nwb",
    "kinds",
    "load_session",
    "merge",
    "merge_run",
    "open_session",
    "read_site_log",
    "render_summary",
    "save_session",
    "session_to_neo",
    "session_to_nwb",
    "site_logs",
    "summarize",
]
