"""Wire benchmark: sealing and opening spike frames, against the packings of the field's peers.

Side by side, in one process pinned to one core, for batches of 1, 16, 64 and 150 events:

- **ione Link**: ``Link.send_events`` / ``Link.receive_datagram`` (ChaCha20-Poly1305, compact
  delta layout, anti-replay window and statistics): what a site really runs.
- **ione codec**: ``FrameCodec.seal_events`` / ``FrameCodec.open`` (the same frames, no link state).
- **floor A, ione layout without AEAD**: the identical frame layout packed and unpacked with the
  same kernels but no encryption or tag: what authentication costs.
- **floor B, raw numpy records**: the 16-byte event records as bytes (``tobytes`` and
  ``frombuffer``), no header, no compression, no authentication: the cheapest conceivable packing.
- **SpiNNaker EIEIO** 32-bit key + payload-as-timestamp data packets (2-byte header, 8 bytes per
  event, at most 255 events per packet), written with numpy.
- **jAER** AEUnicast datagrams: 4-byte sequence number, then big-endian 32-bit address and 32-bit
  timestamp per event, written with numpy.

Neither EIEIO, jAER nor the raw floor authenticates anything; only ione rows do. Events are spikes
of 1024 neurons of one population, time-sorted within a 1 ms tick, as a site's tick loop emits them.
Reported: median over repetitions of events per second each way, and bytes on the wire per event.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

import cryptography
import numpy as np

from _common import cpu_model
from ione.events import EVENT_DTYPE, make_events, make_key
from ione.wire import FrameCodec, Link, LinkConfig, _codec, connect_in_memory
from ione.wire._frame import HEADER, MAGIC, TAG_BYTES, VERSION, parse_header

BATCHES = (1, 16, 64, 150)
KEY = bytes(range(32))
EIEIO_KEY_PAYLOAD_32 = 3
EIEIO_FLAGS = (1 << 4) | (EIEIO_KEY_PAYLOAD_32 << 2)  # payload is a timestamp, 32-bit key+payload


def make_batches(n: int, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    keys = make_key(1, 0, np.arange(1024))
    out = []
    for i in range(count):
        t0 = 1_000_000 + i * 1000
        out.append(make_events(np.sort(rng.integers(t0, t0 + 1000, n)), rng.choice(keys, n)))
    return out


# ---------------------------------------------------------------------- peers' packings
def eieio_encode(ev: np.ndarray) -> list[bytes]:
    out = []
    for lo in range(0, ev.size, 255):
        part = ev[lo : lo + 255]
        body = np.empty((part.size, 2), "<u4")
        body[:, 0] = part["key"]
        body[:, 1] = part["t_us"]  # EIEIO timestamps are 32-bit: they wrap every 71.6 minutes
        out.append(bytes((part.size, EIEIO_FLAGS)) + body.tobytes())
    return out


def eieio_decode(packet: bytes) -> np.ndarray:
    count, flags = packet[0], packet[1]
    if flags != EIEIO_FLAGS or len(packet) != 2 + 8 * count:
        raise ValueError("not an EIEIO 32-bit key+timestamp packet")
    body = np.frombuffer(packet, "<u4", offset=2).reshape(count, 2)
    ev = np.empty(count, EVENT_DTYPE)
    ev["key"], ev["t_us"], ev["value"] = body[:, 0], body[:, 1], 0.0
    return ev


_JAER_MAX = (1500 - 4) // 8


def jaer_encode(ev: np.ndarray, seq: int) -> list[bytes]:
    out = []
    for i, lo in enumerate(range(0, ev.size, _JAER_MAX)):
        part = ev[lo : lo + _JAER_MAX]
        body = np.empty((part.size, 2), ">i4")
        body[:, 0] = part["key"].view(np.int32)
        body[:, 1] = part["t_us"]  # jAER timestamps are 32-bit µs
        out.append(struct.pack(">i", seq + i) + body.tobytes())
    return out


def jaer_decode(packet: bytes) -> np.ndarray:
    body = np.frombuffer(packet, ">i4", offset=4).reshape(-1, 2)
    ev = np.empty(body.shape[0], EVENT_DTYPE)
    ev["key"], ev["t_us"], ev["value"] = body[:, 0].view(np.uint32), body[:, 1], 0.0
    return ev


def raw_encode(ev: np.ndarray) -> list[bytes]:
    return [ev.tobytes()]


def raw_decode(packet: bytes) -> np.ndarray:
    return np.frombuffer(packet, EVENT_DTYPE)


# ---------------------------------------------------------------------- ione without AEAD
_TEMPLATE = np.frombuffer(HEADER.pack(MAGIC, VERSION, 1, 0, 0, 1, bytes(6), 0, 0, 0), np.uint8)


def plain_encode(ev: np.ndarray, seq: int) -> list[bytes]:
    raw, off, _ = _codec.pack_frames(ev, None, 1200 - HEADER.size - TAG_BYTES, _TEMPLATE, seq)
    return [raw[a:b] for a, b in itertools.pairwise(off)]


def plain_decode(packet: bytes) -> np.ndarray:
    h = parse_header(packet + bytes(TAG_BYTES))  # header checks need room for a tag
    return _codec.unpack(packet[HEADER.size :], h.n_events, h.base_us, h.layout, False)


# ---------------------------------------------------------------------- measurement
@dataclass
class Row:
    name: str
    batch: int
    encode_eps: float
    decode_eps: float
    bytes_per_event: float


def timed(fn: Callable[[], object], reps: int) -> float:
    """Median seconds of ``fn()`` over ``reps`` repetitions."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def established_pair() -> tuple[Link, Link]:
    a = Link(LinkConfig("a", 1, True, max_pending_events=0), KEY)
    b = Link(LinkConfig("b", 1, False), KEY)
    connect_in_memory(a, b)
    return a, b


