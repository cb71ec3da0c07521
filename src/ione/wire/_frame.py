"""Native frame v1: header, sealing with ChaCha20-Poly1305, opening. No state, no I/O.

Byte layout (all integers little-endian; see docs/wire-format.md for the drawing)::

    off  size  field
      0     2  magic        0x69 0x4F ("iO")
      2     1  version      1
      3     1  type         FrameType
      4     1  flags        bit 0 VALUES, bit 1 DIRECTION, bits 2-7 zero
      5     1  key id       which pre-shared key the link uses
      6     4  link id
     10     6  sequence     48 low bits of the sender's 64-bit frame counter
     16     8  base time    int64 µs: first event (EVENTS) or the sender's clock (control)
     24     2  count        number of events (0 for control frames)
     26     1  layout       event widths (EVENTS), 0 otherwise
     27     -  [12 random nonce bytes, HELLO and WELCOME only]
      -     -  ciphertext   the body, encrypted
      -    16  tag          Poly1305 over header (+ nonce) and ciphertext

In-session frames use the 96-bit nonce ``direction (1 byte) | 0 0 0 | sequence (8 bytes LE)``
with a per-session, per-direction key, so a nonce never repeats under a key. HELLO and WELCOME
carry a fresh random nonce and are sealed with a handshake key derived from the pre-shared key.
"""

from __future__ import annotations

import enum
import struct
from typing import Final, NamedTuple

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ione._time import T_MAX_US, T_MIN_US
from ione.events import EventBlock, as_events
from ione.wire import _codec
from ione.wire.errors import BadFrame

__all__ = [
    "DEFAULT_MTU",
    "FLAG_DIRECTION",
    "FLAG_VALUES",
    "HEADER",
    "MAGIC",
    "MIN_MTU",
    "NONCE_BYTES",
    "TAG_BYTES",
    "VERSION",
    "Frame",
    "FrameCodec",
    "FrameType",
    "derive_handshake_key",
    "derive_session_keys",
    "parse_header",
]

MAGIC: Final = b"iO"
VERSION: Final = 1
HEADER: Final = struct.Struct("<2sBBBBI6sqHB")
TAG_BYTES: Final = 16
NONCE_BYTES: Final = 12
FLAG_VALUES: Final = 0x01
FLAG_DIRECTION: Final = 0x02
_FLAGS_KNOWN: Final = FLAG_VALUES | FLAG_DIRECTION
DEFAULT_MTU: Final = 1200
#: Smallest datagram payload that fits a header, one fully-sized event and the tag.
MIN_MTU: Final = HEADER.size + TAG_BYTES + _codec.KEY_BASE_BYTES + 8 + 4 + 4
SEQ_WIRE_BITS: Final = 48
SEQ_WIRE_MASK: Final = (1 << SEQ_WIRE_BITS) - 1
_NONCE_PAD: Final = b"\x00\x00\x00"
_SEQ_PACK = struct.Struct("<Q").pack


class FrameType(enum.IntEnum):
    """Frame types of protocol v1."""

    EVENTS = 1
    HELLO = 2
    WELCOME = 3
    PING = 4
    PONG = 5
    HEARTBEAT = 6
    BYE = 7


_EVENTS: Final = int(FrameType.EVENTS)
_HS: Final = HEADER.size
# (time width, key width) for each layout byte, None where the byte is invalid.
_LAYOUTS: Final = [
    (_codec.TIME_WIDTHS[b & 7], _codec.KEY_WIDTHS[(b >> 3) & 7])
    if (b & 7) < len(_codec.TIME_WIDTHS) and ((b >> 3) & 7) < len(_codec.KEY_WIDTHS) and not b >> 6
    else None
    for b in range(256)
]
_HANDSHAKE_TYPES: Final = frozenset({FrameType.HELLO, FrameType.WELCOME})
_TYPE_BY_VALUE: Final = {int(t): t for t in FrameType}


class Frame(NamedTuple):
    """An opened frame: its header fields and either events or a control body."""

    type: FrameType
    flags: int
    key_id: int
    link_id: int
    seq: int  # full sequence number (the 48 wire bits, extended by the receiver)
    base_us: int
    n_events: int
    events: EventBlock | None  # EVENTS frames
    body: bytes  # control frames (empty for EVENTS)

    @property
    def direction(self) -> int:
        return 1 if self.flags & FLAG_DIRECTION else 0


class Header(NamedTuple):
    """The clear-text header fields of a datagram (not yet authenticated)."""

    type: FrameType
    flags: int
    key_id: int
    link_id: int
    seq: int
    base_us: int
    n_events: int
    layout: int


