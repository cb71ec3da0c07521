"""``ramp8``: the 8-byte UDP packet of the 2020 brain–memristor–silicon hub, exactly.

Each datagram of the original system carried one event in two **big-endian** 32-bit words
(Serb et al., Sci. Rep. 10:2590, 2020; the ArC ONE hub software, ``UDPmod.py``)::

    byte   0        1  2  3         4        5  6  7
         +--------+----------+     +--------+----------+
         | partner| neuron id|     |  code  |  time    |
         +--------+----------+     +--------+----------+
          bits 31..24  23..0        bits 31..24  23..0

``partner`` is ``'A'`` (65, silicon), ``'D'`` (68, biology), ``'S'`` (83, synapse hub) or ``'R'``
(82, ready). ``code`` is the event type from D (0 PSP, 1 stimulated AP, 2 spontaneous AP), 0 from A,
the weight byte 0–255 from S and 255 from R. ``time`` counts 50 µs ticks: from A the interval since
the previous silicon event, from D the latency to the stimulus, from S the hub's absolute time.

Field widths: the original sender masked ids and times to **20 bits** (``0x0FFFFF``) while its
receiver read **24 bits**. :func:`decode` reads 24 bits (it accepts everything the original sent
and more); :func:`encode` writes 24 bits and refuses larger values, unless ``wrap_bits=20`` (or 24)
asks for the original masking. The hub's absolute time therefore wraps every 2**20 ticks
(52.4288 s) on the legacy wire; :func:`unwrap_ticks` restores a monotonic count from a stream of
wrapped values, assuming consecutive packets are less than half a wrap (26.2 s) apart.

The converters turn records into :mod:`ione.events` blocks and back, vectorised.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from ione._time import TICK_50US
from ione.events import EventBlock, as_events, make_events
from ione.wire.errors import BadFrame

__all__ = [
    "PARTNERS",
    "RAMP8_DTYPE",
    "biology_to_events",
    "decode",
    "encode",
    "events_to_hub",
    "events_to_silicon",
    "hub_to_events",
    "records",
    "silicon_to_events",
    "unwrap_ticks",
]

#: The record dtype of decoded packets.
RAMP8_DTYPE: Final = np.dtype(
    [("partner", "u1"), ("neuron", "<u4"), ("code", "u1"), ("ticks", "<u4")]
)
#: Partner codes: silicon, biology, synapse hub, ready.
PARTNERS: Final = {"A": 65, "D": 68, "S": 83, "R": 82}
_PARTNER_CODES: Final = np.array(sorted(PARTNERS.values()), dtype=np.uint8)
PACKET_BYTES: Final = 8
_MASK24: Final = 0xFFFFFF


def decode(data: bytes) -> npt.NDArray[np.void]:
    """Decode one or more concatenated ramp8 packets.

    Raises
    ------
    BadFrame
        (reason ``"ramp8"``) if the length is not a multiple of 8 or a partner code is unknown.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"ramp8.decode needs bytes, got {type(data).__name__}")
    n, rest = divmod(len(data), PACKET_BYTES)
    if rest:
        raise BadFrame("ramp8", f"{len(data)} bytes is not a whole number of 8-byte packets")
    words = np.frombuffer(data, dtype=">u4").reshape(n, 2)
    partner = (words[:, 0] >> 24).astype(np.uint8)
    bad = ~np.isin(partner, _PARTNER_CODES)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadFrame("ramp8", f"unknown partner code 0x{partner[i]:02x} in packet {i}")
    out = np.empty(n, dtype=RAMP8_DTYPE)
    out["partner"] = partner
    out["neuron"] = words[:, 0] & _MASK24
    out["code"] = words[:, 1] >> 24
    out["ticks"] = words[:, 1] & _MASK24
    return out


