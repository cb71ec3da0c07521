"""The public API of ione.network is deliberate: this list changes only on purpose."""

from __future__ import annotations

import ione.network

NETWORK_ALL = [
    "DEVICES",
    "KINDS",
    "LINK_PROFILES",
    "MAX_RATE_HZ",
    "NEURON_MODELS",
    "PULSES",
    "ROLES",
    "RULES",
    "AllToAllConnector",
    "ConfigError",
    "Connector",
    "DeviceSpec",
    "ElectrodeStreamParams",
    "Experiment",
    "ExperimentBuilder",
    "FixedProbabilityConnector",
    "FromListConnector",
    "Link",
    "LinkEmulation",
    "MemristiveSynapse",
    "ModelSpec",
    "OneToOneConnector",
    "Params",
    "Phase",
    "Population",
    "Projection",
    "Recording",
    "RecordingParams",
    "Site",
    "StaticSynapse",
    "Synapse",
    "dump_experiment",
    "format_duration",
    "format_rate",
    "format_resistance",
    "load_experiment",
    "parse_duration",
    "parse_experiment",
    "parse_rate",
    "parse_resistance",
    "save_experiment",
]


def test_network_all() -> None:
    assert sorted(ione.network.__all__) == sorted(NETWORK_ALL)
    for name in ione.network.__all__:
        assert getattr(ione.network, name) is not None


def test_the_error_type_is_a_value_error() -> None:
    assert issubclass(ione.network.ConfigError, ValueError)
