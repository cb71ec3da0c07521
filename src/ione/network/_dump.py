"""Writing experiment files: a description back to TOML, read back equal.

``parse_experiment(dump_experiment(e)) == e`` for every valid description: durations, rates and
resistances are written with units in a form that parses back to the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from ione.network._connectors import (
    AllToAllConnector,
    Connector,
    FixedProbabilityConnector,
    FromListConnector,
    OneToOneConnector,
)
from ione.network._experiment import Experiment
from ione.network._params import Params
from ione.network._projections import StaticSynapse, Synapse
from ione.network._units import format_duration, format_rate, format_resistance

__all__ = ["dump_experiment", "save_experiment"]


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != {} and v != ""}


def _connector_dict(c: Connector) -> str | dict[str, Any]:
    if isinstance(c, OneToOneConnector):
        return "one_to_one"
    if isinstance(c, AllToAllConnector):
        return (
            "all_to_all"
            if c.allow_self_connections
            else {"type": "all_to_all", "allow_self_connections": False}
        )
    if isinstance(c, FixedProbabilityConnector):
        return _drop_none(
            {
                "type": c.type,
                "p_connect": c.p_connect,
                "allow_self_connections": c.allow_self_connections,
                "seed": c.seed,
            }
        )
    if isinstance(c, FromListConnector):
        return {"type": c.type, "connections": [list(p) for p in c.conn_list]}
    raise TypeError(f"cannot write connector {c!r}")  # pragma: no cover


def _synapse_dict(s: Synapse) -> dict[str, Any]:
    if isinstance(s, StaticSynapse):
        return {"type": "static", "weight": s.weight}
    r0 = None if s.r_initial_ohm is None else format_resistance(s.r_initial_ohm)
    return _drop_none(
        {
            "type": "memristive",
            "host": s.host,
            "device": s.device,
            "preset": s.preset,
            "params": Params(s.params).to_dict(),
            "options": Params(s.options).to_dict(),
            "rule": s.rule,
            "rule_params": Params(s.rule_params).to_dict(),
            "pulses": s.pulses,
            "pulse_params": Params(s.pulse_params).to_dict(),
            "r_min": format_resistance(s.r_min_ohm),
            "r_max": format_resistance(s.r_max_ohm),
            "r_initial": r0,
            "x_initial": s.x_initial,
        }
    )


def _maybe(value: float | None, fmt: Callable[[Any], str]) -> str | None:
    return None if value is None else fmt(value)


def dump_experiment(experiment: Experiment) -> str:
    """The description as TOML text that :func:`parse_experiment` reads back equal."""
    e = experiment
    doc: dict[str, Any] = {
        "experiment": _drop_none(
            {
                "name": e.name,
                "description": e.description,
                "seed": e.seed,
                "tick": format_duration(e.tick_us),
                "duration": None if e.phases else _maybe(e.duration_us, format_duration),
            }
        ),
        "sites": [
            _drop_none(
                {"name": s.name, "index": s.index, "host": s.host, "port": s.port, "role": s.role}
            )
            for s in e.sites
        ],
        "populations": [
            _drop_none(
                {
                    "name": p.name,
                    "site": p.site,
                    "kind": p.kind,
                    "size": p.size,
                    "model": p.model,
                    "preset": p.preset,
                    "rate": _maybe(p.rate_hz, format_rate),
                    "params": Params(p.params).to_dict(),
                    "guard": Params(p.guard).to_dict() or None,
                }
            )
            for p in e.populations
        ],
        "projections": [
            _drop_none(
                {
                    "name": p.name,
                    "label": p.label,
                    "pre": p.pre,
                    "post": p.post,
                    "connector": _connector_dict(p.connector),
                    "synapse": _synapse_dict(p.synapse),
                }
            )
            for p in e.projections
        ],
        "links": [
            _drop_none(
                {
                    "a": lk.a,
                    "b": lk.b,
                    "key_file": lk.key_file,
                    "key_id": lk.key_id,
                    "profile": lk.profile,
                    "delay": _maybe(lk.delay_us, format_duration),
                    "jitter": _maybe(lk.jitter_us, format_duration),
                    "loss": lk.loss,
                    "duplicate": lk.duplicate,
                }
            )
            for lk in e.links
        ],
        "phases": [
            _drop_none(
                {
                    "name": ph.name,
                    "duration": format_duration(ph.duration_us),
                    "rates": {k: format_rate(v) for k, v in ph.rates_hz.items()},
                }
            )
            for ph in e.phases
        ],
        "record": _drop_none(
            {
                "directory": e.record.directory,
                "weight_interval": _maybe(e.record.weight_interval_us, format_duration),
            }
        ),
    }
    chunks = [f"# ione experiment description: {e.name}\n"]
    for section, value in doc.items():
        if isinstance(value, list):
            chunks.extend(_array_item(section, item) for item in value)
        elif value:
            chunks.append(tomli_w.dumps({section: value}))
    return "\n".join(chunks)


def _array_item(section: str, item: dict[str, Any]) -> str:
    """One ``[[section]]`` entry, its sub-tables as ``[section.sub]`` (never inline arrays)."""
    text = tomli_w.dumps({section: item})
    head = f"[{section}]\n"
    if not text.startswith(head):  # pragma: no cover - every entry has a name or a site pair
        raise ValueError(f"cannot write an entry of [[{section}]] without plain keys")
    return f"[[{section}]]\n" + text[len(head) :]


def save_experiment(experiment: Experiment, path: str | os.PathLike[str]) -> None:
    """Write :func:`dump_experiment`'s text to ``path`` (UTF-8)."""
    Path(path).write_text(dump_experiment(experiment), encoding="utf-8")
