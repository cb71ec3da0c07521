"""A run folder read once for the report: the experiment, the merged session, the run start.

:func:`load_run` gathers everything the summary, the figures and the HTML page need, so that each
of them reads a run the same way: the experiment (``config.toml``), the sites' logs merged onto
the reference clock (:func:`ione.record.merge.open_session`), the supervisor's ``run.json`` and the
internet emulator's ``relays/<a>-<b>.json`` (both optional), the run start ``T0`` and the phase
windows on the reference clock.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ione.network import ConfigError, Experiment, load_experiment, parse_experiment
from ione.record.merge import Session, open_session

__all__ = [
    "CONFIG_FILE",
    "PopulationInfo",
    "ReportError",
    "RunData",
    "SynapseRow",
    "Window",
    "load_run",
]

#: The experiment as run, in the run folder.
CONFIG_FILE = "config.toml"
#: The supervisor's record of the run (optional).
RUN_FILE = "run.json"
#: The internet emulator's final snapshots, one per link (optional).
RELAY_DIR = "relays"


class ReportError(ValueError):
    """A run folder that cannot be reported on; the message names the folder or file."""


@dataclass(frozen=True)
class Window:
    """One phase of the protocol on the reference clock: ``[start_us, stop_us)``.

    ``rel_start_us`` and ``rel_stop_us`` are the same bounds relative to the run start ``T0``.
    ``rates_hz`` are the generator rates the phase sets (Hz, by population name).
    """

    name: str
    start_us: int
    stop_us: int
    rel_start_us: int
    rel_stop_us: int
    rates_hz: dict[str, float]

    @property
    def duration_us(self) -> int:
        return self.stop_us - self.start_us


@dataclass(frozen=True)
class PopulationInfo:
    """A population as the sites described it in ``meta``: its addresses are
    ``address ... address + size - 1``."""

    name: str
    kind: str
    size: int
    address: int
    site: str

    def neuron_name(self, i: int) -> str:
        """``BN`` for a one-neuron population, ``BN[3]`` otherwise."""
        return self.name if self.size == 1 else f"{self.name}[{i}]"


@dataclass(frozen=True)
class SynapseRow:
    """A memristive synapse: the site whose instrument holds it, its index in the ``synapse``
    column of that site's ``pulses`` and ``reads``, its name (``MR1``) and the rule's window
    (µs; a pulse whose window reaches back before its phase is an onset pulse)."""

    site: int
    index: int
    name: str
    projection: str | None
    pre: str | None
    post: str | None
    window_us: int


@dataclass
class RunData:
    """Everything a report reads from one run folder.

    Attributes
    ----------
    run_dir
        The run folder.
    experiment
        The experiment as run (``config.toml``, else the description the reference site logged).
    session
        The site logs merged onto the reference site's clock.
    t0_us
        The run start ``T0`` on the reference clock (µs).
    t0_site
        The site whose ``run`` record gave ``T0`` (None when no site logged one and the first
        merged event was used).
    windows
        The phases on the reference clock (one phase ``run`` when the experiment has none).
    run_record
        ``run.json`` as written by the supervisor, or None.
    relays
        ``relays/<a>-<b>.json`` by link name (``"a-b"``); a file that cannot be read maps to a
        string saying why.
    populations, synapses
        From the sites' ``meta`` records (populations in the experiment's order).
    """

    run_dir: Path
    experiment: Experiment
    session: Session
    t0_us: int
    t0_site: str | None
    windows: list[Window]
    run_record: dict[str, Any] | None
    relays: dict[str, dict[str, Any] | str] = field(default_factory=dict)
    populations: list[PopulationInfo] = field(default_factory=list)
    synapses: list[SynapseRow] = field(default_factory=list)

    def records(self, site: str, kind: str) -> list[Any]:
        """The ``kind`` records (blocks or JSON) a site logged outside the merged tables."""
        return list(self.session.other.get(site, {}).get(kind, []))

    def last_json(self, site: str, kind: str) -> dict[str, Any] | None:
        """The last JSON record of ``kind`` a site logged (``final``, ``run``), or None."""
        for item in reversed(self.records(site, kind)):
            if isinstance(item, dict):
                return item
        return None

    def blocks(self, site: str, kind: str, dtype: np.dtype) -> npt.NDArray[np.void]:
        """The numpy blocks of ``kind`` a site logged that hold every field of ``dtype``, those
        fields cast to ``dtype`` and concatenated (empty when there are none)."""
        names = dtype.names or ()
        parts = []
        for block in self.records(site, kind):
            if isinstance(block, np.ndarray) and set(names) <= set(block.dtype.names or ()):
                part = np.zeros(block.size, dtype)
                for name in names:
                    part[name] = block[name]
                parts.append(part)
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    def to_reference(self, site: str, t_us: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Times on ``site``'s clock placed on the reference clock (µs)."""
        t = np.asarray(t_us, dtype=np.int64)
        if t.size == 0:
            return t.copy()
        return self.session.to_reference(site, t)[0]


def _experiment(run_dir: Path, session: Session) -> Experiment:
    path = run_dir / CONFIG_FILE
    if path.exists():
        return load_experiment(path)
    # a run of hand-started sites has no config.toml: every site logged the description it ran
    for site in [session.reference, *sorted(session.meta)]:
        config = session.meta.get(site, {}).get("config")
        if isinstance(config, dict) and isinstance(config.get("toml"), str):
            return parse_experiment(
                config["toml"], file=f"{run_dir / (site + '.ionelog')} (meta config)"
            )
    raise ReportError(f"{path}: no such file, and no site log holds the experiment's description")