def records(
    partner: str | npt.ArrayLike, neuron: npt.ArrayLike, code: npt.ArrayLike, ticks: npt.ArrayLike
) -> npt.NDArray[np.void]:
    """Build ramp8 records; ``partner`` may be a letter (``"A"``) or codes (65)."""
    if isinstance(partner, str):
        if partner not in PARTNERS:
            raise ValueError(
                f"unknown ramp8 partner {partner!r}; expected one of {sorted(PARTNERS)}"
            )
        partner = PARTNERS[partner]
    cols = np.broadcast_arrays(
        np.asarray(partner), np.asarray(neuron), np.asarray(code), np.asarray(ticks)
    )
    out = np.empty(cols[0].size, dtype=RAMP8_DTYPE)
    for name, col in zip(("partner", "neuron", "code", "ticks"), cols, strict=True):
        c = np.asarray(col).ravel()
        if c.size and (c.min() < 0 or (name in ("partner", "code") and c.max() > 0xFF)):
            raise ValueError(f"ramp8 {name} out of range: {c.min()} ... {c.max()}")
        out[name] = c
    return out


def encode(recs: npt.NDArray[np.void], *, wrap_bits: int | None = None) -> bytes:
    """Encode records (fields ``partner, neuron, code, ticks``) into concatenated packets.

    Parameters
    ----------
    wrap_bits
        None (default): neuron ids and times must fit in 24 bits or ``ValueError`` is raised.
        20 or 24: mask them to that many bits, as the 2020 hub did with 20.
    """
    names = recs.dtype.names or ()
    for f in ("partner", "neuron", "code", "ticks"):
        if f not in names:
            raise TypeError(f"ramp8 records need field {f!r}; got fields {names}")
    partner = np.asarray(recs["partner"], dtype=np.int64)
    neuron = np.asarray(recs["neuron"], dtype=np.int64)
    code = np.asarray(recs["code"], dtype=np.int64)
    ticks = np.asarray(recs["ticks"], dtype=np.int64)
    if partner.size and not np.isin(partner, _PARTNER_CODES).all():
        bad = partner[~np.isin(partner, _PARTNER_CODES)][0]
        raise ValueError(f"unknown ramp8 partner code {bad}; expected one of {PARTNERS}")
    if code.size and (code.min() < 0 or code.max() > 0xFF):
        raise ValueError("ramp8 code must be 0 ... 255")
    if wrap_bits is None:
        for name, col in (("neuron", neuron), ("ticks", ticks)):
            if col.size and (col.min() < 0 or col.max() > _MASK24):
                raise ValueError(
                    f"ramp8 {name} must fit in 24 bits (0 ... {_MASK24}); "
                    "pass wrap_bits=20 or 24 to mask it as the legacy hub did"
                )
    elif wrap_bits in (20, 24):
        mask = (1 << wrap_bits) - 1
        if (neuron.size and neuron.min() < 0) or (ticks.size and ticks.min() < 0):
            raise ValueError("ramp8 neuron ids and times must be non-negative")
        neuron, ticks = neuron & mask, ticks & mask
    else:
        raise ValueError(f"wrap_bits must be None, 20 or 24, got {wrap_bits}")
    words = np.empty((partner.size, 2), dtype=">u4")
    words[:, 0] = (partner << 24) | neuron
    words[:, 1] = (code << 24) | ticks
    return words.tobytes()


def unwrap_ticks(ticks: npt.ArrayLike, bits: int = 20) -> npt.NDArray[np.int64]:
    """Undo the wrap of a counter that was masked to ``bits`` bits.

    Consecutive values are taken to be less than half a wrap apart and moving forward; the first
    value is kept as is.
    """
    t = np.asarray(ticks, dtype=np.int64)
    if t.size == 0:
        return t.copy()
    mod = 1 << bits
    if t.min() < 0 or t.max() >= mod:
        raise ValueError(f"wrapped ticks must lie in 0 ... {mod - 1}")
    out = np.empty_like(t)
    out[0] = t[0]
    np.cumsum(np.diff(t) % mod, out=out[1:])
    out[1:] += t[0]
    return out