def measure(n: int, iterations: int, reps: int) -> list[Row]:
    rng = np.random.default_rng(n)
    batches = make_batches(n, iterations, rng)
    total = n * iterations
    rows: list[Row] = []

    def row(
        name: str, enc: Callable[[], list[list[bytes]]], dec: Callable[[list[list[bytes]]], object]
    ) -> None:
        packets = enc()
        nbytes = sum(len(p) for ps in packets for p in ps)
        t_enc = timed(enc, reps)
        t_dec = timed(lambda: dec(packets), reps)
        rows.append(Row(name, n, total / t_enc, total / t_dec, nbytes / total))

    # ione Link: fresh frames (increasing sequence numbers) for every repetition.
    a, b = established_pair()
    sent = [[a.send_events(ev, 10) for ev in batches] for _ in range(reps + 1)]
    nbytes = sum(len(p) for ps in sent[0] for p in ps)
    t_enc = timed(lambda: [a.send_events(ev, 10) for ev in batches], reps)
    it = iter(sent)

    def link_receive() -> None:
        frames = next(it)
        for ps in frames:
            for p in ps:
                b.receive_datagram(p, 20)

    t_dec = timed(link_receive, reps)
    st = b.statistics()
    assert st.auth_failed == st.malformed == st.duplicates == 0
    rows.append(
        Row("ione Link (AEAD, window, stats)", n, total / t_enc, total / t_dec, nbytes / total)
    )

    codec = FrameCodec(KEY, key_id=0, link_id=1, direction=0)
    row(
        "ione codec (AEAD)",
        lambda: [codec.seal_events(ev, i) for i, ev in enumerate(batches)],
        lambda pk: [codec.open(p) for ps in pk for p in ps],
    )
    row(
        "floor A: ione layout, no AEAD",
        lambda: [plain_encode(ev, i) for i, ev in enumerate(batches)],
        lambda pk: [plain_decode(p) for ps in pk for p in ps],
    )
    row(
        "floor B: raw numpy records",
        lambda: [raw_encode(ev) for ev in batches],
        lambda pk: [raw_decode(p) for ps in pk for p in ps],
    )
    row(
        "SpiNNaker EIEIO 32-bit key+ts",
        lambda: [eieio_encode(ev) for ev in batches],
        lambda pk: [eieio_decode(p) for ps in pk for p in ps],
    )
    row(
        "jAER AEUnicast addr+ts",
        lambda: [jaer_encode(ev, i) for i, ev in enumerate(batches)],
        lambda pk: [jaer_decode(p) for ps in pk for p in ps],
    )
    return rows


def machine() -> str:
    model = cpu_model()
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy "
        f"{np.__version__}, cryptography {cryptography.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations (smoke test)")
    args = parser.parse_args(argv)
    pinned = "not pinned"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        pinned = f"pinned to core {min(os.sched_getaffinity(0))}"
    target_events = 20_000 if args.quick else 400_000
    reps = 2 if args.quick else 7
    print(f"## Wire: seal+encode and open+decode ({pinned})\n")
    print(f"Machine: {machine()}\n")
    print(
        "| packing | batch | encode Mev/s | decode Mev/s | B/event "
        "| enc vs floor A | dec vs floor A | enc vs floor B | dec vs floor B |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in BATCHES:
        rows = measure(n, max(20, min(20_000, target_events // n)), reps)
        floor_a = next(r for r in rows if r.name.startswith("floor A"))
        floor_b = next(r for r in rows if r.name.startswith("floor B"))
        for r in rows:
            print(
                f"| {r.name} | {n} | {r.encode_eps / 1e6:.2f} | {r.decode_eps / 1e6:.2f} | "
                f"{r.bytes_per_event:.2f} | {r.encode_eps / floor_a.encode_eps:.2f}× | "
                f"{r.decode_eps / floor_a.decode_eps:.2f}× | "
                f"{r.encode_eps / floor_b.encode_eps:.2f}× | "
                f"{r.decode_eps / floor_b.decode_eps:.2f}× |"
            )
    print(
        "\nGoal (issue 2): ≥ 5 M events/s both ways at ≥ 64 events per frame, ≥ 0.3× the "
        "unauthenticated floor, ≤ 8 bytes per spike-only event."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
