"""Native frame v1: golden vectors, round trips, compactness, hostile input, bit flips."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ione._time import T_MAX_US, T_MIN_US
from ione.events import EVENT_DTYPE, make_events
from ione.wire import DEFAULT_MTU, MIN_MTU, BadFrame, FrameCodec, FrameType, _codec

KEY = bytes(range(32))


def codec(direction: int = 0, key: bytes = KEY) -> FrameCodec:
    return FrameCodec(key, key_id=3, link_id=0x01020304, direction=direction)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-exact equality of event blocks (NaN values included)."""
    return a.shape == b.shape and a.tobytes() == b.tobytes()


# ------------------------------------------------------------------------- golden vectors
def test_golden_spike_frame() -> None:
    ev = make_events([1000, 1010, 1005], [0x00100007, 0x00100002, 0x00100010])
    header = bytes.fromhex(
        "694f"  # magic "iO"
        "01"  # version
        "01"  # type EVENTS
        "00"  # flags: no values, direction 0
        "03"  # key id
        "04030201"  # link id 0x01020304
        "050000000000"  # sequence 5 (48 bits)
        "e803000000000000"  # base time 1000 µs
        "0300"  # 3 events
        "09"  # layout: 1-byte time deltas (code 1), 1-byte key offsets (code 1 << 3)
    )
    body = bytes.fromhex(
        "02001000"  # key base 0x00100002
        "1409"  # zigzag(+10) = 20, zigzag(-5) = 9
        "05000e"  # key offsets 5, 0, 14
    )
    nonce = bytes.fromhex("000000000500000000000000")  # direction, 3 zero bytes, seq (LE u64)
    expected = header + ChaCha20Poly1305(KEY).encrypt(nonce, body, header)
    frames = codec().seal_events(ev, 5)
    assert frames == [expected]
    opened = codec().open(expected)
    assert opened.type is FrameType.EVENTS and opened.seq == 5 and same(opened.events, ev)


def test_golden_valued_frame_wide_fields_negative_time_high_sequence() -> None:
    ev = make_events([-5, 65531], [0xFFFFFFFF, 0], [1.5, -2.0])
    seq = (1 << 48) + 7
    header = bytes.fromhex(
        "694f"
        "01"
        "01"
        "03"  # flags: VALUES | DIRECTION
        "03"
        "04030201"
        "070000000000"  # only the low 48 bits travel
        "fbffffffffffffff"  # base time -5 µs
        "0200"
        "23"  # layout: 3-byte time (code 3), 4-byte keys (code 4 << 3)
    )
    body = bytes.fromhex(
        "00000000"  # key base 0
        "000002"  # zigzag(65536) = 131072, 3 bytes LE
        "ffffffff"
        "00000000"  # key offsets
        "0000c03f"
        "000000c0"  # 1.5, -2.0 as float32 LE
    )
    nonce = bytes.fromhex("010000000700000000000100")  # the full 64-bit sequence
    expected = header + ChaCha20Poly1305(KEY).encrypt(nonce, body, header)
    assert codec(direction=1).seal_events(ev, seq) == [expected]
    opened = codec(direction=1).open(expected, seq=seq)
    assert opened.seq == seq and same(opened.events, ev)
    with pytest.raises(BadFrame, match="auth"):  # the high bits are part of the nonce
        codec(direction=1).open(expected)


def test_golden_control_frame() -> None:
    body = struct.pack("<I", 1)
    header = bytes.fromhex("694f01040003040302012a00000000007b00000000000000000000")
    nonce = bytes.fromhex("000000002a00000000000000")
    expected = header + ChaCha20Poly1305(KEY).encrypt(nonce, body, header)
    assert codec().seal_control(FrameType.PING, 42, 123, body) == expected
    opened = codec().open(expected)
    assert (opened.type, opened.seq, opened.base_us, opened.body) == (FrameType.PING, 42, 123, body)


