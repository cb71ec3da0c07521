"""Receive window: anti-replay (RFC 6479 style), loss, reordering and exact accounting.

One :class:`ReceiveWindow` per direction and session tracks which sequence numbers arrived.
Sequence numbers within ``size`` of the highest one seen are remembered in a ring of slots
(one byte each): *missing*, *received* or *lost*. A frame is accepted once; a copy is a
*duplicate*; a frame older than the window, or one already declared lost, is *too old*.

A missing frame is declared **lost** when it slides out of the window, or when it has been missing
for longer than the reorder timeout (:meth:`expire`). Until then it is **in flight**. So at every
moment, exactly::

    received + lost + in_flight == highest sequence seen + 1
                                == frames the peer is known to have sent

The window also counts events: a HEARTBEAT tells how many events the peer had sent before it; once
every frame before that heartbeat is resolved (received or lost), the events lost are known exactly.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Final

from ione.wire._frame import SEQ_WIRE_BITS

__all__ = ["DEFAULT_WINDOW", "ReceiveWindow"]

DEFAULT_WINDOW: Final = 2048
_MISSING: Final = 0
_RECEIVED: Final = 1
_LOST: Final = 2
_WIRE_RANGE: Final = 1 << SEQ_WIRE_BITS
_HALF_WIRE: Final = _WIRE_RANGE >> 1


class ReceiveWindow:
    """Anti-replay and loss accounting for one direction of one session.

    Parameters
    ----------
    size
        Number of sequence numbers remembered behind the highest one (at least 64).
    reorder_timeout_us
        A gap older than this is declared lost by :meth:`expire`.
    """

    __slots__ = (
        "_events_in_slot",
        "_floor",
        "_floor_events",
        "_gaps",
        "_heartbeats",
        "_ring",
        "duplicates",
        "events_known_sent",
        "events_lost",
        "events_received",
        "lost",
        "received",
        "reorder_timeout_us",
        "reordered",
        "size",
        "too_old",
        "top",
    )

    def __init__(self, size: int = DEFAULT_WINDOW, reorder_timeout_us: int = 100_000) -> None:
        if size < 64:
            raise ValueError(f"window size must be at least 64, got {size}")
        self.size = size
        self.reorder_timeout_us = reorder_timeout_us
        # Slots of sequence numbers below 0 do not exist: mark them received so they never count.
        self._ring = bytearray([_RECEIVED]) * size
        self._events_in_slot = [0] * size
        self.top = -1
        self.received = 0
        self.lost = 0
        self.duplicates = 0
        self.too_old = 0
        self.reordered = 0
        self.events_received = 0
        self.events_lost = 0  # exact, as of the last fully resolved heartbeat
        self.events_known_sent = 0  # the peer's event counter at that heartbeat
        self._gaps: deque[tuple[int, int, int]] = deque()  # (first, last, noticed_us)
        self._floor = 0  # every sequence below is resolved (received or lost)
        self._floor_events = 0  # events received in frames below the floor
        self._heartbeats: list[tuple[int, int]] = []  # (hb seq, events sent before it), sorted

    # ------------------------------------------------------------------ sequence numbers
    def expand(self, wire_seq: int) -> int:
        """Full 64-bit sequence number closest to the next expected one (QUIC-style decoding)."""
        expected = self.top + 1
        candidate = (expected & ~(_WIRE_RANGE - 1)) | wire_seq
        if candidate <= expected - _HALF_WIRE and candidate + _WIRE_RANGE < 1 << 64:
            candidate += _WIRE_RANGE
        elif candidate > expected + _HALF_WIRE and candidate >= _WIRE_RANGE:
            candidate -= _WIRE_RANGE
        return candidate

    def check(self, seq: int) -> str:
        """Classify ``seq`` without recording it: ``"new"``, ``"duplicate"`` or ``"too_old"``."""
        if seq > self.top:
            return "new"
        if seq <= self.top - self.size:
            return "too_old"
        state = self._ring[seq % self.size]
        if state == _MISSING:
            return "new"
        return "duplicate" if state == _RECEIVED else "too_old"

    def reject(self, verdict: str) -> None:
        """Count a frame that :meth:`check` refused."""
        if verdict == "duplicate":
            self.duplicates += 1
        else:
            self.too_old += 1

    def accept(self, seq: int, n_events: int, now_us: int) -> bool:
        """Record an authentic frame that :meth:`check` classified as new.

        Returns True when it arrived out of order (behind the highest sequence seen).
        """
        size = self.size
        if seq == self.top + 1 and seq == self._floor and not self._heartbeats:
            # In order with nothing outstanding: the common case, kept short.
            slot = seq % size
            self._ring[slot] = _RECEIVED
            self._events_in_slot[slot] = n_events
            self.top = seq
            self._floor = seq + 1
            self._floor_events += n_events
            self.received += 1
            self.events_received += n_events
            return False
        reordered = seq < self.top
        if seq > self.top:
            old_top = self.top
            # Frames sliding out of the window are resolved before their slots are reused.
            self._advance_floor(seq - size + 1, force=True)
            ring = self._ring
            if seq - old_top >= size:
                ring[:] = bytes(size)
            else:
                a, b = (old_top + 1) % size, (seq + 1) % size
                if a < b:
                    ring[a:b] = bytes(b - a)
                else:
                    ring[a:] = bytes(size - a)
                    ring[:b] = bytes(b)
            gap_first = max(old_top + 1, seq - size + 1)
            if gap_first < seq:
                self._gaps.append((gap_first, seq - 1, now_us))
            self.top = seq
        else:
            self.reordered += 1
        slot = seq % size
        self._ring[slot] = _RECEIVED
        self._events_in_slot[slot] = n_events
        self.received += 1
        self.events_received += n_events
        if seq == self._floor:
            self._advance_floor(self.top + 1, force=False)
        return reordered

    def note_heartbeat(self, hb_seq: int, events_sent_before: int) -> None:
        """Remember a heartbeat's event counter (call before :meth:`accept` of that frame).

        Once every frame before the heartbeat is resolved, ``events_lost`` becomes exact.
        """
        if hb_seq >= self._floor:
            bisect.insort(self._heartbeats, (hb_seq, events_sent_before))

    def expire(self, now_us: int) -> int:
        """Declare lost every frame missing for longer than the reorder timeout; return how many."""
        newly = 0
        deadline = now_us - self.reorder_timeout_us
        gaps = self._gaps
        ring, size, floor_seq = self._ring, self.size, self.top - self.size + 1
        while gaps and gaps[0][2] <= deadline:
            first, last, _ = gaps.popleft()
            for s in range(max(first, floor_seq), last + 1):
                slot = s % size
                if ring[slot] == _MISSING:
                    ring[slot] = _LOST
                    self._events_in_slot[slot] = 0
                    newly += 1
        self.lost += newly
        if newly:
            self._advance_floor(self.top + 1, force=False)
        return newly

    def next_expiry(self) -> int | None:
        """Time at which :meth:`expire` has something to do, or None."""
        if not self._gaps:
            return None
        return self._gaps[0][2] + self.reorder_timeout_us

    @property
    def in_flight(self) -> int:
        """Frames below the highest sequence seen that are neither received nor declared lost."""
        return self._ring.count(_MISSING)

    @property
    def known_sent(self) -> int:
        """Frames the peer is known to have sent in this session (highest sequence seen + 1)."""
        return self.top + 1

    def close(self) -> None:
        """The session is over: every frame still in flight is lost."""
        self.lost += self.in_flight
        self._ring[:] = self._ring.replace(bytes([_MISSING]), bytes([_LOST]))
        self._gaps.clear()
        self._advance_floor(self.top + 1, force=False)

    # ------------------------------------------------------------------ internals
    def _advance_floor(self, limit: int, *, force: bool) -> None:
        """Move the resolved floor towards ``limit`` (exclusive).

        With ``force`` every frame below ``limit`` becomes resolved (missing ones are lost: they
        are leaving the window); without it the walk stops at the first frame still missing.
        Heartbeats are settled exactly when the floor reaches their sequence number.
        """
        size, ring, inslot, hbs = self.size, self._ring, self._events_in_slot, self._heartbeats
        f, top = self._floor, self.top
        while f < limit:
            while hbs and hbs[0][0] <= f:
                _, sent = hbs.pop(0)
                self.events_known_sent = sent
                self.events_lost = sent - self._floor_events
            if f > top:
                # Never slotted (beyond the highest frame seen): lost without a trace.
                if not force:
                    break
                nxt = limit if not hbs else min(limit, hbs[0][0])
                self.lost += nxt - f
                f = nxt
                continue
            slot = f % size
            state = ring[slot]
            if state == _MISSING:
                if not force:
                    break
                ring[slot] = _LOST
                self.lost += 1
            elif state == _RECEIVED:
                self._floor_events += inslot[slot]
            f += 1
        while hbs and hbs[0][0] <= f:
            _, sent = hbs.pop(0)
            self.events_known_sent = sent
            self.events_lost = sent - self._floor_events
        self._floor = f
