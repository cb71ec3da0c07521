"""Reading experiment files: TOML in, a checked :class:`Experiment` out.

:func:`load_experiment` reads a file with :mod:`tomllib`, checks every key (unknown keys, types,
units, references) and raises :class:`ConfigError` naming the file, the key path and what was
expected. The format is described in docs/experiments.md; :mod:`._dump` writes it back.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from ione.network._connectors import (
    AllToAllConnector,
    Connector,
    FixedProbabilityConnector,
    FromListConnector,
    OneToOneConnector,
)
from ione.network._errors import ConfigError
from ione.network._experiment import Experiment
from ione.network._params import Params
from ione.network._parts import Link, Phase, Population, Recording, Site
from ione.network._projections import MemristiveSynapse, Projection, StaticSynapse, Synapse
from ione.network._registry import choose
from ione.network._units import (
    parse_duration,
    parse_rate,
    parse_resistance,
    show,
)

__all__ = ["load_experiment", "parse_experiment"]

_MISSING: Any = object()
T = TypeVar("T")
_CONNECTORS: dict[str, tuple[type[Connector], tuple[str, ...]]] = {
    "one_to_one": (OneToOneConnector, ()),
    "all_to_all": (AllToAllConnector, ("allow_self_connections",)),
    "fixed_probability": (
        FixedProbabilityConnector,
        ("p_connect", "allow_self_connections", "seed"),
    ),
    "from_list": (FromListConnector, ("connections",)),
}
_MEMRISTIVE_KEYS = (
    "type",
    "host",
    "device",
    "preset",
    "params",
    "options",
    "rule",
    "rule_params",
    "pulses",
    "pulse_params",
    "r_min",
    "r_max",
    "r_initial",
    "x_initial",
)


class _Table:
    """One TOML table being read: typed getters that know the key path, and no unknown keys."""

    def __init__(
        self, data: object, key: str, allowed: Iterable[str], what: str = "a table"
    ) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"expected {what}, got {show(data)}", key=key)
        self.data: dict[str, Any] = data
        self.key = key
        allowed = tuple(allowed)
        for name in data:
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                raise ConfigError(
                    f"unknown key{hint}; expected one of: {', '.join(allowed)}", key=self.at(name)
                )

    def at(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def get(
        self, name: str, check: Callable[[object], bool], what: str, default: Any = _MISSING
    ) -> Any:
        if name not in self.data:
            if default is _MISSING:
                raise ConfigError(f"missing; expected {what}", key=self.at(name))
            return default
        value = self.data[name]
        if not check(value):
            raise ConfigError(f"expected {what}, got {show(value)}", key=self.at(name))
        return value

    def text(self, name: str, what: str = "a string", default: Any = _MISSING) -> Any:
        return self.get(name, lambda v: isinstance(v, str), what, default)

    def integer(self, name: str, what: str = "an integer", default: Any = _MISSING) -> Any:
        return self.get(
            name, lambda v: isinstance(v, int) and not isinstance(v, bool), what, default
        )

    def number(self, name: str, what: str = "a number", default: Any = _MISSING) -> Any:
        return self.get(
            name, lambda v: isinstance(v, int | float) and not isinstance(v, bool), what, default
        )

    def flag(self, name: str, default: Any = _MISSING) -> Any:
        return self.get(name, lambda v: isinstance(v, bool), "true or false", default)

    def quantity(self, name: str, parse: Callable[[object, str], Any], default: Any = None) -> Any:
        if name not in self.data:
            return default
        return parse(self.data[name], self.at(name))

    def params(self, name: str) -> Params:
        value = self.data.get(name, {})
        _check_param_table(value, self.at(name))
        return Params(value)

    def tables(self, name: str, allowed: Iterable[str]) -> list[_Table]:
        value = self.data.get(name, [])
        what = f"an array of tables ([[{name}]])"
        if not isinstance(value, list):
            raise ConfigError(f"expected {what}, got {show(value)}", key=self.at(name))
        allowed = tuple(allowed)
        return [_Table(v, f"{self.at(name)}[{i}]", allowed, what) for i, v in enumerate(value)]


def _check_param_table(value: object, key: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"expected a table of parameter overrides, got {show(value)}", key=key)
    for name, v in value.items():
        if isinstance(v, dict):
            _check_param_table(v, f"{key}.{name}")
        elif isinstance(v, list):
            if not all(isinstance(x, bool | int | float | str) for x in v):
                raise ConfigError(
                    f"expected an array of numbers, strings or true/false, got {show(v)}",
                    key=f"{key}.{name}",
                )
        elif not isinstance(v, bool | int | float | str):
            raise ConfigError(
                f"expected a number, a string or true/false, got {show(v)}", key=f"{key}.{name}"
            )


def _make(key: str, factory: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    try:
        return factory(*args, **kwargs)
    except ConfigError as exc:
        raise exc.within(key) from None


def _positive(value: object, key: str) -> int:
    return parse_duration(value, key, minimum_us=1)


def _site(t: _Table) -> Site:
    return _make(
        t.key,
        Site,
        t.text("name", "a site name"),
        index=t.integer("index", "a site index 1 ... 15"),
        port=t.integer("port", "a UDP port"),
        host=t.text("host", "a host name or address", "127.0.0.1"),
        role=t.text("role", "a site role", None),
    )


def _population(t: _Table) -> Population:
    return _make(
        t.key,
        Population,
        t.text("name", "a population name"),
        site=t.text("site", "the name of a site"),
        kind=t.text("kind", 'a population kind ("culture", "silicon" or "generator")'),
        size=t.integer("size", "a number of neurons"),
        model=t.text("model", "a model name", None),
        preset=t.text("preset", "a preset name", None),
        params=t.params("params"),
        rate_hz=t.quantity("rate", parse_rate),
        guard=t.params("guard"),
    )


def _connector(value: object, key: str) -> Connector:
    if isinstance(value, str):
        kind = choose(value, _CONNECTORS, key, "a connector")
        cls, keys = _CONNECTORS[kind]
        if cls in (FixedProbabilityConnector, FromListConnector):
            needs = keys[0]
            raise ConfigError(f'expected a table {{ type = "{kind}", {needs} = ... }}', key=key)
        return cls()
    if not isinstance(value, dict):
        raise ConfigError(f"expected a connector name or table, got {show(value)}", key=key)
    kind = choose(value.get("type"), _CONNECTORS, f"{key}.type", "a connector type")
    cls, keys = _CONNECTORS[kind]
    t = _Table(value, key, ("type", *keys))
    if cls is FixedProbabilityConnector:
        return _make(
            key,
            cls,
            t.number("p_connect", "a probability from 0 to 1"),
            allow_self_connections=t.flag("allow_self_connections", True),
            seed=t.integer("seed", "an integer seed", None),
        )
    if cls is FromListConnector:
        pairs = t.get("connections", lambda v: isinstance(v, list), "an array of [pre, post] pairs")
        return _make(key, cls, tuple(tuple(p) if isinstance(p, list) else p for p in pairs))
    if cls is AllToAllConnector:
        return AllToAllConnector(t.flag("allow_self_connections", True))
    return OneToOneConnector()


def _synapse(value: object, key: str) -> Synapse:
    if not isinstance(value, dict):
        raise ConfigError(f"expected a synapse table, got {show(value)}", key=key)
    kind = choose(value.get("type"), ("static", "memristive"), f"{key}.type", "a synapse type")
    if kind == "static":
        t = _Table(value, key, ("type", "weight"))
        return _make(key, StaticSynapse, t.number("weight", "a weight from 0 to 1"))
    t = _Table(value, key, _MEMRISTIVE_KEYS)
    return _make(
        key,
        MemristiveSynapse,
        host=t.text("host", "the name of the site that hosts the devices"),
        device=t.text("device", "a device model name", "data_driven"),
        preset=t.text("preset", "a preset name", None),
        params=t.params("params"),
        options=t.params("options"),
        rule=t.text("rule", "a rule name", "rate"),
        rule_params=t.params("rule_params"),
        pulses=t.text("pulses", "a pulse programme", None),
        pulse_params=t.params("pulse_params"),
        r_min_ohm=t.quantity("r_min", parse_resistance, 4_000.0),
        r_max_ohm=t.quantity("r_max", parse_resistance, 9_000.0),
        r_initial_ohm=t.quantity("r_initial", parse_resistance),
        x_initial=t.number("x_initial", "a state from 0 to 1", None),
    )


def _projection(t: _Table) -> Projection:
    connector = _connector(t.get("connector", lambda v: True, "a connector"), t.at("connector"))
    synapse = _synapse(t.get("synapse", lambda v: True, "a synapse table"), t.at("synapse"))
    return _make(
        t.key,
        Projection,
        t.text("pre", "the name of a population"),
        t.text("post", "the name of a population"),
        connector,
        synapse,
        name=t.text("name", "a projection name", ""),
        label=t.text("label", "a string", ""),
    )


def _link(t: _Table) -> Link:
    return _make(
        t.key,
        Link,
        t.text("a", "the name of a site"),
        t.text("b", "the name of a site"),
        key_file=t.text("key_file", "the path of a key file as a string"),
        key_id=t.integer("key_id", "a key id 0 ... 255", 0),
        profile=t.text("profile", "a link profile name", None),
        delay_us=t.quantity("delay", parse_duration),
        jitter_us=t.quantity("jitter", parse_duration),
        loss=t.number("loss", "a fraction from 0 to below 1", None),
        duplicate=t.number("duplicate", "a fraction from 0 to below 1", None),
    )


def _phase(t: _Table) -> Phase:
    rates = t.get("rates", lambda v: isinstance(v, dict), "a table of rates by population", {})
    return _make(
        t.key,
        Phase,
        t.text("name", "a phase name"),
        duration_us=_positive(t.get("duration", lambda v: True, "a duration"), t.at("duration")),
        rates_hz={name: parse_rate(v, t.at(f"rates.{name}")) for name, v in rates.items()},
    )


def _experiment(data: dict[str, Any], source: str | None) -> Experiment:
    top = _Table(
        data, "", ("experiment", "sites", "populations", "projections", "links", "phases", "record")
    )
    if "experiment" not in data:
        raise ConfigError('missing the [experiment] table (name = "...")', key="experiment")
    head = _Table(
        data["experiment"], "experiment", ("name", "description", "seed", "tick", "duration")
    )
    rec = _Table(data.get("record", {}), "record", ("directory", "weight_interval"))
    record = _make(
        "record",
        Recording,
        directory=rec.text("directory", "a directory path", "runs"),
        weight_interval_us=rec.quantity("weight_interval", _positive),
    )
    return Experiment(
        head.text("name", "the experiment's name"),
        sites=tuple(
            _site(t) for t in top.tables("sites", ("name", "index", "host", "port", "role"))
        ),
        populations=tuple(
            _population(t)
            for t in top.tables(
                "populations",
                ("name", "site", "kind", "size", "model", "preset", "params", "rate", "guard"),
            )
        ),
        projections=tuple(
            _projection(t)
            for t in top.tables(
                "projections", ("name", "label", "pre", "post", "connector", "synapse")
            )
        ),
        links=tuple(
            _link(t)
            for t in top.tables(
                "links",
                ("a", "b", "key_file", "key_id", "profile", "delay", "jitter", "loss", "duplicate"),
            )
        ),
        phases=tuple(_phase(t) for t in top.tables("phases", ("name", "duration", "rates"))),
        duration_us=head.quantity("duration", _positive),
        seed=head.integer("seed", "a non-negative integer seed", 0),
        tick_us=head.quantity("tick", _positive, 1_000),
        record=record,
        description=head.text("description", "a string", ""),
        source=source,
    )


def parse_experiment(text: str, *, file: str | os.PathLike[str] | None = None) -> Experiment:
    """An experiment from TOML text (``file`` names it in error messages and anchors paths).

    Raises
    ------
    ConfigError
        If the text is not valid TOML or not a valid description.
    """
    name = None if file is None else os.fspath(file)
    try:
        data = tomllib.loads(text)
        return _experiment(data, name)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=name) from None
    except ConfigError as exc:
        raise exc if name is None else exc.in_file(name) from None


def load_experiment(path: str | os.PathLike[str]) -> Experiment:
    """Read and check an experiment file.

    Raises
    ------
    ConfigError
        If the file cannot be read, is not TOML, or is not a valid description; the message names
        the file, the key path and what was expected.
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", file=p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", file=p) from None
    return parse_experiment(text, file=p)
