"""Exact counters of a relay: one set per direction, and the snapshots made of them."""

from __future__ import annotations

import math
import socket
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ione.netem.model import Impairment

__all__ = ["LATE_BINS", "Address", "DirectionStatistics", "RelayStatistics", "Way", "fmt"]

Address = tuple[str, int]
#: Release lateness histogram: 1 µs bins up to this, then one overflow bin.
LATE_BINS = 10_000


def fmt(address: Address) -> str:
    """``HOST:PORT``."""
    return f"{address[0]}:{address[1]}"


@dataclass(frozen=True, slots=True)
class DirectionStatistics:
    """Exact counters of one direction of a relay (datagrams unless named otherwise).

    Attributes
    ----------
    received
        Datagrams taken from the site (foreign ones excluded).
    forwarded
        Copies sent on to the other site (duplicates included).
    duplicated
        Extra copies the model made.
    dropped_loss, dropped_overflow, dropped_paused, dropped_no_peer
        Dropped by the loss model, because the queue was full, while paused (on arrival or at
        release), or because the destination's address was not known yet.
    send_errors
        Copies the kernel refused to send.
    foreign
        Datagrams from an address that is not this side's site (ignored).
    reordered
        Copies released after a datagram that arrived later than them.
    held
        Datagrams the model held back to reorder them.
    queued, max_queued
        Copies waiting for release now, and the most ever.
    delay_*
        The emulated delays the model scheduled (µs, including reordering holds).
    late_*
        How late releases left the relay after their due time (µs): the relay's own precision.
    """

    received: int
    forwarded: int
    duplicated: int
    dropped_loss: int
    dropped_overflow: int
    dropped_paused: int
    dropped_no_peer: int
    send_errors: int
    foreign: int
    reordered: int
    held: int
    queued: int
    max_queued: int
    bytes_received: int
    bytes_forwarded: int
    delay_count: int
    delay_mean_us: float
    delay_sd_us: float
    delay_min_us: int
    delay_max_us: int
    late_count: int
    late_p50_us: int
    late_p99_us: int
    late_max_us: int

    @property
    def dropped(self) -> int:
        """All drops, whatever the cause (send errors included)."""
        return (
            self.dropped_loss
            + self.dropped_overflow
            + self.dropped_paused
            + self.dropped_no_peer
            + self.send_errors
        )

    @property
    def balanced(self) -> bool:
        """Whether received + duplicated = forwarded + dropped + queued (always true)."""
        return self.received + self.duplicated == self.forwarded + self.dropped + self.queued


@dataclass(frozen=True, slots=True)
class RelayStatistics:
    """A consistent snapshot of a relay's counters (see :class:`DirectionStatistics`)."""

    a_to_b: DirectionStatistics
    b_to_a: DirectionStatistics
    paused: bool
    a_address: Address
    b_address: Address
    a_peer: Address | None
    b_peer: Address | None
    uptime_us: int
    wakeups: int
    commands: int
    socket_errors: int


class Way:
    """One direction's sockets, model, and counters (mutated only by the loop's thread)."""

    __slots__ = (
        "bytes_fwd",
        "bytes_in",
        "d_max",
        "d_min",
        "d_n",
        "d_sum",
        "d_sumsq",
        "dest",
        "dropped_loss",
        "dropped_no_peer",
        "dropped_overflow",
        "dropped_paused",
        "duplicated",
        "egress",
        "foreign",
        "forwarded",
        "held",
        "impairment",
        "ingress",
        "late_cache",
        "late_hist",
        "late_max",
        "late_n",
        "max_queued",
        "max_seq",
        "name",
        "queued",
        "received",
        "reordered",
        "send_errors",
        "seq",
        "source",
    )

    def __init__(self, name: str, ingress: socket.socket, egress: socket.socket) -> None:
        self.name = name
        self.ingress = ingress
        self.egress = egress
        self.source: Address | None = None
        self.dest: Address | None = None
        self.impairment: Impairment
        self.received = self.forwarded = self.duplicated = 0
        self.dropped_loss = self.dropped_overflow = self.dropped_paused = 0
        self.dropped_no_peer = self.send_errors = self.foreign = 0
        self.reordered = self.held = self.queued = self.max_queued = 0
        self.bytes_in = self.bytes_fwd = 0
        self.seq = 0
        self.max_seq = -1
        self.d_n = self.d_sum = self.d_sumsq = 0
        self.d_min = self.d_max = 0
        self.late_hist = [0] * (LATE_BINS + 1)
        self.late_max = self.late_n = 0
        self.late_cache = (0, 0, 0)  # (late_n, p50, p99) of the last computation

    def late_percentiles(self) -> tuple[int, int]:
        """p50 and p99 of the release lateness (µs), recomputed only when it changed."""
        n, p50, p99 = self.late_cache
        if n == self.late_n:
            return p50, p99
        n = self.late_n
        cum = np.cumsum(np.asarray(self.late_hist, np.int64))
        p50, p99 = (int(np.searchsorted(cum, q * n)) for q in (0.50, 0.99))
        p50, p99 = (self.late_max if p >= LATE_BINS else p for p in (p50, p99))
        self.late_cache = (n, p50, p99)
        return p50, p99

    def statistics(self) -> DirectionStatistics:
        n = self.d_n
        mean = self.d_sum / n if n else math.nan
        var = max(0.0, self.d_sumsq / n - mean * mean) if n else math.nan
        p50, p99 = self.late_percentiles()
        return DirectionStatistics(
            received=self.received,
            forwarded=self.forwarded,
            duplicated=self.duplicated,
            dropped_loss=self.dropped_loss,
            dropped_overflow=self.dropped_overflow,
            dropped_paused=self.dropped_paused,
            dropped_no_peer=self.dropped_no_peer,
            send_errors=self.send_errors,
            foreign=self.foreign,
            reordered=self.reordered,
            held=self.held,
            queued=self.queued,
            max_queued=self.max_queued,
            bytes_received=self.bytes_in,
            bytes_forwarded=self.bytes_fwd,
            delay_count=n,
            delay_mean_us=mean,
            delay_sd_us=math.sqrt(var) if n else math.nan,
            delay_min_us=self.d_min,
            delay_max_us=self.d_max,
            late_count=self.late_n,
            late_p50_us=p50,
            late_p99_us=p99,
            late_max_us=self.late_max,
        )


def direction_json(d: DirectionStatistics, histogram: dict[str, int]) -> dict[str, Any]:
    """One direction's counters as JSON: NaN becomes null, derived totals are added."""
    row = asdict(d)
    row["late_histogram_us"] = histogram  # µs -> count; the last bin, LATE_BINS, holds the rest
    row["dropped"] = d.dropped
    row["balanced"] = d.balanced
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
