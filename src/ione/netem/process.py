"""The relay as a process: ``python -m ione.netem`` or :func:`run_relay` from a supervisor.

On start it prints one line, ``relay a=HOST:PORT b=HOST:PORT control=HOST:PORT``; it then serves
until a ``stop`` command, SIGTERM/SIGINT or the end of ``--duration``, and writes its final
snapshot (JSON) to ``--stats-out``. Milliseconds and seconds appear only on the command line and
are converted to integer µs by :mod:`ione._time`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ione._time import ms_to_us, seconds_to_us
from ione.netem.profiles import (
    PROFILES,
    GilbertElliott,
    Profile,
    load_delay_trace,
    resolve_profile,
)
from ione.netem.relay import Address, Relay

__all__ = ["RelayOptions", "build_parser", "main", "run_relay"]


@dataclass(frozen=True)
class RelayOptions:
    """Everything a relay process needs (times in integer µs)."""

    profile: Profile
    profile_b_to_a: Profile | None = None
    seed: int = 0
    host: str = "127.0.0.1"
    a_port: int = 0
    b_port: int = 0
    a_peer: Address | None = None
    b_peer: Address | None = None
    control_port: int = 0
    queue_limit: int = 10_000
    spin_us: int = 0
    duration_us: int | None = None
    stats_out: Path | None = None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def run_relay(
    options: RelayOptions, announce: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run a relay until stopped; returns (and writes to ``stats_out``) its final snapshot.

    Parameters
    ----------
    options
        Addresses, profile, seed and limits.
    announce
        Receives the start line (default: print it and flush stdout).

    Notes
    -----
    In the main thread, SIGTERM and SIGINT stop the relay cleanly (the snapshot is still
    written); the previous handlers are restored on return. A supervisor can run this in a
    ``multiprocessing.Process`` or start ``python -m ione.netem`` with ``subprocess``.
    """
    relay = Relay(
        options.profile,
        seed=options.seed,
        host=options.host,
        a_port=options.a_port,
        b_port=options.b_port,
        a_peer=options.a_peer,
        b_peer=options.b_peer,
        profile_b_to_a=options.profile_b_to_a,
        queue_limit=options.queue_limit,
        control_port=options.control_port,
        spin_us=options.spin_us,
    )
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        relay.stop_soon()

    try:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, on_signal)
        assert relay.control_address is not None
        line = (
            f"relay a={_fmt(relay.a_address)} b={_fmt(relay.b_address)} "
            f"control={_fmt(relay.control_address)}"
        )
        if announce is None:
            print(line, flush=True)
        else:
            announce(line)
        relay.run(options.duration_us)
        snap = relay.snapshot()
        if options.stats_out is not None:
            _write_json(options.stats_out, snap)
        return snap
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        relay.close()


def _fmt(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


def _address(text: str) -> Address:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _probability(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability, got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text}")
    return v


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m ione.netem``."""
    p = argparse.ArgumentParser(
        prog="python -m ione.netem",
        description="Emulate one internet link between two UDP sites on this machine.",
    )
    p.add_argument(
        "--profile",
        default="lan",
        help=f"preset to start from: {', '.join(sorted(PROFILES))} (default: lan)",
    )
    p.add_argument("--delay-ms", type=float, help="base one-way delay")
    p.add_argument("--jitter-ms", type=float, help="standard deviation of the jitter")
    p.add_argument("--min-delay-ms", type=float, help="floor of the delay")
    p.add_argument("--jitter-tau-ms", type=float, help="jitter correlation time (0: independent)")
    p.add_argument("--loss", type=_probability, help="Bernoulli loss probability")
    p.add_argument(
        "--burst",
        type=float,
        nargs="+",
        metavar="P",
        help="Gilbert–Elliott burst loss: P_GOOD_TO_BAD P_BAD_TO_GOOD [LOSS_GOOD LOSS_BAD]",
    )
    p.add_argument("--duplicate", type=_probability, help="duplication probability")
    p.add_argument("--reorder", type=_probability, help="fraction held back to be overtaken")
    p.add_argument("--reorder-gap-ms", type=float, help="extra hold of a reordered datagram")
    p.add_argument("--trace", type=Path, help="delay trace: one one-way delay in µs per line")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--a-port", type=int, default=0, help="A-facing port (default: any)")
    p.add_argument("--b-port", type=int, default=0, help="B-facing port (default: any)")
    p.add_argument("--a-peer", type=_address, help="site A's HOST:PORT (default: learned)")
    p.add_argument("--b-peer", type=_address, help="site B's HOST:PORT (default: learned)")
    p.add_argument("--control-port", type=int, default=0, help="control port (default: any)")
    p.add_argument("--queue-limit", type=int, default=10_000, help="datagrams in flight per way")
    p.add_argument(
        "--spin-us",
        type=int,
        default=0,
        help="poll this long before each release instead of sleeping (precision for CPU; "
        "for a relay with a core of its own; default 0)",
    )
    p.add_argument("--duration", type=float, help="seconds to run (default: until stopped)")
    p.add_argument("--stats-out", type=Path, help="write the final snapshot (JSON) here")
    return p


def options_from_args(args: argparse.Namespace) -> RelayOptions:
    """Turn parsed arguments into :class:`RelayOptions` (errors name the option)."""
    profile = resolve_profile(args.profile)
    changes: dict[str, Any] = {}
    for opt, field in (
        ("delay_ms", "delay_us"),
        ("jitter_ms", "jitter_us"),
        ("min_delay_ms", "min_delay_us"),
        ("jitter_tau_ms", "jitter_tau_us"),
        ("reorder_gap_ms", "reorder_gap_us"),
    ):
        value = getattr(args, opt)
        if value is not None:
            changes[field] = ms_to_us(value)
    for field in ("loss", "duplicate", "reorder"):
        if getattr(args, field) is not None:
            changes[field] = getattr(args, field)
    if args.burst is not None:
        if len(args.burst) not in (2, 4):
            raise ValueError("--burst takes 2 or 4 numbers: P_GB P_BG [LOSS_GOOD LOSS_BAD]")
        changes["burst"] = GilbertElliott(*args.burst)
        changes["loss"] = 0.0
    if args.trace is not None:
        changes.update(delay_trace_us=load_delay_trace(args.trace), jitter_us=0, jitter_tau_us=0)
        changes.setdefault("delay_us", 0)
        changes.setdefault("min_delay_us", 0)
    if changes:
        changes.setdefault("name", f"{profile.name}+custom")
        profile = profile.replace(**changes)
    return RelayOptions(
        profile=profile,
        seed=args.seed,
        host=args.host,
        a_port=args.a_port,
        b_port=args.b_port,
        a_peer=args.a_peer,
        b_peer=args.b_peer,
        control_port=args.control_port,
        queue_limit=args.queue_limit,
        spin_us=args.spin_us,
        duration_us=None if args.duration is None else seconds_to_us(args.duration),
        stats_out=args.stats_out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ione.netem``: 0 on a clean stop, 2 on bad options."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from_args(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"python -m ione.netem: {exc}", file=sys.stderr)
        return 2
    try:
        run_relay(options)
    except OSError as exc:
        print(f"python -m ione.netem: {exc}", file=sys.stderr)
        return 1
    return 0
