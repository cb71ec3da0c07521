"""A UDP endpoint that drives one :class:`ione.wire.Link` with asyncio.

The link does the protocol; this class only moves bytes and time: datagrams from the socket go to
``Link.receive_datagram``, what the link wants to send goes to the socket, and one timer task (owned
by the caller's ``asyncio.TaskGroup``) wakes the link when ``Link.next_timer`` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from ione.events import EventBlock
from ione.wire import Link, LinkEvent

__all__ = ["EndpointStatistics", "LinkEndpoint", "monotonic_us"]

Address = tuple[str, int]
RECEIVE_BUFFER_BYTES = 4 << 20


def monotonic_us() -> int:
    """The host's monotonic clock in integer microseconds."""
    return time.monotonic_ns() // 1_000


@dataclass(frozen=True, slots=True)
class EndpointStatistics:
    datagrams_in: int
    datagrams_out: int
    foreign_datagrams: int  # from an address that is not (yet) the authenticated peer
    send_errors: int


class LinkEndpoint(asyncio.DatagramProtocol):
    """Binds a :class:`~ione.wire.Link` to a UDP socket.

    Parameters
    ----------
    link
        The link to drive.
    peer
        The peer's address. ``None`` learns it from the first authentic datagram (a responder
        behind which the initiator's address is not known in advance).
    on_event
        Called with every link event, in order.
    clock
        Local time in µs (default: the monotonic clock).
    """

    def __init__(
        self,
        link: Link,
        peer: Address | None,
        on_event: Callable[[LinkEvent], None],
        clock: Callable[[], int] = monotonic_us,
    ) -> None:
        self.link = link
        self.peer = peer
        self.on_event = on_event
        self.clock = clock
        self.transport: asyncio.DatagramTransport | None = None
        self._wake = asyncio.Event()
        self._in = self._out = self._foreign = self._errors = 0
        self._stopping = False

    # --------------------------------------------------------------- asyncio protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Room for bursts: the default (~208 KiB of kernel accounting) holds only a few
            # hundred small datagrams. The kernel caps this at net.core.rmem_max.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._in += 1
        trusted_before = self.link.authentic_datagrams
        events = self.link.receive_datagram(data, self.clock())
        if self.link.authentic_datagrams > trusted_before:
            if self.peer is None or self.peer != addr[:2]:
                self.peer = addr[:2]
        elif self.peer is not None and addr[:2] != self.peer:
            self._foreign += 1
        self._flush()
        for ev in events:
            self.on_event(ev)
        self._wake.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (peer port closed, ...) must not stop a site: count them.
        self._errors += 1

    # --------------------------------------------------------------- sending
    def send_events(self, events: EventBlock) -> int:
        """Seal and send events stamped on the local clock; returns the datagrams sent."""
        frames = self.link.send_events(events, self.clock())
        self._emit(frames)
        self._flush()
        self._wake.set()
        return len(frames)

    def send_raw(self, data: bytes) -> None:
        """Send bytes that bypass the link (for tests and demonstrations of rejection)."""
        self._send([data])

    def _flush(self) -> None:
        self._emit(self.link.datagrams_to_send())

    def _emit(self, datagrams: list[bytes]) -> None:
        """Datagrams the link produced (a subclass may intercept them, e.g. to emulate loss)."""
        self._send(datagrams)

    def _send(self, datagrams: list[bytes]) -> None:
        if not datagrams or self.transport is None or self.peer is None:
            return
        for d in datagrams:
            try:
                self.transport.sendto(d, self.peer)
                self._out += 1
            except OSError:
                self._errors += 1

    # --------------------------------------------------------------- timers
    async def run_timers(self) -> None:
        """Wake the link whenever it asks, until :meth:`stop`. Run it in a TaskGroup."""
        while not self._stopping:
            due = self.link.next_timer()
            now = self.clock()
            if due is not None and due <= now:
                for ev in self.link.handle_timer(now):
                    self.on_event(ev)
                self._flush()
                continue
            self._wake.clear()
            try:
                async with asyncio.timeout(None if due is None else (due - now) / 1e6):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def stop(self) -> None:
        """Make :meth:`run_timers` return."""
        self._stopping = True
        self._wake.set()

    def close(self, reason: str = "") -> None:
        """Say BYE to the peer and close the socket."""
        self._emit(self.link.close(self.clock(), reason))
        if self.transport is not None:
            self.transport.close()

    def statistics(self) -> EndpointStatistics:
        return EndpointStatistics(self._in, self._out, self._foreign, self._errors)
