"""Sites, populations, phases, links and the recording options of an experiment description.

Every part is a frozen dataclass that checks itself on construction and raises
:class:`~ione.network.ConfigError` with the key (as written in a TOML file) that is wrong.
Projections and synapses live in :mod:`ione.network._projections`, connectors in
:mod:`ione.network._connectors`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Final, cast

from ione.events import NEURON_BITS
from ione.network._errors import ConfigError
from ione.network._params import Params, apply_overrides
from ione.network._registry import (
    DEFAULT_MODEL,
    KINDS,
    LINK_PROFILES,
    NEURON_MODELS,
    LinkEmulation,
    choose,
)
from ione.network._units import format_duration, format_rate, show

__all__ = [
    "MAX_LINK_DELAY_US",
    "MAX_RATE_HZ",
    "ROLES",
    "Link",
    "Phase",
    "Population",
    "Recording",
    "Site",
    "check_name",
    "mapping",
    "name_of",
]

#: Roles a site may declare; a declared role must match what the site hosts.
ROLES: Final = ("biology", "hub", "silicon", "generator")
#: Highest generator rate accepted (Hz): above the firing rate of any neuron, and above the
#: 200 Hz bursts a stimulation guard allows (SYSTEM.md §5).
MAX_RATE_HZ: Final = 1000.0
#: Longest one-way delay or jitter a link may be given (µs).
MAX_LINK_DELAY_US: Final = 10_000_000
_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_HEX_KEY: Final = re.compile(r"^\s*[0-9a-fA-F]{64}\s*$")


def check_name(value: object, key: str = "name") -> str:
    """``value`` if it is a valid name (letters, digits, ``_``, ``-``; up to 64), else an error."""
    if isinstance(value, str) and _NAME.match(value):
        return value
    raise ConfigError(
        "expected a name of 1 to 64 letters, digits, '_' or '-', starting with a letter or '_', "
        f"got {show(value)}",
        key=key,
    )


def name_of(value: object, key: str) -> str:
    """The name of a part given as a name or as the part itself (``site=zurich``)."""
    name = getattr(value, "name", value)
    return check_name(name, key)


def _int(value: object, key: str, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"expected {what} ({lo} ... {hi}), got {show(value)}", key=key)
    return value


def check_rate(rate_hz: object, key: str) -> float:
    """A finite rate in 0 ... :data:`MAX_RATE_HZ` hertz, else a ConfigError."""
    if (
        isinstance(rate_hz, bool)
        or not isinstance(rate_hz, int | float)
        or not math.isfinite(rate_hz)
        or not 0.0 <= rate_hz <= MAX_RATE_HZ
    ):
        shown = format_rate(rate_hz) if isinstance(rate_hz, int | float) else show(rate_hz)
        raise ConfigError(
            f"expected a rate from 0 Hz to {format_rate(MAX_RATE_HZ)}, got {shown}", key=key
        )
    return float(rate_hz)


def _fraction(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0.0 <= value < 1.0):
        raise ConfigError(f"expected a fraction from 0 to below 1, got {show(value)}", key=key)
    return float(value)


def _no_rates() -> Mapping[str, float]:
    return cast("Mapping[str, float]", Params())


def mapping(value: object, key: str) -> Params:
    """``value`` as Params, or a ConfigError if it is no mapping of plain values."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"expected a table of parameter overrides, got {show(value)}", key=key)
    try:
        return Params(value)
    except TypeError as exc:
        raise ConfigError(f"expected plain values: {exc}", key=key) from None


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class Site:
    """A place that runs part of the experiment as one process: a lab, or a port on this host.

    Attributes
    ----------
    name
        Unique name (``"padova"``).
    index
        Site number 1 ... 15: the top four bits of every address it owns
        (:func:`ione.events.make_key`).
    host, port
        Where the site's UDP endpoint listens.
    role
        Optional label, ``"biology"``, ``"hub"``, ``"silicon"`` or ``"generator"``; when given it
        must match what the site hosts (cultures, memristive synapses, silicon neurons,
        generators). What a site does follows from what it hosts either way
        (:meth:`Experiment.roles_of`).
    """

    name: str
    _: KW_ONLY
    index: int
    port: int
    host: str = "127.0.0.1"
    role: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        _int(self.index, "index", 1, 15, "a site index")
        if not isinstance(self.host, str) or not self.host.strip():
            raise ConfigError(
                f"expected a host name or IP address, got {show(self.host)}", key="host"
            )
        _int(self.port, "port", 1, 65535, "a UDP port")
        if self.role is not None:
            choose(self.role, ROLES, "role", "a site role")


