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


def test_models_names_outside_checks_call() -> None:
    memristor = importlib.import_module("ione.models.memristor")
    assert memristor.DATA_DRIVEN_DUT1.k_p_per_ohm == 8.10e-3
    assert memristor.DATA_DRIVEN_DUT2.r_p0_ohm == 16719.0
    r = memristor.data_driven_pulse(4800.0, 2.0, 100, memristor.DATA_DRIVEN_DUT1)
    assert abs(float(r) - 4957) < 0.005 * 4957


def test_models_subpackages_export_what_they_define() -> None:
    for name in ("ione.models.memristor", "ione.models.neuron", "ione.models.plasticity"):
        module = importlib.import_module(name)
        assert len(set(module.__all__)) == len(module.__all__)
        for export in module.__all__:
            assert getattr(module, export) is not None, (name, export)


def test_record_names_outside_checks_call(tmp_path: object) -> None:
    record = importlib.import_module("ione.record")
    assert callable(record.LogWriter) and callable(record.LogReader)
    assert {"LogWriter", "LogReader", "merge_run", "export_nwb", "export_neo"} <= set(
        record.__all__
    )


def test_culture_names_outside_checks_call(tmp_path: object) -> None:
    culture = importlib.import_module("ione.culture")
    assert len(set(culture.__all__)) == len(culture.__all__)
    for export in culture.__all__:
        assert getattr(culture, export) is not None, export
    assert callable(culture.load_spike_trains)
    guard = culture.StimulationGuard(culture.GuardLimits())
    safe = culture.Command(0, culture.Waveform.biphasic(1.0, 100, 50), 1_000, 2_000)
    decision = guard.check(safe, 1_000)
    assert decision.allowed is True and decision.reason == ""
    too_much = culture.Command(0, culture.Waveform.biphasic(5.0, 100, 50), 3_000, 9_000)
    decision = guard.check(too_much, 3_000)
    assert decision.allowed is False and decision.reason == "current"
