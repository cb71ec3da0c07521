"""A bad experiment file gives one ConfigError naming the file, the key path and the expectation.

Every case edits one thing in a small valid file, writes it to ``tmp_path`` and checks the
message; none may end in any other exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ione.network import ConfigError, load_experiment

GOOD = """\
[experiment]
name = "small"
seed = 1
tick = "1 ms"

[[sites]]
name = "padova"
index = 1
port = 47101
role = "biology"

[[sites]]
name = "southampton"
index = 2
port = 47102
role = "hub"

[[sites]]
name = "zurich"
index = 3
port = 47103

[[populations]]
name = "SN_pre"
site = "zurich"
kind = "generator"
size = 1

[[populations]]
name = "BN"
site = "padova"
kind = "culture"
size = 1
preset = "SINGLE_NEURON"

[[populations]]
name = "SN_post"
site = "zurich"
kind = "silicon"
size = 1
model = "dpi"

[[projections]]
name = "MR1"
pre = "SN_pre"
post = "BN"
connector = "one_to_one"

[projections.synapse]
type = "memristive"
host = "southampton"
rule = "rate"
r_initial = "4.8 kohm"

[[projections]]
name = "MR2"
pre = "BN"
post = "SN_post"
connector = "one_to_one"

[projections.synapse]
type = "memristive"
host = "southampton"
rule = "rate"
r_initial = "6 kohm"

[[links]]
a = "padova"
b = "southampton"
key_file = "keys/ps.key"
profile = "padova-southampton"

[[links]]
a = "southampton"
b = "zurich"
key_file = "keys/sz.key"
profile = "southampton-zurich"

[[phases]]
name = "baseline"
duration = "2 s"
rates = { SN_pre = "10 Hz" }

