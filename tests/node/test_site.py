"""Two site runtimes over real UDP on loopback (one process, one event loop)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from ione.events import EventBlock, make_key
from ione.node.processors import PacemakerProcessor, Phase, Processor, TickResult
from ione.node.site import PeerLink, SiteRuntime, SiteSpec
from ione.record import LogReader, LogWriter
from ione.record import kinds as K

KEY = bytes(range(32))
SN = int(make_key(3, 0, 0))


class Collector(Processor):
    """Keeps what arrives (times on the local clock)."""

    def __init__(self) -> None:
        self.got: list[EventBlock] = []

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        if inbound.size:
            self.got.append(inbound)
        return TickResult()


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_sites_exchange_spikes_and_record(tmp_path: Path) -> None:
    pa, pb = free_port(), free_port()
    spec_a = SiteSpec("zurich", 3, ("127.0.0.1", pa),
                      (PeerLink("southampton", 2, 23, False, KEY, ("127.0.0.1", pb)),),
                      duration_us=1_000_000, grace_us=300_000)  # fmt: skip
    spec_b = SiteSpec("southampton", 2, ("127.0.0.1", pb),
                      (PeerLink("zurich", 3, 23, True, KEY, ("127.0.0.1", pa)),),
                      duration_us=1_000_000, grace_us=600_000)  # fmt: skip
    collector = Collector()
    snapshots: list[dict] = []

    def pacemaker(t0: int) -> list[Processor]:
        return [PacemakerProcessor(SN, 1, [Phase("p", t0, t0 + 1_000_000, 20.0)], ["southampton"])]

    async def both() -> tuple[dict, dict]:
        with (
            LogWriter(tmp_path / "zurich.ionelog") as la,
            LogWriter(tmp_path / "southampton.ionelog") as lb,
        ):
            a = SiteRuntime(spec_a, pacemaker, la)
            b = SiteRuntime(spec_b, lambda t0: [collector], lb, progress=snapshots.append)
            return await asyncio.gather(a.run(), b.run())

    final_a, final_b = asyncio.run(both())
    assert final_a["links"]["southampton"]["events_sent"] == 20
    got = np.concatenate(collector.got)
    assert got.size == 20 and np.all(got["key"] == SN)  # 20 Hz for 1 s, none lost
    link = final_b["links"]["zurich"]
    assert link["state"] in ("established", "closed", "lost")
    assert (
        link["frames_received"] + link["frames_lost"] + link["frames_in_flight"]
        == link["peer_frames_sent"]
    )
    assert final_b["ticks"]["ticks"] > 1000 and snapshots
    # what the hub received is in its log, with source and local times
    spikes = np.concatenate(
        [b for k, b in LogReader(tmp_path / "southampton.ionelog") if k == K.RECEIVED]
    )
    assert spikes.size == got.size
    assert np.all(spikes["t_local_us"] == got["t_us"])
    sent = np.concatenate([b for k, b in LogReader(tmp_path / "zurich.ionelog") if k == K.SPIKES])
    assert np.array_equal(np.sort(sent["t_us"])[: spikes.size], np.sort(spikes["t_us"]))
    clock = [b for k, b in LogReader(tmp_path / "southampton.ionelog") if k == K.CLOCK]
    assert clock  # clock samples of the link were recorded
