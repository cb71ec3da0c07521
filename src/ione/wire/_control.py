"""Bodies of control frames (HELLO, WELCOME, PING, PONG, HEARTBEAT, BYE).

All integers are little-endian. A body that does not parse exactly (wrong length, bad UTF-8,
trailing bytes, an empty or inverted address range) raises :class:`BadFrame` with reason
``"body"``. See docs/wire-format.md for the byte layouts.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

from ione.events import KeyRange
from ione.wire.errors import BadFrame

__all__ = [
    "RANDOM_BYTES",
    "Bye",
    "Capability",
    "Heartbeat",
    "Hello",
    "Ping",
    "Pong",
]

RANDOM_BYTES: Final = 16
MAX_NAME_BYTES: Final = 64
MAX_RANGES: Final = 64
MAX_REASON_BYTES: Final = 200


class Capability(enum.IntFlag):
    """What a site can do, announced in HELLO/WELCOME."""

    NONE = 0
    SEND_EVENTS = 0x01  # produces spikes/events
    RECEIVE_EVENTS = 0x02  # consumes spikes/events
    VALUES = 0x04  # understands valued events (weights, amplitudes)
    STIMULATION = 0x08  # accepts stimulation commands (guarded)
    SYNAPSES = 0x10  # hosts memristive synapses (a hub)
    RAMP8_BRIDGE = 0x20  # translates to and from the 2020 hub's ramp8 packets


_HELLO_FIXED = struct.Struct(f"<H{RANDOM_BYTES}sIIB")
_WELCOME_ECHO = struct.Struct(f"<{RANDOM_BYTES}s")
_RANGE = struct.Struct("<II")
_PING = struct.Struct("<I")
_PONG = struct.Struct("<Iqq")
_HEARTBEAT = struct.Struct("<QQQQQ")


def _bad(message: str) -> BadFrame:
    return BadFrame("body", message)


@dataclass(frozen=True, slots=True)
class Hello:
    """HELLO (initiator) and WELCOME (responder) body.

    ``echo`` is empty in a HELLO; in a WELCOME it repeats the HELLO's ``random``, binding the
    answer to the question.
    """

    protocol_version: int
    random: bytes
    capabilities: Capability
    heartbeat_interval_us: int
    site: str
    ranges: tuple[KeyRange, ...] = ()
    echo: bytes = b""

    def encode(self) -> bytes:
        name = self.site.encode("utf-8")
        if not 1 <= len(name) <= MAX_NAME_BYTES:
            raise ValueError(
                f"site name must be 1 ... {MAX_NAME_BYTES} UTF-8 bytes, got {self.site!r}"
            )
        if len(self.random) != RANDOM_BYTES:
            raise ValueError(f"handshake random must be {RANDOM_BYTES} bytes")
        if len(self.ranges) > MAX_RANGES:
            raise ValueError(f"at most {MAX_RANGES} address ranges per site")
        parts = [
            _HELLO_FIXED.pack(
                self.protocol_version,
                self.random,
                int(self.capabilities),
                self.heartbeat_interval_us,
                len(name),
            ),
            name,
            bytes((len(self.ranges),)),
        ]
        for r in self.ranges:
            if len(r) == 0:
                raise ValueError(f"empty address range {r}")
            parts.append(_RANGE.pack(r.start, r.stop - 1))
        if self.echo:
            parts.append(_WELCOME_ECHO.pack(self.echo))
        return b"".join(parts)

    @classmethod
    def decode(cls, body: bytes, *, welcome: bool) -> Hello:
        if len(body) < _HELLO_FIXED.size:
            raise _bad("handshake body too short")
        version, rnd, caps, hb, name_len = _HELLO_FIXED.unpack_from(body)
        pos = _HELLO_FIXED.size
        if not 1 <= name_len <= MAX_NAME_BYTES or len(body) < pos + name_len + 1:
            raise _bad("handshake site name has an invalid length")
        try:
            site = body[pos : pos + name_len].decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("handshake site name is not UTF-8") from None
        pos += name_len
        n_ranges = body[pos]
        pos += 1
        if n_ranges > MAX_RANGES:
            raise _bad(f"{n_ranges} address ranges, at most {MAX_RANGES}")
        expected = pos + n_ranges * _RANGE.size + (RANDOM_BYTES if welcome else 0)
        if len(body) != expected:
            raise _bad(f"handshake body is {len(body)} bytes, its fields need {expected}")
        ranges = []
        for _ in range(n_ranges):
            start, last = _RANGE.unpack_from(body, pos)
            pos += _RANGE.size
            if last < start:
                raise _bad(f"inverted address range {start}..{last}")
            ranges.append(KeyRange(start, last + 1))
        echo = body[pos : pos + RANDOM_BYTES] if welcome else b""
        known = Capability(0)
        for flag in Capability:
            known |= flag
        return cls(version, rnd, Capability(caps & int(known)), hb, site, tuple(ranges), echo)


@dataclass(frozen=True, slots=True)
class Ping:
    """PING: an id; the send time ``t1`` is the frame's base time."""

    ping_id: int

    def encode(self) -> bytes:
        return _PING.pack(self.ping_id)

    @classmethod
    def decode(cls, body: bytes) -> Ping:
        if len(body) != _PING.size:
            raise _bad(f"PING body is {len(body)} bytes, expected {_PING.size}")
        return cls(*_PING.unpack(body))