def parse_header(data: bytes) -> Header:
    """Parse and check the clear-text header of a datagram (nothing is authenticated yet)."""
    if len(data) < HEADER.size + TAG_BYTES:
        raise BadFrame(
            "truncated", f"{len(data)} bytes, a frame has at least {HEADER.size + TAG_BYTES}"
        )
    magic, version, ftype, flags, key_id, link_id, seq_raw, base_us, count, layout = (
        HEADER.unpack_from(data)
    )
    if magic != MAGIC:
        raise BadFrame("magic", f"starts with {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise BadFrame(
            "version", f"peer speaks ione wire version {version}, this site speaks {VERSION}"
        )
    t = _TYPE_BY_VALUE.get(ftype)
    if t is None:
        raise BadFrame("type", f"unknown frame type {ftype}")
    if flags & ~_FLAGS_KNOWN:
        raise BadFrame("flags", f"reserved flag bits set (0x{flags:02x})")
    if t is not FrameType.EVENTS and (count or layout or flags & FLAG_VALUES):
        raise BadFrame("flags", f"{t.name} frame carries event fields")
    if not T_MIN_US <= base_us <= T_MAX_US:
        raise BadFrame("body", "base time outside ±2**62 µs")
    return Header(
        t, flags, key_id, link_id, int.from_bytes(seq_raw, "little"), base_us, count, layout
    )


