"""What a description may name: neuron models, memristive devices, rules, pulses, link profiles.

Every name maps onto a class and its presets in :mod:`ione.models` (SYSTEM.md §2–§3), so a file
can say ``model = "dpi"`` and ``preset = "DYNAPSE_DPI"`` and be checked on load: a name that does
not exist is rejected with the list of those that do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from ione.models import memristor as mem
from ione.models import neuron as nrn
from ione.models import plasticity as pl
from ione.network._errors import ConfigError
from ione.network._units import show

__all__ = [
    "DEVICES",
    "ELECTRODES",
    "KINDS",
    "LINK_PROFILES",
    "NEURON_MODELS",
    "PULSES",
    "RECORDING",
    "RULES",
    "DeviceSpec",
    "LinkEmulation",
    "ModelSpec",
    "RecordingParams",
    "choose",
]

#: Kinds of population: a (simulated or recorded) culture, silicon (or simulated) neurons, or a
#: spike generator.
KINDS: Final = ("culture", "silicon", "generator")


def choose(value: object, options: Mapping[str, Any] | tuple[str, ...], key: str, what: str) -> str:
    """``value`` if it is one of ``options``, else a ConfigError listing them."""
    names = tuple(options)
    if isinstance(value, str) and value in names:
        return value
    listed = ", ".join(show(n) for n in names)
    raise ConfigError(f"expected {what}: one of {listed}; got {show(value)}", key=key)


@dataclass(frozen=True, slots=True)
class RecordingParams:
    """A culture that replays recorded spike trains (``model = "recording"``).

    Attributes
    ----------
    file
        The spike file (relative paths are relative to the description's file): an HDF5 spike
        file in the sjemea/meaRtools layout, an NWB file with a Units table, a SpikeInterface
        sorting or any file Neo reads (:func:`ione.culture.load_spike_trains`).
    channels
        The channels (or units) to replay, by name, separated by commas, in the order of the
        population's neurons; empty for all of them in the file's order. The population's
        ``size`` must equal their number.
    speed
        Replay speed (1 = real time, 2 = twice as fast), 0.001 ... 1000.
    start_s
        Where in the recording the replay starts (s).
    loop
        Start again at ``start_s`` when the recording ends (else the population falls silent).
    """

    file: str = ""
    channels: str = ""
    speed: float = 1.0
    start_s: float = 0.0
    loop: bool = False

    def __post_init__(self) -> None:
        if not 0.001 <= self.speed <= 1000.0:
            raise ValueError(f"speed must be 0.001 ... 1000 (x real time), got {self.speed!r}")
        if not self.start_s >= 0.0:
            raise ValueError(f"start_s must be >= 0 s, got {self.start_s!r}")

    def channel_names(self) -> list[str] | None:
        """The channel names given, or None for all channels."""
        names = [c.strip() for c in self.channels.split(",") if c.strip()]
        return names or None


#: The default (empty) parameters of a recorded culture: ``params.file`` must be given.
RECORDING: Final = RecordingParams()


@dataclass(frozen=True, slots=True)
class ElectrodeStreamParams:
    """A culture seen through its electrodes (``model = "electrodes"``): raw voltages streamed in
    1 ms blocks through ione's streaming spike detector (:mod:`ione.culture.detect`).

    Attributes
    ----------
    file
        A recording SpikeInterface reads (relative to the description's file), played back in
        real time as a live rig would deliver it (:mod:`ione.culture.streams`).
    format
        SpikeInterface reader (``"maxwell"``, ``"biocam"``, ``"openephys"``, ``"binary"``, ...);
        empty for a saved SpikeInterface recording or an NWB file.
    sampling_frequency_hz, num_channels, dtype
        Only for ``format = "binary"``: the layout of the flat file.
    threshold, peak_sign, band_low_hz, band_high_hz, dead_time_ms, warmup_s
        The detector's settings (:class:`ione.culture.detect.DetectorConfig`).
    exclusion_radius_um
        Local exclusion among electrodes closer than this (µm; 0: off).
    """

    file: str = ""
    format: str = ""
    sampling_frequency_hz: float = 0.0
    num_channels: int = 0
    dtype: str = ""
    threshold: float = 5.0
    peak_sign: Literal["neg", "pos", "both"] = "neg"
    band_low_hz: float = 300.0
    band_high_hz: float = 3000.0
    dead_time_ms: float = 1.0
    warmup_s: float = 1.0
    exclusion_radius_um: float = 0.0

    def __post_init__(self) -> None:
        if not self.threshold > 0:
            raise ValueError(
                f"threshold must be > 0 (multiples of the noise), got {self.threshold}"
            )
        if not 0 < self.band_low_hz < self.band_high_hz:
            raise ValueError(
                f"band must satisfy 0 < band_low_hz < band_high_hz, got "
                f"{self.band_low_hz} ... {self.band_high_hz}"
            )
        if self.exclusion_radius_um < 0 or self.dead_time_ms < 0 or not self.warmup_s > 0:
            raise ValueError("exclusion_radius_um and dead_time_ms must be >= 0, warmup_s > 0")


#: The default parameters of a culture seen through its electrodes: ``params.file`` must be given.
ELECTRODES: Final = ElectrodeStreamParams()


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A neuron model a population may use: its kind, presets (name -> parameters) and default.

    Generators (``regular``, ``poisson``) have no parameter class and no presets.
    """

    name: str
    kind: str
    presets: Mapping[str, Any]
    default_preset: str | None
    summary: str


def _presets(**presets: Any) -> Mapping[str, Any]:
    return MappingProxyType(presets)


_MODELS = (
    ModelSpec(
        "culture",
        "culture",
        _presets(HIPPOCAMPAL_CULTURE=nrn.HIPPOCAMPAL_CULTURE, SINGLE_NEURON=nrn.SINGLE_NEURON),
        "HIPPOCAMPAL_CULTURE",
        "Izhikevich culture stimulated through capacitive ramps (ione.models.neuron.culture)",
    ),
    ModelSpec(
        "recording",
        "culture",
        _presets(RECORDING=RECORDING),
        "RECORDING",
        "recorded spike trains replayed as the culture's neurons (ione.culture.spiketrains)",
    ),
    ModelSpec(
        "electrodes",
        "culture",
        _presets(ELECTRODES=ELECTRODES),
        "ELECTRODES",
        "raw electrode voltages through the streaming spike detector (ione.culture.detect)",
    ),
    ModelSpec(
        "dpi",
        "silicon",
        _presets(DYNAPSE_DPI=nrn.DYNAPSE_DPI),
        "DYNAPSE_DPI",
        "DPI neuron of the DYNAP-SE family (ione.models.neuron.dpi)",
    ),
    ModelSpec(
        "lif",
        "silicon",
        _presets(
            DYNAPSE_LIF_SURROGATE=nrn.DYNAPSE_LIF_SURROGATE, PYNN_IF_CURR_EXP=nrn.PYNN_IF_CURR_EXP
        ),
        "DYNAPSE_LIF_SURROGATE",
        "current-based LIF, PyNN IF_curr_exp (ione.models.neuron.lif)",
    ),
    ModelSpec(
        "lif_cond",
        "silicon",
        _presets(PYNN_IF_COND_EXP=nrn.PYNN_IF_COND_EXP, BRETTE_2007_COBA=nrn.BRETTE_2007_COBA),
        "PYNN_IF_COND_EXP",
        "conductance-based LIF, PyNN IF_cond_exp (ione.models.neuron.lif)",
    ),
    ModelSpec(
        "adex",
        "silicon",
        _presets(
            BRETTE_GERSTNER_2005=nrn.BRETTE_GERSTNER_2005,
            NAUD_2008_TONIC=nrn.NAUD_2008_TONIC,
            NAUD_2008_ADAPTING=nrn.NAUD_2008_ADAPTING,
            NAUD_2008_INITIAL_BURST=nrn.NAUD_2008_INITIAL_BURST,
            NAUD_2008_REGULAR_BURSTING=nrn.NAUD_2008_REGULAR_BURSTING,
        ),
        "BRETTE_GERSTNER_2005",
        "adaptive exponential I&F (ione.models.neuron.adex)",
    ),
    ModelSpec(
        "izhikevich",
        "silicon",
        _presets(
            REGULAR_SPIKING=nrn.REGULAR_SPIKING,
            INTRINSICALLY_BURSTING=nrn.INTRINSICALLY_BURSTING,
            CHATTERING=nrn.CHATTERING,
            FAST_SPIKING=nrn.FAST_SPIKING,
        ),
        "REGULAR_SPIKING",
        "Izhikevich neuron (ione.models.neuron.izhikevich)",
    ),
    ModelSpec(
        "diffusive",
        "silicon",
        _presets(ZHAO2025=nrn.ZHAO2025),
        "ZHAO2025",
        "1M1T1R diffusive-memristor neuron (ione.models.neuron.diffusive)",
    ),
    ModelSpec("regular", "generator", _presets(), None, "periodic spikes at the phase's rate"),
    ModelSpec("poisson", "generator", _presets(), None, "Poisson spikes at the phase's rate"),
)

#: Neuron models by name.
NEURON_MODELS: Final[Mapping[str, ModelSpec]] = MappingProxyType({m.name: m for m in _MODELS})
#: The model a population of each kind gets when it names none.
DEFAULT_MODEL: Final[Mapping[str, str]] = MappingProxyType(
    {"culture": "culture", "silicon": "dpi", "generator": "regular"}
)


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A memristive device model: its class, presets, default preset and initial-state variable.

    ``initial`` is ``"r"`` when the state starts at a resistance (``r_initial``), ``"x"`` when it
    starts at a normalised state in [0, 1] (``x_initial``), ``""`` when it always starts off.
    """

    name: str
    model: type
    presets: Mapping[str, Any]
    default_preset: str
    initial: str


DEVICES: Final[Mapping[str, DeviceSpec]] = MappingProxyType(
    {
        "data_driven": DeviceSpec(
            "data_driven",
            mem.DataDriven,
            _presets(DATA_DRIVEN_DUT1=mem.DATA_DRIVEN_DUT1, DATA_DRIVEN_DUT2=mem.DATA_DRIVEN_DUT2),
            "DATA_DRIVEN_DUT1",
            "r",
        ),
        "vteam": DeviceSpec(
            "vteam", mem.Vteam, _presets(VTEAM_TYPICAL=mem.VTEAM_TYPICAL), "VTEAM_TYPICAL", "x"
        ),
        "yakopcic": DeviceSpec(
            "yakopcic",
            mem.Yakopcic,
            _presets(YAKOPCIC_DEFAULT=mem.YAKOPCIC_DEFAULT),
            "YAKOPCIC_DEFAULT",
            "x",
        ),
        "diffusive": DeviceSpec(
            "diffusive", mem.Diffusive, _presets(WANG2024=mem.WANG2024), "WANG2024", ""
        ),
    }
)

#: Plasticity rules by name; ``"none"`` reads the devices but never programs them.
RULES: Final[Mapping[str, type | None]] = MappingProxyType(
    {"rate": pl.RateRule, "timing": pl.TimingRule, "pair_stdp": pl.PairSTDP, "none": None}
)

#: Pulse programmes by name (ione.models.plasticity).
PULSES: Final[Mapping[str, pl.PulseProgramme]] = MappingProxyType(
    {
        "DUT1_PULSES": pl.DUT1_PULSES,
        "HUB_GUI_PULSES": pl.HUB_GUI_PULSES,
        "TIMING_RULE_PULSES": pl.TIMING_RULE_PULSES,
    }
)


def default_pulses(rule: str) -> str | None:
    """The name of the programme a rule uses by default (None for ``"none"``)."""
    cls = RULES[rule]
    if cls is None:
        return None
    programme = cls().pulses
    return next(name for name, p in PULSES.items() if p == programme)


@dataclass(frozen=True, slots=True)
class LinkEmulation:
    """How the emulator should treat a link's datagrams, both directions alike.

    Attributes
    ----------
    delay_us
        One-way delay (µs).
    jitter_us
        Spread of the one-way delay around ``delay_us`` (µs), the "± 2 ms" of SYSTEM.md §4.
    loss
        Fraction of datagrams lost, 0 ... < 1.
    duplicate
        Fraction of datagrams delivered twice, 0 ... < 1.
    """

    delay_us: int = 0
    jitter_us: int = 0
    loss: float = 0.0
    duplicate: float = 0.0

    @property
    def ideal(self) -> bool:
        """True when the link passes datagrams untouched."""
        return self == LinkEmulation()


#: Named link profiles, the same names as the emulator's presets (ione.netem). The two paths of
#: the 2020 experiment are SYSTEM.md §4's emulation defaults (one-way 15 ± 2 ms
#: Padova–Southampton, 10 ± 2 ms Southampton–Zurich, 0.1 % loss); ``lan`` is a wired lab network
#: (0.2 ± 0.05 ms); ``none`` emulates nothing. The emulator's presets add details of their own
#: (delay floors, jitter correlation); these are the numbers a description states.
LINK_PROFILES: Final[Mapping[str, LinkEmulation]] = MappingProxyType(
    {
        "padova-southampton": LinkEmulation(15_000, 2_000, 0.001),
        "southampton-zurich": LinkEmulation(10_000, 2_000, 0.001),
        "lan": LinkEmulation(200, 50, 0.0),
        "none": LinkEmulation(),
    }
)
