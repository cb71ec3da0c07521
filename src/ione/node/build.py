"""From an experiment description to one running site.

:func:`plan_site` reads an :class:`ione.network.Experiment` from the point of view of one of its
sites and returns what :class:`~ione.node.site.SiteRuntime` needs: the site's socket and links
(with their keys), its processors (pacemakers, silicon neurons, cultures, the hub's memristive
synapses, static routes) and the ``meta`` record that describes the site in its session log.
:func:`run_site` runs it; ``ione site NAME --config FILE`` calls that.

Every random stream of a site is derived from the experiment's seed and the names of what draws
from it (:meth:`ione.network.Experiment.seed_sequence`), so a site behaves the same in every run
of a description, whichever machine it runs on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import selectors
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ione.culture.spiketrains import (
    SpikeTrainReplay,
)
from ione.models.neuron.culture import make_culture
from ione.models.synapses import SynapseBank
from ione.network import (
    ConfigError,
    Experiment,
    MemristiveSynapse,
    Population,
    StaticSynapse,
    dump_experiment,
    load_experiment,
)
from ione.node.processors import (
    STEP_MODELS,
    CultureProcessor,
    ElectrodeCultureProcessor,
    HubProcessor,
    HubSynapses,
    PacemakerProcessor,
    Phase,
    Processor,
    RecordedCultureProcessor,
    ReplayProcessor,
    SiliconProcessor,
    StaticRoute,
    StaticRoutes,
    StepNeuronProcessor,
)
from ione.node.site import Address, PeerLink, SiteRuntime, SiteSpec
from ione.node.sources import (
    SiteError,
    check_population,
    check_sources,
    culture_guard,
    electrode_stream,
    guards_meta,
    recorded_trains,
)
from ione.record import LogReader, LogWriter
from ione.record import kinds as K
from ione.wire.keys import KeyFileError, read_key_file, write_key_file

__all__ = [
    "SiteError",
    "SitePlan",
    "check_sources",
    "culture_guard",
    "electrode_stream",
    "log_path",
    "parse_address",
    "plan_site",
    "recorded_trains",
    "run_directory",
    "run_site",
    "site_meta",
    "site_processors",
    "synapse_table",
]


@dataclass(frozen=True)
class SitePlan:
    """Everything one site of an experiment runs with."""

    experiment: Experiment
    name: str
    spec: SiteSpec
    meta: dict[str, Any]
    make_processors: Callable[[int], list[Processor]]


def parse_address(text: str, what: str = "address") -> Address:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a tuple; raises ValueError naming ``what``."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{what}: expected HOST:PORT (e.g. 127.0.0.1:47102), got {text!r}")
    return host, int(port)


def synapse_table(experiment: Experiment) -> list[dict[str, Any]]:
    """Every memristive synapse of the run in its run-wide numbering (the ``synapse`` column of
    ``pulses`` and ``reads``): projection by projection in declaration order, connection by
    connection. A one-device projection's synapse is named like the projection (``MR1``)."""
    rows: list[dict[str, Any]] = []
    for proj in experiment.projections:
        syn = proj.synapse
        if not isinstance(syn, MemristiveSynapse):
            continue
        pre, post = experiment.connections(proj)
        pre_pop, post_pop = experiment.population(proj.pre), experiment.population(proj.post)
        for k in range(pre.size):
            rows.append(
                {
                    "index": len(rows),
                    "name": proj.name if pre.size == 1 else f"{proj.name}[{k}]",
                    "projection": proj.name,
                    "pre": f"{pre_pop.name}[{int(pre[k])}]",
                    "post": f"{post_pop.name}[{int(post[k])}]",
                    "pre_key": experiment.address(pre_pop) + int(pre[k]),
                    "post_key": experiment.address(post_pop) + int(post[k]),
                    "device": f"{syn.device}:{syn.preset}",
                    "host": syn.host,
                    "r_min_ohm": syn.r_min_ohm,
                    "r_max_ohm": syn.r_max_ohm,
                }
            )
    return rows


def run_directory(experiment: Experiment) -> Path:
    """Where a site of ``experiment`` writes by default: ``[record] directory``, relative to
    the description's file."""
    return experiment.resolve_path(experiment.record.directory)


def log_path(run_dir: str | os.PathLike[str], site: str) -> Path:
    """A site's session log in a run folder."""
    return Path(run_dir) / f"{site}.ionelog"


def _key(experiment: Experiment, link: Any, create: bool) -> bytes:
    path = experiment.key_file_path(link)
    try:
        return read_key_file(path)
    except KeyFileError as exc:
        if create and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(KeyFileError):  # another site created it meanwhile
                return write_key_file(path)
            return read_key_file(path)
        raise SiteError(f"link {link.a}-{link.b}: {exc}") from None


