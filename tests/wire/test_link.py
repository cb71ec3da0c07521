"""Link: handshake, lossy exchange with exact accounting, forgery, replay, restarts, timeouts."""

from __future__ import annotations

import numpy as np
import pytest

from ione.events import EVENT_DTYPE, KeyRange, make_events
from ione.wire import (
    BadFrame,
    Capability,
    ClockUpdated,
    EventsReceived,
    FrameCodec,
    Link,
    LinkConfig,
    LinkFailed,
    LinkState,
    PeerClosed,
    PeerJoined,
    PeerLost,
    PeerReturned,
    connect_in_memory,
)
from ione.wire._frame import HEADER, FrameType, derive_handshake_key

from .netsim import Direction, VirtualNet

KEY = bytes(range(32))


def seeded_random(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return lambda n: rng.bytes(n)


def make_pair(seed: int = 0, **cfg: object) -> tuple[Link, Link]:
    a = Link(LinkConfig("padova", 7, True, **cfg), KEY, random_bytes=seeded_random(seed))  # type: ignore[arg-type]
    b = Link(LinkConfig("southampton", 7, False, **cfg), KEY, random_bytes=seeded_random(seed + 1))  # type: ignore[arg-type]
    return a, b


def received(events: list[object]) -> np.ndarray:
    blocks = [e.events for e in events if isinstance(e, EventsReceived)]
    return np.concatenate(blocks) if blocks else np.zeros(0, EVENT_DTYPE)


def test_handshake_announces_site_capabilities_and_ranges() -> None:
    ranges = (KeyRange.population(1, 0), KeyRange(5, 9))
    a = Link(LinkConfig("padova", 3, True, ranges=ranges), KEY)
    b = Link(LinkConfig("zurich", 3, False, capabilities=Capability.SYNAPSES), KEY)
    net = VirtualNet(a, b, np.random.default_rng(0))
    net.connect()
    joined_b = [e for e in net.events["b"] if isinstance(e, PeerJoined)]
    joined_a = [e for e in net.events["a"] if isinstance(e, PeerJoined)]
    assert [e.site for e in joined_b] == ["padova"]
    assert joined_b[0].ranges == ranges
    assert [e.site for e in joined_a] == ["zurich"]
    assert joined_a[0].capabilities == Capability.SYNAPSES
    assert a.statistics().peer_site == "zurich"


def test_events_before_the_session_wait_and_then_flow() -> None:
    a, b = make_pair(max_pending_events=10)
    ev = make_events(np.arange(15), np.arange(15))
    assert a.send_events(ev, 0) == []
    assert a.statistics().events_dropped == 5
    net = VirtualNet(a, b, np.random.default_rng(1))
    net.connect()
    net.step_to(net.now + 50_000)
    got = received(net.events["b"])
    assert np.array_equal(got, ev[:10])


def lossy_exchange(
    n_frames: int, seed: int
) -> tuple[VirtualNet, list[np.ndarray], list[np.ndarray]]:
    a, b = make_pair(seed)
    rng = np.random.default_rng(seed)
    ab = Direction(delay_us=4_000, jitter_us=300, loss=0.05, reorder=0.02, duplicate=0.01)
    ba = Direction(delay_us=4_000, jitter_us=300, loss=0.05, reorder=0.02, duplicate=0.01)
    net = VirtualNet(a, b, rng, ab, ba)
    net.connect()
    sent_ab: list[np.ndarray] = []
    sent_ba: list[np.ndarray] = []
    uid = 0
    step = 100
    t = net.now
    while ab.sent_session_frames < n_frames:
        t += step
        net.step_to(t)
        n = int(rng.integers(1, 6))
        ev = make_events(
            np.full(n, net.local("a")) + np.arange(n),
            np.arange(uid, uid + n),
            np.arange(uid, uid + n),
        )
        uid += n
        sent_ab.append(ev)
        net.send("a", a.send_events(ev, net.local("a")))
        if rng.random() < 0.2:
            ev = make_events(np.full(2, net.local("b")), np.arange(uid, uid + 2))
            uid += 2
            sent_ba.append(ev)
            net.send("b", b.send_events(ev, net.local("b")))
        if len(sent_ab) % 5000 == 0:
            for link in (a, b):
                assert link.statistics().check_accounting()
    # Drain without loss: heartbeats make the tail visible and gaps expire.
    ab.loss = ba.loss = ab.duplicate = ba.duplicate = 0.0
    net.step_to(t + 500_000)
    return net, sent_ab, sent_ba


@pytest.mark.parametrize(
    ("n_frames", "seed"),
    [(100_000, 42), pytest.param(1_000_000, 7, marks=pytest.mark.slow)],
)
def test_lossy_reordering_duplicating_network_exact_accounting(n_frames: int, seed: int) -> None:
    net, sent_ab, sent_ba = lossy_exchange(n_frames, seed=seed)
    a, b = net.a, net.b
    for link, peer, direction, sent in (
        (b, a, net.dirs["ab"], sent_ab),
        (a, b, net.dirs["ba"], sent_ba),
    ):
        st = link.statistics()
        peer_st = peer.statistics()
        assert st.check_accounting()
        assert st.frames_in_flight == 0
        assert st.peer_frames_sent == peer_st.frames_sent
        assert st.frames_received + st.frames_lost == peer_st.frames_sent
        # exactly the frames the network dropped (every copy) are counted lost
        assert st.frames_lost == len(direction.dropped_session_seqs)
        got = received(net.events["b" if link is b else "a"])
        all_sent = np.concatenate(sent)
        # no event delivered twice, none invented
        assert np.unique(got["key"]).size == got.size
        assert np.isin(got["key"], all_sent["key"]).all()
        assert st.events_received == got.size
        assert st.events_lost == all_sent.size - got.size
        assert st.events_lost > 0
    st_b = b.statistics()
    assert st_b.duplicates > 0 and st_b.reordered > 0
    assert net.dirs["ab"].sent_session_frames >= n_frames
    # each side learns its outbound loss from the peer's heartbeats
    assert a.statistics().outbound_frames_lost == st_b.frames_lost


def test_forged_frames_are_never_accepted() -> None:
    a, b = make_pair(3)
    net = VirtualNet(a, b, np.random.default_rng(3))
    net.connect()
    rng = np.random.default_rng(99)
    genuine = a.send_events(make_events(np.arange(40), np.arange(40), 1.0), net.local("a"))[0]
    wrong = FrameCodec(bytes(32), key_id=0, link_id=7, direction=0)
    before = b.statistics()
    forged: list[bytes] = []
    for i in range(100_000):
        kind = i % 4
        if kind == 0:  # a well-formed frame sealed with the wrong key
            ev = make_events(rng.integers(0, 10**6, 3), rng.integers(0, 2**32, 3, dtype=np.uint64))
            forged.append(wrong.seal_events(ev, int(rng.integers(0, 2**40)))[0])
        elif kind == 1:  # truncated genuine frame
            forged.append(genuine[: int(rng.integers(0, len(genuine)))])
        elif kind == 2:  # extended genuine frame
            forged.append(genuine + rng.bytes(int(rng.integers(1, 64))))
        else:  # random bytes, half of them with a plausible header
            junk = rng.bytes(int(rng.integers(0, 300)))
            if i % 8 == 3 and len(junk) > HEADER.size:
                junk = b"iO\x01" + bytes([int(rng.integers(1, 8))]) + junk[4:]
            forged.append(junk)
    accepted = []
    for f in forged:
        accepted += [
            e for e in b.receive_datagram(f, net.local("b")) if isinstance(e, EventsReceived)
        ]
    after = b.statistics()
    assert accepted == []
    rejected = (after.auth_failed + after.malformed) - (before.auth_failed + before.malformed)
    assert rejected == len(forged)
    assert after.frames_received == before.frames_received
    # the genuine frame still opens afterwards
    got = received(b.receive_datagram(genuine, net.local("b")))
    assert got.size == 40


def test_replayed_frames_are_never_accepted() -> None:
    a, b = make_pair(5)
    net = VirtualNet(a, b, np.random.default_rng(5))
    net.connect()
    frames = []
    for i in range(10_000):
        frames += a.send_events(make_events([i], [i]), net.local("a") + i)
    first = received([e for f in frames for e in b.receive_datagram(f, net.local("b"))])
    assert first.size == 10_000
    st0 = b.statistics()
    rng = np.random.default_rng(6)
    replay = [frames[i] for i in rng.permutation(len(frames))]
    again = received([e for f in replay for e in b.receive_datagram(f, net.local("b"))])
    st1 = b.statistics()
    assert again.size == 0
    assert (st1.duplicates + st1.too_old) - (st0.duplicates + st0.too_old) == 10_000
    assert st1.too_old > st0.too_old  # most are behind the window by now
    assert st1.duplicates > st0.duplicates  # the recent ones are recognised as copies


def test_reflected_frames_are_rejected() -> None:
    a, b = make_pair(8)
    net = VirtualNet(a, b, np.random.default_rng(8))
    net.connect()
    own = a.send_events(make_events([1], [1]), net.local("a"))[0]
    assert a.receive_datagram(own, net.local("a")) == []
    assert a.statistics().rejected_by_reason.get("flags") == 1


def test_version_mismatch_gives_a_clear_error() -> None:
    a, b = make_pair()
    a.handle_timer(0)
    hello = bytearray(a.datagrams_to_send()[0])
    hello[2] = 2  # a future protocol version
    events = b.receive_datagram(bytes(hello), 0)
    assert len(events) == 1 and isinstance(events[0], LinkFailed)
    assert "version 2" in events[0].reason and "speaks 1" in events[0].reason
    assert b.statistics().version_mismatch == 1
    assert b.receive_datagram(bytes(hello), 1) == []  # reported once, counted always
    assert b.statistics().version_mismatch == 2


def test_wrong_link_or_key_id_is_rejected_with_reason() -> None:
    _, b = make_pair()
    other = Link(LinkConfig("x", 8, True), KEY)
    other.handle_timer(0)
    b.receive_datagram(other.datagrams_to_send()[0], 0)
    assert b.statistics().rejected_by_reason == {"link": 1}
    c = Link(LinkConfig("x", 7, True, key_id=9), KEY)
    c.handle_timer(0)
    b.receive_datagram(c.datagrams_to_send()[0], 0)
    assert b.statistics().rejected_by_reason == {"link": 1, "key": 1}


def test_peer_lost_then_returns_without_restart() -> None:
    a, b = make_pair(11)
    ab, ba = Direction(), Direction()
    net = VirtualNet(a, b, np.random.default_rng(11), ab, ba)
    net.connect()
    net.step_to(net.now + 300_000)
    ab.loss = ba.loss = 1.0  # the path goes dark for 2 s
    net.step_to(net.now + 2_000_000)
    assert a.state is LinkState.LOST and b.state is LinkState.LOST
    assert any(isinstance(e, PeerLost) for e in net.events["a"])
    assert any(isinstance(e, PeerLost) for e in net.events["b"])
    ab.loss = ba.loss = 0.0
    net.step_to(net.now + 1_000_000)
    assert a.state is LinkState.ESTABLISHED and b.state is LinkState.ESTABLISHED
    kinds = {type(e) for e in net.events["a"] + net.events["b"]}
    assert PeerReturned in kinds or a.statistics().sessions == 2
    ev = make_events([1, 2, 3], [7, 8, 9])
    net.send("a", a.send_events(ev, net.local("a")))
    net.step_to(net.now + 50_000)
    assert np.array_equal(received(net.events["b"])[-3:], ev)
    for link in (a, b):
        assert link.statistics().check_accounting()


@pytest.mark.parametrize("who", ["responder", "initiator"])
def test_restart_of_either_side_gives_a_fresh_session(who: str) -> None:
    a, b = make_pair(20)
    net = VirtualNet(a, b, np.random.default_rng(20))
    net.connect()
    net.step_to(net.now + 200_000)
    old_frames = a.send_events(make_events([5], [5]), net.local("a"))
    if who == "responder":
        net.b = Link(LinkConfig("southampton", 7, False), KEY, random_bytes=seeded_random(77))
    else:
        net.a = Link(LinkConfig("padova", 7, True), KEY, random_bytes=seeded_random(78))
    net.events = {"a": [], "b": []}
    net.step_to(net.now + 3_000_000)
    assert net.a.state is LinkState.ESTABLISHED and net.b.state is LinkState.ESTABLISHED
    assert any(isinstance(e, PeerJoined) for e in net.events["b"])
    ev = make_events([10, 11], [1, 2])
    net.send("a", net.a.send_events(ev, net.local("a")))
    net.step_to(net.now + 50_000)
    assert np.array_equal(received(net.events["b"])[-2:], ev)
    if who == "responder":  # frames of the dead session do not open in the new one
        assert received(net.b.receive_datagram(old_frames[0], net.local("b"))).size == 0


def test_replayed_hello_does_not_disturb_a_running_session() -> None:
    a, b = make_pair(30)
    a.handle_timer(0)
    hello = a.datagrams_to_send()[0]
    net = VirtualNet(a, b, np.random.default_rng(30))
    net.send("a", [hello])
    net.connect()
    net.step_to(net.now + 100_000)
    sessions = b.statistics().sessions
    b.receive_datagram(hello, net.local("b"))  # attacker replays the old HELLO
    b.datagrams_to_send()
    net.step_to(net.now + 100_000)
    ev = make_events([1], [1])
    net.send("a", a.send_events(ev, net.local("a")))
    net.step_to(net.now + 50_000)
    assert b.statistics().sessions == sessions
    assert np.array_equal(received(net.events["b"])[-1:], ev)


def test_bye_is_reported_and_closed_link_refuses_to_send() -> None:
    a, b = make_pair(40)
    net = VirtualNet(a, b, np.random.default_rng(40))
    net.connect()
    net.send("a", a.close(net.local("a"), "end of experiment"))
    net.step_to(net.now + 20_000)
    assert [e.reason for e in net.events["b"] if isinstance(e, PeerClosed)] == ["end of experiment"]
    assert b.state is LinkState.LOST
    with pytest.raises(RuntimeError, match="closed"):
        a.send_events(make_events([1], [1]), 0)
    assert a.next_timer() is None


def test_clock_sync_between_offset_and_drifting_clocks_through_links() -> None:
    offset0, drift = 250_000, 100e-6
    a, b = make_pair(50, ping_interval_us=100_000)
    ab = Direction(delay_us=15_000, jitter_us=2_000)
    ba = Direction(delay_us=9_000, jitter_us=2_000)  # asymmetric path
    net = VirtualNet(
        a, b, np.random.default_rng(50), ab, ba, clock_b=lambda t: offset0 + t + int(drift * t)
    )
    net.connect()
    net.step_to(net.now + 240_000_000)
    updates = [e for e in net.events["a"] if isinstance(e, ClockUpdated)]
    assert len(updates) > 2000
    for u in updates:
        true = offset0 + drift * u.estimate.at_us
        assert abs(u.estimate.offset_us - true) <= u.estimate.uncertainty_us
    last = updates[-1].estimate
    # the bound is as tight as physics allows: about half the best round trip
    assert last.uncertainty_us < last.rtt_min_us / 2 + 1_000
    assert abs(last.drift_ppm - 100.0) < last.drift_uncertainty_ppm < 500.0
    # peer event times translate into local time within the reported uncertainty
    t_b = np.array([net.local("b")])
    local, unc = a.clock.to_local(t_b)
    assert abs(int(local[0]) - net.local("a")) <= unc[0] + 1


def test_statistics_report_rtt() -> None:
    a, b = make_pair(60)
    net = VirtualNet(
        a,
        b,
        np.random.default_rng(60),
        Direction(delay_us=3_000, jitter_us=0),
        Direction(delay_us=3_000, jitter_us=0),
    )
    net.connect()
    net.step_to(net.now + 2_000_000)
    st = a.statistics()
    assert st.rtt_samples >= 5
    assert st.rtt_min_us == 6_000 and st.rtt_p50_us == 6_000.0
    assert st.clock_offset_us is not None and abs(st.clock_offset_us) <= st.clock_uncertainty_us


def test_handshake_frames_in_the_wrong_direction_are_rejected() -> None:
    _, b = make_pair()
    # a WELCOME-typed frame sent to the responder is refused (it only answers HELLOs)
    codec = FrameCodec(derive_handshake_key(KEY, 7), key_id=0, link_id=7, direction=0)
    frame = codec.seal_handshake(FrameType.WELCOME, bytes(12), 0, b"x")
    assert b.receive_datagram(frame, 0) == []
    assert b.statistics().rejected_by_reason == {"flags": 1}


def test_bad_config_and_key_are_local_errors() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Link(LinkConfig("a", 1, True), b"short")
    with pytest.raises(ValueError, match="mtu"):
        LinkConfig("a", 1, True, mtu=10)
    with pytest.raises(ValueError, match="window"):
        LinkConfig("a", 1, True, window=100)
    with pytest.raises(ValueError, match="site name"):
        LinkConfig("", 1, True)
    with pytest.raises(ValueError, match="peer_timeout"):
        LinkConfig("a", 1, True, peer_timeout_us=100_000, heartbeat_interval_us=100_000)
    a, _ = make_pair()
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        a.send_events(np.zeros(3), 0)  # type: ignore[arg-type]
    assert not issubclass(BadFrame, ValueError)


def test_connect_in_memory_and_its_error() -> None:
    a, b = make_pair(70)
    connect_in_memory(a, b)
    assert a.state is b.state is LinkState.ESTABLISHED
    c = Link(LinkConfig("x", 7, True), KEY)
    d = Link(LinkConfig("y", 7, False), bytes(32))  # another key
    with pytest.raises(RuntimeError, match=r"did not connect.*auth"):
        connect_in_memory(c, d)
