"""The Python builder and the parts themselves: the same checks, the same key paths."""

from __future__ import annotations

import dataclasses

import pytest

from ione.models.neuron import DYNAPSE_DPI
from ione.network import (
    NEURON_MODELS,
    ConfigError,
    Experiment,
    ExperimentBuilder,
    Link,
    MemristiveSynapse,
    OneToOneConnector,
    Params,
    Phase,
    Population,
    Projection,
    Site,
    StaticSynapse,
)


def two_sites() -> ExperimentBuilder:
    exp = Experiment.builder("x")
    a = exp.site("a", index=1, port=1)
    b = exp.site("b", index=2, port=2)
    exp.population("g", site=a, kind="generator", size=1, rate="1 Hz")
    exp.population("s", site=b, kind="silicon", size=1)
    exp.projection("g", "s", OneToOneConnector(), StaticSynapse(0.5))
    return exp


def test_builder_errors_name_the_part_as_a_file_would() -> None:
    exp = two_sites()
    with pytest.raises(ConfigError) as info:
        exp.population("n", site="a", kind="silicon", size=1, model="dpy")
    assert info.value.key == "populations[2].model" and info.value.file is None
    with pytest.raises(ConfigError, match=r"^phases\[0\]\.rates\.g: expected a rate with a unit"):
        exp.phase("p", "1 s", rates={"g": 3})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match=r"^sites\[2\]\.index: expected a site index"):
        exp.site("c", index=0, port=3)
    with pytest.raises(ConfigError, match=r"^links\[0\]\.delay: .*a number without a unit"):
        exp.link("a", "b", key_file="k", delay=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^record\.weight_interval: expected a positive"):
        exp.record(weight_interval="0 s")
    with pytest.raises(ConfigError, match=r"^experiment\.tick: expected a positive duration"):
        Experiment.builder("y", tick="0 ms")


def test_cross_references_are_checked_at_build() -> None:
    exp = two_sites()
    with pytest.raises(ConfigError) as info:
        exp.build(duration="1 s")
    assert info.value.key == "projections[0]" and "no link joins 'a' and 'b'" in str(info.value)
    exp.link("a", "b", key_file="k")
    with pytest.raises(ConfigError, match=r"^experiment\.duration: expected a duration"):
        exp.build()
    assert exp.build(duration="1 s").duration_us == 1_000_000


def test_parts_can_be_added_directly() -> None:
    exp = Experiment.builder("direct")
    exp.add(
        Site("a", index=1, port=1),
        Population("g", site="a", kind="generator", size=1),
        Population("s", site="a", kind="silicon", size=1),
        Projection("g", "s", OneToOneConnector(), StaticSynapse(1.0)),
        Phase("only", duration_us=2_000_000, rates_hz={"g": 3}),
    )
    built = exp.build()
    assert built.rate_at("g", 0) == 3.0 and built.duration_us == 2_000_000
    with pytest.raises(TypeError, match="cannot add"):
        exp.add("a site")  # type: ignore[arg-type]


def test_parts_fill_in_their_defaults() -> None:
    pop = Population("s", site=Site("z", index=3, port=5), kind="silicon", size=2)
    assert (pop.site, pop.model, pop.preset, pop.params) == ("z", "dpi", "DYNAPSE_DPI", Params())
    assert pop.parameters() == DYNAPSE_DPI
    gen = Population("g", site="z", kind="generator", size=1)
    assert (gen.model, gen.preset) == ("regular", None)
    syn = MemristiveSynapse(host=Site("hub", index=2, port=6))
    assert (syn.host, syn.device, syn.preset, syn.rule, syn.pulses) == (
        "hub",
        "data_driven",
        "DATA_DRIVEN_DUT1",
        "rate",
        "DUT1_PULSES",
    )
    assert MemristiveSynapse(host="h", rule="timing").pulses == "TIMING_RULE_PULSES"
    proj = Projection(pop, gen, OneToOneConnector(), StaticSynapse(1))
    assert (proj.pre, proj.post, proj.name) == ("s", "g", "s-g")
    assert isinstance(proj.synapse, StaticSynapse) and proj.synapse.weight == 1.0


def test_direct_construction_raises_the_same_errors() -> None:
    with pytest.raises(ConfigError, match=r"^preset: expected a preset of dpi"):
        Population("s", site="z", kind="silicon", size=1, preset="NOPE")
    with pytest.raises(ConfigError, match=r"^duration: expected a positive duration, got -1 s"):
        Phase("p", duration_us=-1_000_000)
    with pytest.raises(ConfigError, match=r"^rates\.g: expected a rate from 0 Hz"):
        Phase("p", duration_us=1, rates_hz={"g": 5000.0})
    with pytest.raises(ConfigError, match=r"^key_file: expected the path of a key file"):
        Link("a", "b", key_file=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^delay: expected a duration from 0 s to 10 s"):
        Link("a", "b", key_file="k", delay_us=-5)
    with pytest.raises(ConfigError, match=r"^connector: expected a connector"):
        Projection("a", "b", "one_to_one", StaticSynapse(1.0))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^synapse: expected a synapse"):
        Projection("a", "b", OneToOneConnector(), 0.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^name: expected a name"):
        Projection("a", "b", OneToOneConnector(), StaticSynapse(1.0), name="a b")
    with pytest.raises(ConfigError, match=r"^rule_params: rule \"none\" takes no rule_params"):
        MemristiveSynapse(host="h", rule="none", rule_params={"ltp_above": 3})
    with pytest.raises(ConfigError, match=r"^r_min: expected a non-negative resistance"):
        MemristiveSynapse(host="h", r_min_ohm=-1.0)
    with pytest.raises(ConfigError, match=r"^x_initial: a data_driven device has no normalised"):
        MemristiveSynapse(host="h", x_initial=0.5)
    with pytest.raises(ConfigError, match=r"^experiment\.duration: expected integer µs"):
        Experiment("e", sites=(Site("a", index=1, port=1),), duration_us=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^sites: expected at least one"):
        Experiment("e", sites=(), duration_us=1_000)
    site = Site("a", index=1, port=1)
    with pytest.raises(ConfigError, match=r"^populations\[0\]: expected a Population, got 'x'"):
        Experiment("e", sites=[site], populations=["x"], duration_us=1_000)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match=r"^links: expected a sequence of Link"):
        Experiment("e", sites=[site], links="ab", duration_us=1_000)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^record: expected a Recording"):
        Experiment("e", sites=[site], record="runs", duration_us=1_000)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^params: expected a table of parameter overrides"):
        Population("s", site="z", kind="silicon", size=1, params=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^options: expected plain values"):
        MemristiveSynapse(host="h", options={"c2c_sigma": [{"a": 1}]})
    with pytest.raises(ConfigError, match=r"^options\.c2c_sigma: expected a number, got an array"):
        MemristiveSynapse(host="h", options={"c2c_sigma": [0.1]})
    with pytest.raises(ConfigError, match=r"^guard: only cultures are stimulated through a guard"):
        Population("s", site="z", kind="silicon", size=1, guard={"max_current_ua": 1.0})
    with pytest.raises(ConfigError, match=r"^rates: expected a table of rates"):
        Phase("p", duration_us=1, rates_hz=[("g", 1.0)])  # type: ignore[arg-type]


def test_parts_built_from_plain_dicts_are_hashable_and_equal_to_parsed_ones() -> None:
    gen = Population("g", site="z", kind="generator", size=1, params={})
    assert isinstance(gen.params, Params) and hash(gen) == hash(gen)
    syn = MemristiveSynapse(host="h", rule="none", rule_params={}, pulse_params={})
    assert hash(syn) == hash(MemristiveSynapse(host="h", rule="none"))


def test_extrapolation_can_be_allowed_explicitly() -> None:
    syn = MemristiveSynapse(
        host="h", pulses="HUB_GUI_PULSES", options={"allow_extrapolation": True}
    )
    assert syn.device_model().allow_extrapolation


def test_every_model_preset_resolves() -> None:
    for name, spec in NEURON_MODELS.items():
        for preset in spec.presets:
            size = getattr(spec.presets[preset], "n_neurons", 1)
            # a recording or electrode stream needs its file
            params = {"file": "x.h5"} if name in ("recording", "electrodes") else {}
            pop = Population(
                "p", site="s", kind=spec.kind, size=size, model=name, preset=preset, params=params
            )
            assert pop.parameters() == dataclasses.replace(spec.presets[preset], **params)


def test_a_recorded_culture_needs_its_file() -> None:
    with pytest.raises(ConfigError, match=r"params\.file.*spike file"):
        Population("p", site="s", kind="culture", size=3, model="recording")
    with pytest.raises(ConfigError, match=r"params.*speed must be"):
        Population("p", site="s", kind="culture", size=3, model="recording",
                   params={"file": "x.h5", "speed": 0.0})  # fmt: skip
    pop = Population("p", site="s", kind="culture", size=2, model="recording",
                     params={"file": "x.h5", "channels": "a, b"})  # fmt: skip
    assert pop.parameters().channel_names() == ["a", "b"]
