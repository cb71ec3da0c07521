"""One end of a wire link as a process: send Poisson spikes, receive the peer's, report statistics.

``ione wire-peer`` runs this; ``ione demo`` starts two of them on loopback. It exercises the whole
wire over a real UDP socket: handshake, sealed spike frames, heartbeats, clock sync, exact loss
accounting (it can drop a fraction of its own event datagrams before they reach the socket, and
counts exactly which), and rejection of forged datagrams (it can send some).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ione.events import KeyRange, make_events, make_key
from ione.netem._proc import socket_drops
from ione.node._endpoint import Address, LinkEndpoint, monotonic_us
from ione.wire import (
    ClockEstimate,
    ClockUpdated,
    EventsReceived,
    Link,
    LinkConfig,
    LinkEvent,
    LinkFailed,
    PeerClosed,
    PeerJoined,
    read_key_file,
)
from ione.wire._frame import FrameType, parse_header

__all__ = ["PeerOptions", "run_peer"]


@dataclass(frozen=True)
class PeerOptions:
    """Settings of one demo peer (times in µs)."""

    site: str
    site_index: int
    initiator: bool
    bind: Address
    peer: Address | None
    key_file: Path
    link_id: int = 1
    duration_us: int = 5_000_000
    rate_hz: float = 2_000.0
    neurons: int = 64
    drop: float = 0.0
    forged: int = 0
    clock_offset_us: int = 0
    seed: int = 0
    join_timeout_us: int = 10_000_000
    settle_us: int = 800_000
    stats_out: Path | None = None


@dataclass
class _Seen:
    events: int = 0
    clock: ClockEstimate | None = None
    failed: str | None = None
    bye: str | None = None


class _DroppingEndpoint(LinkEndpoint):
    """Drops a seeded fraction of outgoing EVENTS datagrams and counts them exactly."""

    def __init__(self, *args: Any, drop: float, rng: np.random.Generator, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.drop = drop
        self.rng = rng
        self.dropped = 0

    def _emit(self, datagrams: list[bytes]) -> None:
        if self.drop > 0:
            keep = []
            for d in datagrams:
                if parse_header(d).type is FrameType.EVENTS and self.rng.random() < self.drop:
                    self.dropped += 1
                else:
                    keep.append(d)
            datagrams = keep
        super()._emit(datagrams)


async def run_peer(opts: PeerOptions) -> dict[str, Any]:
    """Run one peer to completion; returns its report (also written to ``stats_out``)."""
    key = read_key_file(opts.key_file)
    rng = np.random.default_rng(opts.seed)
    config = LinkConfig(
        opts.site,
        opts.link_id,
        opts.initiator,
        ranges=(KeyRange.population(opts.site_index, 0),),
    )
    link = Link(config, key)
    joined = asyncio.Event()
    seen = _Seen()

    def on_event(ev: LinkEvent) -> None:
        if isinstance(ev, EventsReceived):
            seen.events += ev.events.shape[0]
        elif isinstance(ev, PeerJoined):
            joined.set()
        elif isinstance(ev, ClockUpdated):
            seen.clock = ev.estimate
        elif isinstance(ev, LinkFailed):
            seen.failed = ev.reason
        elif isinstance(ev, PeerClosed):
            seen.bye = ev.reason

    def clock() -> int:
        return monotonic_us() + opts.clock_offset_us

    loop = asyncio.get_running_loop()
    transport, endpoint = await loop.create_datagram_endpoint(
        lambda: _DroppingEndpoint(link, opts.peer, on_event, clock, drop=opts.drop, rng=rng),
        local_addr=opts.bind,
    )
    host, port = transport.get_extra_info("sockname")[:2]
    print(f"listening {host}:{port}", flush=True)
    counters = {"late_ticks": 0, "spikes_sent": 0, "forged": 0}
    no_peer = False
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(endpoint.run_timers())
            try:
                async with asyncio.timeout(opts.join_timeout_us / 1e6):
                    await joined.wait()
            except TimeoutError:
                endpoint.stop()
                no_peer = True
            else:
                await _exchange(opts, endpoint, clock, rng, counters)
                await asyncio.sleep(opts.settle_us / 1e6)
                endpoint.stop()
    finally:
        endpoint.close("demo finished")
    if no_peer:
        st = link.statistics()
        hint = ""
        if st.auth_failed:
            hint = (
                f"; {st.auth_failed} datagram(s) failed authentication: "
                "do both sites use the same key file?"
            )
        elif st.malformed:
            hint = f"; {st.malformed} malformed datagram(s): {st.rejected_by_reason}"
        raise PeerError(
            f"{opts.site}: no answer from the peer within {opts.join_timeout_us / 1e6:g} s{hint}"
        )
    st = link.statistics()
    est = seen.clock
    report: dict[str, Any] = {
        "site": opts.site,
        "role": "initiator" if opts.initiator else "responder",
        "spikes_generated": counters["spikes_sent"],
        "events_dropped_on_purpose_frames": endpoint.dropped,
        "forged_sent": counters["forged"],
        "late_ticks": counters["late_ticks"],
        "true_clock_offset_us": opts.clock_offset_us,
        "link_failed": seen.failed,
        "peer_said": seen.bye,
        "statistics": {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(st).items()},
        "clock": None if est is None else asdict(est),
        "endpoint": asdict(endpoint.statistics()),
        "kernel_drops": socket_drops(port),
    }
    if opts.stats_out is not None:
        opts.stats_out.write_text(json.dumps(report, indent=1))
    return report


async def _exchange(
    opts: PeerOptions,
    endpoint: LinkEndpoint,
    clock: Any,
    rng: np.random.Generator,
    counters: dict[str, int],
) -> None:
    """Send Poisson spikes in 1 ms ticks for the configured duration, paced to the clock."""
    keys = make_key(opts.site_index, 0, np.arange(opts.neurons))
    tick_us = 1_000
    start = t = clock()
    forged = 0
    while t - start < opts.duration_us:
        if forged < opts.forged and rng.random() < 0.2:  # what an attacker without the key sends
            endpoint.send_raw(b"iO\x01\x01" + os.urandom(60 + forged % 40))
            forged += 1
        n = int(rng.poisson(opts.rate_hz * tick_us / 1e6))
        if n:
            times = np.sort(rng.integers(t, t + tick_us, n))
            endpoint.send_events(make_events(times, rng.choice(keys, n)))
            counters["spikes_sent"] += n
        t += tick_us
        if clock() - t > tick_us:
            counters["late_ticks"] += 1
        await asyncio.sleep(max(0.0, (t - clock()) / 1e6))
    counters["forged"] = forged


class PeerError(RuntimeError):
    """The demo peer could not do its job (e.g. the other end never answered)."""


def main(opts: PeerOptions) -> int:
    """Process entry point: 0 on success, 1 with a message on failure."""
    try:
        asyncio.run(run_peer(opts))
    except KeyboardInterrupt:
        return 130
    except PeerError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0
