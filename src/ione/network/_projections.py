"""Projections (PyNN's ``Projection``): who connects to whom, and through which synapse.

A projection joins a presynaptic to a postsynaptic population through a **connector**
(:class:`OneToOneConnector`, :class:`AllToAllConnector`, :class:`FixedProbabilityConnector`,
:class:`FromListConnector`) and a **synapse**: a :class:`StaticSynapse` of fixed weight, or a
:class:`MemristiveSynapse`, one device per connection, read and programmed at the hub that
hosts it (SYSTEM.md §1: the weight travels over the network; ABsyn and BAsyn are such synapses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

from ione.models.plasticity import PulseProgramme
from ione.models.synapses import WeightWindow
from ione.network._connectors import Connector
from ione.network._errors import ConfigError
from ione.network._params import Params, apply_overrides
from ione.network._parts import check_name, mapping, name_of
from ione.network._registry import DEVICES, PULSES, RULES, choose, default_pulses
from ione.network._units import format_resistance, show

__all__ = ["MemristiveSynapse", "Projection", "StaticSynapse", "Synapse"]


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class StaticSynapse:
    """A fixed weight in 0 ... 1 (the hub's ``w_byte / 255``), applied at the postsynaptic site."""

    type: ClassVar[str] = "static"
    weight: float

    def __post_init__(self) -> None:
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0.0 <= w <= 1.0:
            raise ConfigError(f"expected a weight from 0 to 1, got {show(w)}", key="weight")
        _set(self, "weight", float(w))


@dataclass(frozen=True, slots=True)
class MemristiveSynapse:
    """One memristive device per connection, hosted at a hub (the paper's synaptor).

    Attributes
    ----------
    host
        Name of the site whose instrument holds the devices (a :class:`Site` is accepted).
    device, preset, params
        Device model (:data:`~ione.network.DEVICES`), its preset and overrides of its fields.
    options
        Other arguments of the device model, e.g. ``c2c_sigma`` (cycle-to-cycle variability,
        SYSTEM.md §2.1) or ``allow_extrapolation``.
    rule, rule_params
        Plasticity rule (``"rate"``, the published SRDP rule; ``"timing"``; ``"pair_stdp"``;
        ``"none"`` to only read the devices) and overrides of its fields (``ltp_above``, ...).
    pulses, pulse_params
        The programming pulses (:data:`~ione.network.PULSES`; default: the rule's own) and
        overrides (``ltp_volts``, ``ltp_width_us``, ...).
    r_min_ohm, r_max_ohm
        Weight window: R_min maps to weight 0 and R_max to 1 (SYSTEM.md §1.3, 4–9 kΩ).
    r_initial_ohm
        Initial resistance of devices whose state is a resistance (``data_driven``); None for
        the model's default (the middle of its nominal range).
    x_initial
        Initial normalised state in [0, 1] of ``vteam`` and ``yakopcic`` devices; None for the
        model's default.
    """

    type: ClassVar[str] = "memristive"
    _: KW_ONLY
    host: str
    device: str = "data_driven"
    preset: str | None = None
    params: Mapping[str, Any] = field(default_factory=Params)
    options: Mapping[str, Any] = field(default_factory=Params)
    rule: str = "rate"
    rule_params: Mapping[str, Any] = field(default_factory=Params)
    pulses: str | None = None
    pulse_params: Mapping[str, Any] = field(default_factory=Params)
    r_min_ohm: float = 4_000.0
    r_max_ohm: float = 9_000.0
    r_initial_ohm: float | None = None
    x_initial: float | None = None

    def __post_init__(self) -> None:
        for name in ("params", "options", "rule_params", "pulse_params"):
            _set(self, name, mapping(getattr(self, name), name))
        _set(self, "host", name_of(self.host, "host"))
        spec = DEVICES[choose(self.device, DEVICES, "device", "a memristive device model")]
        preset = spec.default_preset if self.preset is None else self.preset
        _set(self, "preset", choose(preset, spec.presets, "preset", f"a preset of {self.device}"))
        params, normal = apply_overrides(spec.presets[preset], self.params, "params")
        _set(self, "params", normal)
        model, options = apply_overrides(
            spec.model(params=params), self.options, "options", exclude=frozenset({"params"})
        )
        _set(self, "options", options)
        rule_cls = RULES[choose(self.rule, RULES, "rule", "a plasticity rule")]
        if rule_cls is None:
            for name in ("rule_params", "pulse_params"):
                if getattr(self, name):
                    raise ConfigError(f'rule "none" takes no {name}', key=name)
            if self.pulses is not None:
                raise ConfigError('rule "none" takes no pulses', key="pulses")
        else:
            _, rp = apply_overrides(
                rule_cls(), self.rule_params, "rule_params", exclude=frozenset({"pulses"})
            )
            _set(self, "rule_params", rp)
            pulses = default_pulses(self.rule) if self.pulses is None else self.pulses
            _set(self, "pulses", choose(pulses, PULSES, "pulses", "a pulse programme"))
            programme, pp = apply_overrides(
                PULSES[self.pulses or ""], self.pulse_params, "pulse_params"
            )
            _set(self, "pulse_params", pp)
            self._check_fit(model, programme)
        self._check_window(spec.initial)

    def _check_fit(self, model: Any, programme: PulseProgramme) -> None:
        lo, hi = getattr(model.params, "v_min_fit", None), getattr(model.params, "v_max_fit", None)
        if lo is None or hi is None or getattr(model, "allow_extrapolation", True):
            return
        for volts in (programme.ltp_volts, programme.ltd_volts):
            if not lo <= volts <= hi:
                raise ConfigError(
                    f"expected pulses within the range {self.preset} was fitted on "
                    f"({lo:+g} ... {hi:+g} V), got a {volts:+g} V pulse from {self.pulses}"
                    f"{' with pulse_params' if self.pulse_params else ''}; choose other pulses "
                    "or set options.allow_extrapolation = true",
                    key="pulse_params" if self.pulse_params else "pulses",
                )

    def _check_window(self, initial: str) -> None:
        for name in ("r_min_ohm", "r_max_ohm"):
            r = getattr(self, name)
            if (
                isinstance(r, bool)
                or not isinstance(r, int | float)
                or not math.isfinite(r)
                or r < 0
            ):
                raise ConfigError(
                    f"expected a non-negative resistance, got {show(r)}", key=name[:5]
                )
            _set(self, name, float(r))
        if self.r_min_ohm >= self.r_max_ohm:
            raise ConfigError(
                f"expected r_max above r_min ({format_resistance(self.r_min_ohm)}), got "
                f"{format_resistance(self.r_max_ohm)}",
                key="r_max",
            )
        r0, x0 = self.r_initial_ohm, self.x_initial
        if r0 is not None:
            if initial != "r":
                raise ConfigError(
                    f"a {self.device} device does not start from a resistance", key="r_initial"
                )
            if (
                isinstance(r0, bool)
                or not isinstance(r0, int | float)
                or not math.isfinite(r0)
                or r0 <= 0
            ):
                raise ConfigError(
                    f"expected a positive resistance, got {show(r0)}", key="r_initial"
                )
            _set(self, "r_initial_ohm", float(r0))
        if x0 is not None:
            if initial != "x":
                raise ConfigError(
                    f"a {self.device} device has no normalised state", key="x_initial"
                )
            if isinstance(x0, bool) or not isinstance(x0, int | float) or not 0.0 <= x0 <= 1.0:
                raise ConfigError(f"expected a state from 0 to 1, got {show(x0)}", key="x_initial")
            _set(self, "x_initial", float(x0))

    def device_model(self) -> Any:
        """The device model object (e.g. ``DataDriven(DATA_DRIVEN_DUT1, c2c_sigma=0.2)``)."""
        spec = DEVICES[self.device]
        params, _ = apply_overrides(spec.presets[self.preset or ""], self.params, "params")
        return apply_overrides(spec.model(params=params), self.options, "options")[0]

    def pulse_programme(self) -> PulseProgramme | None:
        """The programming pulses, or None when the rule is ``"none"``."""
        if self.pulses is None:
            return None
        return apply_overrides(PULSES[self.pulses], self.pulse_params, "pulse_params")[0]

    def rule_object(self) -> Any:
        """The rule object with its pulses (``RateRule(..., pulses=DUT1_PULSES)``), or None."""
        cls = RULES[self.rule]
        if cls is None:
            return None
        base = cls(pulses=self.pulse_programme())
        return apply_overrides(base, self.rule_params, "rule_params")[0]

    def weight_window(self) -> WeightWindow:
        """The resistance window mapped onto weights 0 ... 1."""
        return WeightWindow(self.r_min_ohm, self.r_max_ohm)

    def initial_state_kwargs(self) -> dict[str, float]:
        """Keyword arguments for the device model's ``initial_state`` (``{"r_ohm": 4800.0}``)."""
        if self.r_initial_ohm is not None:
            return {"r_ohm": self.r_initial_ohm}
        if self.x_initial is not None:
            return {"x": self.x_initial}
        return {}


Synapse = StaticSynapse | MemristiveSynapse


@dataclass(frozen=True, slots=True)
class Projection:
    """Connections from one population to another through one kind of synapse.

    Attributes
    ----------
    pre, post
        Names of the presynaptic and postsynaptic populations (population objects are accepted).
    connector
        Which neurons connect.
    synapse
        A :class:`StaticSynapse` or a :class:`MemristiveSynapse`.
    name
        Unique name (default ``"pre-post"``), e.g. ``"MR1"``.
    label
        Free text, e.g. the paper's ``"ABsyn"``.
    """

    pre: str
    post: str
    connector: Connector
    synapse: Synapse
    _: KW_ONLY
    name: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        _set(self, "pre", name_of(self.pre, "pre"))
        _set(self, "post", name_of(self.post, "post"))
        if not isinstance(self.connector, Connector):
            raise ConfigError(f"expected a connector, got {self.connector!r}", key="connector")
        if not isinstance(self.synapse, StaticSynapse | MemristiveSynapse):
            raise ConfigError(f"expected a synapse, got {self.synapse!r}", key="synapse")
        _set(self, "name", check_name(self.name or f"{self.pre}-{self.post}"))
        if not isinstance(self.label, str):
            raise ConfigError(f"expected a string, got {show(self.label)}", key="label")

    @property
    def host(self) -> str | None:
        """The site that hosts the devices of a memristive projection (None for static ones)."""
        return self.synapse.host if isinstance(self.synapse, MemristiveSynapse) else None