[[phases]]
name = "ltp"
duration = "2 s"
rates = { SN_pre = "30 Hz" }
"""

HEX_KEY = "4f1c" * 16
PRE_SYN = 'rule = "rate"\nr_initial = "4.8 kohm"'
POST_SYN = 'rule = "rate"\nr_initial = "6 kohm"'
ZURICH = 'name = "zurich"\nindex = 3\nport = 47103'
BN = 'size = 1\npreset = "SINGLE_NEURON"'
SN_POST = 'size = 1\nmodel = "dpi"'
LINK1 = 'key_file = "keys/ps.key"\nprofile = "padova-southampton"'
PHASE1 = 'duration = "2 s"\nrates = { SN_pre = "10 Hz" }'
PHASE2 = 'duration = "2 s"\nrates = { SN_pre = "30 Hz" }'
MR1 = 'pre = "SN_pre"\npost = "BN"\nconnector = "one_to_one"'

# (case id, text to replace, replacement, key path, what the message must say)
CASES: list[tuple[str, str, str, str, str]] = [
    # --- TOML itself and the top level
    ("not-toml", "seed = 1", "seed = = 1", "", "not valid TOML"),
    ("unknown-top-key", "[experiment]", "colour = 1\n[experiment]", "colour", "unknown key"),
    (
        "missing-experiment",
        '[experiment]\nname = "small"\nseed = 1\ntick = "1 ms"\n',
        "",
        "experiment",
        "missing the [experiment] table",
    ),
    (
        "experiment-not-table",
        "[experiment]",
        "experiment = 3\n[experimentx]",
        "experimentx",
        "unknown key",
    ),
    ("missing-name", 'name = "small"\n', "", "experiment.name", "missing; expected"),
    ("bad-name", 'name = "small"', 'name = "my run"', "experiment.name", "expected a name"),
    ("unknown-experiment-key", "seed = 1", "seeds = 1", "experiment.seeds", 'did you mean "seed"'),
    ("negative-seed", "seed = 1", "seed = -1", "experiment.seed", "expected a seed"),
    (
        "seed-not-integer",
        "seed = 1",
        'seed = "one"',
        "experiment.seed",
        "expected a non-negative integer seed",
    ),
    (
        "description-not-string",
        "seed = 1",
        "seed = 1\ndescription = 5",
        "experiment.description",
        "expected a string",
    ),
    (
        "tick-without-unit",
        'tick = "1 ms"',
        "tick = 1",
        "experiment.tick",
        "a number without a unit",
    ),
    (
        "tick-too-long",
        'tick = "1 ms"',
        'tick = "5 s"',
        "experiment.tick",
        "expected a tick from 10 us to 1 s",
    ),
    (
        "duration-and-phases",
        "seed = 1",
        'seed = 1\nduration = "60 s"',
        "experiment.duration",
        "expected no duration when [[phases]] are given",
    ),
    (
        "no-duration-no-phases",
        f'[[phases]]\nname = "baseline"\n{PHASE1}\n\n[[phases]]\nname = "ltp"\n{PHASE2}\n',
        "",
        "experiment.duration",
        "expected a duration",
    ),
    (
        "sites-not-array",
        '[[sites]]\nname = "padova"',
        'sites = 3\n[[sitesx]]\nname = "padova"',
        "sitesx",
        "unknown key",
    ),
    # --- sites
    (
        "port-as-string",
        "port = 47101",
        'port = "47101"',
        "sites[0].port",
        'expected a UDP port, got "47101"',
    ),
    (
        "port-out-of-range",
        "port = 47101",
        "port = 70000",
        "sites[0].port",
        "expected a UDP port (1 ... 65535)",
    ),
    ("site-index-16", "index = 3", "index = 16", "sites[2].index", "expected a site index"),
    (
        "duplicate-site-index",
        "index = 3",
        "index = 2",
        "sites[2].index",
        "duplicate index 2: sites[1] has it already",
    ),
    (
        "duplicate-site-name",
        'name = "zurich"',
        'name = "padova"',
        "sites[2].name",
        'duplicate name "padova"',
    ),
    (
        "duplicate-port",
        "port = 47103",
        "port = 47101",
        "sites[2].port",
        "sites[0] listens on 47101 already",
    ),
    (
        "unknown-role",
        'role = "hub"',
        'role = "memristors"',
        "sites[1].role",
        'expected a site role: one of "biology", "hub", "silicon", "generator"',
    ),
    (
        "role-mismatch",
        'role = "biology"',
        'role = "hub"',
        "sites[0].role",
        "expected a role matching what 'padova' hosts (biology)",
    ),
    (
        "idle-site",
        ZURICH,
        f'{ZURICH}\n\n[[sites]]\nname = "paris"\nindex = 4\nport = 47104',
        "sites[3]",
        "hosts no population and no memristive synapses",
    ),
    (
        "empty-host",
        ZURICH,
        f'{ZURICH}\nhost = " "',
        "sites[2].host",
        "expected a host name or IP address",
    ),
    # --- populations
    (
        "population-on-undefined-site",
        'site = "padova"',
        'site = "padua"',
        "populations[1].site",
        'expected the name of a site defined under [[sites]] ("padova", '
        '"southampton", "zurich"), got "padua"',
    ),
    (
        "missing-site",
        'site = "padova"\n',
        "",
        "populations[1].site",
        "missing; expected the name of a site",
    ),
    (
        "unknown-population-key",
        BN,
        'size = 1\npresets = "SINGLE_NEURON"',
        "populations[1].presets",
        'did you mean "preset"',
    ),
    (
        "unknown-kind",
        'kind = "culture"',
        'kind = "biology"',
        "populations[1].kind",
        'expected a population kind: one of "culture", "silicon", "generator"',
    ),
    (
        "size-zero",
        BN,
        'size = 0\npreset = "SINGLE_NEURON"',
        "populations[1].size",
        "expected a number of neurons (1 ... 1048575)",
    ),
    (
        "size-float",
        SN_POST,
        'size = 1.0\nmodel = "dpi"',
        "populations[2].size",
        "expected a number of neurons, got 1.0",
    ),
    (
        "culture-size-mismatch",
        BN,
        'size = 2\npreset = "SINGLE_NEURON"',
        "populations[1].size",
        "expected the culture's number of neurons, 1 (SINGLE_NEURON)",
    ),
    (
        "unknown-model",
        'model = "dpi"',
        'model = "dpy"',
        "populations[2].model",
        'expected a silicon model: one of "dpi", "lif", "lif_cond", "adex", "izhikevich", '
        '"diffusive"; got "dpy"',
    ),
    (
        "unknown-preset",
        'preset = "SINGLE_NEURON"',
        'preset = "SINGLE_NEURONS"',
        "populations[1].preset",
        'expected a preset of culture: one of "HIPPOCAMPAL_CULTURE", "SINGLE_NEURON"',
    ),
    (
        "unknown-param",
        SN_POST,
        f"{SN_POST}\nparams = {{ tau_mem = 15.0 }}",
        "populations[2].params.tau_mem",
        "unknown parameter of DPIParams; expected one of: ",
    ),
    (
        "param-wrong-type",
        SN_POST,
        f'{SN_POST}\nparams = {{ tau_mem_ms = "fast" }}',
        "populations[2].params.tau_mem_ms",
        'expected a number, got "fast"',
    ),
    (
        "param-rejected",
        SN_POST,
        f"{SN_POST}\nparams = {{ tau_mem_ms = -5.0 }}",
        "populations[2].params.tau_mem_ms",
        "rejected by DPIParams",
    ),
    (
        "param-array",
        SN_POST,
        f"{SN_POST}\nparams = {{ tau_mem_ms = [1, 2] }}",
        "populations[2].params.tau_mem_ms",
        "expected a number, got an array",
    ),
    (
        "nested-param-not-table",
        BN,
        f"{BN}\nparams = {{ stimulation = 3 }}",
        "populations[1].params.stimulation",
        "expected a table of CapacitiveStimulation fields",
    ),
    (
        "generator-with-preset",
        'kind = "generator"',
        'kind = "generator"\npreset = "DYNAPSE_DPI"',
        "populations[0].preset",
        "a regular generator takes no preset",
    ),
    (
        "rate-on-culture",
        BN,
        f'{BN}\nrate = "5 Hz"',
        "populations[1].rate",
        "only generators take a rate; this is a culture",
    ),
    (
        "rate-without-unit",
        'kind = "generator"',
        'kind = "generator"\nrate = 5',
        "populations[0].rate",
        "expected a rate with a unit",
    ),
    (
        "duplicate-population",
        'name = "SN_post"',
        'name = "BN"',
        "populations[2].name",
        'duplicate name "BN"',
    ),
    # --- projections
    (
        "projection-from-missing-population",
        'pre = "SN_pre"',
        'pre = "SN_pr"',
        "projections[0].pre",
        "expected the name of a population defined under [[populations]]",
    ),
    (
        "projection-to-missing-population",
        'post = "SN_post"',
        'post = "SN_pst"',
        "projections[1].post",
        '"SN_pre", "BN", "SN_post"',
    ),
    (
        "projection-to-generator",
        'post = "SN_post"',
        'post = "SN_pre"',
        "projections[1].post",
        "expected a population that receives input, got the generator 'SN_pre'",
    ),
    (
        "duplicate-projection",
        'name = "MR2"',
        'name = "MR1"',
        "projections[1].name",
        'duplicate name "MR1"',
    ),
    (
        "missing-synapse",
        MR1 + '\n\n[projections.synapse]\ntype = "memristive"\nhost = "southampton"\n' + PRE_SYN,
        MR1,
        "projections[0].synapse",
        "missing; expected a synapse table",
    ),
    (
        "unknown-connector",
        'connector = "one_to_one"\n\n[projections.synapse]\ntype = '
        '"memristive"\nhost = "southampton"\n' + PRE_SYN,
        'connector = "one_to_onee"\n\n'
        '[projections.synapse]\ntype = "memristive"\nhost = "southampton"\n' + PRE_SYN,
        "projections[0].connector",
        'expected a connector: one of "one_to_one", "all_to_all", "fixed_probability", "from_list"',
    ),
    (
        "fixed-probability-needs-table",
        MR1,
        MR1.replace("one_to_one", "fixed_probability"),
        "projections[0].connector",
        'expected a table { type = "fixed_probability", p_connect',
    ),
    (
        "probability-above-one",
        MR1,
        MR1.replace('"one_to_one"', '{ type = "fixed_probability", p_connect = 1.5 }'),
        "projections[0].connector.p_connect",
        "expected a probability from 0 to 1, got 1.5",
    ),
    (
        "connector-unknown-key",
        MR1,
        MR1.replace('"one_to_one"', '{ type = "fixed_probability", p = 0.5 }'),
        "projections[0].connector.p",
        "expected one of: type, p_connect",
    ),
    (
        "from-list-out-of-range",
        MR1,
        MR1.replace('"one_to_one"', '{ type = "from_list", connections = [[0, 3]] }'),
        "projections[0].connector.connections[0]",
        "expected indices below the sizes 1 (pre)",
    ),
    (
        "from-list-bad-pair",
        MR1,
        MR1.replace('"one_to_one"', '{ type = "from_list", connections = [[0, 0, 1]] }'),
        "projections[0].connector.connections[0]",
        "expected a pair [pre, post]",
    ),
    (
        "one-to-one-size-mismatch",
        SN_POST,
        'size = 2\nmodel = "dpi"',
        "projections[1].connector",
        "one_to_one needs populations of equal size, got 1 and 2",
    ),
    (
        "unknown-synapse-type",
        'type = "memristive"\nhost = "southampton"\n' + POST_SYN,
        'type = "memristor"\nhost = "southampton"\n' + POST_SYN,
        "projections[1].synapse.type",
        'expected a synapse type: one of "static", "memristive"; got "memristor"',
    ),
    (
        "static-weight-above-one",
        'type = "memristive"\nhost = "southampton"\n' + POST_SYN,
        'type = "static"\nweight = 2.0',
        "projections[1].synapse.weight",
        "expected a weight from 0 to 1, got 2.0",
    ),
    (
        "static-with-memristive-key",
        'type = "memristive"\nhost = "southampton"\n' + POST_SYN,
        'type = "static"\nweight = 0.5\nhost = "southampton"',
        "projections[1].synapse.host",
        "unknown key; expected one of: type, weight",
    ),
    (
        "host-undefined",
        'host = "southampton"\n' + POST_SYN,
        'host = "soton"\n' + POST_SYN,
        "projections[1].synapse.host",
        "expected the name of a site defined under [[sites]]",
    ),
    (
        "host-missing",
        'host = "southampton"\n' + POST_SYN,
        POST_SYN,
        "projections[1].synapse.host",
        "missing; expected the name of the site that hosts",
    ),
    (
        "unknown-rule",
        POST_SYN,
        POST_SYN.replace('"rate"', '"rates"'),
        "projections[1].synapse.rule",
        'expected a plasticity rule: one of "rate", "timing", "pair_stdp", "none"; got "rates"',
    ),
    (
        "unknown-device",
        POST_SYN,
        f'device = "hp"\n{POST_SYN}',
        "projections[1].synapse.device",
        'expected a memristive device model: one of "data_driven", "vteam", "yakopcic"',
    ),
    (
        "unknown-device-preset",
        POST_SYN,
        f'preset = "DATA_DRIVEN_DUT3"\n{POST_SYN}',
        "projections[1].synapse.preset",
        '"DATA_DRIVEN_DUT1", "DATA_DRIVEN_DUT2"',
    ),
    (
        "unknown-pulses",
        POST_SYN,
        f'pulses = "DUT2_PULSES"\n{POST_SYN}',
        "projections[1].synapse.pulses",
        'expected a pulse programme: one of "DUT1_PULSES"',
    ),
    (
        "pulses-outside-the-fit",
        POST_SYN,
        f'pulses = "HUB_GUI_PULSES"\n{POST_SYN}',
        "projections[1].synapse.pulses",
        "fitted on (-2.2 ... +2.2 V), got a +4 V pulse from HUB_GUI_PULSES",
    ),
    (
        "pulse-params-outside-the-fit",
        POST_SYN,
        f"pulse_params = {{ ltp_volts = 3.0 }}\n{POST_SYN}",
        "projections[1].synapse.pulse_params",
        "options.allow_extrapolation = true",
    ),
    (
        "unknown-rule-param",
        POST_SYN,
        f"rule_params = {{ ltp_abov = 20 }}\n{POST_SYN}",
        "projections[1].synapse.rule_params.ltp_abov",
        "unknown parameter of RateRule",
    ),
    (
        "rule-param-rejected",
        POST_SYN,
        f"rule_params = {{ ltd_below = 30 }}\n{POST_SYN}",
        "projections[1].synapse.rule_params.ltd_below",
        "rejected by RateRule",
    ),
    (
        "unknown-device-option",
        POST_SYN,
        f"options = {{ c2c = 0.2 }}\n{POST_SYN}",
        "projections[1].synapse.options.c2c",
        "unknown parameter of DataDriven; expected one of: c2c_sigma",
    ),
    (
        "device-param-wrong-type",
        POST_SYN,
        f'params = {{ k_p_per_ohm = "big" }}\n{POST_SYN}',
        "projections[1].synapse.params.k_p_per_ohm",
        'expected a number, got "big"',
    ),
    (
        "rule-none-with-pulses",
        POST_SYN,
        'rule = "none"\npulses = "DUT1_PULSES"',
        "projections[1].synapse.pulses",
        'rule "none" takes no pulses',
    ),
    (
        "inverted-window",
        POST_SYN,
        f'r_min = "9 kohm"\nr_max = "4 kohm"\n{POST_SYN}',
        "projections[1].synapse.r_max",
        "expected r_max above r_min (9 kohm), got 4 kohm",
    ),
    (
        "resistance-wrong-unit",
        'r_initial = "6 kohm"',
        'r_initial = "6 kV"',
        "projections[1].synapse.r_initial",
        '"kV" is not a unit of resistance',
    ),
    (
        "resistance-not-positive",
        'r_initial = "6 kohm"',
        'r_initial = "0 ohm"',
        "projections[1].synapse.r_initial",
        "expected a positive resistance",
    ),
    (
        "resistance-on-vteam",
        POST_SYN,
        f'device = "vteam"\n{POST_SYN}',
        "projections[1].synapse.r_initial",
        "a vteam device does not start from a resistance",
    ),
    (
        "state-out-of-range",
        POST_SYN,
        'device = "vteam"\nx_initial = 1.5',
        "projections[1].synapse.x_initial",
        "expected a state from 0 to 1, got 1.5",
    ),
    (
        "no-link-on-the-route",
        '[[links]]\na = "southampton"\nb = "zurich"\nkey_file = '
        '"keys/sz.key"\nprofile = "southampton-zurich"\n',
        "",
        "projections[0]",
        "its traffic goes zurich -> southampton -> padova, but no link joins 'zurich' and "
        "'southampton'",
    ),
    # --- links
    (
        "key-file-not-a-string",
        'key_file = "keys/ps.key"',
        "key_file = 42",
        "links[0].key_file",
        "expected the path of a key file as a string, got 42",
    ),
    (
        "key-in-the-file",
        'key_file = "keys/ps.key"',
        f'key_file = "{HEX_KEY}"',
        "links[0].key_file",
        "looks like key material",
    ),
    (
        "key-file-missing",
        'key_file = "keys/ps.key"\n',
        "",
        "links[0].key_file",
        "missing; expected the path of a key file",
    ),
    (
        "key-id-out-of-range",
        LINK1,
        f"{LINK1}\nkey_id = 300",
        "links[0].key_id",
        "expected a key id (0 ... 255)",
    ),
    (
        "link-to-undefined-site",
        'b = "southampton"\nkey_file = "keys/ps.key"',
        'b = "soton"\nkey_file = "keys/ps.key"',
        "links[0].b",
        "expected the name of a site defined under [[sites]]",
    ),
    (
        "link-to-itself",
        'b = "southampton"\nkey_file = "keys/ps.key"',
        'b = "padova"\nkey_file = "keys/ps.key"',
        "links[0].b",
        "expected two different sites",
    ),
    (
        "duplicate-link",
        'a = "southampton"\nb = "zurich"',
        'a = "southampton"\nb = "padova"',
        "links[1]",
        "duplicate link between 'southampton' and 'padova'",
    ),
    (
        "unknown-profile",
        'profile = "padova-southampton"',
        'profile = "padova-soton"',
        "links[0].profile",
        'expected a link profile: one of "padova-southampton"',
    ),
    (
        "loss-above-one",
        LINK1,
        f"{LINK1}\nloss = 1.5",
        "links[0].loss",
        "expected a fraction from 0 to below 1, got 1.5",
    ),
    (
        "negative-delay",
        LINK1,
        f'{LINK1}\ndelay = "-3 ms"',
        "links[0].delay",
        'expected a non-negative duration, got "-3 ms"',
    ),
    (
        "delay-too-long",
        LINK1,
        f'{LINK1}\njitter = "1 min"',
        "links[0].jitter",
        "expected a duration from 0 s to 10 s, got 60 s",
    ),
    # --- phases
    (
        "duration-without-unit",
        PHASE1,
        'duration = 2\nrates = { SN_pre = "10 Hz" }',
        "phases[0].duration",
        'expected a duration with a unit, such as "25 s"',
    ),
    (
        "duration-wrong-unit",
        PHASE1,
        'duration = "2 Hz"\nrates = { SN_pre = "10 Hz" }',
        "phases[0].duration",
        '"Hz" is not a unit of time',
    ),
    (
        "negative-duration",
        PHASE1,
        'duration = "-2 s"\nrates = { SN_pre = "10 Hz" }',
        "phases[0].duration",
        'expected a positive duration, got "-2 s"',
    ),
    (
        "zero-duration",
        PHASE1,
        'duration = "0 s"\nrates = { SN_pre = "10 Hz" }',
        "phases[0].duration",
        "expected a positive duration",
    ),
    (
        "duration-not-whole-ticks",
        PHASE1,
        'duration = "2.0005 s"\nrates = { SN_pre = "10 Hz" }',
        "phases[0].duration",
        "expected a whole number of ticks (1 ms), got 2000500 us",
    ),
    (
        "rate-too-high",
        PHASE2,
        'duration = "2 s"\nrates = { SN_pre = "5 kHz" }',
        "phases[1].rates.SN_pre",
        "expected a rate from 0 Hz to 1000 Hz, got 5000 Hz",
    ),
    (
        "negative-rate",
        PHASE2,
        'duration = "2 s"\nrates = { SN_pre = "-3 Hz" }',
        "phases[1].rates.SN_pre",
        "expected a rate from 0 Hz to 1000 Hz, got -3 Hz",
    ),
    (
        "rate-wrong-unit",
        PHASE2,
        'duration = "2 s"\nrates = { SN_pre = "30 s" }',
        "phases[1].rates.SN_pre",
        '"s" is not a unit of rate',
    ),
    (
        "rate-for-a-culture",
        PHASE2,
        'duration = "2 s"\nrates = { SN_pre = "3 Hz", BN = "3 Hz" }',
        "phases[1].rates.BN",
        "only generators take a rate; 'BN' is a culture population",
    ),
    (
        "rate-for-unknown-population",
        PHASE2,
        'duration = "2 s"\nrates = { SN_pre = "3 Hz", SN_pree = "3 Hz" }',
        "phases[1].rates.SN_pree",
        'expected the name of a generator population ("SN_pre")',
    ),
    (
        "generator-without-rate",
        PHASE2,
        'duration = "2 s"',
        "phases[1].rates.SN_pre",
        "expected a rate for generator 'SN_pre'",
    ),
    (
        "duplicate-phase",
        'name = "ltp"',
        'name = "baseline"',
        "phases[1].name",
        'duplicate name "baseline"',
    ),
    # --- record
    (
        "record-unknown-key",
        PHASE2,
        f'{PHASE2}\n\n[record]\ndir = "runs"',
        "record.dir",
        "expected one of: directory, weight_interval",
    ),
    (
        "record-interval-negative",
        PHASE2,
        f'{PHASE2}\n\n[record]\nweight_interval = "-1 s"',
        "record.weight_interval",
        "expected a positive duration",
    ),
    (
        "record-directory-not-string",
        PHASE2,
        f"{PHASE2}\n\n[record]\ndirectory = 3",
        "record.directory",
        "expected a directory path, got 3",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_bad_file_names_the_file_the_key_and_the_expectation(
    tmp_path: Path, old: str, new: str, key: str, expected: str
) -> None:
    assert GOOD.count(old) == 1, f"the case must edit exactly one place: {old!r}"
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    err = info.value
    message = str(err)
    assert message.startswith(f"{path}: "), message
    assert err.file == str(path) and err.key == key, message
    if key:
        assert f": {key}: " in message, message
    assert expected in message, message


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_experiment(path).duration_us == 4_000_000


def test_a_syntax_error_says_where(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace("seed = 1", "seed = = 1"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML: .*line 3"):
        load_experiment(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothere\.toml: no such file"):
        load_experiment(tmp_path / "nothere.toml")


def test_a_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ConfigError, match=r"binary\.toml: cannot read the file"):
        load_experiment(path)


def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"empty\.toml: experiment: missing the \[experiment\]"):
        load_experiment(path)


def test_an_entry_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "odd.toml"
    path.write_text('populations = [1]\n[experiment]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert info.value.key == "populations[0]"
    assert "expected an array of tables ([[populations]]), got 1" in str(info.value)


def test_errors_survive_pickling() -> None:
    import pickle

    err = ConfigError("expected x", key="a.b", file="f.toml")
    again = pickle.loads(pickle.dumps(err))
    assert (again.reason, again.key, again.file, str(again)) == (
        "expected x",
        "a.b",
        "f.toml",
        "f.toml: a.b: expected x",
    )
