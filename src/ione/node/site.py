"""The site runtime: one site of an experiment, in real time, over UDP.

A :class:`SiteRuntime` owns everything a site runs, in one ``asyncio.TaskGroup``:

- one UDP socket; datagrams are routed to the :class:`ione.wire.Link` of their link id;
- a timer task that wakes every link when it asks (handshakes, heartbeats, clock sync, loss);
- the tick loop: every ``tick_us`` (1 ms by default), paced to the monotonic clock, it takes the
  events that arrived, places their source timestamps on the local clock with the link's measured
  offset, lets the site's processors (:mod:`ione.node.processors`) work, sends what they produce
  and logs everything (:mod:`ione.record`). A tick that starts late is counted with its lateness,
  never silently absorbed.

A link whose peer falls silent is reported down; the site keeps running, and the link recovers
when the peer returns (the wire's handshake and heartbeats do that).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ione.events import EVENT_DTYPE, EventBlock, concat_events
from ione.node._endpoint import RECEIVE_BUFFER_BYTES, monotonic_us
from ione.node.processors import Processor, run_tick, warm_up
from ione.record import LogWriter
from ione.record import kinds as K
from ione.wire import (
    BadFrame,
    Capability,
    ClockUpdated,
    EventsReceived,
    Link,
    LinkConfig,
    LinkEvent,
    LinkFailed,
    LinkState,
    PeerClosed,
    PeerJoined,
    PeerLost,
    PeerReturned,
)
from ione.wire._frame import parse_header

__all__ = ["PeerLink", "SiteRuntime", "SiteSpec", "TickStats"]

Address = tuple[str, int]


@dataclass(frozen=True)
class PeerLink:
    """One link of a site: who the peer is, how to reach it, and the link's key."""

    peer: str
    peer_index: int
    link_id: int
    initiator: bool
    key: bytes = field(repr=False)
    address: Address
    key_id: int = 0
    capabilities: Capability = (
        Capability.SEND_EVENTS | Capability.RECEIVE_EVENTS | Capability.VALUES
    )


@dataclass(frozen=True)
class SiteSpec:
    """What a site needs to run, besides its processors (times in µs)."""

    name: str
    index: int
    bind: Address
    links: tuple[PeerLink, ...]
    duration_us: int
    tick_us: int = 1_000
    grace_us: int = 1_500_000
    connect_timeout_us: int = 30_000_000
    stats_interval_us: int = 500_000
    max_inbound_blocks: int = 100_000
    #: Wall-clock time (UNIX seconds) at which tick 0 should start, so that the sites of a run
    #: start together; a site whose links come up later starts as soon as they are up. None:
    #: start as soon as this site's links are up.
    start_at_unix: float | None = None


@dataclass
class TickStats:
    """Pacing of the tick loop: how often and how late ticks started."""

    ticks: int = 0
    late: int = 0  # ticks that started more than one tick late
    lateness_sum_us: int = 0
    lateness_max_us: int = 0
    lateness: deque[int] = field(default_factory=lambda: deque(maxlen=10_000))
    work_sum_us: int = 0
    work_max_us: int = 0
    work: deque[int] = field(default_factory=lambda: deque(maxlen=10_000))

    def add_work(self, work_us: int) -> None:
        """Time one tick's processing took (µs)."""
        self.work_sum_us += work_us
        self.work_max_us = max(self.work_max_us, work_us)
        self.work.append(work_us)

    def add(self, lateness_us: int, tick_us: int) -> None:
        self.ticks += 1
        self.lateness_sum_us += lateness_us
        self.lateness_max_us = max(self.lateness_max_us, lateness_us)
        self.lateness.append(lateness_us)
        if lateness_us > tick_us:
            self.late += 1

    def summary(self) -> dict[str, float]:
        recent = np.fromiter(self.lateness, dtype=np.int64) if self.lateness else np.zeros(1)
        work = np.fromiter(self.work, dtype=np.int64) if self.work else np.zeros(1)
        return {
            "ticks": self.ticks,
            "late_ticks": self.late,
            "lateness_mean_us": self.lateness_sum_us / max(1, self.ticks),
            "lateness_p99_us": float(np.percentile(recent, 99)),
            "lateness_max_us": self.lateness_max_us,
            "work_mean_us": self.work_sum_us / max(1, self.ticks),
            "work_p99_us": float(np.percentile(work, 99)),
            "work_max_us": self.work_max_us,
        }


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, runtime: SiteRuntime) -> None:
        self.runtime = runtime

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.runtime._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.runtime.counters["socket_errors"] += 1


