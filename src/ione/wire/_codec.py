"""Packing event blocks into frame bodies and back (no cryptography, no I/O).

Body of an EVENTS frame (before encryption), for ``n`` events::

    key_base  u32                 smallest key of the frame
    dt[1:n]   (n-1) x width_t     zigzag(t[i] - t[i-1]), little-endian, width_t in {0,1,2,3,4,8}
    dk[0:n]   n x width_k         key[i] - key_base, little-endian, width_k in {0,1,2,3,4}
    value     n x 4 (optional)    float32 bit patterns, only when the VALUES flag is set

``t[0]`` is the frame's base time in the header. The widths are the smallest that hold the
frame's largest delta and key span, and are announced in the header's ``layout`` byte
(time code in bits 0-2, key code in bits 3-5). Event order is preserved exactly: times need not
be sorted (zigzag keeps negative deltas small).

Two implementations live here and are tested equal: a vectorised numpy reference
(:func:`pack_reference`, :func:`unpack_reference`) and numba kernels (:func:`pack`,
:func:`unpack`) that do one pass with no temporaries, used on the hot path.
"""

from __future__ import annotations

import itertools
from typing import Final, NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from ione._time import T_MAX_US, T_MIN_US
from ione.events import EVENT_DTYPE, EventBlock

__all__ = [
    "KEY_WIDTHS",
    "TIME_WIDTHS",
    "PackedFrames",
    "pack",
    "pack_frames",
    "pack_reference",
    "unpack",
    "unpack_reference",
]

#: Byte width of a time delta for each layout code (codes 6 and 7 are invalid).
TIME_WIDTHS: Final = (0, 1, 2, 3, 4, 8)
#: Byte width of a key offset for each layout code (codes 5-7 are invalid).
KEY_WIDTHS: Final = (0, 1, 2, 3, 4)
KEY_BASE_BYTES: Final = 4
VALUE_BYTES: Final = 4
MAX_EVENTS_PER_FRAME: Final = 0xFFFF

_TIME_WIDTHS_ARR = np.array(TIME_WIDTHS, dtype=np.int64)
_KEY_WIDTHS_ARR = np.array(KEY_WIDTHS, dtype=np.int64)


class PackedFrames(NamedTuple):
    """Bodies of consecutive frames, laid out back to back in one buffer."""

    buffer: npt.NDArray[np.uint8]  # all bodies, frame i at buffer[offsets[i]:offsets[i+1]]
    offsets: npt.NDArray[np.int64]  # (frames + 1,)
    base_us: npt.NDArray[np.int64]  # base time of each frame (its first event)
    counts: npt.NDArray[np.int64]  # events per frame
    layouts: npt.NDArray[np.uint8]  # layout byte per frame


# --------------------------------------------------------------------------------------------
# numba kernels (hot path)
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _time_code(max_zz: np.uint64) -> int:  # pragma: no cover - compiled
    if max_zz == 0:
        return 0
    if max_zz < np.uint64(1 << 8):
        return 1
    if max_zz < np.uint64(1 << 16):
        return 2
    if max_zz < np.uint64(1 << 24):
        return 3
    if max_zz < np.uint64(1 << 32):
        return 4
    return 5


@numba.njit(cache=True, nogil=True)
def _key_code(span: np.uint64) -> int:  # pragma: no cover - compiled
    if span == 0:
        return 0
    if span < np.uint64(1 << 8):
        return 1
    if span < np.uint64(1 << 16):
        return 2
    if span < np.uint64(1 << 24):
        return 3
    return 4


@numba.njit(cache=True, nogil=True)
def _zigzag(d: np.int64) -> np.uint64:  # pragma: no cover - compiled
    return np.uint64((d << np.int64(1)) ^ (d >> np.int64(63)))


@numba.njit(cache=True, nogil=True)
def _put(
    buf: npt.NDArray[np.uint8], pos: int, value: np.uint64, width: int
) -> int:  # pragma: no cover
    for b in range(width):
        buf[pos + b] = np.uint8((value >> np.uint64(8 * b)) & np.uint64(0xFF))
    return pos + width


@numba.njit(cache=True, nogil=True)
def _get(buf: npt.NDArray[np.uint8], pos: int, width: int) -> np.uint64:  # pragma: no cover
    v = np.uint64(0)
    for b in range(width):
        v |= np.uint64(buf[pos + b]) << np.uint64(8 * b)
    return v


@numba.njit(cache=True, nogil=True)
def _rec_t(raw, i):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    return np.int64(_get(raw, 16 * i, 8))