def _read_json(path: Path) -> dict[str, Any] | str | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"{path}: cannot read it ({exc})"
    if not isinstance(value, dict):
        return f"{path}: expected a JSON object"
    return value


def _populations(exp: Experiment, session: Session) -> list[PopulationInfo]:
    found: dict[str, PopulationInfo] = {}
    for site in sorted(session.meta, key=lambda n: session.sites.get(n, 99)):
        for entry in session.meta[site].get("populations", []) or []:
            try:
                info = PopulationInfo(
                    name=str(entry["name"]),
                    kind=str(entry.get("kind", "unknown")),
                    size=int(entry["size"]),
                    address=int(entry["address"]),
                    site=str(entry.get("site", site)),
                )
            except (KeyError, TypeError, ValueError):
                raise ReportError(
                    f"meta of site {site!r}: every 'populations' entry needs 'name', 'size' and "
                    f"'address', got {entry!r}"
                ) from None
            found.setdefault(info.name, info)
    order = {p.name: k for k, p in enumerate(exp.populations)}
    return sorted(found.values(), key=lambda p: (order.get(p.name, len(order)), p.address))


def _rule_window_us(exp: Experiment, projection: str | None) -> int:
    """The rule's look-back window (µs): the rate rule's counting window, the longer of a timing
    rule's two windows, 0 for no rule or a rule without a window."""
    if projection is None:
        return 0
    try:
        synapse = exp.projection(projection).synapse
        rule = synapse.rule_object()  # type: ignore[union-attr]
    except (KeyError, AttributeError, ValueError):
        return 0
    if rule is None:
        return 0
    if hasattr(rule, "window_us"):
        return int(rule.window_us)
    windows = [
        int(getattr(rule, a)) for a in ("ltp_window_us", "ltd_window_us") if hasattr(rule, a)
    ]
    return max(windows, default=0)


def _synapses(exp: Experiment, session: Session) -> list[SynapseRow]:
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for table in (session.pulses, session.reads):
        pairs = np.unique(np.stack([table["site"], table["synapse"]]).astype(np.int64), axis=1)
        for s, i in pairs.T.tolist():
            found.setdefault((int(s), int(i)), {})
    for host, meta in session.meta.items():
        index = session.sites.get(host)
        if index is None:
            continue
        for entry in meta.get("synapses", []) or []:
            try:
                found[index, int(entry["index"])] = dict(entry)
            except (KeyError, TypeError, ValueError):
                raise ReportError(
                    f"meta of site {host!r}: every 'synapses' entry needs an integer 'index', "
                    f"got {entry!r}"
                ) from None
    names = {k: str(e.get("name", f"synapse{k[1]}")) for k, e in found.items()}
    taken = list(names.values())
    rows: list[SynapseRow] = []
    for (site, index), entry in sorted(found.items()):
        name = names[site, index]
        if taken.count(name) > 1:
            name = f"{session.site_name(site)}:{name}"
        projection = entry.get("projection")
        projection = None if projection is None else str(projection)
        rows.append(
            SynapseRow(
                site=site,
                index=index,
                name=name,
                projection=projection,
                pre=None if entry.get("pre") is None else str(entry["pre"]),
                post=None if entry.get("post") is None else str(entry["post"]),
                window_us=_rule_window_us(exp, projection),
            )
        )
    return rows


def _t0(exp: Experiment, session: Session) -> tuple[int, str | None]:
    """``T0``: the ``run`` record of the site hosting the first generator, else of the reference
    site, else of any site; the first merged event when no site logged one."""
    candidates = []
    generators = [p for p in exp.populations if p.kind == "generator"]
    if generators:
        candidates.append(generators[0].site)
    candidates += [session.reference, *sorted(session.sites, key=session.sites.__getitem__)]
    for site in candidates:
        if site not in session.sites:
            continue
        for item in session.other.get(site, {}).get("run", []):
            if isinstance(item, dict) and isinstance(item.get("t0_us"), int | float):
                t, _ = session.to_reference(site, np.array([int(item["t0_us"])]))
                return int(t[0]), site
    return session.span_us[0], None


def _windows(exp: Experiment, t0_us: int) -> list[Window]:
    phases = exp.phase_windows()
    if not phases:
        duration = exp.duration_us or 0
        return [Window("run", t0_us, t0_us + duration, 0, duration, {})]
    return [
        Window(
            ph.name,
            t0_us + start,
            t0_us + stop,
            start,
            stop,
            {k: float(v) for k, v in ph.rates_hz.items()},
        )
        for ph, start, stop in phases
    ]


def load_run(run_dir: str | os.PathLike[str]) -> RunData:
    """Read a run folder: the merged session, the experiment, ``run.json`` and the relays.

    Raises
    ------
    ReportError
        If the folder does not exist, holds no site logs or a log cannot be merged.
    ConfigError
        If ``config.toml`` is not a valid description (the message names the file).
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise ReportError(f"{run}: no such run folder")
    try:
        session = open_session(run)
    except ConfigError:
        raise
    except (OSError, ValueError) as exc:
        raise ReportError(str(exc)) from None
    exp = _experiment(run, session)
    t0_us, t0_site = _t0(exp, session)
    record = _read_json(run / RUN_FILE)
    relays: dict[str, dict[str, Any] | str] = {}
    for link in exp.links:
        value = _read_json(run / RELAY_DIR / f"{link.name}.json")
        if value is not None:
            relays[link.name] = value
    return RunData(
        run_dir=run,
        experiment=exp,
        session=session,
        t0_us=t0_us,
        t0_site=t0_site,
        windows=_windows(exp, t0_us),
        run_record=record if isinstance(record, dict) else None,
        relays=relays,
        populations=_populations(exp, session),
        synapses=_synapses(exp, session),
    )
