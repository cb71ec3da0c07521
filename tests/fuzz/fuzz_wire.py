"""Coverage-guided fuzzing of every decoder of untrusted bytes (atheris / libFuzzer).

Run: ``python tests/fuzz/fuzz_wire.py -runs=100000 [corpus_dir]``. Each input's first byte picks a
target; the rest is the datagram. A target may return or raise ``BadFrame``; anything else is a bug
and stops the fuzzer with the input that caused it. ``Link.receive_datagram`` must never raise.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

# numba kernels cannot be instrumented (their bytecode is compiled, not interpreted)
with atheris.instrument_imports(exclude=["ione.wire._codec", "numba", "numpy"]):
    import numpy as np

    from ione.events import make_events
    from ione.wire import BadFrame, FrameCodec, Link, LinkConfig, connect_in_memory, ramp8
    from ione.wire._control import Bye, Heartbeat, Hello, Ping, Pong

KEY = bytes(range(32))
CODEC = FrameCodec(KEY, key_id=0, link_id=7, direction=0)


def established_pair() -> tuple[Link, Link]:
    a = Link(LinkConfig("a", 7, True), KEY)
    b = Link(LinkConfig("b", 7, False), KEY)
    connect_in_memory(a, b)
    return a, b


A, B = established_pair()


def seeds() -> list[bytes]:
    """Genuine inputs for the corpus: a frame per target."""
    ev = make_events(np.arange(20) * 3, np.arange(20) % 5, 0.5)
    frame = CODEC.seal_events(ev, 1)[0]
    live = A.send_events(ev, 10)[0]
    return [
        bytes([0]) + frame,
        bytes([1]) + bytes.fromhex("4100003f000000c8"),
        bytes([2]) + live,
        bytes([3]) + Hello(1, bytes(16), 0, 100_000, "site").encode(),  # type: ignore[arg-type]
        bytes([4]) + Heartbeat(1, 2, 3, 4, 5).encode(),
    ]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    target, payload = data[0] % 5, data[1:]
    try:
        if target == 0:
            CODEC.open(payload)
        elif target == 1:
            ramp8.decode(payload)
        elif target == 3:
            Hello.decode(payload, welcome=bool(data[0] & 0x80))
        elif target == 4:
            for cls in (Ping, Pong, Heartbeat, Bye):
                with contextlib.suppress(BadFrame):
                    cls.decode(payload)
    except BadFrame:
        pass
    if target == 2:
        B.receive_datagram(payload, 100)  # must never raise


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--write-seeds":
        from pathlib import Path

        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(seeds()):
            (out / f"seed{i}").write_bytes(s)
        raise SystemExit(0)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