# ------------------------------------------------------------------------- strategies
@st.composite
def event_blocks(
    draw: st.DrawFn,
    min_size: int = 1,
    max_size: int = 400,
    max_gap: int | None = None,
    values: bool = True,
) -> np.ndarray:
    n = draw(st.integers(min_size, max_size))
    if max_gap is None:
        t = draw(hnp.arrays(np.int64, n, elements=st.integers(T_MIN_US, T_MAX_US)))
    else:
        start = draw(st.integers(-(10**12), 10**12))
        gaps = draw(hnp.arrays(np.int64, n, elements=st.integers(-max_gap, max_gap)))
        t = start + np.cumsum(gaps)
    keys = draw(hnp.arrays(np.uint32, n))
    ev = np.zeros(n, EVENT_DTYPE)
    ev["t_us"], ev["key"] = t, keys
    if values and draw(st.booleans()):
        ev["value"] = draw(hnp.arrays(np.uint32, n)).view(np.float32)  # any bit pattern, NaN too
    return ev


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ev=event_blocks(),
    mtu=st.integers(MIN_MTU, 9000),
    seq=st.integers(0, 2**62),
    direction=st.integers(0, 1),
)
def test_round_trip_any_block(ev: np.ndarray, mtu: int, seq: int, direction: int) -> None:
    frames = codec(direction).seal_events(ev, seq, mtu=mtu)
    assert all(len(f) <= mtu for f in frames)
    rx = codec(direction)
    # frames are independent: open them in reverse order and reassemble
    opened = [rx.open(f, seq=seq + i) for i, f in reversed(list(enumerate(frames)))][::-1]
    assert [o.seq for o in opened] == [seq + i for i in range(len(frames))]
    assert same(np.concatenate([o.events for o in opened]), ev)


@settings(max_examples=200, deadline=None)
@given(ev=event_blocks(max_size=300), with_values=st.booleans(), mtu=st.integers(MIN_MTU, 3000))
def test_numba_kernels_equal_numpy_reference(ev: np.ndarray, with_values: bool, mtu: int) -> None:
    max_body = mtu - 27 - 16
    fast = _codec.pack(ev, with_values, max_body)
    ref = _codec.pack_reference(ev, with_values, max_body)
    assert fast.buffer[: fast.offsets[-1]].tobytes() == ref.buffer.tobytes()
    for a, b in zip(fast[1:], ref[1:], strict=True):
        assert np.array_equal(a, b)
    for i in range(len(ref.counts)):
        body = ref.buffer[ref.offsets[i] : ref.offsets[i + 1]].tobytes()
        args = (body, int(ref.counts[i]), int(ref.base_us[i]), int(ref.layouts[i]), with_values)
        assert same(_codec.unpack(*args), _codec.unpack_reference(*args))


@settings(max_examples=200, deadline=None)
@given(
    ev=event_blocks(min_size=64, max_size=2000, max_gap=(1 << 23) - 1, values=False),
    valued=st.booleans(),
)
def test_compactness_at_64_or_more_events(ev: np.ndarray, valued: bool) -> None:
    """≤ 8 B per spike-only and ≤ 12 B per valued event, header and tag included, for any keys
    and any times whose consecutive gaps stay under 2**23 µs (8.4 s)."""
    if valued:
        ev["value"] = 1.0
    frames = codec().seal_events(ev, 0, mtu=DEFAULT_MTU)
    per_event = sum(map(len, frames)) / ev.size
    assert per_event <= (12.0 if valued else 8.0)


def test_large_batch_is_split_under_the_mtu() -> None:
    ev = make_events(np.arange(10_000) * 7, np.arange(10_000) % 4096, 0.5)
    frames = codec().seal_events(ev, 0, mtu=512)
    assert len(frames) > 1 and all(len(f) <= 512 for f in frames)
    assert same(np.concatenate([codec().open(f).events for f in frames]), ev)


