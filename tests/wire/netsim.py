"""A seeded network in virtual time for driving pairs of Links (test helper)."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ione.wire import Link, LinkEvent
from ione.wire._frame import FrameType, parse_header


@dataclass
class Direction:
    """One direction of the virtual network, with exact records of what it did."""

    delay_us: int = 5_000
    jitter_us: int = 500
    loss: float = 0.0
    reorder: float = 0.0
    reorder_extra_us: int = 3_000
    duplicate: float = 0.0
    # in-session frames by wire sequence number (one session in these tests)
    sent_session_frames: int = 0
    dropped_session_seqs: set[int] = field(default_factory=set)
    delivered_copies: int = 0


class VirtualNet:
    """Two Links, A (initiator) and B (responder), joined by a lossy virtual network.

    ``clock_a(t)`` and ``clock_b(t)`` map true time (µs) to each side's local clock, so sites can
    have offset and drifting clocks.
    """

    def __init__(
        self,
        a: Link,
        b: Link,
        rng: np.random.Generator,
        ab: Direction | None = None,
        ba: Direction | None = None,
        clock_a: Callable[[int], int] = lambda t: t,
        clock_b: Callable[[int], int] = lambda t: t,
    ) -> None:
        self.a, self.b = a, b
        self.rng = rng
        self.dirs = {"ab": ab or Direction(), "ba": ba or Direction()}
        self.clock = {"a": clock_a, "b": clock_b}
        self.queue: list[tuple[int, int, str, bytes]] = []
        self.counter = 0
        self.now = 0
        self.events: dict[str, list[LinkEvent]] = {"a": [], "b": []}

    def link(self, side: str) -> Link:
        return self.a if side == "a" else self.b

    def local(self, side: str) -> int:
        return self.clock[side](self.now)

    def send(self, src: str, datagrams: list[bytes]) -> None:
        d = self.dirs["ab" if src == "a" else "ba"]
        dst = "b" if src == "a" else "a"
        for data in datagrams:
            h = parse_header(data)
            in_session = h.type not in (FrameType.HELLO, FrameType.WELCOME)
            if in_session:
                d.sent_session_frames += 1
            copies = 1 + int(self.rng.random() < d.duplicate)
            delivered = 0
            for _ in range(copies):
                if self.rng.random() < d.loss:
                    continue
                delay = d.delay_us + int(abs(self.rng.normal(0.0, d.jitter_us)))
                if self.rng.random() < d.reorder:
                    delay += d.reorder_extra_us
                self.counter += 1
                heapq.heappush(self.queue, (self.now + delay, self.counter, dst, data))
                delivered += 1
            if in_session and delivered == 0:
                d.dropped_session_seqs.add(h.seq)

    def flush(self, side: str) -> None:
        self.send(side, self.link(side).datagrams_to_send())

    def step_to(self, t_us: int) -> None:
        """Advance true time to ``t_us``: deliver datagrams and fire timers on the way."""
        while True:
            nxt = t_us
            if self.queue and self.queue[0][0] < nxt:
                nxt = self.queue[0][0]
            for side in ("a", "b"):
                timer = self.link(side).next_timer()
                if timer is not None:
                    # local timer -> true time (clocks here advance at rate ~1)
                    true_t = self.now + max(0, timer - self.local(side))
                    nxt = min(nxt, true_t)
            if nxt >= t_us:
                break
            self.now = max(self.now, nxt)
            self._run_due()
        self.now = t_us
        self._run_due()

    def _run_due(self) -> None:
        while self.queue and self.queue[0][0] <= self.now:
            _, _, dst, data = heapq.heappop(self.queue)
            self.dirs["ab" if dst == "b" else "ba"].delivered_copies += 1
            self.events[dst] += self.link(dst).receive_datagram(data, self.local(dst))
            self.flush(dst)
        for side in ("a", "b"):
            link = self.link(side)
            timer = link.next_timer()
            if timer is not None and timer <= self.local(side):
                self.events[side] += link.handle_timer(self.local(side))
            self.flush(side)

    def connect(self, limit_us: int = 2_000_000) -> None:
        """Run until both sides have a session."""
        from ione.wire import LinkState

        end = self.now + limit_us
        while self.now < end:
            self.step_to(self.now + 1_000)
            if self.a.state is LinkState.ESTABLISHED and self.b.state is LinkState.ESTABLISHED:
                return
        raise AssertionError("link did not come up")