class SiteRuntime:
    """Runs one site until its experiment ends.

    Parameters
    ----------
    spec
        The site's identity, socket, links and timing.
    make_processors
        Called once with the local time of tick 0; returns the site's processors.
    log
        Where to record (None: nothing is recorded).
    progress
        Called about every ``stats_interval_us`` with a snapshot (for a live display).
    clock
        Local time in µs (the monotonic clock by default).
    """

    def __init__(
        self,
        spec: SiteSpec,
        make_processors: Callable[[int], list[Processor]],
        log: LogWriter | None = None,
        progress: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], int] = monotonic_us,
    ) -> None:
        self.spec = spec
        self.make_processors = make_processors
        self.log = log
        self.progress = progress
        self.clock = clock
        self.links: dict[int, tuple[PeerLink, Link]] = {}
        self.by_peer: dict[str, tuple[PeerLink, Link]] = {}
        for pl in spec.links:
            config = LinkConfig(
                spec.name,
                pl.link_id,
                pl.initiator,
                key_id=pl.key_id,
                capabilities=pl.capabilities,
            )
            link = Link(config, pl.key)
            self.links[pl.link_id] = (pl, link)
            self.by_peer[pl.peer] = (pl, link)
        self.transport: asyncio.DatagramTransport | None = None
        self.inbound: deque[tuple[str, EventBlock, int]] = deque()
        self.counters = {
            "inbound_dropped": 0,
            "malformed": 0,
            "unknown_link": 0,
            "socket_errors": 0,
            "sent_datagrams": 0,
            "received_datagrams": 0,
        }
        self.tick_stats = TickStats()
        self.link_events: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._stop = False
        self.t0_us: int | None = None
        self._processors: list[Processor] = []
        #: Called with the local time of tick 0 once every link is up and the clock starts.
        self.on_start: Callable[[int], None] | None = None
        self._rearm_requested = False

    def request_rearm(self) -> None:
        """Re-arm the stimulation outputs of the site's cultures at the next tick (after a
        watchdog trip; an operator's act, e.g. ``kill -USR1`` on ``ione site``)."""
        self._rearm_requested = True

    # ------------------------------------------------------------------ network
    def _on_datagram(self, data: bytes, addr: Address) -> None:
        self.counters["received_datagrams"] += 1
        try:
            link_id = parse_header(data).link_id
        except BadFrame:
            self.counters["malformed"] += 1
            return
        entry = self.links.get(link_id)
        if entry is None:
            self.counters["unknown_link"] += 1
            return
        pl, link = entry
        now = self.clock()
        for ev in link.receive_datagram(data, now):
            self._on_link_event(pl, link, ev, now)
        self._flush(pl, link)
        self._wake.set()

    def _on_link_event(self, pl: PeerLink, link: Link, ev: LinkEvent, now: int) -> None:
        if isinstance(ev, EventsReceived):
            if len(self.inbound) >= self.spec.max_inbound_blocks:
                self.counters["inbound_dropped"] += ev.events.size
            else:
                self.inbound.append((pl.peer, ev.events, now))
        elif isinstance(ev, ClockUpdated):
            e = ev.estimate
            if self.log is not None:
                self.log.append(
                    K.CLOCK, K.clock_block(now, pl.peer_index, e.offset_us, e.uncertainty_us)
                )
        else:
            what = {
                PeerJoined: "joined",
                PeerLost: "lost",
                PeerReturned: "returned",
                PeerClosed: "closed",
                LinkFailed: "failed",
            }.get(type(ev), type(ev).__name__)
            record = {
                "t_us": now,
                "peer": pl.peer,
                "event": what,
                "detail": getattr(ev, "reason", None),
            }
            self.link_events.append(record)
            if self.log is not None:
                self.log.append("link_event", record)

    def _flush(self, pl: PeerLink, link: Link) -> None:
        self._send(pl, link.datagrams_to_send())

    def _send(self, pl: PeerLink, datagrams: list[bytes]) -> None:
        if self.transport is None:
            return
        for d in datagrams:
            try:
                self.transport.sendto(d, pl.address)
                self.counters["sent_datagrams"] += 1
            except OSError:
                self.counters["socket_errors"] += 1

    async def _timers(self) -> None:
        while not self._stop:
            now = self.clock()
            for pl, link in self.links.values():
                t = link.next_timer()
                if t is not None and t <= now:
                    for ev in link.handle_timer(now):
                        self._on_link_event(pl, link, ev, now)
                    self._flush(pl, link)
            due = [t for _, link in self.links.values() if (t := link.next_timer()) is not None]
            nxt = min(due) if due else None
            self._wake.clear()
            timeout = None if nxt is None else max(0.0, (nxt - self.clock()) / 1e6)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    # ------------------------------------------------------------------ the tick loop
    def _translate(self, peer: str, block: EventBlock, received_us: int) -> tuple[EventBlock, Any]:
        """Source timestamps onto the local clock (never later than the arrival)."""
        local = block.copy()
        if peer == self.spec.name:  # produced here: already on the local clock
            return local, block["t_us"]
        _, link = self.by_peer[peer]
        if link.clock.samples:
            t, _ = link.clock.to_local(block["t_us"])
            local["t_us"] = np.minimum(t, received_us)
        else:  # no clock sample yet: the best we know is when it arrived
            local["t_us"] = received_us
        return local, block["t_us"]

    async def _wait_for_links(self) -> None:
        deadline = self.clock() + self.spec.connect_timeout_us
        while any(link.state is not LinkState.ESTABLISHED for _, link in self.links.values()):
            if self.clock() > deadline:
                missing = sorted(
                    pl.peer
                    for pl, link in self.links.values()
                    if link.state is not LinkState.ESTABLISHED
                )
                raise TimeoutError(
                    f"{self.spec.name}: no answer from {', '.join(missing)} within "
                    f"{self.spec.connect_timeout_us / 1e6:g} s"
                )
            self._wake.set()
            await asyncio.sleep(0.01)

    async def _tick_loop(self) -> None:
        spec = self.spec
        await self._wait_for_links()
        if spec.start_at_unix is not None:
            delay = spec.start_at_unix - time.time()
            if delay > 0:  # links stay alive meanwhile (the timers task runs)
                await asyncio.sleep(delay)
        t0 = self.t0_us = self.clock()
        processors = self._processors = self.make_processors(t0)
        if self.on_start is not None:
            self.on_start(t0)
        if self.log is not None:
            self.log.append(
                "run", {"t0_us": t0, "tick_us": spec.tick_us, "duration_us": spec.duration_us}
            )
        end = t0 + spec.duration_us + spec.grace_us
        next_stats = t0
        k = 0
        while True:
            deadline = t0 + k * spec.tick_us
            if deadline >= end:
                break
            now = self.clock()
            if now < deadline:
                await asyncio.sleep((deadline - now) / 1e6)
                now = self.clock()
            else:
                # Late (the process was held up): read what arrived meanwhile before this tick,
                # so that it is not processed late too and a stall of this process never looks
                # like a silent peer to a stimulation guard's watchdog.
                await asyncio.sleep(0)
            self.tick_stats.add(now - deadline, spec.tick_us)
            self._tick(deadline, processors)
            self.tick_stats.add_work(self.clock() - now)
            if now >= next_stats:
                self._report(now)
                next_stats = now + spec.stats_interval_us
            # Ticks stay on the grid: after a late start the next ones run back to back until the
            # loop has caught up, so every tick's work is done and stamped with its own time.
            k += 1
        self._report(self.clock())

    def _tick(self, t_us: int, processors: list[Processor]) -> None:
        blocks, sources, peers, arrivals = [], [], [], []
        while self.inbound:
            peer, block, arrived = self.inbound.popleft()
            local, source = self._translate(peer, block, arrived)
            blocks.append(local)
            sources.append(source)
            arrivals.append(np.full(block.size, arrived, np.int64))
            index = self.spec.index if peer == self.spec.name else self.by_peer[peer][0].peer_index
            peers.append(np.full(block.size, index, np.uint32))
        inbound = concat_events(blocks) if blocks else np.zeros(0, EVENT_DTYPE)
        if self.log is not None and blocks:
            self.log.append(
                K.RECEIVED,
                K.received_block(
                    np.concatenate(sources),
                    inbound["t_us"],
                    np.concatenate(arrivals),
                    np.concatenate(peers),
                    inbound["key"],
                    inbound["value"],
                ),
            )
        heard = {pl.peer: link.last_heard_us for pl, link in self.links.values()}
        for proc in processors:
            proc.links_heard(t_us, heard)
        if self._rearm_requested:
            self._rearm_requested = False
            ok = all(proc.rearm(t_us) for proc in processors)
            record = {"t_us": t_us, "rearmed": ok}
            self.link_events.append({"t_us": t_us, "peer": "", "event": "rearm", "detail": ok})
            if self.log is not None:
                self.log.append("rearm", record)
        result = run_tick(processors, t_us, self.spec.tick_us, inbound)
        now = self.clock()
        for dest, out in result.outbound.items():
            if dest == self.spec.name:  # to a processor of this site: the next tick takes it
                self.inbound.append((dest, concat_events(out), now))
                continue
            entry = self.by_peer.get(dest)
            if entry is None:
                self.counters.setdefault(f"no_route_{dest}", 0)
                self.counters[f"no_route_{dest}"] += 1
                continue
            pl, link = entry
            events = concat_events(out)
            self._send(pl, link.send_events(events, now))
            self._flush(pl, link)
            if self.log is not None:
                self.log.append(K.SENT, K.sent_block(events, pl.peer_index))
        if self.log is not None:
            for kind, block in result.records:
                self.log.append(kind, block)

    def snapshot(self, now: int) -> dict[str, Any]:
        links = {}
        for pl, link in self.links.values():
            st = link.statistics()
            links[pl.peer] = {
                "state": st.state.value,
                "frames_sent": st.frames_sent,
                "frames_received": st.frames_received,
                "frames_lost": st.frames_lost,
                "frames_in_flight": st.frames_in_flight,
                "peer_frames_sent": st.peer_frames_sent,
                "events_sent": st.events_sent,
                "events_received": st.events_received,
                "events_lost": st.events_lost,
                "duplicates": st.duplicates,
                "reordered": st.reordered,
                "auth_failed": st.auth_failed,
                "malformed": st.malformed,
                "rtt_min_us": st.rtt_min_us,
                "rtt_p50_us": st.rtt_p50_us,
                "rtt_p99_us": st.rtt_p99_us,
                "clock_offset_us": st.clock_offset_us,
                "clock_uncertainty_us": st.clock_uncertainty_us,
                "sessions": st.sessions,
            }
        return {
            "site": self.spec.name,
            "t_us": now,
            "elapsed_us": None if self.t0_us is None else now - self.t0_us,
            "ticks": self.tick_stats.summary(),
            "links": links,
            "counters": dict(self.counters),
            "processors": [p.status() for p in self._processors],
        }

    def _report(self, now: int) -> None:
        snap = self.snapshot(now)
        if self.log is not None:
            for peer, st in snap["links"].items():
                self.log.append(K.LINK, {"t_us": now, "peer": peer, **st})
        if self.progress is not None:
            self.progress(snap)

    # ------------------------------------------------------------------ running
    async def run(self) -> dict[str, Any]:
        """Run the site to the end of its experiment; returns the final snapshot."""
        warm_up()  # before the clock starts, not in the first ticks
        loop = asyncio.get_running_loop()
        sock = socket.socket(
            socket.AF_INET6 if ":" in self.spec.bind[0] else socket.AF_INET, socket.SOCK_DGRAM
        )
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.bind(self.spec.bind)
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self.transport = transport
        try:
            async with asyncio.TaskGroup() as tg:
                timers = tg.create_task(self._timers())
                try:
                    await self._tick_loop()
                finally:
                    self._stop = True
                    self._wake.set()
                    await timers
        finally:
            now = self.clock()
            for pl, link in self.links.values():
                self._send(pl, link.close(now, "run finished"))
            transport.close()
        return self.snapshot(self.clock())

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])
