"""ione's wire protocol: authenticated, measured spike links, sans-I/O.

Nothing in this package opens a socket, starts a thread or reads a clock: bytes and the current
time go in, events and bytes come out (see docs/wire-format.md and docs/time.md).

- :class:`Link` is one end of a link: handshake, sealing, anti-replay, loss accounting, clock sync.
- :class:`FrameCodec` seals and opens native v1 frames statelessly.
- :mod:`ione.wire.ramp8` speaks the 2020 hub's 8-byte packets.
- :mod:`ione.wire.keys` reads and writes pre-shared key files.
- :class:`BadFrame` is the one error for undecodable or unauthentic input.
"""

from ione.wire import keys, ramp8
from ione.wire._clock import ClockEstimate, ClockEstimator, ClockSample
from ione.wire._control import Capability
from ione.wire._frame import DEFAULT_MTU, MIN_MTU, VERSION, Frame, FrameCodec, FrameType
from ione.wire._link import Link, connect_in_memory
from ione.wire._linktypes import (
    ClockUpdated,
    EventsReceived,
    LinkConfig,
    LinkEvent,
    LinkFailed,
    LinkState,
    LinkStatistics,
    PeerClosed,
    PeerJoined,
    PeerLost,
    PeerReturned,
)
from ione.wire._window import ReceiveWindow
from ione.wire.errors import REASONS, BadFrame
from ione.wire.keys import Keyring, read_key_file, write_key_file

__all__ = [
    "DEFAULT_MTU",
    "MIN_MTU",
    "REASONS",
    "VERSION",
    "BadFrame",
    "Capability",
    "ClockEstimate",
    "ClockEstimator",
    "ClockSample",
    "ClockUpdated",
    "EventsReceived",
    "Frame",
    "FrameCodec",
    "FrameType",
    "Keyring",
    "Link",
    "LinkConfig",
    "LinkEvent",
    "LinkFailed",
    "LinkState",
    "LinkStatistics",
    "PeerClosed",
    "PeerJoined",
    "PeerLost",
    "PeerReturned",
    "ReceiveWindow",
    "connect_in_memory",
    "keys",
    "ramp8",
    "read_key_file",
    "write_key_file",
]
