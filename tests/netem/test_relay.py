"""The relay with real UDP sockets on 127.0.0.1: exact counters, delays, pause, profile changes."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from ione.netem import LAN, Profile, Relay, RelayClient, RelayStatistics
from ione.netem._proc import socket_drops
from ione.netem.control import ControlError

from .udp import PAYLOAD, Site, receiver_view, replay_model

pytestmark = pytest.mark.integration

CHUNK = 200  # datagrams sent before waiting for the relay to take them (no kernel drops)


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    a, b = Site(), Site()
    yield a, b
    a.close()
    b.close()


def send_through(
    relay: Relay, site: Site, n: int, start: int = 0, to_b: bool = True, chunk: int = CHUNK
) -> None:
    """Send datagrams start..start+n-1 from ``site`` into the relay, chunk by chunk.

    After each chunk, wait until the relay took it: the relay's receive buffer never overflows,
    and a small chunk keeps the relay from falling behind (its arrival stamps stay close to the
    send stamps).
    """

    def taken(s: RelayStatistics) -> int:
        d = s.a_to_b if to_b else s.b_to_a
        return d.received + d.foreign

    base = taken(relay.statistics())
    to = relay.a_address if to_b else relay.b_address
    for lo in range(start, start + n, chunk):
        hi = min(lo + chunk, start + n)
        site.send(to, range(lo, hi))
        target = base + hi - start

        def done(s: RelayStatistics, t: int = target) -> bool:
            return taken(s) >= t

        relay.wait_for(done)


def test_counters_are_exact_and_match_what_the_receiver_got(sites: tuple[Site, Site]) -> None:
    a, b = sites
    n, seed = 3_000, 17
    profile = Profile(
        delay_us=2_000,
        jitter_us=300,
        min_delay_us=1_000,
        loss=0.05,
        duplicate=0.05,
        reorder=0.05,
        reorder_gap_us=3_000,
    )
    with Relay(profile, seed=seed, b_peer=b.address) as relay:
        send_through(relay, a, n)
        st = relay.wait_idle(n).a_to_b
        got = b.wait_count(st.forwarded)
        assert socket_drops(b.address[1]) == 0
    copies, reordered = receiver_view(got)
    assert st.received == n and st.balanced and st.queued == 0
    assert st.forwarded == len(got) == n - st.dropped_loss + st.duplicated
    assert st.dropped == st.dropped_loss  # nothing else dropped anything
    assert st.duplicated == sum(c - 1 for c in copies.values())
    assert st.reordered == reordered > 0
    assert st.held > 0 and st.bytes_forwarded == st.forwarded * PAYLOAD.size
    # the relay made exactly the model's decisions: same datagrams lost and duplicated
    model = replay_model(profile, seed, n).decide(np.zeros(n, np.int64))
    assert [copies.get(k, 0) for k in range(n)] == model.copies.tolist()
    assert st.dropped_loss == int(model.lost.sum())
    assert st.held == int(model.held.sum())
    # every datagram spent at least its scheduled delay on the way (≥ the 1 ms floor)
    for seq, delay in got:
        assert delay >= model.delay_us[seq] >= 1_000
    kept = model.delay_us[~model.lost]
    assert st.delay_count == kept.size
    assert st.delay_mean_us == pytest.approx(kept.mean())
    assert (st.delay_min_us, st.delay_max_us) == (kept.min(), kept.max())
    assert st.late_count == st.delay_count and 0 <= st.late_p50_us <= st.late_p99_us


def test_one_way_delays_are_distributed_as_configured(sites: tuple[Site, Site]) -> None:
    a, b = sites
    n = 2_000
    profile = Profile(delay_us=8_000, jitter_us=1_500, min_delay_us=2_000)
    with Relay(profile, seed=4, b_peer=b.address) as relay:
        send_through(relay, a, n, chunk=2)
        st = relay.wait_idle(n).a_to_b
        got = b.wait_count(n)
    delays = np.array([d for _, d in got])
    assert delays.min() >= 2_000
    # the model's own output, exactly
    assert abs(st.delay_mean_us - 8_000) < 5 * 1_500 / math.sqrt(n)
    assert st.delay_sd_us == pytest.approx(1_500, rel=0.1)
    # measured on the wire: the same plus the relay's lateness, which depends on the machine's
    # load (benchmarks/bench_netem.py measures it); a relay is never early, so only lower bounds
    assert delays.mean() > 8_000 - 5 * 1_500 / math.sqrt(n)
    q25, q75 = np.percentile(delays, [25, 75])
    assert q75 - q25 > 0.8 * 1.349 * 1_500  # at least the configured spread (IQR of a normal)


def test_both_directions_learn_addresses_and_ignore_foreign_senders(
    sites: tuple[Site, Site],
) -> None:
    a, b = sites
    stranger = Site()
    try:
        with Relay(LAN, seed=1) as relay:  # no address given: both are learned
            send_through(relay, a, 10)  # B unknown yet: dropped, counted
            assert relay.statistics().a_to_b.dropped_no_peer == 10
            send_through(relay, b, 20, to_b=False)  # B speaks first on its side: A is known
            a.wait_count(20)
            send_through(relay, a, 30, start=10)
            b.wait_count(30)
            send_through(relay, stranger, 5)  # not site A: ignored
            st = relay.wait_idle(60)
        assert st.a_peer == a.address and st.b_peer == b.address
        assert st.a_to_b.foreign == 5 and st.a_to_b.received == 40
        assert st.a_to_b.forwarded == 30 and st.b_to_a.forwarded == 20
        assert st.a_to_b.balanced and st.b_to_a.balanced
        assert a.sources == {relay.a_address} and b.sources == {relay.b_address}
        assert stranger.got == []
    finally:
        stranger.close()


def test_pause_drops_everything_and_resume_restores_forwarding(sites: tuple[Site, Site]) -> None:
    a, b = sites
    with Relay(LAN, seed=2, b_peer=b.address) as relay:
        send_through(relay, a, 100)
        b.wait_count(100)
        relay.pause()
        assert relay.paused
        send_through(relay, a, 100, start=100)
        send_through(relay, b, 50, to_b=False)
        st = relay.wait_idle(250)
        assert st.paused and st.a_to_b.dropped_paused == 100 and st.b_to_a.dropped_paused == 50
        assert st.a_to_b.forwarded == 100 and st.b_to_a.forwarded == 0
        relay.resume()
        send_through(relay, a, 100, start=200)
        got = b.wait_count(200)
        st = relay.wait_idle(350)
    assert st.a_to_b.forwarded == 200 and st.a_to_b.balanced
    assert sorted(seq for seq, _ in got) == [*range(100), *range(200, 300)]
    assert a.got == []


def test_pause_also_drops_datagrams_already_in_flight(sites: tuple[Site, Site]) -> None:
    a, b = sites
    with Relay(Profile(delay_us=300_000), b_peer=b.address) as relay:
        send_through(relay, a, 50)
        relay.pause()
        st = relay.wait_idle(50).a_to_b
    assert st.dropped_paused == 50 and st.forwarded == 0 and st.balanced
    assert b.got == []


def test_a_profile_change_takes_effect_at_run_time(sites: tuple[Site, Site]) -> None:
    a, b = sites
    with Relay(LAN, seed=3, b_peer=b.address) as relay:
        send_through(relay, a, 500)
        relay.set_profile(Profile(loss=1.0, name="cut"), direction="a_to_b")
        assert relay.profiles["a_to_b"].name == "cut" and relay.profiles["b_to_a"] is LAN
        send_through(relay, a, 200, start=500)
        send_through(relay, b, 100, to_b=False)  # the other way is untouched
        a.wait_count(100)
        relay.set_profile("lan")
        relay.set_profile(Profile(loss=0.02), direction="a_to_b")
        send_through(relay, a, 5_000, start=700)
        st = relay.wait_idle(5_800)
        got = b.wait_count(st.a_to_b.forwarded)
    seqs = [s for s, _ in got]
    assert all(s < 500 or s >= 700 for s in seqs) and len([s for s in seqs if s < 500]) == 500
    late = st.a_to_b.dropped_loss - 200
    assert abs(late - 100) <= 5 * math.sqrt(5_000 * 0.02 * 0.98)  # 2 % of 5000
    assert st.b_to_a.forwarded == 100 and st.a_to_b.balanced
    with pytest.raises(ValueError, match="direction"):
        relay.set_profile(LAN, direction="up")  # type: ignore[arg-type]


def test_a_full_queue_drops_and_counts(sites: tuple[Site, Site]) -> None:
    a, b = sites
    with Relay(Profile(delay_us=100_000, duplicate=0.5), b_peer=b.address, queue_limit=10) as relay:
        send_through(relay, a, 30)
        full = relay.statistics().a_to_b
        st = relay.wait_idle(30).a_to_b
        b.wait_count(st.forwarded)
    assert full.queued <= 10 and st.max_queued <= 10
    assert st.dropped_overflow >= 20  # at most 10 copies fit in 100 ms, duplicates included
    assert st.forwarded + st.dropped_overflow == 30 + st.duplicated
    assert st.balanced


def test_json_control_commands(sites: tuple[Site, Site]) -> None:
    a, b = sites
    with (
        Relay(LAN, b_peer=b.address, control_port=0) as relay,
        RelayClient(relay.control_address or ("", 0)) as client,
    ):
        client.ping()
        client.pause()
        assert relay.paused
        client.resume()
        client.set_profile({"preset": "lan", "loss": 0.5}, direction="b_to_a")
        assert relay.profiles["b_to_a"].loss == 0.5
        client.set_profile(Profile(delay_us=7))
        assert relay.profiles["a_to_b"].delay_us == 7
        send_through(relay, a, 5)
        b.wait_count(5)
        snap = client.snapshot()
        assert snap["a_to_b"]["forwarded"] == 5 and snap["a_to_b"]["balanced"] is True
        assert snap["profiles"]["a_to_b"]["delay_us"] == 7
        assert snap["b_peer"] == f"{b.address[0]}:{b.address[1]}"
        with pytest.raises(ControlError, match="unknown command 'reboot'"):
            client.request("reboot")
        with pytest.raises(ControlError, match="unknown profile field"):
            client.set_profile({"delay_ms": 3})
        with pytest.raises(ControlError, match="needs a 'profile'"):
            client.request("set_profile")
        client.stop()
        relay.wait_for(lambda s: True)  # the loop has ended: calls run directly


def test_bad_requests_never_raise() -> None:
    with Relay(LAN) as relay:
        assert relay.command([1, 2]) == {"ok": False, "error": "a request must be a JSON object"}  # type: ignore[arg-type]
        reply = relay.command({"cmd": "set_profile", "profile": {"loss": 7}, "id": 4})
        assert reply["ok"] is False and reply["id"] == 4 and "Profile.loss" in reply["error"]


def test_construction_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="queue_limit"):
        Relay(LAN, queue_limit=0)
    with pytest.raises(ValueError, match="seed"):
        Relay(LAN, seed=-1)
    with pytest.raises(ValueError, match="spin_us"):
        Relay(LAN, spin_us=-5)
    with pytest.raises(ValueError, match="unknown profile"):
        Relay("moon")
    with Relay(LAN) as relay, pytest.raises(OSError, match="a_port"):
        Relay(LAN, a_port=relay.a_address[1])
    with pytest.raises(ValueError, match=r"port must be in 1\.\.65535"):
        Relay(LAN, b_peer=("127.0.0.1", 0))