def _phases(experiment: Experiment, pop: Population, t0: int) -> list[Phase]:
    windows = experiment.phase_windows()
    duration = experiment.duration_us or 0
    if not windows:
        return [Phase("run", t0, t0 + duration, pop.rate_hz or 0.0)]
    out = []
    for phase, start, stop in windows:
        rate = phase.rates_hz.get(pop.name, pop.rate_hz or 0.0)
        out.append(Phase(phase.name, t0 + start, t0 + stop, float(rate)))
    return out


def plan_site(
    experiment: Experiment,
    name: str,
    *,
    bind: Address | None = None,
    peers: Mapping[str, Address] | None = None,
    create_keys: bool = False,
    connect_timeout_us: int = 30_000_000,
    grace_us: int = 1_500_000,
    start_at_unix: float | None = None,
    replay: str | os.PathLike[str] | None = None,
) -> SitePlan:
    """Plan site ``name`` of ``experiment``.

    Parameters
    ----------
    bind
        Local address of the site's UDP socket (default: the site's host and port).
    peers
        Where to reach peer sites, by name, instead of their host and port in the description
        (e.g. the ports of the internet emulator's relays).
    create_keys
        Create missing key files (local runs); otherwise a missing key file is an error.
    start_at_unix
        Wall-clock time (UNIX seconds) of tick 0, shared by the sites of a run.
    replay
        A session log of this site from an earlier run: instead of its populations, the site
        sends what it sent then, at the same times after tick 0 (:class:`ReplayProcessor`).

    Raises
    ------
    SiteError
        If the site is unknown, a key file is missing or bad, a peer is unknown, or a
        population's model cannot run at a site.
    """
    exp = experiment
    try:
        site = exp.site(name)
    except KeyError:
        raise SiteError(
            f"no site {name!r} in {exp.source or exp.name}; sites: "
            f"{', '.join(s.name for s in exp.sites)}"
        ) from None
    peers = dict(peers or {})
    unknown = sorted(set(peers) - {lk.other(name) for lk in exp.links_at(name)})
    if unknown:
        raise SiteError(f"{name} has no link to {', '.join(unknown)} (peer addresses given)")
    links = []
    for link in exp.links_at(name):
        other = exp.site(link.other(name))
        links.append(
            PeerLink(
                peer=other.name,
                peer_index=other.index,
                link_id=exp.link_id(link),
                initiator=link.a == name,
                key=_key(exp, link, create_keys),
                address=peers.get(other.name, (other.host, other.port)),
                key_id=link.key_id,
                capabilities=exp.capabilities_of(name),
            )
        )
    for pop in exp.populations_at(name):
        check_population(exp, pop)
        if pop.kind == "silicon" and pop.model not in STEP_MODELS:
            receives = any(p.post == pop.name for p in exp.projections)
            if receives:
                raise SiteError(
                    f"population {pop.name}: the runtime drives silicon models "
                    f"{', '.join(sorted(STEP_MODELS))} with weighted events; {pop.model} "
                    "cannot be a projection's target yet"
                )
    spec = SiteSpec(
        name=name,
        index=site.index,
        bind=bind or (site.host, site.port),
        links=tuple(links),
        duration_us=exp.duration_us or 0,
        tick_us=exp.tick_us,
        grace_us=grace_us,
        connect_timeout_us=connect_timeout_us,
        start_at_unix=start_at_unix,
    )
    meta = site_meta(exp, name)
    if replay is None:
        return SitePlan(exp, name, spec, meta, lambda t0: site_processors(exp, name, t0))
    sent, recorded_t0 = _recording(Path(replay), name)
    peers_by_index = {s.index: s.name for s in exp.sites}
    try:
        ReplayProcessor(sent, recorded_t0, 0, peers_by_index)  # refuse a bad recording now
    except ValueError as exc:
        raise SiteError(f"{replay}: {exc}") from None
    meta["replay_of"] = str(replay)

    def replaying(t0: int) -> list[Processor]:
        return [ReplayProcessor(sent, recorded_t0, t0, peers_by_index)]

    return SitePlan(exp, name, spec, meta, replaying)


def _recording(path: Path, name: str) -> tuple[Any, int]:
    """The ``sent`` rows and tick 0 of site ``name``'s log at ``path``."""
    try:
        records = LogReader(path).read_all()
    except FileNotFoundError:
        raise SiteError(f"{path}: no such session log to replay") from None
    except (OSError, ValueError) as exc:
        raise SiteError(f"{path}: cannot replay it: {exc}") from None
    site = next((m.get("site") for m in records.get(K.META, []) if "site" in m), None)
    if site != name:
        raise SiteError(f"{path} is the log of site {site!r}, not of {name!r}")
    runs = records.get("run", [])
    if not runs:
        raise SiteError(f"{path}: the recorded site never started (no 'run' record)")
    blocks = [b for b in records.get(K.SENT, []) if isinstance(b, np.ndarray)]
    sent = np.concatenate(blocks) if blocks else np.zeros(0, K.SENT_DTYPE)
    return sent, int(runs[0]["t0_us"])


