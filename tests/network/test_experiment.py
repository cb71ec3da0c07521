"""What follows from a description: addresses, hosts, routes, links, phases, rates, seeds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ione.events import KeyRange, make_key, split_key
from ione.models.memristor import DATA_DRIVEN_DUT1, DataDriven
from ione.models.neuron import DYNAPSE_DPI, SINGLE_NEURON
from ione.models.plasticity import DUT1_PULSES, RateRule
from ione.network import (
    LINK_PROFILES,
    AllToAllConnector,
    Experiment,
    FixedProbabilityConnector,
    FromListConnector,
    LinkEmulation,
    MemristiveSynapse,
    OneToOneConnector,
    StaticSynapse,
)
from ione.wire import Capability


def test_population_addresses_follow_the_key_layout(serb2020: Experiment) -> None:
    assert serb2020.address("BN") == make_key(1, 0, 0)
    assert serb2020.address("SN_pre") == make_key(3, 0, 0)
    assert serb2020.address("SN_post") == make_key(3, 1, 0), "second population of zurich"
    assert serb2020.population_index("SN_post") == 1
    site, pop, neuron = split_key(np.array([serb2020.address("SN_post")], dtype=np.uint32))
    assert (int(site[0]), int(pop[0]), int(neuron[0])) == (3, 1, 0)
    assert serb2020.key_range("BN") == KeyRange(make_key(1, 0, 0), make_key(1, 0, 0) + 1)


def test_which_site_hosts_what(serb2020: Experiment) -> None:
    assert serb2020.site_of("BN").name == "padova"
    assert [p.name for p in serb2020.populations_at("zurich")] == ["SN_pre", "SN_post"]
    assert serb2020.populations_at("southampton") == ()
    assert [p.name for p in serb2020.synapses_at("southampton")] == ["MR1", "MR2"]
    assert serb2020.synapses_at("padova") == ()
    assert serb2020.roles_of("padova") == {"biology"}
    assert serb2020.roles_of("southampton") == {"hub"}
    assert serb2020.roles_of("zurich") == {"silicon", "generator"}
    base = Capability.SEND_EVENTS | Capability.RECEIVE_EVENTS | Capability.VALUES
    assert serb2020.capabilities_of("padova") == base | Capability.STIMULATION
    assert serb2020.capabilities_of("southampton") == base | Capability.SYNAPSES
    assert serb2020.capabilities_of("zurich") == base
    assert serb2020.projection("MR1").host == "southampton"


def test_traffic_goes_through_the_hub(serb2020: Experiment) -> None:
    assert serb2020.route("MR1") == ("zurich", "southampton", "padova")
    assert serb2020.route("MR2") == ("padova", "southampton", "zurich")
    assert [lk.name for lk in serb2020.links_of("MR1")] == [
        "southampton-zurich",
        "padova-southampton",
    ]
    ps = serb2020.link_between("southampton", "padova")
    assert ps is not None and ps.name == "padova-southampton"
    assert serb2020.link_between("padova", "zurich") is None
    assert [p.name for p in serb2020.projections_via(ps)] == ["MR1", "MR2"]
    assert [p.name for p in serb2020.projections_via(("zurich", "southampton"))] == ["MR1", "MR2"]
    assert [lk.name for lk in serb2020.links_at("southampton")] == [
        "padova-southampton",
        "southampton-zurich",
    ]
    assert ps.other("padova") == "southampton" and ps.joins("southampton", "padova")
    assert [serb2020.link_id(lk) for lk in serb2020.links] == [16 * 1 + 2, 16 * 2 + 3]
    with pytest.raises(ValueError, match="not an end"):
        ps.other("zurich")


def test_routes_skip_a_site_that_plays_two_parts() -> None:
    exp = Experiment.builder("local")
    lab = exp.site("lab", index=1, port=40000)
    chip = exp.site("chip", index=2, port=40001)
    src = exp.population("src", site=lab, kind="generator", size=2, rate="5 Hz")
    dst = exp.population("dst", site=chip, kind="silicon", size=2)
    exp.projection(src, dst, OneToOneConnector(), MemristiveSynapse(host=lab), name="hub_at_pre")
    exp.projection(src, dst, OneToOneConnector(), StaticSynapse(1.0), name="static")
    exp.link(lab, chip, key_file="k.key")
    built = exp.build(duration="1 s")
    assert built.route("hub_at_pre") == ("lab", "chip")
    assert built.route("static") == ("lab", "chip")
    assert built.synaptor("static") is None
    assert built.synaptor("hub_at_pre") is None, "generator to silicon is no synaptor"
    assert built.roles_of("lab") == {"generator", "hub"}


def test_link_emulation_comes_from_the_profile_and_explicit_numbers(serb2020: Experiment) -> None:
    ps, sz = serb2020.links
    assert ps.emulation == LinkEmulation(15_000, 2_000, 0.001, 0.0)
    assert sz.emulation == LinkEmulation(10_000, 2_000, 0.001, 0.0)
    assert LINK_PROFILES["none"].ideal and not ps.emulation.ideal
    exp = Experiment.builder("x")
    a, b = exp.site("a", index=1, port=1), exp.site("b", index=2, port=2)
    exp.population("g", site=a, kind="generator", size=1, rate="1 Hz")
    exp.population("s", site=b, kind="silicon", size=1)
    exp.projection("g", "s", OneToOneConnector(), StaticSynapse(0.5))
    exp.link(a, b, key_file="k", profile="padova-southampton", jitter="5 ms", loss=0.0)
    link = exp.build(duration="1 s").links[0]
    assert link.emulation == LinkEmulation(15_000, 5_000, 0.0, 0.0)


def test_phases_and_rates_over_time(serb2020: Experiment) -> None:
    windows = [(ph.name, start, stop) for ph, start, stop in serb2020.phase_windows()]
    assert windows == [
        ("baseline", 0, 20_000_000),
        ("potentiation", 20_000_000, 40_000_000),
        ("test", 40_000_000, 60_000_000),
        ("depression", 60_000_000, 80_000_000),
    ]
    phase = serb2020.phase_at(20_000_000)
    assert phase is not None and phase.name == "potentiation"
    assert serb2020.phase_at(80_000_000) is None and serb2020.phase_at(-1) is None
    assert [serb2020.rate_at("SN_pre", t) for t in (0, 39_999_999, 50_000_000, 79_999_999)] == [
        10.0,
        30.0,
        10.0,
        2.0,
    ]
    assert serb2020.rate_at("SN_pre", 80_000_000) == 0.0
    assert serb2020.rate_hz("SN_pre", "depression") == 2.0
    with pytest.raises(ValueError, match="not a generator"):
        serb2020.rate_hz("BN", "test")
    with pytest.raises(ValueError, match="no rate outside"):
        serb2020.rate_hz("SN_pre")


def test_a_generator_keeps_its_own_rate_where_a_phase_sets_none() -> None:
    exp = Experiment.builder("x")
    a = exp.site("a", index=1, port=1)
    exp.population("g", site=a, kind="generator", size=1, rate="4 Hz")
    exp.population("s", site=a, kind="silicon", size=1)
    exp.projection("g", "s", OneToOneConnector(), StaticSynapse(0.5))
    exp.phase("one", "1 s")
    exp.phase("two", "1 s", rates={"g": "40 Hz"})
    built = exp.build()
    assert [built.rate_at("g", t) for t in (0, 1_500_000)] == [4.0, 40.0]


def test_models_resolve_to_the_presets_with_their_overrides(serb2020: Experiment) -> None:
    bn = serb2020.population("BN").parameters()
    assert bn == dataclasses.replace(
        SINGLE_NEURON,
        noise_pa_sqrt_ms=4.0,
        stimulation=dataclasses.replace(SINGLE_NEURON.stimulation, max_ramps=16),
    )
    assert serb2020.population("SN_post").parameters() == DYNAPSE_DPI
    assert serb2020.population("SN_pre").parameters() is None
    mr1 = serb2020.projection("MR1").synapse
    assert isinstance(mr1, MemristiveSynapse)
    assert mr1.device_model() == DataDriven(DATA_DRIVEN_DUT1)
    assert mr1.rule_object() == RateRule(pulses=DUT1_PULSES)
    assert mr1.pulse_programme() == DUT1_PULSES
    assert mr1.initial_state_kwargs() == {"r_ohm": 4900.0}
    syn = MemristiveSynapse(
        host="hub",
        options={"c2c_sigma": 0.2},
        rule_params={"ltp_above": 25},
        pulse_params={"ltp_volts": 1.8},
    )
    assert syn.device_model().c2c_sigma == 0.2
    rule = syn.rule_object()
    assert rule.ltp_above == 25 and rule.pulses.ltp_volts == 1.8
    assert MemristiveSynapse(host="hub", rule="none").rule_object() is None
    assert MemristiveSynapse(host="hub", rule="none").pulse_programme() is None
    assert MemristiveSynapse(host="hub", device="vteam", x_initial=0.3).initial_state_kwargs() == {
        "x": 0.3
    }
    assert MemristiveSynapse(host="hub", device="diffusive").initial_state_kwargs() == {}


def test_connectors_list_their_connections() -> None:
    rng = np.random.default_rng(0)
    pre, post = OneToOneConnector().connections(3, 3, rng)
    assert pre.tolist() == [0, 1, 2] and post.tolist() == [0, 1, 2]
    pre, post = AllToAllConnector().connections(2, 3, rng)
    assert list(zip(pre.tolist(), post.tolist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
    ]
    pre, post = AllToAllConnector(allow_self_connections=False).connections(
        3, 3, rng, same_population=True
    )
    assert len(pre) == 6 and not np.any(pre == post)
    fixed = FixedProbabilityConnector(0.5, seed=3)
    a = fixed.connections(40, 40, np.random.default_rng(1))
    b = fixed.connections(40, 40, np.random.default_rng(2))
    assert np.array_equal(a[0], b[0]) and 600 < len(a[0]) < 1000, "the seed fixes the draw"
    pre, post = FromListConnector(((2, 0), (0, 1))).connections(3, 2, rng)
    assert pre.tolist() == [0, 2] and post.tolist() == [1, 0]


def test_random_connections_are_reproducible_from_the_experiment_seed() -> None:
    def build(seed: int) -> Experiment:
        exp = Experiment.builder("x", seed=seed)
        a = exp.site("a", index=1, port=1)
        exp.population("g", site=a, kind="generator", size=50, rate="1 Hz")
        exp.population("s", site=a, kind="silicon", size=50)
        exp.projection("g", "s", FixedProbabilityConnector(0.2), StaticSynapse(0.5), name="p")
        return exp.build(duration="1 s")

    one, again, other = (
        build(1).connections("p"),
        build(1).connections("p"),
        build(2).connections("p"),
    )
    assert np.array_equal(one[0], again[0]) and np.array_equal(one[1], again[1])
    assert not (len(one[0]) == len(other[0]) and np.array_equal(one[1], other[1]))


def test_seed_sequences_are_independent_per_consumer(serb2020: Experiment) -> None:
    a = np.random.default_rng(serb2020.seed_sequence("culture", "BN")).random(4)
    b = np.random.default_rng(serb2020.seed_sequence("culture", "BN")).random(4)
    c = np.random.default_rng(serb2020.seed_sequence("devices", "MR1")).random(4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_paths_are_relative_to_the_file(serb2020: Experiment) -> None:
    assert serb2020.source is not None and serb2020.source.endswith("serb2020.toml")
    assert serb2020.resolve_path("runs").parent.name == "examples"
    assert str(serb2020.resolve_path("/abs/k.key")) == "/abs/k.key"


def test_lookups_name_what_exists(serb2020: Experiment) -> None:
    assert serb2020.site(serb2020.sites[0]) is serb2020.sites[0]
    assert serb2020.phase("test").rates_hz == {"SN_pre": 10.0}
    for lookup, what in [
        (serb2020.site, "padua"),
        (serb2020.population, "BM"),
        (serb2020.projection, "MR3"),
        (serb2020.phase, "ltp"),
    ]:
        with pytest.raises(KeyError, match=what):
            lookup(what)


def test_descriptions_are_immutable_and_hashable(serb2020: Experiment) -> None:
    with pytest.raises(AttributeError):
        serb2020.seed = 3  # type: ignore[misc]
    assert hash(serb2020.populations[1]) == hash(serb2020.populations[1])
    assert len({serb2020.projections[0], serb2020.projections[1]}) == 2
