"""The ``ione`` command line: argument parsing only; the work happens in the layers below."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ione._time import ms_to_us, seconds_to_us
from ione._version import __version__

__all__ = ["main"]


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in 0 ... 1, got {text}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ione",
        description="ione, the Internet of Neuro-Electronics: link neurons, memristive synapses "
        "and silicon neurons across labs in real time.",
    )
    parser.add_argument("--version", action="version", version=f"ione {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="two sites in two processes exchange authenticated spikes")
    demo.add_argument("--duration", type=_positive, default=5.0, help="seconds of spikes (5)")
    demo.add_argument("--rate", type=_positive, default=2000.0, help="spikes/s each way (2000)")
    demo.add_argument(
        "--drop",
        type=_fraction,
        default=0.01,
        help="fraction of event datagrams each side drops on purpose (0.01)",
    )

    keygen = sub.add_parser("keygen", help="write a new 32-byte link key file (mode 0600)")
    keygen.add_argument("path", type=Path)
    keygen.add_argument("--force", action="store_true", help="overwrite an existing file")

    peer = sub.add_parser("wire-peer", help="run one end of a wire link (used by `ione demo`)")
    peer.add_argument("--site", required=True)
    peer.add_argument("--site-index", type=int, default=1)
    peer.add_argument("--role", choices=["initiator", "responder"], required=True)
    peer.add_argument("--bind", type=_address, required=True, help="HOST:PORT to listen on")
    peer.add_argument("--peer", type=_address, help="HOST:PORT of the other end")
    peer.add_argument("--key", type=Path, required=True, help="key file (see `ione keygen`)")
    peer.add_argument("--link-id", type=int, default=1)
    peer.add_argument("--duration", type=_positive, default=5.0)
    peer.add_argument("--rate", type=_positive, default=2000.0)
    peer.add_argument("--neurons", type=int, default=64)
    peer.add_argument("--drop", type=_fraction, default=0.0)
    peer.add_argument("--forged", type=int, default=0)
    peer.add_argument("--clock-offset-ms", type=float, default=0.0)
    peer.add_argument("--seed", type=int, default=0)
    peer.add_argument(
        "--join-timeout",
        type=_positive,
        default=10.0,
        help="seconds to wait for the peer before giving up (10)",
    )
    peer.add_argument("--stats-out", type=Path)

    run = sub.add_parser(
        "run", help="run every site of an experiment on this machine, through emulated links"
    )
    run.add_argument("config", type=Path, metavar="CONFIG", help="the experiment's TOML file")
    run.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="run folder (default: [record] directory / <name>-<date>-<time>)",
    )
    run.add_argument(
        "--no-emulation", action="store_true", help="sites talk directly, without relays"
    )
    run.add_argument("--no-report", action="store_true", help="skip summary.json and report")
    run.add_argument(
        "--virtual",
        action="store_true",
        help="run every site in this process in virtual time (no sockets; as fast as possible)",
    )
    run.add_argument(
        "--plain",
        action="store_true",
        help="progress as plain lines (default when the output is not a terminal)",
    )

    site = sub.add_parser(
        "site",
        help="run one site of an experiment (each lab runs its own; see docs/how-to.md)",
    )
    site.add_argument("name", metavar="NAME", help="the site to run, as named in the config")
    site.add_argument("--config", required=True, type=Path, help="the experiment's TOML file")
    site.add_argument(
        "--run-dir", type=Path, help="where to write NAME.ionelog (default: [record] directory)"
    )
    site.add_argument("--bind", metavar="HOST:PORT", help="local address (default: from config)")
    site.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="reach peer NAME here instead of at its config address (repeatable)",
    )
    site.add_argument(
        "--create-keys", action="store_true", help="create missing link key files (local runs)"
    )
    site.add_argument(
        "--progress", action="store_true", help="print a JSON status line about twice a second"
    )
    site.add_argument(
        "--start-at",
        type=float,
        metavar="UNIX_TIME",
        help="wall-clock time (seconds since 1970) of tick 0, shared by the sites of a run "
        "(default: as soon as this site's links are up)",
    )
    site.add_argument(
        "--replay",
        type=Path,
        metavar="LOG",
        help="send what this site sent in a recorded run (its session log) instead of running it",
    )

    replay = sub.add_parser(
        "replay",
        help="run an experiment again with one site standing in from a recorded run",
    )
    replay.add_argument("run", type=Path, metavar="RUN", help="the recorded run folder")
    replay.add_argument("--site", required=True, metavar="NAME", help="the site to replay")
    replay.add_argument(
        "--config",
        type=Path,
        help="the experiment's TOML file (default: the one RUN/run.json names)",
    )
    replay.add_argument("--out", type=Path, metavar="DIR", help="the new run folder")
    replay.add_argument("--no-report", action="store_true", help="skip summary.json and report")
    replay.add_argument("--plain", action="store_true", help="progress as plain lines")
    replay.add_argument("--no-emulation", action="store_true", help="no relays")

    merge = sub.add_parser(
        "merge", help="merge a run's site logs onto one clock (RUN/session.ionelog)"
    )
    merge.add_argument("run", type=Path, metavar="RUN", help="run folder of site logs")
    merge.add_argument("--reference", metavar="SITE", help="site whose clock to use (default: "
                       "the site with most links)")  # fmt: skip

    export = sub.add_parser("export", help="export a run to NWB and/or Neo (NIX)")
    export.add_argument("run", type=Path, metavar="RUN", help="run folder or session file")
    export.add_argument("--nwb", type=Path, metavar="FILE", help="write an NWB file")
    export.add_argument("--neo", type=Path, metavar="FILE", help="write a Neo NIX file (.nix)")
    export.add_argument("--reference", metavar="SITE", help="site whose clock to use")

    inspect = sub.add_parser("inspect", help="print a summary of a run")
    inspect.add_argument("run", type=Path, metavar="RUN", help="run folder or session file")
    inspect.add_argument("--reference", metavar="SITE", help="site whose clock to use")

    report = sub.add_parser(
        "report", help="write a run's summary.json, report.html and figures; print its tables"
    )
    report.add_argument("run", type=Path, metavar="RUN", help="run folder (see docs/report.md)")
    report.add_argument("--out", type=Path, metavar="DIR", help="write there instead of into RUN")
    return parser


def _record_command(args: argparse.Namespace) -> int:
    """``merge``, ``export`` and ``inspect``: failures print one line and return 1."""
    from ione.record import summary
    from ione.record.merge import SESSION_FILE, merge_run, open_session, save_session

    try:
        if args.command == "merge":
            session = merge_run(args.run, args.reference)
            path = save_session(session, args.run / SESSION_FILE)
            print(f"{summary.summary_line(session)} -> {path}")
        elif args.command == "inspect":
            summary.render_summary(open_session(args.run, args.reference, cache=False))
        else:
            session = open_session(args.run, args.reference)
            if args.nwb is not None:
                from ione.record.nwb import export_nwb

                print(f"wrote {export_nwb(session, args.nwb)}")
            if args.neo is not None:
                from ione.record.neo_export import export_neo

                print(f"wrote {export_neo(session, args.neo)}")
    except (OSError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"ione {args.command}: {message}", file=sys.stderr)
        return 1
    return 0


def _replay_command(args: argparse.Namespace) -> int:
    """``ione replay RUN --site NAME``: ``ione run`` with one site replayed from RUN."""
    import json

    log = args.run / f"{args.site}.ionelog"
    if not log.is_file():
        print(f"ione replay: {log}: no session log of site {args.site!r}", file=sys.stderr)
        return 1
    if args.config is None:
        try:
            recorded = json.loads((args.run / "run.json").read_text())
            args.config = Path(recorded["config"])
        except (OSError, ValueError, KeyError):
            print(
                f"ione replay: {args.run}/run.json does not name the config; give --config FILE",
                file=sys.stderr,
            )
            return 1
    args.virtual = False
    return _run_command(args, replay={args.site: log})


def _run_command(args: argparse.Namespace, replay: dict[str, Path] | None = None) -> int:
    """``ione run``: supervise the sites, then build the report."""
    import asyncio
    import datetime as dt
    import time

    from rich.console import Console
    from rich.live import Live

    from ione.network import ConfigError, load_experiment
    from ione.node.build import run_directory
    from ione.node.progress import live_view, plain_line
    from ione.node.supervisor import RunFailed, run_experiment

    console = Console()
    try:
        exp = load_experiment(args.config)
    except (ConfigError, OSError) as exc:
        print(f"ione run: {exc}", file=sys.stderr)
        return 2
    out = args.out
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = run_directory(exp) / f"{exp.name}-{stamp}"
    total_s = (exp.duration_us or 0) / 1e6
    plain = args.plain or not console.is_terminal
    last_plain = [0.0]
    live = None if plain else Live(console=console, refresh_per_second=4, transient=False)

    def display(sites: list[Any], fraction: float) -> None:
        if live is not None:
            live.update(live_view(sites, fraction, total_s))
        elif time.monotonic() - last_plain[0] >= 5.0:
            last_plain[0] = time.monotonic()
            print(plain_line(sites, fraction, total_s), flush=True)

    def announce(line: str) -> None:
        if live is not None:
            live.console.print(line)
        else:
            print(line, flush=True)

    print(f"ione run {exp.name}: {len(exp.sites)} sites, {total_s:g} s -> {out}", flush=True)
    if args.virtual:
        from ione.node.build import SiteError
        from ione.node.virtual import run_virtual

        try:
            run_virtual(
                exp,
                out,
                emulate=not args.no_emulation,
                progress=lambda f: print(f"  virtual time {f * total_s:5.1f} / {total_s:g} s"),
            )
        except SiteError as exc:
            print(f"ione run: {exc}", file=sys.stderr)
            return 2
        except (OSError, ValueError) as exc:
            print(f"ione run: {exc}", file=sys.stderr)
            return 1
        return _report_after_run(out, args, console, 0)
    try:
        if live is not None:
            live.start()
        try:
            result = asyncio.run(
                run_experiment(
                    exp,
                    out,
                    emulate=not args.no_emulation,
                    display=display,
                    announce=announce,
                    replay=replay,
                )
            )
        finally:
            if live is not None:
                live.stop()
    except (RunFailed, OSError, ValueError) as exc:
        print(f"ione run: {exc}", file=sys.stderr)
        return 1
    if result.message:
        print(f"ione run: {result.message}", file=sys.stderr)
    return _report_after_run(result.run_dir, args, console, result.exit_code)


def _report_after_run(run_dir: Path, args: argparse.Namespace, console: Any, code: int) -> int:
    if args.no_report or not any(run_dir.glob("*.ionelog")):
        return code
    import json

    from ione.report import print_summary, write_report

    try:
        html = write_report(run_dir)
    except (OSError, ValueError, KeyError) as exc:
        print(f"ione run: the report could not be built: {exc}", file=sys.stderr)
        return code or 1
    # a file or a pipe gets the tables 160 columns wide (print_summary's choice), not squeezed
    print_summary(
        json.loads((run_dir / "summary.json").read_text()),
        console if console.is_terminal else None,
    )
    print(f"report: {html}")
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    if args.command == "keygen":
        from ione.wire.keys import KeyFileError, write_key_file

        try:
            write_key_file(args.path, overwrite=args.force)
        except KeyFileError as exc:
            print(f"ione keygen: {exc}", file=sys.stderr)
            return 1
        print(f"wrote a new link key to {args.path} (mode 0600); give the peer site a copy")
        return 0
    if args.command in ("merge", "export", "inspect"):
        if args.command == "export" and args.nwb is None and args.neo is None:
            build_parser().error("export: give --nwb FILE and/or --neo FILE")
        return _record_command(args)
    if args.command == "run":
        return _run_command(args)
    if args.command == "replay":
        return _replay_command(args)
    if args.command == "site":
        from ione.node.build import main_site

        return main_site(
            str(args.config),
            args.name,
            run_dir=None if args.run_dir is None else str(args.run_dir),
            bind=args.bind,
            peers=args.peer,
            create_keys=args.create_keys,
            progress=args.progress,
            start_at=args.start_at,
            replay=None if args.replay is None else str(args.replay),
        )
    if args.command == "demo":
        from ione.node.demo import run_demo

        return run_demo(duration_s=args.duration, rate_hz=args.rate, drop=args.drop)
    if args.command == "wire-peer":
        from ione.node import wirepeer
        from ione.wire.keys import KeyFileError

        if args.role == "initiator" and args.peer is None:
            print("ione wire-peer: the initiator needs --peer HOST:PORT", file=sys.stderr)
            return 2
        opts = wirepeer.PeerOptions(
            site=args.site,
            site_index=args.site_index,
            initiator=args.role == "initiator",
            bind=args.bind,
            peer=args.peer,
            key_file=args.key,
            link_id=args.link_id,
            duration_us=seconds_to_us(args.duration),
            rate_hz=args.rate,
            neurons=args.neurons,
            drop=args.drop,
            forged=args.forged,
            clock_offset_us=ms_to_us(args.clock_offset_ms),
            seed=args.seed,
            stats_out=args.stats_out,
            join_timeout_us=seconds_to_us(args.join_timeout),
        )
        try:
            return wirepeer.main(opts)
        except KeyFileError as exc:
            print(f"ione wire-peer: {exc}", file=sys.stderr)
            return 1
    if args.command == "report":
        import json

        from ione.report import SUMMARY_FILE, print_summary, write_report

        try:
            page = write_report(args.run, args.out)
            summary = json.loads((page.parent / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            print(f"ione report: {' '.join(str(message).split())}", file=sys.stderr)
            return 1
        print_summary(summary)
        print(f"report: {page}")
        return 0
    raise AssertionError(args.command)