@numba.njit(cache=True, nogil=True)
def _rec_k(raw, i):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    return _get(raw, 16 * i + 8, 4)


@numba.njit(cache=True, nogil=True)
def _pack_kernel(raw, want_values, max_body, header, first_seq):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Pack records given as raw bytes (16 per event: t i64, key u32, value f32, little-endian)
    into whole frames (header followed by body; the caller adds the tag).

    ``want_values``: 1 always write values, 0 never, -1 only if some value is non-zero.
    ``header``: the 27 header bytes with the link's constant fields; sequence, base time, count,
    layout and the VALUES flag are filled in per frame. Returns (status, with_values, buffer,
    offsets): frame f is ``buffer[offsets[f]:offsets[f + 1]]``; status 1 means a time outside
    ±2**62 µs.
    """
    n = raw.shape[0] // 16
    hsize = header.shape[0]
    tw_arr = np.array((0, 1, 2, 3, 4, 8), dtype=np.int64)
    kw_arr = np.array((0, 1, 2, 3, 4), dtype=np.int64)
    tmax = np.int64(0x3FFFFFFFFFFFFFFF)
    tmin = -tmax - 1
    # Pass 1: range checks, value detection, widths over the whole batch (fix events per frame).
    max_zz = np.uint64(0)
    kmin = np.uint64(0xFFFFFFFF)
    kmax = np.uint64(0)
    any_value = False
    prev = np.int64(0)
    for i in range(n):
        ti = _rec_t(raw, i)
        if ti > tmax or ti < tmin:
            return 1, False, np.empty(0, np.uint8), np.zeros(1, np.int64)
        if i > 0:
            z = _zigzag(ti - prev)
            if z > max_zz:
                max_zz = z
        prev = ti
        kv = _rec_k(raw, i)
        if kv < kmin:
            kmin = kv
        if kv > kmax:
            kmax = kv
        if not any_value and (
            raw[16 * i + 12] | raw[16 * i + 13] | raw[16 * i + 14] | raw[16 * i + 15]
        ):
            any_value = True
    with_values = want_values == 1 or (want_values == -1 and any_value)
    wt = tw_arr[_time_code(max_zz)]
    wk = kw_arr[_key_code(kmax - kmin if n > 0 else np.uint64(0))]
    per_event = wt + wk + (4 if with_values else 0)
    chunk = (max_body - 4 + wt) // per_event if per_event > 0 else 0xFFFF
    chunk = min(chunk, 0xFFFF)
    nframes = (n + chunk - 1) // chunk
    buf = np.empty(nframes * (hsize + 4) + n * (8 + 4 + 4), dtype=np.uint8)
    offsets = np.empty(nframes + 1, dtype=np.int64)
    flags = header[4] | (1 if with_values else 0)
    pos = 0
    # Pass 2: each frame with its own (never larger) widths.
    for f in range(nframes):
        lo = f * chunk
        hi = min(n, lo + chunk)
        fz = np.uint64(0)
        fkmin = np.uint64(0xFFFFFFFF)
        fkmax = np.uint64(0)
        for i in range(lo, hi):
            if i > lo:
                z = _zigzag(_rec_t(raw, i) - _rec_t(raw, i - 1))
                if z > fz:
                    fz = z
            kv = _rec_k(raw, i)
            if kv < fkmin:
                fkmin = kv
            if kv > fkmax:
                fkmax = kv
        tc = _time_code(fz)
        kc = _key_code(fkmax - fkmin)
        fwt = tw_arr[tc]
        fwk = kw_arr[kc]
        offsets[f] = pos
        for b in range(hsize):
            buf[pos + b] = header[b]
        buf[pos + 4] = flags
        _put(buf, pos + 10, np.uint64(first_seq + f), 6)
        _put(buf, pos + 16, np.uint64(_rec_t(raw, lo)), 8)
        _put(buf, pos + 24, np.uint64(hi - lo), 2)
        buf[pos + 26] = np.uint8(tc | (kc << 3))
        pos += hsize
        pos = _put(buf, pos, fkmin, 4)
        for i in range(lo + 1, hi):
            pos = _put(buf, pos, _zigzag(_rec_t(raw, i) - _rec_t(raw, i - 1)), fwt)
        for i in range(lo, hi):
            pos = _put(buf, pos, _rec_k(raw, i) - fkmin, fwk)
        if with_values:
            for i in range(lo, hi):
                for b in range(4):
                    buf[pos + b] = raw[16 * i + 12 + b]
                pos += 4
    offsets[nframes] = pos
    return 0, with_values, buf, offsets


@numba.njit(cache=True, nogil=True)
def _unpack_kernel(body, count, base_us, layout, with_values, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Fill ``out`` (raw bytes of ``count`` records); return 0, or 1 (time range), 2 (key range)."""
    tw_arr = np.array((0, 1, 2, 3, 4, 8), dtype=np.int64)
    kw_arr = np.array((0, 1, 2, 3, 4), dtype=np.int64)
    wt = tw_arr[layout & 7]
    wk = kw_arr[(layout >> 3) & 7]
    pos = 0
    kbase = _get(body, pos, 4)
    pos += 4
    tmax = np.int64(0x3FFFFFFFFFFFFFFF)
    tmin = -tmax - 1
    cur = np.int64(base_us)
    _put(out, 0, np.uint64(cur), 8)
    for i in range(1, count):
        z = _get(body, pos, wt)
        pos += wt
        d = np.int64(z >> np.uint64(1)) ^ -np.int64(z & np.uint64(1))
        # Reject instead of wrapping: a delta that leaves the ±2**62 µs range is invalid.
        if (d > 0 and cur > tmax - d) or (d < 0 and cur < tmin - d):
            return 1
        cur = cur + d
        _put(out, 16 * i, np.uint64(cur), 8)
    for i in range(count):
        kv = kbase + _get(body, pos, wk)
        pos += wk
        if kv > np.uint64(0xFFFFFFFF):
            return 2
        _put(out, 16 * i + 8, kv, 4)
    for i in range(count):
        for b in range(4):
            out[16 * i + 12 + b] = body[pos + b] if with_values else 0
        if with_values:
            pos += 4
    return 0


