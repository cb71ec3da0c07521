"""ramp8, the 2020 hub's 8-byte packets: golden vectors both ways, errors, wrap, converters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ione.events import make_events
from ione.wire import BadFrame, ramp8

# (packet bytes, partner letter, neuron, code, ticks): SYSTEM.md §1.4's two examples first.
GOLDEN = [
    ("4100003f000000c8", "A", 63, 0, 200),  # silicon 63 fired 200 ticks (10 ms) after the last
    ("530000017f01e240", "S", 1, 127, 123456),  # hub -> biology: target 1, weight 127, t 123456
    ("4400000501000014", "D", 5, 1, 20),  # biology: neuron 5 stimulated AP, 1 ms latency
    ("4400000200000000", "D", 2, 0, 0),  # biology: PSP at zero latency
    ("440000000200f000", "D", 0, 2, 0xF000),  # spontaneous AP
    ("52000000ff000000", "R", 0, 255, 0),  # ready
    ("53ffffff00ffffff", "S", 0xFFFFFF, 0, 0xFFFFFF),  # 24-bit extremes
    ("530fffffff0fffff", "S", 0x0FFFFF, 255, 0x0FFFFF),  # the legacy 20-bit extremes
]


@pytest.mark.parametrize(("hexbytes", "letter", "neuron", "code", "ticks"), GOLDEN)
def test_golden_vectors_decode(
    hexbytes: str, letter: str, neuron: int, code: int, ticks: int
) -> None:
    rec = ramp8.decode(bytes.fromhex(hexbytes))
    assert rec.dtype == ramp8.RAMP8_DTYPE and rec.shape == (1,)
    assert chr(rec["partner"][0]) == letter
    assert (int(rec["neuron"][0]), int(rec["code"][0]), int(rec["ticks"][0])) == (
        neuron,
        code,
        ticks,
    )


@pytest.mark.parametrize(("hexbytes", "letter", "neuron", "code", "ticks"), GOLDEN)
def test_golden_vectors_encode(
    hexbytes: str, letter: str, neuron: int, code: int, ticks: int
) -> None:
    assert ramp8.encode(ramp8.records(letter, neuron, code, ticks)).hex() == hexbytes


def test_many_packets_at_once_and_field_types() -> None:
    data = b"".join(bytes.fromhex(g[0]) for g in GOLDEN)
    rec = ramp8.decode(data)
    assert rec.shape == (len(GOLDEN),)
    assert rec.dtype["partner"] == np.uint8 and rec.dtype["neuron"] == np.uint32
    assert rec.dtype["code"] == np.uint8 and rec.dtype["ticks"] == np.uint32
    assert ramp8.encode(rec) == data


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("ADSR"),
            st.integers(0, 2**24 - 1),
            st.integers(0, 255),
            st.integers(0, 2**24 - 1),
        ),
        max_size=50,
    )
)
def test_round_trip(packets: list[tuple[str, int, int, int]]) -> None:
    codes = [ord(p[0]) for p in packets]
    rec = ramp8.records(
        np.array(codes, dtype=np.int64),
        [p[1] for p in packets],
        [p[2] for p in packets],
        [p[3] for p in packets],
    )
    data = ramp8.encode(rec)
    assert len(data) == 8 * len(packets)
    assert ramp8.decode(data).tobytes() == rec.tobytes()


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_decode_or_raise_badframe(data: bytes) -> None:
    if len(data) % 8 or not set(data[::8]) <= {65, 68, 82, 83}:
        with pytest.raises(BadFrame) as info:
            ramp8.decode(data)
        assert info.value.reason == "ramp8"
    else:
        assert ramp8.encode(ramp8.decode(data)) == data


def test_bad_length_and_unknown_partner_raise_badframe() -> None:
    with pytest.raises(BadFrame, match="8-byte"):
        ramp8.decode(bytes(7))
    with pytest.raises(BadFrame, match="partner code 0x5a in packet 1"):
        ramp8.decode(bytes.fromhex("4100003f000000c85a00000000000000"))


def test_encode_refuses_what_does_not_fit_unless_asked_to_wrap() -> None:
    with pytest.raises(ValueError, match="24 bits"):
        ramp8.encode(ramp8.records("S", 1, 0, 1 << 24))
    with pytest.raises(ValueError, match="partner"):
        ramp8.records("Q", 1, 0, 0)
    with pytest.raises(ValueError, match="code"):
        ramp8.encode(_with_code(300))
    # the legacy hub masked ids and times to 20 bits
    legacy = ramp8.encode(ramp8.records("S", 0x123456, 9, (1 << 20) + 5), wrap_bits=20)
    assert legacy.hex() == "5302345609000005"


def _with_code(code: int) -> np.ndarray:
    rec = np.zeros(1, [("partner", "u1"), ("neuron", "<u4"), ("code", "<i4"), ("ticks", "<u4")])
    rec["partner"], rec["code"] = 83, code
    return rec


def test_unwrap_20_bit_hub_time() -> None:
    # consecutive packets less than half a wrap (2**19 ticks, 26.2 s) apart, over 3 wraps
    true = np.cumsum(np.random.default_rng(1).integers(0, (1 << 19) - 1, 40))
    assert true[-1] > 3 << 20
    wrapped = true % (1 << 20)
    assert np.array_equal(ramp8.unwrap_ticks(wrapped, 20), true)
    assert np.array_equal(ramp8.unwrap_ticks(true % (1 << 24), 24), true)
    with pytest.raises(ValueError, match=r"0 \.\.\. "):
        ramp8.unwrap_ticks([1 << 20], 20)


def test_hub_packets_to_events_and_back_across_the_wrap() -> None:
    t_us = np.array([0, 26_000_000, 52_000_000, 53_000_000, 100_000_000])  # crosses 52.4288 s
    ev = make_events(t_us, [1, 2, 1, 2, 1], [0, 127, 255, 3, 64])
    data = ramp8.encode(ramp8.events_to_hub(ev, bits=20))
    back = ramp8.hub_to_events(ramp8.decode(data), bits=20)
    assert np.array_equal(back["t_us"], t_us)
    assert np.array_equal(back["key"], ev["key"]) and np.array_equal(back["value"], ev["value"])
    with pytest.raises(ValueError, match="weight byte"):
        ramp8.events_to_hub(make_events([0], [1], [np.nan]))


def test_silicon_delta_stream_is_the_master_clock_without_drift() -> None:
    rng = np.random.default_rng(3)
    t_us = np.cumsum(rng.integers(1, 40_000, 10_000))  # times not on the 50 µs grid
    ev = make_events(t_us, rng.integers(0, 256, t_us.size))
    rec = ramp8.events_to_silicon(ev)
    assert rec["partner"][0] == ord("A")
    back = ramp8.silicon_to_events(ramp8.decode(ramp8.encode(rec)))
    assert np.abs(back["t_us"] - t_us).max() <= 25  # within half a tick, never accumulating
    assert np.array_equal(back["key"], ev["key"])
    with pytest.raises(ValueError, match="sorted"):
        ramp8.events_to_silicon(make_events([100, 50], [0, 0]))


def test_biology_reports_are_placed_at_reference_plus_latency() -> None:
    rec = ramp8.decode(bytes.fromhex("44000005010000144400000200000000"))
    ev = ramp8.biology_to_events(rec, [1_000_000, 2_000_000])
    assert ev["t_us"].tolist() == [1_001_000, 2_000_000]
    assert ev["value"].tolist() == [1.0, 0.0] and ev["key"].tolist() == [5, 2]