def site_meta(exp: Experiment, name: str) -> dict[str, Any]:
    """The ``meta`` record of site ``name`` (:mod:`ione.record.summary` lists its fields)."""
    site = exp.site(name)
    return {
        "site": name,
        "site_index": site.index,
        "kind": site.role or ",".join(sorted(exp.roles_of(name))),
        "experiment": exp.name,
        "sites": {s.name: s.index for s in exp.sites},
        "populations": [
            {
                "name": p.name,
                "index": exp.population_index(p),
                "kind": p.kind,
                "size": p.size,
                "site": p.site,
                "address": exp.address(p),
                "model": p.model,
                "preset": p.preset,
            }
            for p in exp.populations_at(name)
        ],
        "synapses": [s for s in synapse_table(exp) if s["host"] == name],
        "phases": [
            {"name": ph.name, "start_us": start, "stop_us": stop, "rates_hz": dict(ph.rates_hz)}
            for ph, start, stop in exp.phase_windows()
        ],
        "config": {"name": exp.name, "description": exp.description, "toml": dump_experiment(exp)},
        "config_file": exp.source,
        "versions": K.software_versions(),
        **guards_meta(exp, name),
    }


def _hubs_of(exp: Experiment, pop: Population) -> list[str]:
    """Hubs that must see ``pop``'s spikes (or, for a culture, its reports): the presynaptic
    spikes of a memristive projection are read there, its postsynaptic ones trigger the rule."""
    hubs = []
    for proj in exp.projections:
        syn = proj.synapse
        if (
            isinstance(syn, MemristiveSynapse)
            and pop.name in (proj.pre, proj.post)
            and syn.host not in hubs
        ):
            hubs.append(syn.host)
    return hubs


def site_processors(exp: Experiment, name: str, t0: int) -> list[Processor]:
    """The processors of site ``name`` whose tick 0 starts at local time ``t0`` (µs): the
    hub first (it forwards what arrived), then one per population, then the static routes."""

    def rng(*names: str) -> np.random.Generator:
        return np.random.default_rng(exp.seed_sequence(*names))

    procs: list[Processor] = []
    routes: list[StaticRoute] = []
    for pop in exp.populations_at(name):
        base, hubs = exp.address(pop), _hubs_of(exp, pop)
        if pop.kind == "generator":
            procs.append(
                PacemakerProcessor(
                    base,
                    pop.size,
                    _phases(exp, pop, t0),
                    hubs,
                    poisson=pop.model == "poisson",
                    rng=rng("generator", pop.name),
                )
            )
        elif pop.kind == "silicon":
            if pop.model == "dpi":
                procs.append(SiliconProcessor(base, pop.size, pop.parameters(), hubs))
            elif pop.model in STEP_MODELS:
                procs.append(
                    StepNeuronProcessor(
                        str(pop.model),
                        base,
                        pop.size,
                        pop.parameters(),
                        hubs,
                        rng("silicon", pop.name),
                    )
                )
            else:
                raise SiteError(f"population {pop.name}: no runtime for silicon model {pop.model}")
        elif pop.model == "recording":
            params = pop.parameters()
            replay = SpikeTrainReplay(
                recorded_trains(exp, pop),
                t0_us=t0,
                speed=params.speed,
                start_us=round(params.start_s * 1e6),
                loop=params.loop,
            )
            procs.append(RecordedCultureProcessor(base, replay, hubs))
        elif pop.model == "electrodes":
            stream, detector = electrode_stream(exp, pop)
            procs.append(ElectrodeCultureProcessor(base, stream, detector, hubs, t0_us=t0))
        else:
            culture = make_culture(pop.parameters(), rng("culture", pop.name))
            limits, latency = culture_guard(pop)
            procs.append(
                CultureProcessor(
                    base,
                    culture,
                    hubs,
                    rng("culture-run", pop.name),
                    t0_us=t0,
                    guard_limits=limits,
                    latency_us=latency,
                )
            )
        for proj in exp.projections:
            if proj.pre == pop.name and isinstance(proj.synapse, StaticSynapse):
                pre, post = exp.connections(proj)
                routes.append(
                    StaticRoute(
                        base,
                        pre.astype(np.int64),
                        exp.address(proj.post) + post.astype(np.int64),
                        proj.synapse.weight,
                        exp.site_of(proj.post).name,
                    )
                )
    banks: list[HubSynapses] = []
    offset = 0
    for proj in exp.projections:
        syn = proj.synapse
        if not isinstance(syn, MemristiveSynapse):
            continue
        pre, post = exp.connections(proj)
        if syn.host == name:
            pre_pop, post_pop = exp.population(proj.pre), exp.population(proj.post)
            model = syn.device_model()
            state = model.initial_state(
                pre.size, rng("devices", proj.name), **syn.initial_state_kwargs()
            )
            bank = SynapseBank(
                pre,
                post,
                model,
                state,
                n_pre=pre_pop.size,
                n_post=post_pop.size,
                window=syn.weight_window(),
            )
            banks.append(
                HubSynapses(
                    proj.name,
                    bank,
                    syn.rule_object(),
                    exp.address(pre_pop),
                    pre_pop.size,
                    exp.address(post_pop),
                    post_pop.size,
                    post_pop.site,
                    pre_is_culture=pre_pop.kind == "culture",
                    post_is_culture=post_pop.kind == "culture",
                    synapse_offset=offset,
                )
            )
        offset += pre.size
    if banks:
        procs.insert(
            0,
            HubProcessor(banks, rng("hub", name), read_interval_us=exp.record.weight_interval_us),
        )
    if routes:
        procs.append(StaticRoutes(routes))
    return procs


