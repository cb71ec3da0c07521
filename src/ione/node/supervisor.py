"""``ione run``: every site of an experiment as its own process on this machine, linked through
the internet emulator, supervised until the end.

The supervisor

1. creates missing link key files (mode 0600) and the run folder;
2. starts one relay process (:mod:`ione.netem`) per link, with the link's emulation (delay,
   jitter, loss, duplication) and a seed derived from the experiment's;
3. starts one ``ione site`` process per site, each told to reach its peers through the relays
   and to start tick 0 at a common wall-clock instant;
4. reads each site's JSON progress lines and shows them live (tick lateness, link RTT and clock
   offset, losses, spike counts, synaptic weights);
5. stops everything cleanly on Ctrl-C, or when a site dies (naming it, with the end of its error
   output), and exits non-zero then;
6. at the end stops the relays (each writes its exact counters to ``relays/<a>-<b>.json``),
   writes ``run.json`` and merges the site logs into ``session.ionelog``.

The report (``summary.json``, ``report.html``) is built from the run folder afterwards by
:mod:`ione.report` (``ione run`` does both).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ione.network import Experiment, dump_experiment
from ione.node.build import SiteError, check_sources, log_path, parse_address
from ione.record.merge import SESSION_FILE, merge_run, save_session
from ione.wire.keys import read_key_file, write_key_file

__all__ = ["RunFailed", "RunResult", "SiteProcess", "run_experiment"]

#: Seconds between starting the processes and tick 0: time for every site to import, load its
#: compiled kernels and bring its links up, so that all sites start together.
START_MARGIN_S = 4.0


class RunFailed(RuntimeError):
    """A run could not start or did not finish (the message names the site or relay)."""


@dataclass
class SiteProcess:
    """A running site and what the supervisor knows of it."""

    name: str
    proc: asyncio.subprocess.Process
    last: dict[str, Any] = field(default_factory=dict)
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    done: bool = False
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until everything the process wrote has been read."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*self.pumps, return_exceptions=True)


@dataclass
class RelayProcess:
    link: str
    proc: asyncio.subprocess.Process
    a: tuple[str, int]
    b: tuple[str, int]
    control: tuple[str, int]
    stats: Path


@dataclass
class RunResult:
    """How a run ended."""

    run_dir: Path
    ok: bool
    exit_code: int
    message: str
    sites: dict[str, dict[str, Any]]
    relays: dict[str, dict[str, Any]]


def _ensure_keys(experiment: Experiment) -> None:
    for link in experiment.links:
        path = experiment.key_file_path(link)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_key_file(path)
        read_key_file(path)  # a bad or world-readable key file fails here, before any process


def _signal_name(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


async def _start_relay(
    experiment: Experiment, link: Any, run_dir: Path, python: str
) -> RelayProcess:
    em = link.emulation
    a, b = experiment.site(link.a), experiment.site(link.b)
    seed = int(experiment.seed_sequence("relay", link.name).generate_state(1)[0])
    stats = run_dir / "relays" / f"{link.name}.json"
    args = [
        "-m", "ione.netem", "--profile", "none",
        "--delay-ms", f"{em.delay_us / 1000:g}", "--jitter-ms", f"{em.jitter_us / 1000:g}",
        "--loss", f"{em.loss:g}", "--duplicate", f"{em.duplicate:g}",
        "--seed", str(seed), "--a-peer", f"{a.host}:{a.port}", "--b-peer", f"{b.host}:{b.port}",
        "--stats-out", str(stats),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        python,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(30):
            line = (await proc.stdout.readline()).decode().strip()
    except TimeoutError:
        line = ""
    if not line.startswith("relay "):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        err = b""
        if proc.stderr is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    err = await proc.stderr.read()
        raise RunFailed(f"the emulator of link {link.name} did not start: {err.decode().strip()}")
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    return RelayProcess(
        link.name,
        proc,
        parse_address(fields["a"]),
        parse_address(fields["b"]),
        parse_address(fields["control"]),
        stats,
    )


async def _stop(proc: asyncio.subprocess.Process, grace_s: float = 10.0) -> int:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(grace_s):
            return await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        return await proc.wait()


async def _pump_progress(site: SiteProcess) -> None:
    assert site.proc.stdout is not None
    async for raw in site.proc.stdout:
        with contextlib.suppress(ValueError):
            snap = json.loads(raw)
            if isinstance(snap, dict):
                site.last = snap
                site.done = bool(snap.get("done"))


async def _pump_stderr(site: SiteProcess) -> None:
    assert site.proc.stderr is not None
    async for raw in site.proc.stderr:
        site.stderr_tail.append(raw.decode(errors="replace").rstrip())


async def run_experiment(
    experiment: Experiment,
    run_dir: str | os.PathLike[str],
    *,
    emulate: bool = True,
    start_margin_s: float = START_MARGIN_S,
    display: Callable[[list[SiteProcess], float], None] | None = None,
    announce: Callable[[str], None] | None = None,
    python: str = sys.executable,
    replay: dict[str, Path] | None = None,
) -> RunResult:
    """Run every site of ``experiment`` on this machine; see the module docstring.

    Parameters
    ----------
    run_dir
        The run folder (created; it must not already hold site logs).
    emulate
        Put a relay of :mod:`ione.netem` on every link (otherwise sites talk directly).
    display
        Called about twice a second with the sites and the run's progress in 0 ... 1.
    announce
        Receives one line per event worth printing (relays and sites started, a site's end).
    replay
        Sites to replay from recorded session logs (``ione site --replay``).

    Returns
    -------
    RunResult
        ``exit_code`` 0 only when every site ran to the end.
    """
    say = announce or (lambda line: None)
    run = Path(run_dir)
    if experiment.source is None:
        raise RunFailed("the experiment must come from a file (sites read it): save it first")
    try:
        check_sources(experiment)  # a missing recording stops the run before any site starts
    except SiteError as exc:
        raise RunFailed(str(exc)) from None
    existing = [s.name for s in experiment.sites if log_path(run, s.name).exists()]
    if existing:
        raise RunFailed(
            f"{run} already holds the logs of {', '.join(existing)}; choose a new run folder"
        )
    run.mkdir(parents=True, exist_ok=True)
    (run / "relays").mkdir(exist_ok=True)
    (run / "config.toml").write_text(dump_experiment(experiment), encoding="utf-8")
    _ensure_keys(experiment)
    started = dt.datetime.now(dt.UTC)
    record: dict[str, Any] = {
        "config": experiment.source,
        "experiment": experiment.name,
        "started": started.isoformat(),
        "emulated": emulate,
        "replayed": {k: str(v) for k, v in (replay or {}).items()},
    }
    relays: dict[str, RelayProcess] = {}
    sites: list[SiteProcess] = []
    result_sites: dict[str, dict[str, Any]] = {}
    relay_stats: dict[str, dict[str, Any]] = {}
    exit_code, message = 0, ""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        stopping.set()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
        loop.add_signal_handler(signal.SIGTERM, on_interrupt)
    try:
        peers: dict[str, list[str]] = {s.name: [] for s in experiment.sites}
        if emulate:
            for link in experiment.links:
                r = await _start_relay(experiment, link, run, python)
                relays[link.name] = r
                # a sends into the relay's a-facing port, b into its b-facing port
                peers[link.a].append(f"{link.b}={r.a[0]}:{r.a[1]}")
                peers[link.b].append(f"{link.a}={r.b[0]}:{r.b[1]}")
                say(
                    f"relay {link.name}: {link.emulation.delay_us / 1000:g} ms ± "
                    f"{link.emulation.jitter_us / 1000:g} ms, loss {link.emulation.loss:g}, "
                    f"control={r.control[0]}:{r.control[1]} pid={r.proc.pid}"
                )
        record["relays"] = {
            name: {"control": f"{r.control[0]}:{r.control[1]}", "pid": r.proc.pid}
            for name, r in relays.items()
        }
        start_at = time.time() + start_margin_s
        record["start_at_unix"] = start_at
        for site in experiment.sites:
            args = [
                "-m", "ione", "site", site.name, "--config", str(Path(experiment.source).resolve()),
                "--run-dir", str(run), "--progress", "--start-at", f"{start_at:.6f}",
            ]  # fmt: skip
            for p in peers[site.name]:
                args += ["--peer", p]
            if replay and site.name in replay:
                args += ["--replay", str(Path(replay[site.name]).resolve())]
            proc = await asyncio.create_subprocess_exec(
                python,
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
            sp = SiteProcess(site.name, proc)
            sites.append(sp)
            sp.pumps = [
                asyncio.create_task(_pump_progress(sp)),
                asyncio.create_task(_pump_stderr(sp)),
            ]
            say(f"site {site.name} pid={proc.pid}")
        _write_json(run / "run.json", {**record, "ok": None})
        total_s = (experiment.duration_us or 0) / 1e6
        waits = {asyncio.create_task(sp.proc.wait()): sp for sp in sites}
        stop_wait = asyncio.create_task(stopping.wait())
        pending = set(waits)
        while pending:
            done, pending = await asyncio.wait(
                pending | {stop_wait}, timeout=0.5, return_when=asyncio.FIRST_COMPLETED
            )
            pending.discard(stop_wait)
            if display is not None:
                elapsed = max((sp.last.get("elapsed_us") or 0) for sp in sites) / 1e6
                display(sites, min(1.0, elapsed / total_s) if total_s else 0.0)
            if stop_wait in done:
                exit_code, message = 130, "interrupted: every site was stopped"
                break
            failed = []
            for t in done:
                if t not in waits:
                    continue
                sp = waits[t]
                await sp.drain()  # its last lines: the final snapshot or the error
                if t.result() == 0 and sp.done:
                    say(f"site {sp.name} finished")
                else:
                    failed.append(sp)
            if failed:
                sp = failed[0]
                code = sp.proc.returncode or 0
                how = _signal_name(code) if code else "exit code 0 before the end of the run"
                tail = "\n".join(f"  {line}" for line in sp.stderr_tail)
                message = f"site {sp.name} stopped ({how}); stopping the run" + (
                    f"\n{tail}" if tail else ""
                )
                exit_code = 1
                break
        stop_wait.cancel()
    finally:
        for sp in sites:
            rc = await _stop(sp.proc)
            await sp.drain()
            for pump in sp.pumps:
                pump.cancel()
            result_sites[sp.name] = {"exit_code": rc, "ran_to_end": sp.done and rc == 0}
        for name, r in relays.items():
            await _stop(r.proc)
            with contextlib.suppress(OSError, ValueError):
                relay_stats[name] = json.loads(r.stats.read_text())
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
    ok = exit_code == 0 and all(s["ran_to_end"] for s in result_sites.values())
    if exit_code == 0 and not ok:
        exit_code = 1
        message = "a site did not run to the end: " + ", ".join(
            n for n, s in result_sites.items() if not s["ran_to_end"]
        )
    if interrupted and exit_code == 0:
        exit_code, message = 130, "interrupted"
    record.update(
        ok=ok,
        finished=dt.datetime.now(dt.UTC).isoformat(),
        exit_code=exit_code,
        message=message,
        sites=result_sites,
    )
    _write_json(run / "run.json", record)
    logs = [log_path(run, s.name) for s in experiment.sites]
    if any(p.exists() for p in logs):
        try:
            save_session(merge_run(run), run / SESSION_FILE)
        except (ValueError, OSError) as exc:
            message += f"\nthe site logs could not be merged: {exc}"
            if exit_code == 0:
                exit_code = 1
    return RunResult(run, ok, exit_code, message.strip(), result_sites, relay_stats)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)
