"""The experiment: every part of a description, checked as a whole, and what follows from it.

:class:`Experiment` describes a run and does not execute it (DESIGN principle 7, as brian2's
``Network`` description and Lava's Process do): the site runtime reads it to decide what each site
runs, which addresses it owns, which links it opens and what it emulates.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ione.events import KeyRange, make_key
from ione.network._connectors import IntArray
from ione.network._errors import ConfigError
from ione.network._parts import Link, Phase, Population, Recording, Site
from ione.network._projections import MemristiveSynapse, Projection
from ione.network._units import show
from ione.network._validate import check_experiment, population_of
from ione.wire import Capability

if TYPE_CHECKING:
    from ione.network._builder import ExperimentBuilder

__all__ = ["Experiment"]


_SECTIONS: dict[str, type] = {
    "sites": Site,
    "populations": Population,
    "projections": Projection,
    "links": Link,
    "phases": Phase,
}


def _key(item: object) -> str:
    return str(getattr(item, "name", item))


@dataclass(frozen=True, slots=True)
class Experiment:
    """A complete, checked description of a distributed experiment.

    Attributes
    ----------
    name
        Name of the experiment (``"serb2020"``).
    sites, populations, projections, links
        The parts, in the order they were declared (the order fixes population addresses).
    phases
        The protocol: consecutive phases with their generator rates (may be empty).
    duration_us
        Total duration (integer µs). With phases it is their sum (and may be omitted); without
        phases it must be given.
    seed
        Seed from which every random choice of the run is derived (:meth:`seed_sequence`).
    tick_us
        The sites' tick: the step of their loops and the grain of phase boundaries.
    record
        Recording options.
    description
        Free text.
    source
        The file the description was loaded from (not part of equality); relative paths in the
        description are relative to its directory.

    Raises
    ------
    ConfigError
        If the parts do not fit together; the key path names the offending entry.
    """

    name: str
    _: KW_ONLY
    sites: tuple[Site, ...]
    populations: tuple[Population, ...] = ()
    projections: tuple[Projection, ...] = ()
    links: tuple[Link, ...] = ()
    phases: tuple[Phase, ...] = ()
    duration_us: int | None = None
    seed: int = 0
    tick_us: int = 1_000
    record: Recording = field(default_factory=Recording)
    description: str = ""
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name, kind in _SECTIONS.items():
            items = getattr(self, name)
            if isinstance(items, str) or not isinstance(items, Iterable):
                raise ConfigError(f"expected a sequence of {kind.__name__}", key=name)
            object.__setattr__(self, name, tuple(items))
            for i, item in enumerate(getattr(self, name)):
                if not isinstance(item, kind):
                    raise ConfigError(
                        f"expected a {kind.__name__}, got {item!r}", key=f"{name}[{i}]"
                    )
        if not isinstance(self.record, Recording):
            raise ConfigError(f"expected a Recording, got {self.record!r}", key="record")
        if self.phases:
            total = sum(p.duration_us for p in self.phases)
            if self.duration_us is not None and self.duration_us != total:
                raise ConfigError(
                    "expected no duration when [[phases]] are given (their sum is the duration)",
                    key="experiment.duration",
                )
            object.__setattr__(self, "duration_us", total)
        elif self.duration_us is None:
            raise ConfigError(
                'expected a duration (e.g. duration = "60 s") or [[phases]]',
                key="experiment.duration",
            )
        elif isinstance(self.duration_us, bool) or not isinstance(self.duration_us, int):
            raise ConfigError(
                f"expected integer µs, got {show(self.duration_us)}", key="experiment.duration"
            )
        elif self.duration_us <= 0:
            raise ConfigError("expected a positive duration", key="experiment.duration")
        if not isinstance(self.description, str):
            raise ConfigError(
                f"expected a string, got {show(self.description)}", key="experiment.description"
            )
        check_experiment(self)

    @staticmethod
    def builder(name: str, **options: Any) -> ExperimentBuilder:
        """Start a description in Python (:class:`~ione.network.ExperimentBuilder`)."""
        from ione.network._builder import ExperimentBuilder

        return ExperimentBuilder(name, **options)

    # ------------------------------------------------------------------ looking parts up
    def site(self, name: str | Site) -> Site:
        """The site called ``name``."""
        for site in self.sites:
            if site.name == _key(name):
                return site
        raise KeyError(f"no site {_key(name)!r}; sites: {[s.name for s in self.sites]}")

    def population(self, name: str | Population) -> Population:
        """The population called ``name``."""
        return population_of(self, _key(name))

    def projection(self, name: str | Projection) -> Projection:
        """The projection called ``name``."""
        for proj in self.projections:
            if proj.name == _key(name):
                return proj
        raise KeyError(
            f"no projection {_key(name)!r}; projections: {[p.name for p in self.projections]}"
        )

    def phase(self, name: str | Phase) -> Phase:
        """The phase called ``name``."""
        for phase in self.phases:
            if phase.name == _key(name):
                return phase
        raise KeyError(f"no phase {_key(name)!r}; phases: {[p.name for p in self.phases]}")

    def link_between(self, a: str | Site, b: str | Site) -> Link | None:
        """The link joining sites ``a`` and ``b`` (either way round), or None."""
        for link in self.links:
            if link.joins(_key(a), _key(b)):
                return link
        return None

    # ------------------------------------------------------------------ who hosts what
    def site_of(self, population: str | Population) -> Site:
        """The site that hosts ``population``."""
        return self.site(self.population(population).site)

    def populations_at(self, site: str | Site) -> tuple[Population, ...]:
        """The populations hosted at ``site``, in declaration order."""
        return tuple(p for p in self.populations if p.site == _key(site))

    def synapses_at(self, site: str | Site) -> tuple[Projection, ...]:
        """The memristive projections whose devices ``site`` hosts (it is their hub)."""
        return tuple(p for p in self.projections if p.host == _key(site))

    def roles_of(self, site: str | Site) -> frozenset[str]:
        """What ``site`` does: ``biology``, ``silicon``, ``generator`` (from its populations) and
        ``hub`` (if it hosts memristive synapses)."""
        kinds = {"culture": "biology", "silicon": "silicon", "generator": "generator"}
        roles = {kinds[p.kind] for p in self.populations_at(site)}
        if self.synapses_at(site):
            roles.add("hub")
        return frozenset(roles)

    def capabilities_of(self, site: str | Site) -> Capability:
        """The :class:`ione.wire.Capability` flags ``site`` announces on its links."""
        roles = self.roles_of(site)
        caps = Capability.SEND_EVENTS | Capability.RECEIVE_EVENTS | Capability.VALUES
        if "biology" in roles:
            caps |= Capability.STIMULATION
        if "hub" in roles:
            caps |= Capability.SYNAPSES
        return caps

    # ------------------------------------------------------------------ addresses
    def population_index(self, population: str | Population) -> int:
        """Index of ``population`` among its site's populations (0 ... 255)."""
        pop = self.population(population)
        return [p.name for p in self.populations_at(pop.site)].index(pop.name)

    def address(self, population: str | Population) -> int:
        """Address of neuron 0 of ``population``: ``make_key(site index, population index, 0)``;
        neuron ``i`` is at ``address + i``."""
        site = self.site_of(population)
        return int(make_key(site.index, self.population_index(population), 0))

    def key_range(self, population: str | Population) -> KeyRange:
        """Every address of ``population`` (its size, from :meth:`address`)."""
        start = self.address(population)
        return KeyRange(start, start + self.population(population).size)

    # ------------------------------------------------------------------ traffic
    def route(self, projection: str | Projection) -> tuple[str, ...]:
        """Sites a projection's events pass through: pre site -> hub -> post site for a memristive
        projection (SYSTEM.md §1: the weight is read at the hub and sent on), pre site -> post
        site for a static one; a site is not repeated when it plays two parts."""
        proj = self.projection(projection)
        hops = [self.population(proj.pre).site]
        if isinstance(proj.synapse, MemristiveSynapse):
            hops.append(proj.synapse.host)
        hops.append(self.population(proj.post).site)
        route = [hops[0]]
        for hop in hops[1:]:
            if hop != route[-1]:
                route.append(hop)
        return tuple(route)

    def links_of(self, projection: str | Projection) -> tuple[Link, ...]:
        """The links a projection's traffic uses, in order along its route."""
        route = self.route(projection)
        links = [self.link_between(a, b) for a, b in itertools.pairwise(route)]
        return tuple(link for link in links if link is not None)

    def projections_via(self, link: Link | tuple[str, str]) -> tuple[Projection, ...]:
        """The projections whose traffic crosses ``link`` (a Link or a pair of site names)."""
        pair = set(link.sites if isinstance(link, Link) else link)
        return tuple(
            p for p in self.projections if any(set(lk.sites) == pair for lk in self.links_of(p))
        )

    def link_id(self, link: Link) -> int:
        """The link's id on the wire (:class:`ione.wire.LinkConfig`): ``16 * i + j`` for the
        site indices ``i < j`` of its ends, the same at both ends and unique per pair of sites;
        site ``link.a`` initiates the handshake."""
        i, j = sorted((self.site(link.a).index, self.site(link.b).index))
        return 16 * i + j

    def links_at(self, site: str | Site) -> tuple[Link, ...]:
        """The links with ``site`` at one end."""
        return tuple(link for link in self.links if _key(site) in link.sites)

    def synaptor(self, projection: str | Projection) -> str | None:
        """``"ABsyn"`` (artificial -> biological) or ``"BAsyn"`` (biological -> artificial) for a
        memristive projection between a culture and silicon or generator neurons, else None."""
        proj = self.projection(projection)
        if not isinstance(proj.synapse, MemristiveSynapse):
            return None
        pre, post = self.population(proj.pre).kind, self.population(proj.post).kind
        if pre != "culture" and post == "culture":
            return "ABsyn"
        if pre == "culture" and post != "culture":
            return "BAsyn"
        return None

    def connections(self, projection: str | Projection) -> tuple[IntArray, IntArray]:
        """Presynaptic and postsynaptic neuron indices of every connection of a projection,
        drawn reproducibly from :meth:`seed_sequence` when the connector is random."""
        proj = self.projection(projection)
        pre, post = self.population(proj.pre), self.population(proj.post)
        rng = np.random.default_rng(self.seed_sequence("connections", proj.name))
        return proj.connector.connections(
            pre.size, post.size, rng, same_population=proj.pre == proj.post
        )

    # ------------------------------------------------------------------ time
    def phase_windows(self) -> tuple[tuple[Phase, int, int], ...]:
        """Each phase with its start and stop time (µs from the start of the run)."""
        out, t = [], 0
        for phase in self.phases:
            out.append((phase, t, t + phase.duration_us))
            t += phase.duration_us
        return tuple(out)

    def phase_at(self, t_us: int) -> Phase | None:
        """The phase in force at ``t_us`` (start inclusive), or None outside the phases."""
        for phase, start, stop in self.phase_windows():
            if start <= t_us < stop:
                return phase
        return None

    def rate_hz(self, population: str | Population, phase: str | Phase | None = None) -> float:
        """Rate of a generator during ``phase`` (or its own rate when the phase sets none)."""
        pop = self.population(population)
        if pop.kind != "generator":
            raise ValueError(f"{pop.name!r} is a {pop.kind} population, not a generator")
        if phase is not None:
            rates = self.phase(phase).rates_hz
            if pop.name in rates:
                return float(rates[pop.name])
        if pop.rate_hz is None:
            raise ValueError(f"generator {pop.name!r} has no rate outside the phases")
        return pop.rate_hz

    def rate_at(self, population: str | Population, t_us: int) -> float:
        """Rate of a generator at ``t_us`` (0 after the end of the run)."""
        if not 0 <= t_us < (self.duration_us or 0):
            return 0.0
        return self.rate_hz(population, self.phase_at(t_us))

    # ------------------------------------------------------------------ files and seeds
    def seed_sequence(self, *names: str) -> np.random.SeedSequence:
        """A seed sequence for one consumer (``"culture", "BN"``), derived from :attr:`seed`, so
        that every site draws independent, reproducible streams."""
        spawn_key = tuple(zlib.crc32(n.encode("utf-8")) for n in names)
        return np.random.SeedSequence(self.seed, spawn_key=spawn_key)

    def resolve_path(self, path: str) -> Path:
        """``path`` as written in the description, made relative to the description's file."""
        p = Path(path).expanduser()
        if p.is_absolute() or self.source is None:
            return p
        return Path(self.source).parent / p

    def key_file_path(self, link: Link) -> Path:
        """Where ``link``'s key file is (see :meth:`resolve_path`)."""
        return self.resolve_path(link.key_file)