async def run_site(
    plan: SitePlan,
    run_dir: str | os.PathLike[str],
    *,
    progress: TextIO | None = None,
) -> dict[str, Any]:
    """Run a planned site to the end, recording into ``run_dir/<site>.ionelog``; with
    ``progress`` a JSON snapshot per line is written there about twice a second (what ``ione
    run`` reads). SIGTERM stops the site as Ctrl-C does; the log is closed either way."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = log_path(run_dir, plan.name)
    if path.exists():
        raise SiteError(
            f"{path} exists: a site never overwrites a recording; choose another run folder"
        )

    def show(snapshot: dict[str, Any]) -> None:
        if progress is not None:
            progress.write(json.dumps(snapshot, default=float) + "\n")
            progress.flush()

    with LogWriter(path) as log:
        log.append(K.META, plan.meta)
        runtime = SiteRuntime(plan.spec, plan.make_processors, log=log, progress=show)

        def started(t0: int) -> None:
            log.append(
                K.META,
                {
                    "session_start_time": dt.datetime.now(dt.UTC).isoformat(),
                    "session_start_us": t0,
                    "run_id": str(uuid.uuid4()),
                },
            )

        runtime.on_start = started
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        main = threading.current_thread() is threading.main_thread()
        if task is not None and main:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
            # an operator re-arms stimulation outputs after a watchdog trip: kill -USR1 <pid>
            loop.add_signal_handler(signal.SIGUSR1, runtime.request_rearm)
        try:
            final = await runtime.run()
        finally:
            if main:
                loop.remove_signal_handler(signal.SIGTERM)
                loop.remove_signal_handler(signal.SIGUSR1)
        final["done"] = True
        log.append("final", final)
        show(final)
        return final


def precise_event_loop() -> asyncio.AbstractEventLoop:
    """An event loop whose timers wake within tens of µs: ``select()`` takes its timeout in µs,
    where epoll (asyncio's default on Linux) rounds it up to whole milliseconds, which would make
    a 1 ms tick loop start most ticks up to a tick late. A site watches one socket, so select's
    cost per call does not matter."""
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def main_site(
    config: str,
    name: str,
    *,
    run_dir: str | None = None,
    bind: str | None = None,
    peers: list[str] | None = None,
    create_keys: bool = False,
    progress: bool = False,
    start_at: float | None = None,
    replay: str | None = None,
) -> int:
    """``ione site``: returns the exit code (0 when the site ran to the end)."""
    try:
        exp = load_experiment(config)
        peer_map: dict[str, Address] = {}
        for item in peers or []:
            peer, sep, addr = item.partition("=")
            if not sep:
                raise ValueError(f"--peer: expected NAME=HOST:PORT, got {item!r}")
            peer_map[peer] = parse_address(addr, f"--peer {peer}")
        plan = plan_site(
            exp,
            name,
            bind=parse_address(bind, "--bind") if bind else None,
            peers=peer_map,
            create_keys=create_keys,
            start_at_unix=start_at,
            replay=replay,
        )
        out = Path(run_dir) if run_dir else run_directory(exp)
        with asyncio.Runner(loop_factory=precise_event_loop) as runner:
            final = runner.run(run_site(plan, out, progress=sys.stdout if progress else None))
    except (ConfigError, SiteError, ValueError, OSError) as exc:
        print(f"ione site {name}: {exc}", file=sys.stderr)
        return 2
    except TimeoutError as exc:
        print(f"ione site {name}: {exc}", file=sys.stderr)
        return 3
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"ione site {name}: stopped", file=sys.stderr)
        return 130
    late = final["ticks"]["late_ticks"]
    if not progress:
        print(
            f"{name}: ran {final['ticks']['ticks']} ticks ({late} late), log {log_path(out, name)}"
        )
    return 0