class UnpackError(ValueError):
    """A body that is well-sized but encodes out-of-range times or keys."""


HEADER_BYTES: Final = 27  # the frame header; see ione.wire._frame
_ZERO_HEADER = np.zeros(HEADER_BYTES, np.uint8)


def pack_frames(
    events: EventBlock,
    want_values: bool | None,
    max_body: int,
    header: npt.NDArray[np.uint8],
    first_seq: int,
) -> tuple[bytes, list[int], bool]:
    """Pack ``events`` into whole frames (header + body, no tag) in one pass.

    Returns ``(raw, offsets, with_values)``: frame ``i`` is ``raw[offsets[i]:offsets[i+1]]``.
    Raises ``ValueError`` for a time outside ±2**62 µs.
    """
    want = -1 if want_values is None else int(bool(want_values))
    status, with_values, buf, offsets = _pack_kernel(
        events.view(np.uint8), want, max_body, header, first_seq
    )
    if status:
        raise ValueError("event times must lie within ±2**62 µs")
    off = offsets.tolist()
    return buf[: off[-1]].tobytes(), off, bool(with_values)


def pack(events: EventBlock, want_values: bool | None, max_body: int) -> PackedFrames:
    """The bodies and per-frame fields that :func:`pack_frames` produces (for tests and tools)."""
    raw, off, _ = pack_frames(events, want_values, max_body, _ZERO_HEADER, 0)
    bodies, base, counts, layouts = [], [], [], []
    for a, b in itertools.pairwise(off):
        bodies.append(raw[a + HEADER_BYTES : b])
        base.append(int.from_bytes(raw[a + 16 : a + 24], "little", signed=True))
        counts.append(int.from_bytes(raw[a + 24 : a + 26], "little"))
        layouts.append(raw[a + 26])
    offsets = np.zeros(len(bodies) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in bodies])
    return PackedFrames(
        np.frombuffer(b"".join(bodies), np.uint8).copy(),
        offsets,
        np.array(base, np.int64),
        np.array(counts, np.int64),
        np.array(layouts, np.uint8),
    )


def unpack(body: bytes, count: int, base_us: int, layout: int, with_values: bool) -> EventBlock:
    """Decode one EVENTS body whose length the caller has checked against its header."""
    out = np.empty(count, dtype=EVENT_DTYPE)
    err = _unpack_kernel(
        np.frombuffer(body, dtype=np.uint8), count, base_us, layout, with_values, out.view(np.uint8)
    )
    if err == 1:
        raise UnpackError("event time outside ±2**62 µs")
    if err == 2:
        raise UnpackError("event key beyond 32 bits")
    return out


# --------------------------------------------------------------------------------------------
# numpy reference (clear, vectorised; the kernels above are tested against it)
# --------------------------------------------------------------------------------------------