@dataclass(frozen=True, slots=True)
class Population:
    """A group of neurons of one kind at one site (PyNN's ``Population``).

    Attributes
    ----------
    name
        Unique name (``"BN"``).
    site
        Name of the site that hosts it (a :class:`Site` is accepted and replaced by its name).
    kind
        ``"culture"`` (biological neurons, simulated or recorded, stimulated capacitively),
        ``"silicon"`` (neuromorphic or simulated artificial neurons) or ``"generator"`` (a spike
        source such as the 2020 experiment's pacemaker).
    size
        Number of neurons, 1 ... 2**20.
    model
        Model name from :data:`~ione.network.NEURON_MODELS` (default per kind: ``culture``,
        ``dpi``, ``regular``).
    preset
        Parameter preset of the model (default: the model's first preset); None for generators.
    params
        Overrides of the preset's fields, in the fields' own units (``{"tau_mem_ms": 15.0}``).
    rate_hz
        Generators only: the rate used in every phase that does not set one.
    guard
        Cultures only: the limits of the stimulation guard in front of the culture's stimulator
        (fields of :class:`ione.culture.GuardLimits`, e.g. ``{"max_current_ua": 2.0}``); the
        site checks them when it is planned (docs/stimulation.md). Empty: the defaults.
    """

    name: str
    _: KW_ONLY
    site: str
    kind: str
    size: int
    model: str | None = None
    preset: str | None = None
    params: Mapping[str, Any] = field(default_factory=Params)
    rate_hz: float | None = None
    guard: Mapping[str, Any] = field(default_factory=Params)

    def __post_init__(self) -> None:
        check_name(self.name)
        _set(self, "params", mapping(self.params, "params"))
        _set(self, "guard", mapping(self.guard, "guard"))
        if self.guard and self.kind != "culture":
            raise ConfigError(
                f"only cultures are stimulated through a guard; this is a {self.kind}", key="guard"
            )
        _set(self, "site", name_of(self.site, "site"))
        choose(self.kind, KINDS, "kind", "a population kind")
        _int(self.size, "size", 1, (1 << NEURON_BITS) - 1, "a number of neurons")
        models = {n: m for n, m in NEURON_MODELS.items() if m.kind == self.kind}
        model = DEFAULT_MODEL[self.kind] if self.model is None else self.model
        _set(self, "model", choose(model, models, "model", f"a {self.kind} model"))
        spec = models[model]
        if spec.default_preset is None:
            if self.preset is not None:
                raise ConfigError(f"a {model} generator takes no preset", key="preset")
            if self.params:
                raise ConfigError(f"a {model} generator takes no params", key="params")
        else:
            preset = spec.default_preset if self.preset is None else self.preset
            _set(self, "preset", choose(preset, spec.presets, "preset", f"a preset of {model}"))
            resolved, normal = apply_overrides(spec.presets[preset], self.params, "params")
            _set(self, "params", normal)
            if model in ("recording", "electrodes") and not getattr(resolved, "file", ""):
                what = "spike file" if model == "recording" else "recording of voltages"
                raise ConfigError(
                    f'a {model} culture needs its {what}: params = {{ file = "..." }}',
                    key="params.file",
                )
            n_neurons = getattr(resolved, "n_neurons", None)
            if n_neurons is not None and n_neurons != self.size:
                raise ConfigError(
                    f"expected the culture's number of neurons, {n_neurons} ({preset}"
                    f"{' with params.n_neurons' if 'n_neurons' in normal else ''}), "
                    f"got {self.size}",
                    key="size",
                )
        if self.rate_hz is not None:
            if self.kind != "generator":
                raise ConfigError(f"only generators take a rate; this is a {self.kind}", key="rate")
            _set(self, "rate_hz", check_rate(self.rate_hz, "rate"))

    def parameters(self) -> Any:
        """The model's parameter object (the preset with the overrides); None for generators."""
        spec = NEURON_MODELS[self.model or ""]
        if spec.default_preset is None:
            return None
        return apply_overrides(spec.presets[self.preset or ""], self.params, "params")[0]


