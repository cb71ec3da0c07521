"""What the Linux kernel knows about UDP drops and timers (read from /proc; None elsewhere)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys

__all__ = ["set_timer_slack_ns", "socket_drops", "udp_rcvbuf_errors"]

_PR_SET_TIMERSLACK = 29


def udp_rcvbuf_errors() -> int | None:
    """The host's UDP ``RcvbufErrors`` (datagrams dropped because a receive buffer was full).

    Read from ``/proc/net/snmp`` (IPv4) plus ``/proc/net/snmp6`` (``Udp6RcvbufErrors``) where
    present. Take the difference of two readings: kernel drops happen before any program sees
    the datagram, so they must be reported apart from emulated losses.
    """
    total = None
    try:
        with open("/proc/net/snmp", encoding="ascii") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        if len(rows) >= 2 and "RcvbufErrors" in rows[0]:
            total = int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, ValueError):
        pass
    with contextlib.suppress(OSError, ValueError), open("/proc/net/snmp6", encoding="ascii") as f:
        for line in f:
            name, _, value = line.partition(" ")
            if name == "Udp6RcvbufErrors":
                total = (total or 0) + int(value)
    return total


def socket_drops(port: int) -> int | None:
    """Datagrams the kernel dropped for the UDP socket(s) bound to ``port`` (``drops`` column).

    Read from ``/proc/net/udp`` and ``/proc/net/udp6``; None where they do not exist or no
    socket is bound to ``port``.
    """
    found = None
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table, encoding="ascii") as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) >= 13 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found = (found or 0) + int(fields[-1])
    return found


def set_timer_slack_ns(ns: int) -> bool:
    """Ask Linux to wake the calling thread within ``ns`` of its timers (default slack: 50 µs).

    Returns True if the kernel accepted it. The relay's release times are only as precise as
    its wake-ups, and the default slack alone makes a release up to 50 µs late.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return int(libc.prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False
