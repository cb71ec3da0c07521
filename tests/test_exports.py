"""The public API is deliberate: these lists change only on purpose."""

from __future__ import annotations

import importlib

import ione
import ione.wire

IONE_ALL = [
    "EVENT_DTYPE",
    "BadFrame",
    "KeyRange",
    "Link",
    "LinkConfig",
    "__version__",
    "make_events",
    "make_key",
    "split_key",
]
WIRE_ALL = [
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


def test_ione_all() -> None:
    assert sorted(ione.__all__) == sorted(IONE_ALL)
    for name in ione.__all__:
        assert getattr(ione, name) is not None


def test_wire_all() -> None:
    assert sorted(ione.wire.__all__) == sorted(WIRE_ALL)
    for name in ione.wire.__all__:
        assert getattr(ione.wire, name) is not None


def test_names_outside_checks_call() -> None:
    ramp8 = importlib.import_module("ione.wire.ramp8")
    events = importlib.import_module("ione.events")
    assert callable(ramp8.decode) and callable(ramp8.encode)
    assert events.EVENT_DTYPE.names == ("t_us", "key", "value")
    assert issubclass(ione.wire.BadFrame, Exception)
    assert ione.__version__ == importlib.metadata.version("ione")
