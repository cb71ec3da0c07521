"""Recording: crash-safe session logs, one timeline across sites, NWB and Neo export.

- :class:`LogWriter` / :class:`LogReader`: the append-only session log of one site
  (docs/record-format.md); :mod:`ione.record.kinds` names the records a site writes.
- :func:`merge_run` / :func:`merge`: every site's log on one clock, each event with its timing
  uncertainty (:class:`Session`); :func:`save_session` / :func:`load_session`.
"""

from ione.record import kinds
from ione.record.log import CorruptLogError, LogReader, LogWriter
from ione.record.merge import (
    Session,
    load_session,
    merge,
    merge_run,
    read_site_log,
    save_session,
    site_logs,
)

__all__ = [
    "CorruptLogError",
    "LogReader",
    "LogWriter",
    "Session",
    "kinds",
    "load_session",
    "merge",
    "merge_run",
    "read_site_log",
    "save_session",
    "site_logs",
]