def test_empty_block_gives_no_frame_and_bad_input_is_a_local_error() -> None:
    assert codec().seal_events(np.zeros(0, EVENT_DTYPE), 0) == []
    with pytest.raises(ValueError, match="mtu"):
        codec().seal_events(make_events([1], [1]), 0, mtu=MIN_MTU - 1)
    bad = np.zeros(1, EVENT_DTYPE)
    bad["t_us"] = T_MAX_US + 1
    with pytest.raises(ValueError, match="2\\*\\*62"):
        codec().seal_events(bad, 0)
    with pytest.raises(ValueError, match="32 bytes"):
        FrameCodec(b"x" * 31, key_id=0, link_id=0, direction=0)


# ------------------------------------------------------------------------- hostile input
@settings(max_examples=3000, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_only_ever_raise_badframe(data: bytes) -> None:
    with pytest.raises(BadFrame):
        codec().open(data)


@settings(max_examples=3000, deadline=None)
@given(
    ftype=st.integers(0, 255),
    flags=st.integers(0, 255),
    count=st.integers(0, 70000),
    layout=st.integers(0, 255),
    rest=st.binary(max_size=300),
)
def test_plausible_headers_with_garbage_only_raise_badframe(
    ftype: int, flags: int, count: int, layout: int, rest: bytes
) -> None:
    data = (
        b"iO\x01"
        + bytes([ftype, flags, 3])
        + (0x01020304).to_bytes(4, "little")
        + bytes(6)
        + bytes(8)
        + (count & 0xFFFF).to_bytes(2, "little")
        + bytes([layout])
        + rest
    )
    with pytest.raises(BadFrame):
        codec().open(data)


@pytest.mark.parametrize("valued", [False, True])
def test_every_single_bit_flip_is_rejected(valued: bool) -> None:
    rng = np.random.default_rng(7)
    ev = make_events(
        np.sort(rng.integers(0, 10**6, 20)),
        rng.integers(0, 2**20, 20),
        rng.random(20) if valued else None,
    )
    for frame in (
        codec().seal_events(ev, 77)[0],
        codec().seal_control(FrameType.HEARTBEAT, 3, 9, bytes(40)),
    ):
        rx = codec()
        for bit in range(len(frame) * 8):
            flipped = bytearray(frame)
            flipped[bit // 8] ^= 1 << (bit % 8)
            with pytest.raises(BadFrame):
                rx.open(bytes(flipped))


@settings(max_examples=1000, deadline=None)
@given(ev=event_blocks(max_size=120), seq=st.integers(0, 2**48 - 1), data=st.data())
def test_any_single_bit_flip_of_any_frame_is_rejected(
    ev: np.ndarray, seq: int, data: st.DataObject
) -> None:
    frame = codec().seal_events(ev, seq, mtu=9000)[0]
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    flipped = bytearray(frame)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadFrame):
        codec().open(bytes(flipped), seq=None)


def test_badframe_reasons_name_the_problem() -> None:
    frame = codec().seal_events(make_events([1, 2], [3, 4]), 0)[0]
    cases = {
        "truncated": frame[:20],
        "magic": b"XX" + frame[2:],
        "version": frame[:2] + b"\x09" + frame[3:],
        "type": frame[:3] + b"\x63" + frame[4:],
        "flags": frame[:4] + b"\x80" + frame[5:],
        "length": frame + b"\x00",
        "auth": frame[:-1] + bytes([frame[-1] ^ 1]),
    }
    for reason, data in cases.items():
        with pytest.raises(BadFrame) as info:
            codec().open(data)
        assert info.value.reason == reason, (reason, str(info.value))
    with pytest.raises(BadFrame) as info:
        FrameCodec(KEY, key_id=4, link_id=0x01020304, direction=0).open(frame)
    assert info.value.reason == "key"
    with pytest.raises(BadFrame) as info:
        codec(key=bytes(32)).open(frame)
    assert info.value.reason == "auth"
