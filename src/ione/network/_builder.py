"""Describe an experiment in Python, PyNN-style, and get the same :class:`Experiment` a file gives.

Quantities are written as in a file, as strings with units (``"25 s"``, ``"10 Hz"``), so that a
description reads the same in both forms; model parameters keep their unit in their name.

>>> from ione.network import Experiment, OneToOneConnector, StaticSynapse
>>> exp = Experiment.builder("demo", seed=1)
>>> chip = exp.site("chip", index=2, port=47202)
>>> src = exp.population("src", site=chip, kind="generator", size=1, rate="5 Hz")
>>> out = exp.population("out", site=chip, kind="silicon", size=1, model="dpi")
>>> _ = exp.projection(src, out, OneToOneConnector(), StaticSynapse(0.5))
>>> exp.build(duration="10 s").duration_us
10000000
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ione.network._connectors import Connector
from ione.network._errors import ConfigError
from ione.network._experiment import Experiment
from ione.network._params import Params
from ione.network._parts import Link, Phase, Population, Recording, Site
from ione.network._projections import Projection, Synapse
from ione.network._units import parse_duration, parse_rate

__all__ = ["ExperimentBuilder"]

T = TypeVar("T")


class ExperimentBuilder:
    """Collects the parts of an experiment; :meth:`build` checks them and returns the description.

    Parameters
    ----------
    name
        Name of the experiment.
    seed
        Seed of every random choice of the run.
    tick
        The sites' tick, e.g. ``"1 ms"``.
    description
        Free text.

    Errors name the part as a file would (``populations[1].model``).
    """

    def __init__(
        self, name: str, *, seed: int = 0, tick: str = "1 ms", description: str = ""
    ) -> None:
        self.name = name
        self.seed = seed
        self.tick_us = parse_duration(tick, "experiment.tick", minimum_us=1)
        self.description = description
        self.sites: list[Site] = []
        self.populations: list[Population] = []
        self.projections: list[Projection] = []
        self.links: list[Link] = []
        self.phases: list[Phase] = []
        self.recording = Recording()

    @staticmethod
    def _made(
        section: str, position: int, factory: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> T:
        try:
            return factory(*args, **kwargs)
        except ConfigError as exc:
            raise exc.within(f"{section}[{position}]") from None

    def site(
        self, name: str, *, index: int, port: int, host: str = "127.0.0.1", role: str | None = None
    ) -> Site:
        """Add a site (see :class:`Site`) and return it."""
        site = self._made(
            "sites", len(self.sites), Site, name, index=index, port=port, host=host, role=role
        )
        self.sites.append(site)
        return site

    def population(
        self,
        name: str,
        *,
        site: str | Site,
        kind: str,
        size: int,
        model: str | None = None,
        preset: str | None = None,
        params: Mapping[str, Any] | None = None,
        rate: str | None = None,
        guard: Mapping[str, Any] | None = None,
    ) -> Population:
        """Add a population (see :class:`Population`); ``rate`` (``"10 Hz"``) for generators,
        ``guard`` (stimulation guard limits) for cultures."""
        at = f"populations[{len(self.populations)}]"
        rate_hz = None if rate is None else parse_rate(rate, f"{at}.rate")
        pop = self._made(
            "populations",
            len(self.populations),
            Population,
            name,
            site=site,
            kind=kind,
            size=size,
            model=model,
            preset=preset,
            params=Params(params or {}),
            rate_hz=rate_hz,
            guard=Params(guard or {}),
        )
        self.populations.append(pop)
        return pop

    def projection(
        self,
        pre: str | Population,
        post: str | Population,
        connector: Connector,
        synapse: Synapse,
        *,
        name: str = "",
        label: str = "",
    ) -> Projection:
        """Add a projection (see :class:`Projection`) and return it."""
        proj = self._made(
            "projections",
            len(self.projections),
            Projection,
            pre,
            post,
            connector,
            synapse,
            name=name,
            label=label,
        )
        self.projections.append(proj)
        return proj

    def link(
        self,
        a: str | Site,
        b: str | Site,
        *,
        key_file: str,
        key_id: int = 0,
        profile: str | None = None,
        delay: str | None = None,
        jitter: str | None = None,
        loss: float | None = None,
        duplicate: float | None = None,
    ) -> Link:
        """Add a link (see :class:`Link`); ``delay`` and ``jitter`` as ``"15 ms"``."""
        at = f"links[{len(self.links)}]"
        link = self._made(
            "links",
            len(self.links),
            Link,
            a,
            b,
            key_file=key_file,
            key_id=key_id,
            profile=profile,
            delay_us=None if delay is None else parse_duration(delay, f"{at}.delay"),
            jitter_us=None if jitter is None else parse_duration(jitter, f"{at}.jitter"),
            loss=loss,
            duplicate=duplicate,
        )
        self.links.append(link)
        return link

    def phase(self, name: str, duration: str, *, rates: Mapping[str, str] | None = None) -> Phase:
        """Add a phase of the protocol: ``phase("ltp", "25 s", rates={"SN_pre": "30 Hz"})``."""
        at = f"phases[{len(self.phases)}]"
        phase = self._made(
            "phases",
            len(self.phases),
            Phase,
            name,
            duration_us=parse_duration(duration, f"{at}.duration", minimum_us=1),
            rates_hz={k: parse_rate(v, f"{at}.rates.{k}") for k, v in (rates or {}).items()},
        )
        self.phases.append(phase)
        return phase

    def record(self, *, directory: str = "runs", weight_interval: str | None = None) -> Recording:
        """Set the recording options (see :class:`Recording`)."""
        interval = (
            None
            if weight_interval is None
            else parse_duration(weight_interval, "record.weight_interval", minimum_us=1)
        )
        try:
            self.recording = Recording(directory=directory, weight_interval_us=interval)
        except ConfigError as exc:
            raise exc.within("record") from None
        return self.recording

    def add(self, *parts: Site | Population | Projection | Link | Phase) -> None:
        """Add parts built directly from their classes."""
        lists: dict[type, list[Any]] = {
            Site: self.sites,
            Population: self.populations,
            Projection: self.projections,
            Link: self.links,
            Phase: self.phases,
        }
        for part in parts:
            if type(part) not in lists:
                raise TypeError(f"cannot add {part!r} to an experiment")
            lists[type(part)].append(part)

    def build(self, *, duration: str | None = None) -> Experiment:
        """Check everything and return the :class:`Experiment`.

        ``duration`` is needed only without phases (e.g. ``"60 s"``).
        """
        duration_us = (
            None
            if duration is None
            else parse_duration(duration, "experiment.duration", minimum_us=1)
        )
        return Experiment(
            self.name,
            sites=tuple(self.sites),
            populations=tuple(self.populations),
            projections=tuple(self.projections),
            links=tuple(self.links),
            phases=tuple(self.phases),
            duration_us=duration_us,
            seed=self.seed,
            tick_us=self.tick_us,
            record=self.recording,
            description=self.description,
        )
