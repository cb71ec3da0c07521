"""Configuration, link events and statistics of :class:`ione.wire.Link`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ione.events import EventBlock, KeyRange
from ione.wire._clock import ClockEstimate
from ione.wire._control import Capability
from ione.wire._frame import DEFAULT_MTU, MIN_MTU
from ione.wire._window import DEFAULT_WINDOW

__all__ = [
    "ClockUpdated",
    "EventsReceived",
    "LinkConfig",
    "LinkEvent",
    "LinkFailed",
    "LinkState",
    "LinkStatistics",
    "PeerClosed",
    "PeerJoined",
    "PeerLost",
    "PeerReturned",
]


class LinkState(enum.Enum):
    """Where a link stands."""

    CONNECTING = "connecting"  # no session yet (initiator: sending HELLO; responder: waiting)
    ESTABLISHED = "established"  # a session is up and the peer was heard recently
    LOST = "lost"  # the peer has been silent beyond the timeout (or said BYE)
    CLOSED = "closed"  # this side closed the link


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Everything a :class:`~ione.wire.Link` needs besides its key.

    Times are integer microseconds. Both ends of a link must agree on ``link_id`` and
    ``key_id``, and exactly one of them is the ``initiator``.
    """

    site: str
    link_id: int
    initiator: bool
    key_id: int = 0
    capabilities: Capability = (
        Capability.SEND_EVENTS | Capability.RECEIVE_EVENTS | Capability.VALUES
    )
    ranges: tuple[KeyRange, ...] = ()
    mtu: int = DEFAULT_MTU
    heartbeat_interval_us: int = 100_000
    ping_interval_us: int = 250_000
    peer_timeout_us: int = 1_000_000
    hello_interval_us: int = 250_000
    reorder_timeout_us: int = 100_000
    window: int = DEFAULT_WINDOW
    clock_window: int = 64
    max_drift_ppm: float = 500.0
    max_pending_events: int = 100_000

    def __post_init__(self) -> None:
        name = self.site.encode("utf-8")
        if not 1 <= len(name) <= 64:
            raise ValueError(f"site name must be 1 ... 64 UTF-8 bytes, got {self.site!r}")
        if not 0 <= self.link_id <= 0xFFFFFFFF:
            raise ValueError(f"link_id must fit in 32 bits, got {self.link_id}")
        if not 0 <= self.key_id <= 0xFF:
            raise ValueError(f"key_id must be 0 ... 255, got {self.key_id}")
        if not MIN_MTU <= self.mtu <= 65_507:
            raise ValueError(f"mtu must be {MIN_MTU} ... 65507 bytes, got {self.mtu}")
        if self.window < 1024:
            raise ValueError(f"anti-replay window must be at least 1024 frames, got {self.window}")
        for name_, value in (
            ("heartbeat_interval_us", self.heartbeat_interval_us),
            ("ping_interval_us", self.ping_interval_us),
            ("hello_interval_us", self.hello_interval_us),
            ("reorder_timeout_us", self.reorder_timeout_us),
        ):
            if not 1_000 <= value <= 60_000_000:
                raise ValueError(f"{name_} must be 1 ms ... 60 s, got {value} µs")
        if self.peer_timeout_us < 2 * self.heartbeat_interval_us:
            raise ValueError(
                f"peer_timeout_us ({self.peer_timeout_us}) must be at least twice "
                f"heartbeat_interval_us ({self.heartbeat_interval_us})"
            )
        if len(self.ranges) > 64:
            raise ValueError("at most 64 address ranges per site")
        if self.max_pending_events < 0:
            raise ValueError("max_pending_events must be >= 0")


@dataclass(frozen=True, slots=True)
class EventsReceived:
    """Events arrived (times on the **peer's** clock; see ``Link.clock``)."""

    events: EventBlock
    seq: int
    reordered: bool


@dataclass(frozen=True, slots=True)
class PeerJoined:
    """A new session with the peer is up."""

    site: str
    capabilities: Capability
    ranges: tuple[KeyRange, ...]
    heartbeat_interval_us: int
    session: int


@dataclass(frozen=True, slots=True)
class PeerLost:
    """Nothing authentic heard from the peer for longer than the timeout."""

    silent_us: int


@dataclass(frozen=True, slots=True)
class PeerReturned:
    """The peer is heard again in the same session after being lost."""

    silent_us: int


@dataclass(frozen=True, slots=True)
class PeerClosed:
    """The peer said BYE."""

    reason: str


@dataclass(frozen=True, slots=True)
class ClockUpdated:
    """A new PING/PONG sample refined the clock estimate."""

    estimate: ClockEstimate
    rtt_us: int


@dataclass(frozen=True, slots=True)
class LinkFailed:
    """Something the link cannot fix by itself (e.g. the peer speaks another protocol version)."""

    reason: str


LinkEvent = (
    EventsReceived | PeerJoined | PeerLost | PeerReturned | PeerClosed | ClockUpdated | LinkFailed
)


@dataclass(frozen=True, slots=True)
class LinkStatistics:
    """A snapshot of a link's counters.

    Frame accounting covers every in-session frame (events and control) and holds exactly::

        frames_received + frames_lost + frames_in_flight == peer_frames_sent

    where ``peer_frames_sent`` is what the peer is known to have sent (its highest sequence
    number seen, per session). ``events_lost`` is exact as of the last heartbeat whose earlier
    frames are all resolved.
    """

    state: LinkState
    peer_site: str | None
    sessions: int
    frames_sent: int
    events_frames_sent: int
    events_sent: int
    bytes_sent: int
    frames_received: int
    events_received: int
    bytes_received: int
    peer_frames_sent: int
    frames_lost: int
    frames_in_flight: int
    events_lost: int
    duplicates: int
    reordered: int
    too_old: int
    auth_failed: int
    malformed: int
    no_session: int
    version_mismatch: int
    events_dropped: int
    outbound_frames_lost: int  # as the peer reports it in its heartbeats
    rtt_min_us: int | None
    rtt_p50_us: float | None
    rtt_p99_us: float | None
    rtt_samples: int
    clock_offset_us: float | None
    clock_uncertainty_us: float | None
    clock_drift_ppm: float | None
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def check_accounting(self) -> bool:
        """The exact loss identity (see the class docstring)."""
        return (
            self.frames_received + self.frames_lost + self.frames_in_flight == self.peer_frames_sent
        )