@dataclass(frozen=True, slots=True)
class Link:
    """A network path between two sites, its pre-shared key file and how to emulate it.

    Attributes
    ----------
    a, b
        The two sites' names; ``a`` initiates the handshake (:class:`ione.wire.LinkConfig`).
    key_file
        Path of the link's key file (relative paths are relative to the description's file),
        never key text. Both sites read the same 32-byte pre-shared key from it.
    key_id
        Key id 0 ... 255 announced in every frame (rotate a key by giving it a new id).
    profile
        A named emulation profile from :data:`~ione.network.LINK_PROFILES`, or None.
    delay_us, jitter_us, loss, duplicate
        Explicit emulation numbers; each one given overrides the profile's.
    """

    a: str
    b: str
    _: KW_ONLY
    key_file: str
    key_id: int = 0
    profile: str | None = None
    delay_us: int | None = None
    jitter_us: int | None = None
    loss: float | None = None
    duplicate: float | None = None

    def __post_init__(self) -> None:
        _set(self, "a", name_of(self.a, "a"))
        _set(self, "b", name_of(self.b, "b"))
        if self.a == self.b:
            raise ConfigError(f"expected two different sites, got {self.a!r} twice", key="b")
        if not isinstance(self.key_file, str) or not self.key_file.strip():
            raise ConfigError(
                f"expected the path of a key file as a string, got {show(self.key_file)}",
                key="key_file",
            )
        if _HEX_KEY.match(self.key_file):
            raise ConfigError(
                "expected the path of a key file, got what looks like key material: never put "
                "a key in a description; write it to a file (`ione keygen FILE`) and name the file",
                key="key_file",
            )
        _int(self.key_id, "key_id", 0, 255, "a key id")
        if self.profile is not None:
            choose(self.profile, LINK_PROFILES, "profile", "a link profile")
        for name in ("delay_us", "jitter_us"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= MAX_LINK_DELAY_US
            ):
                shown = format_duration(value) if isinstance(value, int) else show(value)
                raise ConfigError(
                    f"expected a duration from 0 s to {format_duration(MAX_LINK_DELAY_US)}, "
                    f"got {shown}",
                    key=name.removesuffix("_us"),
                )
        for name in ("loss", "duplicate"):
            if getattr(self, name) is not None:
                _set(self, name, _fraction(getattr(self, name), name))

    @property
    def name(self) -> str:
        """``"a-b"``."""
        return f"{self.a}-{self.b}"

    @property
    def sites(self) -> tuple[str, str]:
        """``(a, b)``."""
        return (self.a, self.b)

    def joins(self, x: str, y: str) -> bool:
        """True if the link connects sites ``x`` and ``y`` (either way round)."""
        return {x, y} == {self.a, self.b}

    def other(self, site: str) -> str:
        """The site at the other end from ``site``."""
        if site not in self.sites:
            raise ValueError(f"site {site!r} is not an end of link {self.name}")
        return self.b if site == self.a else self.a

    @property
    def emulation(self) -> LinkEmulation:
        """The effective emulation: the profile's numbers with the explicit ones over them."""
        base = LINK_PROFILES[self.profile] if self.profile else LinkEmulation()
        return LinkEmulation(
            delay_us=base.delay_us if self.delay_us is None else self.delay_us,
            jitter_us=base.jitter_us if self.jitter_us is None else self.jitter_us,
            loss=base.loss if self.loss is None else self.loss,
            duplicate=base.duplicate if self.duplicate is None else self.duplicate,
        )


@dataclass(frozen=True, slots=True)
class Phase:
    """One step of the protocol: a duration and the generator rates that hold during it.

    Attributes
    ----------
    name
        Unique name (``"ltp"``).
    duration_us
        Duration (integer µs, positive).
    rates_hz
        Rate of each generator population during the phase, by population name; a generator
        not named keeps its own ``rate_hz``.
    """

    name: str
    _: KW_ONLY
    duration_us: int
    rates_hz: Mapping[str, float] = field(default_factory=_no_rates)

    def __post_init__(self) -> None:
        check_name(self.name)
        d = self.duration_us
        if isinstance(d, bool) or not isinstance(d, int) or d <= 0:
            shown = format_duration(d) if isinstance(d, int) else show(d)
            raise ConfigError(f"expected a positive duration, got {shown}", key="duration")
        if not isinstance(self.rates_hz, Mapping):
            raise ConfigError(f"expected a table of rates, got {show(self.rates_hz)}", key="rates")
        rates = {check_name(pop, f"rates.{pop}"): check_rate(rate, f"rates.{pop}")
                 for pop, rate in self.rates_hz.items()}  # fmt: skip
        _set(self, "rates_hz", Params(rates))


@dataclass(frozen=True, slots=True)
class Recording:
    """What to keep of a run.

    Attributes
    ----------
    directory
        Where the sites write their session logs (relative to the description's file).
    weight_interval_us
        If set, the hub also reads every device at this interval, so that resistance traces show
        what the weights did between plasticity events (non-volatility, SYSTEM.md §6.5).
    """

    _: KW_ONLY
    directory: str = "runs"
    weight_interval_us: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.directory, str) or not self.directory.strip():
            raise ConfigError(
                f"expected a directory path as a string, got {show(self.directory)}",
                key="directory",
            )
        w = self.weight_interval_us
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w <= 0):
            shown = format_duration(w) if isinstance(w, int) else show(w)
            raise ConfigError(f"expected a positive duration, got {shown}", key="weight_interval")
