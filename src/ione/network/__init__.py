"""The description of a distributed experiment, apart from its execution.

An :class:`Experiment` lists the **sites** (labs, or processes on one host), the **populations**
of neurons each hosts (a culture, silicon neurons, spike generators), the **projections** between
them (static, or memristive synapses hosted at a hub: the 2020 system's ABsyn and BAsyn), the
**links** between sites (key files and internet emulation profiles) and the **phases** of the
protocol. It is checked as a whole when it is built and never runs anything: the site runtime
reads it (DESIGN principle 7, as brian2 and Lava separate description from execution).

Two ways to write one, giving equal objects:

- a TOML file, read with :func:`load_experiment` and written with :func:`save_experiment`
  (docs/experiments.md; ``examples/serb2020.toml``);
- Python, PyNN-style: ``exp = Experiment.builder("serb2020")``, then ``exp.site(...)``,
  ``exp.population(...)``, ``exp.projection(pre, post, OneToOneConnector(),
  MemristiveSynapse(host="southampton"))``, ``exp.link(...)``, ``exp.phase(...)`` and
  ``exp.build()``.

A bad description raises :class:`ConfigError`, whose message names the file, the key path and
what was expected.
"""

from ione.network._builder import ExperimentBuilder
from ione.network._connectors import (
    AllToAllConnector,
    Connector,
    FixedProbabilityConnector,
    FromListConnector,
    OneToOneConnector,
)
from ione.network._dump import dump_experiment, save_experiment
from ione.network._errors import ConfigError
from ione.network._experiment import Experiment
from ione.network._load import load_experiment, parse_experiment
from ione.network._params import Params
from ione.network._parts import MAX_RATE_HZ, ROLES, Link, Phase, Population, Recording, Site
from ione.network._projections import MemristiveSynapse, Projection, StaticSynapse, Synapse
from ione.network._registry import (
    DEVICES,
    KINDS,
    LINK_PROFILES,
    NEURON_MODELS,
    PULSES,
    RULES,
    DeviceSpec,
    ElectrodeStreamParams,
    LinkEmulation,
    ModelSpec,
    RecordingParams,
)
from ione.network._units import (
    format_duration,
    format_rate,
    format_resistance,
    parse_duration,
    parse_rate,
    parse_resistance,
)

__all__ = [
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
