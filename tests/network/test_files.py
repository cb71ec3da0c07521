"""Experiment files: the examples load, TOML and Python descriptions round-trip and agree."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ione.network import (
    AllToAllConnector,
    ConfigError,
    Experiment,
    FixedProbabilityConnector,
    FromListConnector,
    MemristiveSynapse,
    OneToOneConnector,
    StaticSynapse,
    dump_experiment,
    load_experiment,
    parse_experiment,
    save_experiment,
)

from .conftest import EXAMPLES


def serb2020_by_builder() -> Experiment:
    """examples/serb2020.toml, written in Python."""
    exp = Experiment.builder(
        "serb2020",
        seed=2020,
        tick="1 ms",
        description="SN_pre -> MR1 (ABsyn) -> BN -> MR2 (BAsyn) -> SN_post, four rate phases",
    )
    padova = exp.site("padova", index=1, host="127.0.0.1", port=47101, role="biology")
    southampton = exp.site("southampton", index=2, host="127.0.0.1", port=47102, role="hub")
    zurich = exp.site("zurich", index=3, host="127.0.0.1", port=47103, role="silicon")
    sn_pre = exp.population("SN_pre", site=zurich, kind="generator", size=1, model="regular")
    bn = exp.population(
        "BN",
        site=padova,
        kind="culture",
        size=1,
        model="culture",
        preset="SINGLE_NEURON",
        params={"noise_pa_sqrt_ms": 4.0, "stimulation": {"max_ramps": 16}},
        guard={"min_interval_us": 500, "max_pulses_per_electrode": 1000, "latency_us": 100_000},
    )
    sn_post = exp.population("SN_post", site=zurich, kind="silicon", size=1, model="dpi")
    dut1 = {
        "device": "data_driven",
        "preset": "DATA_DRIVEN_DUT1",
        "rule": "rate",
        "r_min_ohm": 4500.0,
        "r_max_ohm": 6500.0,
    }
    exp.projection(
        sn_pre,
        bn,
        OneToOneConnector(),
        MemristiveSynapse(host=southampton, **dut1, pulses="DUT1_PULSES", r_initial_ohm=4900.0),
        name="MR1",
        label="ABsyn: SN_pre -> BN",
    )
    exp.projection(
        bn,
        sn_post,
        OneToOneConnector(),
        MemristiveSynapse(host=southampton, **dut1, r_initial_ohm=5500.0),
        name="MR2",
        label="BAsyn: BN -> SN_post",
    )
    exp.link(
        padova,
        southampton,
        key_file="keys/padova-southampton.key",
        profile="padova-southampton",
    )
    exp.link(
        southampton, zurich, key_file="keys/southampton-zurich.key", profile="southampton-zurich"
    )
    for name, rate in [("baseline", 10), ("potentiation", 30), ("test", 10), ("depression", 2)]:
        exp.phase(name, "20 s", rates={"SN_pre": f"{rate} Hz"})
    exp.record(directory="runs/serb2020", weight_interval="100 ms")
    return exp.build()


def test_the_reference_experiment_loads_as_described(serb2020: Experiment) -> None:
    assert serb2020.name == "serb2020" and serb2020.seed == 2020 and serb2020.tick_us == 1_000
    assert [(s.name, s.index) for s in serb2020.sites] == [
        ("padova", 1),
        ("southampton", 2),
        ("zurich", 3),
    ]
    assert len({s.port for s in serb2020.sites}) == 3
    assert [p.name for p in serb2020.populations] == ["SN_pre", "BN", "SN_post"]
    assert [p.name for p in serb2020.projections] == ["MR1", "MR2"]
    assert [serb2020.synaptor(p) for p in serb2020.projections] == ["ABsyn", "BAsyn"]
    for proj in serb2020.projections:
        syn = proj.synapse
        assert isinstance(syn, MemristiveSynapse)
        assert (syn.host, syn.device, syn.preset, syn.rule, syn.pulses) == (
            "southampton",
            "data_driven",
            "DATA_DRIVEN_DUT1",
            "rate",
            "DUT1_PULSES",
        )
        assert (syn.r_min_ohm, syn.r_max_ohm) == (4500.0, 6500.0)
    assert [ph.rates_hz["SN_pre"] for ph in serb2020.phases] == [10.0, 30.0, 10.0, 2.0]
    assert all(ph.duration_us == 20_000_000 for ph in serb2020.phases)
    assert serb2020.duration_us == 80_000_000, "the whole run fits in two minutes"


def test_the_initial_weights_start_low_on_mr1_and_mid_on_mr2(serb2020: Experiment) -> None:
    weights = {}
    for proj in serb2020.projections:
        syn = proj.synapse
        assert isinstance(syn, MemristiveSynapse) and syn.r_initial_ohm is not None
        weights[proj.name] = float(syn.weight_window().weight(syn.r_initial_ohm))
    assert weights["MR1"] == pytest.approx(0.2)
    assert weights["MR2"] == pytest.approx(0.5)


def test_the_two_site_example_loads() -> None:
    exp = load_experiment(EXAMPLES / "two_sites.toml")
    assert [s.name for s in exp.sites] == ["source", "chip"]
    assert exp.duration_us == 10_000_000 and exp.phases == ()
    assert exp.rate_at("stim", 0) == 20.0
    assert exp.links[0].emulation.delay_us == 200


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_round_trips(path: Path) -> None:
    exp = load_experiment(path)
    text = dump_experiment(exp)
    assert parse_experiment(text) == exp
    tomllib.loads(text)  # plain TOML for any other reader


def test_the_builder_gives_the_experiment_of_the_file(serb2020: Experiment) -> None:
    built = serb2020_by_builder()
    assert built == serb2020
    assert parse_experiment(dump_experiment(built)) == serb2020
    assert dump_experiment(built) == dump_experiment(serb2020)


def test_save_and_load_keep_the_description(tmp_path: Path, serb2020: Experiment) -> None:
    path = tmp_path / "copy.toml"
    save_experiment(serb2020, path)
    again = load_experiment(path)
    assert again == serb2020
    assert again.source == str(path)
    assert again.key_file_path(again.links[0]) == tmp_path / "keys" / "padova-southampton.key"


def test_every_kind_of_part_round_trips() -> None:
    exp = Experiment.builder("everything", seed=7, tick="250 us", description="all the keys")
    a = exp.site("a", index=4, port=40001, host="10.0.0.1")
    b = exp.site("b", index=9, port=40002)
    gen = exp.population("gen", site=a, kind="generator", size=3, model="poisson", rate="12.5 Hz")
    cul = exp.population(
        "cul",
        site=b,
        kind="culture",
        size=20,
        params={"n_neurons": 20, "noise_pa_sqrt_ms": 2.5, "stimulation": {"max_ramps": 20}},
    )
    sil = exp.population(
        "sil", site=b, kind="silicon", size=4, model="adex", preset="NAUD_2008_TONIC"
    )
    izh = exp.population("izh", site=b, kind="silicon", size=2, model="izhikevich")
    exp.projection(gen, cul, FromListConnector(((0, 3), (2, 19))), StaticSynapse(0.25))
    exp.projection(
        cul,
        sil,
        FixedProbabilityConnector(0.3, seed=5, allow_self_connections=False),
        MemristiveSynapse(
            host=b,
            device="data_driven",
            preset="DATA_DRIVEN_DUT2",
            params={"r_p0_ohm": 16000},
            options={"c2c_sigma": 0.2},
            rule="timing",
            rule_params={"ltp_window_us": 80_000},
            pulse_params={"ltp_volts": 1.2, "ltd_volts": -1.2},
            r_min_ohm=10_000.0,
            r_max_ohm=17_000.0,
            r_initial_ohm=12_345.678,
        ),
        name="plastic",
        label="culture to silicon",
    )
    exp.projection(
        sil,
        izh,
        AllToAllConnector(allow_self_connections=False),
        MemristiveSynapse(host="b", device="vteam", rule="pair_stdp", x_initial=0.25),
    )
    exp.projection(
        izh, sil, AllToAllConnector(), MemristiveSynapse(host="b", device="diffusive", rule="none")
    )
    exp.link(
        a,
        b,
        key_file="/etc/ione/a-b.key",
        key_id=7,
        profile="lan",
        delay="3 ms",
        jitter="250 us",
        loss=0.01,
        duplicate=0.001,
    )
    exp.phase("warm", "1.5 s", rates={"gen": "0 Hz"})
    exp.phase("drive", "2 min")
    exp.record(directory="/data/runs", weight_interval="500 ms")
    built = exp.build()
    text = dump_experiment(built)
    assert parse_experiment(text) == built
    assert built.tick_us == 250 and built.duration_us == 121_500_000
    plastic = built.projection("plastic").synapse
    assert isinstance(plastic, MemristiveSynapse)
    assert plastic.params == {"r_p0_ohm": 16000.0}, "integers for float fields become floats"
    assert built.population("cul").parameters().stimulation.max_ramps == 20


def test_a_phase_free_file_needs_only_a_duration(tmp_path: Path) -> None:
    text = (EXAMPLES / "two_sites.toml").read_text()
    exp = parse_experiment(text.replace('duration = "10 s"', 'duration = "2 min"'))
    assert exp.duration_us == 120_000_000


def test_parse_errors_name_no_file_when_there_is_none() -> None:
    with pytest.raises(ConfigError) as info:
        parse_experiment("[experiment]\n")
    assert str(info.value) == "experiment.name: missing; expected the experiment's name"
    assert info.value.file is None and info.value.key == "experiment.name"