@dataclass(frozen=True, slots=True)
class Pong:
    """PONG: the PING's id and send time ``t1``, and the time ``t2`` it arrived.

    The PONG's own send time ``t3`` is the frame's base time; its arrival is ``t4``.
    """

    ping_id: int
    t1_us: int
    t2_us: int

    def encode(self) -> bytes:
        return _PONG.pack(self.ping_id, self.t1_us, self.t2_us)

    @classmethod
    def decode(cls, body: bytes) -> Pong:
        if len(body) != _PONG.size:
            raise _bad(f"PONG body is {len(body)} bytes, expected {_PONG.size}")
        return cls(*_PONG.unpack(body))


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """HEARTBEAT: the sender's counters, so the receiver computes loss exactly.

    ``frames_sent`` and ``events_sent`` count the frames, and the events in them, that the sender
    sealed before this heartbeat in this session (``frames_sent`` is therefore the heartbeat's own
    sequence number, which the receiver checks).
    ``frames_received``/``frames_lost`` are the sender's view of the *other* direction, so each
    side also learns how its own outgoing traffic fares.
    """

    frames_sent: int
    events_sent: int
    frames_received: int
    frames_lost: int
    frames_in_flight: int

    def encode(self) -> bytes:
        return _HEARTBEAT.pack(
            self.frames_sent,
            self.events_sent,
            self.frames_received,
            self.frames_lost,
            self.frames_in_flight,
        )

    @classmethod
    def decode(cls, body: bytes) -> Heartbeat:
        if len(body) != _HEARTBEAT.size:
            raise _bad(f"HEARTBEAT body is {len(body)} bytes, expected {_HEARTBEAT.size}")
        return cls(*_HEARTBEAT.unpack(body))


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE: the sender leaves; a short human-readable reason."""

    reason: str = ""

    def encode(self) -> bytes:
        # Cut at a character boundary so the receiver always gets valid UTF-8.
        raw = self.reason.encode("utf-8")[:MAX_REASON_BYTES].decode("utf-8", "ignore").encode()
        return bytes((len(raw),)) + raw

    @classmethod
    def decode(cls, body: bytes) -> Bye:
        if not body or len(body) != 1 + body[0]:
            raise _bad("BYE body length does not match its reason")
        try:
            return cls(body[1:].decode("utf-8"))
        except UnicodeDecodeError:
            raise _bad("BYE reason is not UTF-8") from None