def derive_handshake_key(psk: bytes, link_id: int) -> bytes:
    """Key that seals HELLO and WELCOME on one link (HKDF-SHA256 of the pre-shared key)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"ione wire v1",
        info=b"handshake" + link_id.to_bytes(4, "little"),
    ).derive(psk)


def derive_session_keys(
    psk: bytes, link_id: int, initiator_random: bytes, responder_random: bytes
) -> tuple[bytes, bytes]:
    """Per-session keys (initiator→responder, responder→initiator) from both sides' randoms.

    Fresh randoms at every handshake give fresh keys, so sequence numbers (and nonces) restart
    at 0 after a site restarts without ever repeating under a key.
    """
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=64,
        salt=initiator_random + responder_random,
        info=b"ione wire v1 session" + link_id.to_bytes(4, "little"),
    ).derive(psk)
    return okm[:32], okm[32:]


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != 32:
        raise ValueError("a link key must be exactly 32 bytes")


class FrameCodec:
    """Seals and opens frames of one direction of one link under one 32-byte key.

    Parameters
    ----------
    key
        32-byte ChaCha20-Poly1305 key.
    key_id
        Key id written into (and required in) every header.
    link_id
        Link id written into (and required in) every header.
    direction
        0 for frames from the link's initiator, 1 for frames from its responder. Opening checks
        it, so a frame reflected back to its sender is rejected.
    """

    __slots__ = ("_aead", "_dir_byte", "_flags", "_template", "direction", "key_id", "link_id")

    def __init__(self, key: bytes, *, key_id: int, link_id: int, direction: int) -> None:
        _check_key(key)
        if not 0 <= key_id <= 0xFF:
            raise ValueError(f"key id must be 0 ... 255, got {key_id}")
        if not 0 <= link_id <= 0xFFFFFFFF:
            raise ValueError(f"link id must fit in 32 bits, got {link_id}")
        if direction not in (0, 1):
            raise ValueError(f"direction must be 0 or 1, got {direction}")
        self._aead = ChaCha20Poly1305(bytes(key))
        self.key_id = key_id
        self.link_id = link_id
        self.direction = direction
        self._flags = FLAG_DIRECTION if direction else 0
        self._dir_byte = bytes((direction,))
        # Constant header fields of EVENTS frames; the packing kernel fills in the rest.
        self._template = np.frombuffer(
            HEADER.pack(MAGIC, VERSION, _EVENTS, self._flags, key_id, link_id, bytes(6), 0, 0, 0),
            np.uint8,
        ).copy()

    def _nonce(self, seq: int) -> bytes:
        return self._dir_byte + _NONCE_PAD + _SEQ_PACK(seq)

    # ---------------------------------------------------------------------------- sealing
    def seal_events(
        self,
        events: EventBlock,
        first_seq: int,
        *,
        mtu: int = DEFAULT_MTU,
        with_values: bool | None = None,
    ) -> list[bytes]:
        """Seal a block of events into as many EVENTS frames as the MTU requires.

        Frame ``i`` gets sequence number ``first_seq + i``. With ``with_values=None`` the VALUES
        flag is set only when some value is non-zero.
        """
        ev = as_events(events)
        if ev.shape[0] == 0:
            return []
        if mtu < MIN_MTU:
            raise ValueError(f"mtu must be at least {MIN_MTU} bytes, got {mtu}")
        raw, off, _ = _codec.pack_frames(
            ev, with_values, mtu - HEADER.size - TAG_BYTES, self._template, first_seq
        )
        seal = self._aead.encrypt
        prefix = self._dir_byte + _NONCE_PAD
        hs = HEADER.size
        frames = []
        for i in range(len(off) - 1):
            a = off[i]
            header = raw[a : a + hs]
            frames.append(
                header + seal(prefix + _SEQ_PACK(first_seq + i), raw[a + hs : off[i + 1]], header)
            )
        return frames

    def seal_control(self, ftype: FrameType, seq: int, now_us: int, body: bytes) -> bytes:
        """Seal an in-session control frame (PING, PONG, HEARTBEAT, BYE)."""
        if ftype in _HANDSHAKE_TYPES or ftype is FrameType.EVENTS:
            raise ValueError(f"{ftype.name} is not an in-session control frame")
        header = HEADER.pack(
            MAGIC,
            VERSION,
            ftype,
            self._flags,
            self.key_id,
            self.link_id,
            (seq & SEQ_WIRE_MASK).to_bytes(6, "little"),
            now_us,
            0,
            0,
        )
        return header + self._aead.encrypt(self._nonce(seq), body, header)

    def seal_handshake(self, ftype: FrameType, nonce: bytes, now_us: int, body: bytes) -> bytes:
        """Seal a HELLO or WELCOME with an explicit random 12-byte nonce."""
        if ftype not in _HANDSHAKE_TYPES:
            raise ValueError(f"{ftype.name} is not a handshake frame")
        if len(nonce) != NONCE_BYTES:
            raise ValueError("handshake nonce must be 12 bytes")
        header = (
            HEADER.pack(
                MAGIC,
                VERSION,
                ftype,
                self._flags,
                self.key_id,
                self.link_id,
                bytes(6),
                now_us,
                0,
                0,
            )
            + nonce
        )
        return header + self._aead.encrypt(nonce, body, header)

    # ---------------------------------------------------------------------------- opening
    def open(self, data: bytes, header: Header | None = None, *, seq: int | None = None) -> Frame:
        """Authenticate and decode one datagram; raise :class:`BadFrame` if anything is wrong.

        Either every event of the frame is returned or nothing is: there are no partial results.

        Parameters
        ----------
        header
            The already parsed header of ``data``, if the caller has it.
        seq
            The full 64-bit sequence number that the 48 bits on the wire stand for (a receive
            window reconstructs it, see :meth:`ReceiveWindow.expand`); by default the wire value.
        """
        h = parse_header(data) if header is None else header
        ftype, flags, count = h.type, h.flags, h.n_events
        if seq is None:
            seq = h.seq
        elif seq & SEQ_WIRE_MASK != h.seq:
            raise ValueError("seq does not match the frame's 48-bit sequence field")
        if h.link_id != self.link_id:
            raise BadFrame("link", f"link id {h.link_id}, this link is {self.link_id}")
        if h.key_id != self.key_id:
            raise BadFrame("key", f"key id {h.key_id}, expected {self.key_id}")
        if flags & FLAG_DIRECTION != self._flags:
            raise BadFrame("flags", "frame travels in the wrong direction (reflected?)")
        aad_end = _HS
        if ftype is FrameType.EVENTS:
            widths = _LAYOUTS[h.layout]
            if widths is None:
                raise BadFrame("layout", f"invalid layout byte 0x{h.layout:02x}")
            if count == 0:
                raise BadFrame("body", "EVENTS frame with no events")
            wt, wk = widths
            expected = _HS + 4 + (count - 1) * wt + count * (wk + (4 if flags & FLAG_VALUES else 0))
            if len(data) != expected + TAG_BYTES:
                raise BadFrame(
                    "length", f"{len(data)} bytes, header announces {expected + TAG_BYTES}"
                )
            nonce = self._dir_byte + _NONCE_PAD + _SEQ_PACK(seq)
        elif ftype in _HANDSHAKE_TYPES:
            if len(data) < _HS + NONCE_BYTES + TAG_BYTES:
                raise BadFrame("truncated", "handshake frame shorter than header, nonce and tag")
            if h.seq != 0:
                raise BadFrame("flags", "handshake frame with a non-zero sequence field")
            aad_end = _HS + NONCE_BYTES
            nonce = data[_HS:aad_end]
        else:
            nonce = self._dir_byte + _NONCE_PAD + _SEQ_PACK(seq)
        try:
            body = self._aead.decrypt(nonce, data[aad_end:], data[:aad_end])
        except InvalidTag:
            raise BadFrame("auth", "authentication tag does not match") from None
        if ftype is FrameType.EVENTS:
            try:
                events = _codec.unpack(body, count, h.base_us, h.layout, bool(flags & FLAG_VALUES))
            except _codec.UnpackError as exc:
                raise BadFrame("body", str(exc)) from None
            return Frame(ftype, flags, h.key_id, h.link_id, seq, h.base_us, count, events, b"")
        return Frame(ftype, flags, h.key_id, h.link_id, seq, h.base_us, count, None, body)
