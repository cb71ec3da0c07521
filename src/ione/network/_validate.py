"""Checks of a whole experiment: names, references between its parts, routes and rates.

Each part checks itself when it is built; these checks need the whole description. Each raises
:class:`~ione.network.ConfigError` with the key path as a TOML file writes it
(``populations[1].site``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ione.network._errors import ConfigError
from ione.network._parts import ROLES, Population, check_name
from ione.network._projections import MemristiveSynapse
from ione.network._units import format_duration, show

if TYPE_CHECKING:
    from ione.network._experiment import Experiment

__all__ = ["check_experiment"]

MAX_TICK_US = 1_000_000
MIN_TICK_US = 10
MAX_POPULATIONS_PER_SITE = 256


def _listed(names: Sequence[str]) -> str:
    return ", ".join(show(n) for n in names) if names else "none defined"


def _unique(items: Sequence[object], section: str, attr: str = "name") -> None:
    seen: dict[object, int] = {}
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            raise ConfigError(
                f"duplicate {attr} {show(value)}: {section}[{seen[value]}] has it already",
                key=f"{section}[{i}].{attr}",
            )
        seen[value] = i


def _refer(value: str, names: Sequence[str], key: str, what: str) -> None:
    if value not in names:
        raise ConfigError(
            f"expected the name of {what} ({_listed(names)}), got {show(value)}", key=key
        )


def check_experiment(exp: Experiment) -> None:
    """Raise ConfigError on the first problem of ``exp`` as a whole."""
    check_name(exp.name, "experiment.name")
    s = exp.seed
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 1 << 63:
        raise ConfigError(
            f"expected a seed from 0 to 2**63 - 1, got {show(s)}", key="experiment.seed"
        )
    t = exp.tick_us
    if isinstance(t, bool) or not isinstance(t, int) or not MIN_TICK_US <= t <= MAX_TICK_US:
        shown = format_duration(t) if isinstance(t, int) and not isinstance(t, bool) else show(t)
        raise ConfigError(
            f"expected a tick from {format_duration(MIN_TICK_US)} to "
            f"{format_duration(MAX_TICK_US)}, got {shown}",
            key="experiment.tick",
        )
    _check_sites(exp)
    _check_populations(exp)
    _check_links(exp)
    _check_projections(exp)
    _check_phases(exp)
    _check_roles(exp)


def _check_sites(exp: Experiment) -> None:
    if not exp.sites:
        raise ConfigError("expected at least one [[sites]] entry", key="sites")
    _unique(exp.sites, "sites")
    _unique(exp.sites, "sites", "index")
    seen: dict[tuple[str, int], int] = {}
    for i, site in enumerate(exp.sites):
        where = (site.host, site.port)
        if where in seen:
            raise ConfigError(
                f"expected a port no other site on {site.host} uses; sites[{seen[where]}] "
                f"listens on {site.port} already",
                key=f"sites[{i}].port",
            )
        seen[where] = i


def _check_populations(exp: Experiment) -> None:
    _unique(exp.populations, "populations")
    sites = [s.name for s in exp.sites]
    per_site: dict[str, int] = {}
    for i, pop in enumerate(exp.populations):
        _refer(pop.site, sites, f"populations[{i}].site", "a site defined under [[sites]]")
        per_site[pop.site] = per_site.get(pop.site, 0) + 1
        if per_site[pop.site] > MAX_POPULATIONS_PER_SITE:
            raise ConfigError(
                f"expected at most {MAX_POPULATIONS_PER_SITE} populations per site "
                f"(8 bits of the address), {pop.site!r} has more",
                key=f"populations[{i}].site",
            )


def _check_links(exp: Experiment) -> None:
    sites = [s.name for s in exp.sites]
    pairs: dict[frozenset[str], int] = {}
    for i, link in enumerate(exp.links):
        _refer(link.a, sites, f"links[{i}].a", "a site defined under [[sites]]")
        _refer(link.b, sites, f"links[{i}].b", "a site defined under [[sites]]")
        pair = frozenset(link.sites)
        if pair in pairs:
            raise ConfigError(
                f"duplicate link between {link.a!r} and {link.b!r}: links[{pairs[pair]}] "
                "joins them already",
                key=f"links[{i}]",
            )
        pairs[pair] = i


def _check_projections(exp: Experiment) -> None:
    _unique(exp.projections, "projections")
    pops = {p.name: p for p in exp.populations}
    sites = [s.name for s in exp.sites]
    for i, proj in enumerate(exp.projections):
        at = f"projections[{i}]"
        _refer(proj.pre, list(pops), f"{at}.pre", "a population defined under [[populations]]")
        _refer(proj.post, list(pops), f"{at}.post", "a population defined under [[populations]]")
        pre, post = pops[proj.pre], pops[proj.post]
        if post.kind == "generator":
            raise ConfigError(
                f"expected a population that receives input, got the generator {post.name!r}",
                key=f"{at}.post",
            )
        try:
            proj.connector.check(pre.size, post.size)
        except ConfigError as exc:
            raise exc.within(at) from None
        if isinstance(proj.synapse, MemristiveSynapse):
            _refer(proj.synapse.host, sites, f"{at}.synapse.host", "a site defined under [[sites]]")
        route = exp.route(proj)
        for a, b in itertools.pairwise(route):
            if exp.link_between(a, b) is None:
                path = " -> ".join(route)
                raise ConfigError(
                    f"its traffic goes {path}, but no link joins {a!r} and {b!r}; add a [[links]] "
                    f'entry with a = "{a}" and b = "{b}"',
                    key=at,
                )


def _check_phases(exp: Experiment) -> None:
    _unique(exp.phases, "phases")
    generators = [p.name for p in exp.populations if p.kind == "generator"]
    pops = {p.name: p for p in exp.populations}
    for i, phase in enumerate(exp.phases):
        if phase.duration_us % exp.tick_us:
            raise ConfigError(
                f"expected a whole number of ticks ({format_duration(exp.tick_us)}), got "
                f"{format_duration(phase.duration_us)}",
                key=f"phases[{i}].duration",
            )
        for name in phase.rates_hz:
            key = f"phases[{i}].rates.{name}"
            if name in pops and name not in generators:
                raise ConfigError(
                    f"only generators take a rate; {name!r} is a {pops[name].kind} population",
                    key=key,
                )
            _refer(name, generators, key, "a generator population")
    for i, pop in enumerate(exp.populations):
        if pop.kind != "generator" or pop.rate_hz is not None:
            continue
        if not exp.phases:
            raise ConfigError(
                "expected a rate for this generator (there are no [[phases]] to give one)",
                key=f"populations[{i}].rate",
            )
        for j, phase in enumerate(exp.phases):
            if pop.name not in phase.rates_hz:
                raise ConfigError(
                    f"expected a rate for generator {pop.name!r} (it has no rate of its own)",
                    key=f"phases[{j}].rates.{pop.name}",
                )
    if exp.duration_us is None or exp.duration_us <= 0:  # pragma: no cover - set by Experiment
        raise ConfigError("expected a duration or [[phases]]", key="experiment.duration")
    if exp.duration_us % exp.tick_us:
        raise ConfigError(
            f"expected a whole number of ticks ({format_duration(exp.tick_us)}), got "
            f"{format_duration(exp.duration_us)}",
            key="experiment.duration",
        )


def _check_roles(exp: Experiment) -> None:
    for i, site in enumerate(exp.sites):
        roles = exp.roles_of(site.name)
        if not roles:
            raise ConfigError(
                f"site {site.name!r} hosts no population and no memristive synapses; remove it "
                "or place something there",
                key=f"sites[{i}]",
            )
        if site.role is not None and site.role not in roles:
            hosts = ", ".join(r for r in ROLES if r in roles)
            raise ConfigError(
                f"expected a role matching what {site.name!r} hosts ({hosts}), got "
                f"{show(site.role)}",
                key=f"sites[{i}].role",
            )


def population_of(exp: Experiment, name: str) -> Population:
    """The population called ``name`` (KeyError naming the known ones otherwise)."""
    for pop in exp.populations:
        if pop.name == name:
            return pop
    raise KeyError(
        f"no population {name!r}; populations: {_listed([p.name for p in exp.populations])}"
    )