def _select(recs: npt.NDArray[np.void], letter: str) -> npt.NDArray[np.void]:
    out: npt.NDArray[np.void] = recs[recs["partner"] == PARTNERS[letter]]
    return out


def silicon_to_events(
    recs: npt.NDArray[np.void], *, t0_us: int = 0, key_base: int = 0
) -> EventBlock:
    """Silicon (``A``) packets to events: time is the running sum of the Δt field.

    The 2020 system used this stream as its master clock: ``t = t0 + 50 µs * cumsum(ticks)``.
    Packets of other partners are ignored.
    """
    a = _select(recs, "A")
    t = t0_us + np.cumsum(a["ticks"].astype(np.int64)) * TICK_50US
    return make_events(t, key_base + a["neuron"].astype(np.int64))


def events_to_silicon(events: EventBlock, *, t0_us: int = 0) -> npt.NDArray[np.void]:
    """Events (time-sorted) to silicon (``A``) packets with Δt in 50 µs ticks.

    Absolute times are rounded to ticks first and differenced after, so rounding never
    accumulates: the receiver's running sum stays within half a tick of each true time.
    """
    ev = as_events(events)
    ticks_abs = np.floor_divide(ev["t_us"] - t0_us + TICK_50US // 2, TICK_50US)
    dt = np.diff(ticks_abs, prepend=0)
    if dt.size and dt.min() < 0:
        raise ValueError("events must be sorted by time and not before t0_us")
    if dt.size and dt.max() > _MASK24:
        raise ValueError("an interval exceeds 2**24 ticks (838.9 s), the ramp8 limit")
    keys = ev["key"].astype(np.int64)
    if keys.size and keys.max() > _MASK24:
        raise ValueError("neuron keys above 2**24 - 1 do not fit a ramp8 packet")
    return records("A", keys, 0, dt)


def hub_to_events(recs: npt.NDArray[np.void], *, bits: int = 20, key_base: int = 0) -> EventBlock:
    """Hub (``S``) packets to events: target neuron, weight byte as value, unwrapped hub time."""
    s = _select(recs, "S")
    t = unwrap_ticks(s["ticks"], bits) * TICK_50US
    return make_events(t, key_base + s["neuron"].astype(np.int64), s["code"].astype(np.float32))


def events_to_hub(events: EventBlock, *, bits: int = 20) -> npt.NDArray[np.void]:
    """Events (value = weight byte 0–255) to hub (``S``) packets, time masked to ``bits`` bits."""
    ev = as_events(events)
    w = ev["value"]
    if w.size and (not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 255):
        raise ValueError("hub packets carry a weight byte: values must be finite and in 0 ... 255")
    keys = ev["key"].astype(np.int64)
    if keys.size and keys.max() > _MASK24:
        raise ValueError("neuron keys above 2**24 - 1 do not fit a ramp8 packet")
    if ev["t_us"].size and ev["t_us"].min() < 0:
        raise ValueError("hub time must be non-negative")
    ticks = np.floor_divide(ev["t_us"] + TICK_50US // 2, TICK_50US) & ((1 << bits) - 1)
    return records("S", keys, np.rint(w).astype(np.int64), ticks)


def biology_to_events(
    recs: npt.NDArray[np.void], reference_us: npt.ArrayLike, *, key_base: int = 0
) -> EventBlock:
    """Biology (``D``) packets to events placed at ``reference + latency``.

    The 2020 hub placed each biological event at the time of the stimulus it answered (the last
    presynaptic spike) plus the reported latency; ``reference_us`` gives that time per D packet.
    The event type (0 PSP, 1 stimulated AP, 2 spontaneous AP) becomes the value.
    """
    d = _select(recs, "D")
    ref = np.broadcast_to(np.asarray(reference_us, dtype=np.int64), d.shape)
    t = ref + d["ticks"].astype(np.int64) * TICK_50US
    return make_events(t, key_base + d["neuron"].astype(np.int64), d["code"].astype(np.float32))
