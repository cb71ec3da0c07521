"""Two ends of a stimulation link over ione's UDP link, for test_watchdog_processes.py.

``python watchdog_peers.py culture --key K --out OUT.json``
    The culture site: a responder link on 127.0.0.1, a StimulationGuard with a SimulatedStimulator
    behind it. Every authentic datagram from the controller is a watchdog heartbeat; every
    stimulation event becomes a command (a 40-pulse train at 100 Hz, 390 ms) checked by the guard.
    Prints ``listening HOST:PORT`` and, once 20 remote pulses were delivered, ``delivered N``.
    After the watchdog trips it waits 300 ms, shows that a local command is refused, that
    re-arming is refused while the controller is silent, detaches it, re-arms, delivers one
    local pulse, writes OUT.json and exits.

``python watchdog_peers.py controller --key K --peer HOST:PORT``
    The controller: an initiator link sending one stimulation event every 100 ms to electrodes
    0 ... 4 in turn, heartbeats every 20 ms, until it is killed (or after ``--duration-s``).

Both stamp times with the host's monotonic clock (:func:`ione.node._endpoint.monotonic_us`), which
the two processes share, so event times need no clock translation here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ione.culture.guard import GuardLimits, RecordKind, StimulationGuard, WatchdogError
from ione.culture.stimulator import SimulatedStimulator
from ione.culture.stimulus import DEFAULT_PULSE, Command, EventDesign, commands_from_events
from ione.events import make_events, make_key
from ione.models.neuron.culture import SINGLE_NEURON, make_culture
from ione.node._endpoint import LinkEndpoint, monotonic_us
from ione.wire import (
    EventsReceived,
    FrameCodec,
    Link,
    LinkConfig,
    LinkEvent,
    PeerJoined,
    read_key_file,
)

LINK_ID = 7
HEARTBEAT_US = 20_000
DESIGN = EventDesign(DEFAULT_PULSE.train(40, rate_hz=100), latency_us=50_000)
LOCAL_ID = 1_000_000  # local commands are numbered from here


class CultureSite:
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.stim = SimulatedStimulator(make_culture(SINGLE_NEURON, rng), rng)
        self.guard = StimulationGuard(GuardLimits(), stimulator=self.stim)
        self.peer: str | None = None
        self.last_heartbeat_us: int | None = None
        self.next_id = 0
        self.decisions: dict[str, int] = {}
        self._last = 0

    def stamp(self, t_us: int | None = None) -> int:
        """The time for the guard: never earlier than a time it was already given."""
        self._last = max(self._last, monotonic_us() if t_us is None else t_us)
        return self._last

    def heard(self, arrived_us: int) -> None:
        if self.peer is not None:
            now = self.stamp(arrived_us)
            self.guard.heartbeat(self.peer, now)
            self.last_heartbeat_us = now

    def on_event(self, ev: LinkEvent) -> None:
        now = self.stamp()
        if isinstance(ev, PeerJoined):
            self.peer = ev.site
            self.guard.attach(ev.site, now)
            self.last_heartbeat_us = now
        elif isinstance(ev, EventsReceived) and self.peer is not None:
            cmds = commands_from_events(
                ev.events, DESIGN, source=self.peer, first_command_id=self.next_id
            )
            self.next_id += len(cmds)
            for c in cmds:
                d = self.guard.submit(c, now)
                self.decisions[d.reason or "ok"] = self.decisions.get(d.reason or "ok", 0) + 1


class HeartbeatEndpoint(LinkEndpoint):
    """Feeds every authentic datagram's arrival to the guard's watchdog."""

    site: CultureSite

    def datagram_received(self, data: bytes, addr: Any) -> None:
        now = self.clock()
        before = self.link.authentic_datagrams
        super().datagram_received(data, addr)
        if self.link.authentic_datagrams > before:
            self.site.heard(now)


def warm_up_wire() -> None:
    """Load the wire's compiled frame kernels before linking: the first use in a process takes
    a few hundred ms, long enough for a watchdog to see a silent link."""
    codec = FrameCodec(bytes(32), key_id=0, link_id=0, direction=0)
    for frame in codec.seal_events(make_events([0, 1], [0, 1], [0.0, 0.5]), 0):
        codec.open(frame)


def warm_up() -> None:
    """Load the compiled kernels (wire and culture) before the link starts."""
    warm_up_wire()
    rng = np.random.default_rng(1)
    s = SimulatedStimulator(make_culture(SINGLE_NEURON, rng), rng)
    s.arm(0)
    s.deliver(Command(0, DEFAULT_PULSE, 0, 10), 0)
    s.advance(2_000)


async def culture(args: argparse.Namespace) -> int:
    warm_up()
    site = CultureSite()
    config = LinkConfig("culture", LINK_ID, False, heartbeat_interval_us=HEARTBEAT_US)
    link = Link(config, read_key_file(args.key))
    loop = asyncio.get_running_loop()

    def factory() -> HeartbeatEndpoint:
        ep = HeartbeatEndpoint(link, None, site.on_event, monotonic_us)
        ep.site = site
        return ep

    transport, endpoint = await loop.create_datagram_endpoint(factory, local_addr=("127.0.0.1", 0))
    host, port = transport.get_extra_info("sockname")[:2]
    now = monotonic_us()
    site.stim.arm(now)  # the operator arms the rig
    print(f"listening {host}:{port}", flush=True)
    deadline = now + int(args.timeout_s * 1e6)
    announced = False
    tripped_at: int | None = None
    out: dict[str, Any] = {}
    async with asyncio.TaskGroup() as tg:
        tg.create_task(endpoint.run_timers())
        while True:
            now = site.stamp()
            site.guard.poll(now)  # first the watchdog, then time for the stimulator
            site.stim.advance(now)
            delivered = site.stim.delivered()
            if not announced and np.count_nonzero(delivered["command_id"] < LOCAL_ID) >= 20:
                print(f"delivered {len(delivered)}", flush=True)
                announced = True
            if tripped_at is None and not site.guard.enabled:
                tripped_at = now
                out["armed_after_trip"] = site.stim.armed
                out["enabled_after_trip"] = site.guard.enabled
            if tripped_at is not None and now >= tripped_at + 300_000:
                out.update(rearm_sequence(site, now))
                break
            if now > deadline:
                out["error"] = "the watchdog never tripped"
                break
            await asyncio.sleep(0.001)
        # let the local pulse (scheduled 10 ms ahead) be delivered
        end = monotonic_us() + 50_000
        while monotonic_us() < end:
            site.stim.advance(site.stamp())
            await asyncio.sleep(0.002)
        endpoint.stop()
    endpoint.close("done")
    log = site.stim.delivered()
    remote = log["command_id"] < LOCAL_ID
    records = site.guard.records()
    trips = records[records["kind"] == RecordKind.TRIP]
    out.update(
        remote_pulse_t_us=log["t_us"][remote].tolist(),
        local_pulse_t_us=log["t_us"][~remote].tolist(),
        cancelled=site.stim.cancelled,
        last_heartbeat_us=site.last_heartbeat_us,
        trip_record_us=trips["t_us"].tolist(),
        tripped_at_us=tripped_at,
        decisions=site.decisions,
        timeout_us=site.guard.limits.watchdog_timeout_us,
    )
    Path(args.out).write_text(json.dumps(out))
    return 0 if "error" not in out else 2


def rearm_sequence(site: CultureSite, now: int) -> dict[str, Any]:
    """Outputs stay disabled until an explicit, successful rearm()."""
    assert site.peer is not None
    out: dict[str, Any] = {}
    local = Command(0, DEFAULT_PULSE, now + 10_000, now + 20_000, "local", LOCAL_ID)
    out["local_before_rearm"] = site.guard.submit(local, now).reason
    try:
        site.guard.rearm(now)
        out["rearm_while_silent"] = "accepted"
    except WatchdogError as exc:
        out["rearm_while_silent"] = str(exc)
    site.guard.detach(site.peer, now)
    site.guard.rearm(now)
    out["armed_after_rearm"] = site.stim.armed
    local = Command(0, DEFAULT_PULSE, now + 10_000, now + 20_000, "local", LOCAL_ID + 1)
    out["local_after_rearm"] = site.guard.submit(local, now).reason or "ok"
    out["rearmed_at_us"] = now
    return out


async def controller(args: argparse.Namespace) -> int:
    warm_up_wire()
    config = LinkConfig("controller", LINK_ID, True, heartbeat_interval_us=HEARTBEAT_US)
    link = Link(config, read_key_file(args.key))
    joined = asyncio.Event()

    def on_event(ev: LinkEvent) -> None:
        if isinstance(ev, PeerJoined):
            joined.set()

    host, port = args.peer.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    _, endpoint = await loop.create_datagram_endpoint(
        lambda: LinkEndpoint(link, (host, int(port)), on_event, monotonic_us),
        local_addr=("127.0.0.1", 0),
    )
    async with asyncio.TaskGroup() as tg:
        tg.create_task(endpoint.run_timers())
        async with asyncio.timeout(10):
            await joined.wait()
        start = monotonic_us()
        k = 0
        while monotonic_us() - start < args.duration_s * 1e6:
            t = monotonic_us()
            endpoint.send_events(make_events([t], make_key(0, 0, k % 5), [1.0]))
            k += 1
            await asyncio.sleep(max(0.0, (start + k * 100_000 - monotonic_us()) / 1e6))
        endpoint.stop()
    endpoint.close("done")
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["culture", "controller"])
    p.add_argument("--key", required=True)
    p.add_argument("--out")
    p.add_argument("--peer")
    p.add_argument("--timeout-s", type=float, default=30.0)
    p.add_argument("--duration-s", type=float, default=30.0)
    args = p.parse_args()
    return asyncio.run(culture(args) if args.role == "culture" else controller(args))


if __name__ == "__main__":
    sys.exit(main())