def _zigzag_np(d: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    return ((d << 1) ^ (d >> 63)).view(np.uint64)


def _code_for(max_value: int, widths: npt.NDArray[np.int64]) -> int:
    for code, w in enumerate(widths.tolist()):
        if max_value < (1 << (8 * w)):
            return code
    return len(widths) - 1


def _le_bytes(values: npt.NDArray[np.uint64], width: int) -> bytes:
    if width == 0 or values.size == 0:
        return b""
    raw = values.astype("<u8").view(np.uint8).reshape(-1, 8)
    return raw[:, :width].tobytes()


def pack_reference(events: EventBlock, with_values: bool, max_body: int) -> PackedFrames:
    """Vectorised numpy implementation of :func:`pack` (same output, byte for byte)."""
    n = events.shape[0]
    t = events["t_us"].astype(np.int64)
    k = events["key"].astype(np.uint64)
    with np.errstate(over="ignore"):
        zz = _zigzag_np(np.diff(t)) if n > 1 else np.zeros(0, np.uint64)
    wt = int(_TIME_WIDTHS_ARR[_code_for(int(zz.max()) if zz.size else 0, _TIME_WIDTHS_ARR)])
    span = int(k.max() - k.min()) if n else 0
    wk = int(_KEY_WIDTHS_ARR[_code_for(span, _KEY_WIDTHS_ARR)])
    per_event = wt + wk + (VALUE_BYTES if with_values else 0)
    chunk = min((max_body - KEY_BASE_BYTES + wt) // per_event if per_event else 0xFFFF, 0xFFFF)
    bodies: list[bytes] = []
    base, counts, layouts = [], [], []
    vbits = events["value"].view(np.uint32).astype(np.uint64)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        fz = zz[lo : hi - 1]
        fk = k[lo:hi]
        tc = _code_for(int(fz.max()) if fz.size else 0, _TIME_WIDTHS_ARR)
        kmin = int(fk.min())
        kc = _code_for(int(fk.max()) - kmin, _KEY_WIDTHS_ARR)
        body = (
            np.array([kmin], "<u4").tobytes()
            + _le_bytes(fz, TIME_WIDTHS[tc])
            + _le_bytes(fk - np.uint64(kmin), KEY_WIDTHS[kc])
            + (vbits[lo:hi].astype("<u4").tobytes() if with_values else b"")
        )
        bodies.append(body)
        base.append(int(t[lo]))
        counts.append(hi - lo)
        layouts.append(tc | (kc << 3))
    offsets = np.zeros(len(bodies) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in bodies])
    return PackedFrames(
        np.frombuffer(b"".join(bodies), np.uint8).copy(),
        offsets,
        np.array(base, np.int64),
        np.array(counts, np.int64),
        np.array(layouts, np.uint8),
    )


def _from_le(raw: bytes, count: int, width: int) -> npt.NDArray[np.uint64]:
    if width == 0:
        return np.zeros(count, np.uint64)
    a = np.zeros((count, 8), np.uint8)
    a[:, :width] = np.frombuffer(raw, np.uint8).reshape(count, width)
    return a.view("<u8").reshape(count).astype(np.uint64)


def unpack_reference(
    body: bytes, count: int, base_us: int, layout: int, with_values: bool
) -> EventBlock:
    """Vectorised numpy implementation of :func:`unpack`."""
    wt, wk = TIME_WIDTHS[layout & 7], KEY_WIDTHS[(layout >> 3) & 7]
    pos = KEY_BASE_BYTES
    kbase = int(np.frombuffer(body[:4], "<u4")[0])
    zz = _from_le(body[pos : pos + (count - 1) * wt], count - 1, wt)
    pos += (count - 1) * wt
    d = (zz >> np.uint64(1)).astype(np.int64) ^ -(zz & np.uint64(1)).astype(np.int64)
    # Exact integer accumulation (Python ints) so an overflow is detected, not wrapped.
    times = np.cumsum(np.concatenate([[base_us], d]).astype(object))
    if count and (min(times) < T_MIN_US or max(times) > T_MAX_US):
        raise UnpackError("event time outside ±2**62 µs")
    koff = _from_le(body[pos : pos + count * wk], count, wk)
    pos += count * wk
    keys = koff + np.uint64(kbase)
    if count and int(keys.max()) > 0xFFFFFFFF:
        raise UnpackError("event key beyond 32 bits")
    out = np.zeros(count, EVENT_DTYPE)
    out["t_us"] = np.array(times, dtype=np.int64)
    out["key"] = keys.astype(np.uint32)
    if with_values:
        out["value"] = np.frombuffer(body[pos : pos + 4 * count], "<u4").view(np.float32)
    return out
