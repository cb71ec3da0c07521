"""The link state machine: one end of an authenticated, measured spike link. Sans-I/O.

A :class:`Link` never touches a socket or a clock. The caller feeds it what arrives
(:meth:`Link.receive_datagram`), tells it the time (``now_us`` everywhere), wakes it when
:meth:`Link.next_timer` says so (:meth:`Link.handle_timer`), and sends what it returns
(:meth:`Link.send_events`) or queues (:meth:`Link.datagrams_to_send`).

Session life
------------
The initiator sends HELLO (its random ``Ri``) until the responder answers WELCOME (its random
``Rr`` and the echo of ``Ri``); both are sealed with a handshake key derived from the pre-shared
key. Each side then derives the session's two directional keys from ``Ri || Rr``. The initiator
confirms with a HEARTBEAT; the responder switches to a new session only when such an authentic
in-session frame arrives, so a replayed HELLO cannot break a running session. After a restart of
either side a new handshake yields new keys: sequence numbers restart at 0 and no nonce repeats.
Frames of the previous session are still accepted while they drain.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ione.events import EventBlock, as_events
from ione.wire._clock import ClockEstimator, ClockSample
from ione.wire._control import RANDOM_BYTES, Bye, Heartbeat, Hello, Ping, Pong
from ione.wire._frame import (
    NONCE_BYTES,
    VERSION,
    FrameCodec,
    FrameType,
    Header,
    derive_handshake_key,
    derive_session_keys,
    parse_header,
)
from ione.wire._linktypes import (
    ClockUpdated,
    EventsReceived,
    LinkConfig,
    LinkEvent,
    LinkFailed,
    LinkState,
    LinkStatistics,
    PeerClosed,
    PeerJoined,
    PeerLost,
    PeerReturned,
)
from ione.wire._window import ReceiveWindow
from ione.wire.errors import BadFrame

__all__ = ["Link", "connect_in_memory"]

_RTT_KEEP = 512


@dataclass(slots=True)
class _TxSession:
    codec: FrameCodec
    next_seq: int = 0
    events_sent: int = 0


@dataclass(slots=True)
class _RxSession:
    codec: FrameCodec
    window: ReceiveWindow
    number: int
    hello: Hello


@dataclass(slots=True)
class _Pending:
    """Responder side: a handshake answered but not yet confirmed by the initiator."""

    initiator_random: bytes
    welcome_body: bytes
    tx: _TxSession
    rx: _RxSession


@dataclass(slots=True)
class _Counters:
    frames_sent: int = 0
    events_frames_sent: int = 0
    events_sent: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    auth_failed: int = 0
    malformed: int = 0
    no_session: int = 0
    version_mismatch: int = 0
    events_dropped: int = 0
    outbound_frames_lost: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class Link:
    """One end of an ione link.

    Parameters
    ----------
    config
        The link's settings; ``config.initiator`` chooses the side.
    key
        The link's 32-byte pre-shared key (see :mod:`ione.wire.keys`).
    random_bytes
        Source of randomness for handshakes (default :func:`os.urandom`); pass a seeded one for
        reproducible simulations.
    """

    def __init__(
        self,
        config: LinkConfig,
        key: bytes,
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != 32:
            raise ValueError("the link key must be exactly 32 bytes")
        self.config = config
        self._psk = bytes(key)
        self._random = random_bytes
        hs_key = derive_handshake_key(self._psk, config.link_id)
        me, peer = (0, 1) if config.initiator else (1, 0)
        self._me, self._peer = me, peer
        self._hs_out = FrameCodec(
            hs_key, key_id=config.key_id, link_id=config.link_id, direction=me
        )
        self._hs_in = FrameCodec(
            hs_key, key_id=config.key_id, link_id=config.link_id, direction=peer
        )
        self.state = LinkState.CONNECTING
        self.clock = ClockEstimator(config.clock_window, config.max_drift_ppm)
        self._tx: _TxSession | None = None
        self._rx: list[_RxSession] = []  # current first, then the previous one while it drains
        self._pending: _Pending | None = None
        self._retired = _RetiredTotals()
        self._sessions = 0
        self._peer_hello: Hello | None = None
        self._my_random = b""
        self._hello_due: int | None = 0 if config.initiator else None
        self._heartbeat_due = 0
        self._ping_due = 0
        self._ping_id = 0
        self._pings: dict[int, int] = {}
        self._last_heard: int | None = None
        self._rtts: deque[int] = deque(maxlen=_RTT_KEEP)
        self._out: list[bytes] = []
        self._pending_events: list[EventBlock] = []
        self._pending_count = 0
        self._c = _Counters()
        self._failures: set[str] = set()
        self._current_welcome = b""
        self._outbound_lost_session = 0
        #: Datagrams that passed authentication (handshakes included): an endpoint may trust the
        #: source address of a datagram only when this grew while handling it.
        self.authentic_datagrams = 0

    # ================================================================== sending
    def send_events(self, events: EventBlock, now_us: int) -> list[bytes]:
        """Seal ``events`` (times on the local clock) into datagrams to send now.

        Before the first session is up the events wait (at most ``max_pending_events``; the rest
        are dropped and counted) and leave through :meth:`datagrams_to_send` once it is.
        """
        if self.state is LinkState.CLOSED:
            raise RuntimeError("send_events on a closed link")
        ev = as_events(events)
        if ev.shape[0] == 0:
            return []
        if self._tx is None:
            room = self.config.max_pending_events - self._pending_count
            if room < ev.shape[0]:
                self._c.events_dropped += ev.shape[0] - max(room, 0)
                ev = ev[: max(room, 0)]
            if ev.shape[0]:
                self._pending_events.append(ev.copy())
                self._pending_count += ev.shape[0]
            return []
        return self._seal_events(ev)

    def _seal_events(self, ev: EventBlock) -> list[bytes]:
        tx = self._tx
        assert tx is not None
        frames = tx.codec.seal_events(ev, tx.next_seq, mtu=self.config.mtu)
        n = len(frames)
        tx.next_seq += n
        tx.events_sent += ev.shape[0]
        c = self._c
        c.frames_sent += n
        c.events_frames_sent += n
        c.events_sent += ev.shape[0]
        c.bytes_sent += sum(map(len, frames))
        return frames

    def _send_control(self, ftype: FrameType, body: bytes, now_us: int) -> None:
        tx = self._tx
        if tx is None:
            return
        frame = tx.codec.seal_control(ftype, tx.next_seq, now_us, body)
        tx.next_seq += 1
        self._c.frames_sent += 1
        self._c.bytes_sent += len(frame)
        self._out.append(frame)

    def datagrams_to_send(self) -> list[bytes]:
        """Control datagrams (and events that waited for the session) produced since last call."""
        out, self._out = self._out, []
        return out

    def close(self, now_us: int, reason: str = "") -> list[bytes]:
        """Say BYE and stop; returns the datagrams to send."""
        if self.state is not LinkState.CLOSED:
            self._send_control(FrameType.BYE, Bye(reason).encode(), now_us)
            self.state = LinkState.CLOSED
        return self.datagrams_to_send()

    # ================================================================== timers
    def next_timer(self) -> int | None:
        """The next time :meth:`handle_timer` must run, or None when nothing is scheduled."""
        if self.state is LinkState.CLOSED:
            return None
        times = []
        if self._hello_due is not None:
            times.append(self._hello_due)
        if self._tx is not None:
            times += [self._heartbeat_due, self._ping_due]
        if self._last_heard is not None and self.state is LinkState.ESTABLISHED:
            times.append(self._last_heard + self.config.peer_timeout_us)
        for rx in self._rx:
            t = rx.window.next_expiry()
            if t is not None:
                times.append(t)
        return min(times) if times else None

    def handle_timer(self, now_us: int) -> list[LinkEvent]:
        """Do whatever is due at ``now_us``; returns the link events it produced."""
        if self.state is LinkState.CLOSED:
            return []
        events: list[LinkEvent] = []
        cfg = self.config
        for rx in self._rx:
            rx.window.expire(now_us)
        if (
            self.state is LinkState.ESTABLISHED
            and self._last_heard is not None
            and now_us - self._last_heard >= cfg.peer_timeout_us
        ):
            self.state = LinkState.LOST
            events.append(PeerLost(now_us - self._last_heard))
            if cfg.initiator:  # the peer may have restarted: offer a fresh session
                self._my_random = b""
                self._hello_due = now_us
        if self._hello_due is not None and now_us >= self._hello_due:
            self._send_hello(now_us)
            self._hello_due = now_us + cfg.hello_interval_us
        if self._tx is not None:
            if now_us >= self._heartbeat_due:
                self._send_heartbeat(now_us)
            if now_us >= self._ping_due:
                self._send_ping(now_us)
        return events

    def _send_hello(self, now_us: int) -> None:
        if not self._my_random:
            self._my_random = self._random(RANDOM_BYTES)
        body = self._hello_body(echo=b"", random=self._my_random)
        self._out.append(
            self._hs_out.seal_handshake(FrameType.HELLO, self._random(NONCE_BYTES), now_us, body)
        )
        self._c.bytes_sent += len(self._out[-1])

    def _hello_body(self, *, echo: bytes, random: bytes) -> bytes:
        cfg = self.config
        return Hello(
            VERSION, random, cfg.capabilities, cfg.heartbeat_interval_us, cfg.site, cfg.ranges, echo
        ).encode()

    def _send_heartbeat(self, now_us: int) -> None:
        tx = self._tx
        assert tx is not None
        rx = self._rx[0].window if self._rx else None
        hb = Heartbeat(
            frames_sent=tx.next_seq,
            events_sent=tx.events_sent,
            frames_received=rx.received if rx else 0,
            frames_lost=rx.lost if rx else 0,
            frames_in_flight=rx.in_flight if rx else 0,
        )
        self._send_control(FrameType.HEARTBEAT, hb.encode(), now_us)
        self._heartbeat_due = now_us + self.config.heartbeat_interval_us

    def _send_ping(self, now_us: int) -> None:
        self._ping_id = (self._ping_id + 1) & 0xFFFFFFFF
        self._pings[self._ping_id] = now_us
        if len(self._pings) > 64:  # unanswered pings are forgotten, oldest first
            del self._pings[next(iter(self._pings))]
        self._send_control(FrameType.PING, Ping(self._ping_id).encode(), now_us)
        self._ping_due = now_us + self.config.ping_interval_us

    # ================================================================== receiving
    def receive_datagram(self, data: bytes, now_us: int) -> list[LinkEvent]:
        """Take one datagram from the network; returns what happened.

        Nothing a datagram contains can raise here: bad frames are counted by reason in
        :meth:`statistics` and dropped.
        """
        if self.state is LinkState.CLOSED:
            return []
        self._c.bytes_received += len(data)
        raw = data if type(data) is bytes else bytes(data)
        try:
            header = parse_header(raw)
            if header.type in (FrameType.HELLO, FrameType.WELCOME):
                return self._on_handshake(raw, header, now_us)
            return self._on_session_frame(raw, header, now_us)
        except BadFrame as exc:
            return self._rejected(exc)

    def _rejected(self, exc: BadFrame) -> list[LinkEvent]:
        c = self._c
        c.by_reason[exc.reason] = c.by_reason.get(exc.reason, 0) + 1
        if exc.reason == "auth":
            c.auth_failed += 1
        else:
            c.malformed += 1
        if exc.reason == "version":
            c.version_mismatch += 1
            message = str(exc)
            if message not in self._failures:
                self._failures.add(message)
                return [LinkFailed(message)]
        return []

    def _on_session_frame(self, data: bytes, header: Header, now_us: int) -> list[LinkEvent]:
        pending = self._pending
        if not self._rx and pending is None:
            self._c.no_session += 1
            return []
        # The current session first, then the previous one (draining), then a pending one.
        for rx in self._rx:
            try:
                frame = rx.codec.open(data, header, seq=rx.window.expand(header.seq))
                break
            except BadFrame as exc:
                if exc.reason != "auth":
                    raise
        else:
            if pending is None:
                raise BadFrame("auth", "no session key opens this frame")
            rx = pending.rx
            frame = rx.codec.open(data, header, seq=rx.window.expand(header.seq))
        self.authentic_datagrams += 1
        window = rx.window
        seq = frame.seq
        verdict = window.check(seq)
        if verdict != "new":
            window.reject(verdict)
            return []
        if frame.type is FrameType.EVENTS and (pending is None or rx is not pending.rx):
            # The hot path: events in an established session.
            reordered = window.accept(seq, frame.n_events, now_us)
            self._last_heard = now_us
            if self.state is LinkState.LOST:
                return [*self._returned(now_us), EventsReceived(frame.events, seq, reordered)]  # type: ignore[arg-type]
            return [EventsReceived(frame.events, seq, reordered)]  # type: ignore[arg-type]
        out: list[LinkEvent] = []
        if self._pending is not None and rx is self._pending.rx:
            out += self._promote_pending()
        if frame.type is FrameType.HEARTBEAT:
            hb = Heartbeat.decode(frame.body)
            if hb.frames_sent != seq:
                raise BadFrame(
                    "body",
                    f"HEARTBEAT counts {hb.frames_sent} frames before it, its "
                    f"sequence number says {seq}",
                )
            window.note_heartbeat(seq, hb.events_sent)
            if rx is self._rx[0]:
                self._outbound_lost_session = hb.frames_lost
        elif frame.type is FrameType.PING:
            ping = Ping.decode(frame.body)
        elif frame.type is FrameType.PONG:
            pong = Pong.decode(frame.body)
        elif frame.type is FrameType.BYE:
            bye = Bye.decode(frame.body)
        reordered = window.accept(seq, frame.n_events, now_us)
        out += self._returned(now_us)
        self._last_heard = now_us
        if frame.type is FrameType.EVENTS:
            assert frame.events is not None
            out.append(EventsReceived(frame.events, seq, reordered))
        elif frame.type is FrameType.PING:
            self._send_control(
                FrameType.PONG, Pong(ping.ping_id, frame.base_us, now_us).encode(), now_us
            )
        elif frame.type is FrameType.PONG:
            out += self._on_pong(pong, frame.base_us, now_us)
        elif frame.type is FrameType.BYE:
            self.state = LinkState.LOST
            out.append(PeerClosed(bye.reason))
            if self.config.initiator:
                self._my_random = b""
                self._hello_due = now_us + self.config.hello_interval_us
        return out

    def _returned(self, now_us: int) -> list[LinkEvent]:
        """An authentic in-session frame arrived: a lost peer has come back."""
        if self.state is LinkState.LOST and self._tx is not None:
            # The peer still holds the session (an outage, not a restart): no new handshake.
            self.state = LinkState.ESTABLISHED
            self._my_random = b""
            self._hello_due = None
            last = self._last_heard if self._last_heard is not None else now_us
            return [PeerReturned(now_us - last)]
        return []

    def _on_pong(self, pong: Pong, t3_us: int, now_us: int) -> list[LinkEvent]:
        sent = self._pings.pop(pong.ping_id, None)
        if sent is None or sent != pong.t1_us:
            return []  # not an answer to a ping of ours (stale or from an older session)
        sample = ClockSample(pong.t1_us, pong.t2_us, t3_us, now_us)
        if not self.clock.add(sample):
            return []
        self._rtts.append(sample.rtt_us)
        est = self.clock.estimate(now_us)
        assert est is not None
        return [ClockUpdated(est, sample.rtt_us)]

    # ================================================================== handshake
    def _on_handshake(self, data: bytes, header: Header, now_us: int) -> list[LinkEvent]:
        frame = self._hs_in.open(data, header)
        self.authentic_datagrams += 1
        welcome = frame.type is FrameType.WELCOME
        if welcome != self.config.initiator:
            raise BadFrame("flags", f"{frame.type.name} sent to the wrong side of the link")
        hello = Hello.decode(frame.body, welcome=welcome)
        if hello.protocol_version != VERSION:
            raise BadFrame(
                "version",
                f"peer speaks ione wire version {hello.protocol_version}, "
                f"this site speaks {VERSION}",
            )
        if welcome:
            return self._on_welcome(hello, now_us)
        self._on_hello(hello, now_us)
        return []

    def _on_hello(self, hello: Hello, now_us: int) -> None:
        """Responder: answer, creating a pending session unless this HELLO is already known."""
        pending = self._pending
        if pending is not None and pending.initiator_random == hello.random:
            body = pending.welcome_body
        elif self._rx and self._rx[0].hello.random == hello.random:
            body = self._current_welcome
        else:
            rr = self._random(RANDOM_BYTES)
            k_i2r, k_r2i = derive_session_keys(self._psk, self.config.link_id, hello.random, rr)
            body = self._hello_body(echo=hello.random, random=rr)
            self._pending = _Pending(
                hello.random, body, self._new_tx(k_r2i), self._new_rx(k_i2r, hello)
            )
        frame = self._hs_out.seal_handshake(
            FrameType.WELCOME, self._random(NONCE_BYTES), now_us, body
        )
        self._c.bytes_sent += len(frame)
        self._out.append(frame)

    def _promote_pending(self) -> list[LinkEvent]:
        pending = self._pending
        assert pending is not None
        self._pending = None
        self._current_welcome = pending.welcome_body
        return self._start_session(pending.tx, pending.rx)

    def _on_welcome(self, hello: Hello, now_us: int) -> list[LinkEvent]:
        """Initiator: a WELCOME that echoes our current HELLO starts a session."""
        if not self._my_random or hello.echo != self._my_random:
            return []  # stale, duplicated or replayed: not an answer to our current HELLO
        k_i2r, k_r2i = derive_session_keys(
            self._psk, self.config.link_id, self._my_random, hello.random
        )
        self._my_random = b""  # answered: a duplicate WELCOME now finds nothing to match
        self._hello_due = None
        events = self._start_session(self._new_tx(k_i2r), self._new_rx(k_r2i, hello))
        self._send_heartbeat(now_us)  # confirms the session to the responder
        self._send_ping(now_us)
        self._last_heard = now_us
        return events

    def _new_tx(self, key: bytes) -> _TxSession:
        cfg = self.config
        return _TxSession(
            FrameCodec(key, key_id=cfg.key_id, link_id=cfg.link_id, direction=self._me)
        )

    def _new_rx(self, key: bytes, hello: Hello) -> _RxSession:
        cfg = self.config
        codec = FrameCodec(key, key_id=cfg.key_id, link_id=cfg.link_id, direction=self._peer)
        window = ReceiveWindow(cfg.window, cfg.reorder_timeout_us)
        return _RxSession(codec, window, self._sessions + 1, hello)

    def _start_session(self, tx: _TxSession, rx: _RxSession) -> list[LinkEvent]:
        self._sessions += 1
        rx.number = self._sessions
        self._c.outbound_frames_lost += self._outbound_lost_session
        self._outbound_lost_session = 0
        #: Datagrams that passed authentication (handshakes included): an endpoint may trust the
        #: source address of a datagram only when this grew while handling it.
        self.authentic_datagrams = 0
        if len(self._rx) == 2:
            self._retire(self._rx.pop())
        self._rx.insert(0, rx)
        self._tx = tx
        self._peer_hello = rx.hello
        self.state = LinkState.ESTABLISHED
        self._pings.clear()
        self._ping_due = self._heartbeat_due = 0
        h = rx.hello
        events: list[LinkEvent] = [
            PeerJoined(h.site, h.capabilities, h.ranges, h.heartbeat_interval_us, self._sessions)
        ]
        if self._pending_events:
            waiting = np.concatenate(self._pending_events)
            self._pending_events.clear()
            self._pending_count = 0
            self._out += self._seal_events(waiting)
        return events

    def _retire(self, rx: _RxSession) -> None:
        rx.window.close()
        self._retired.add(rx.window)

    # ================================================================== statistics
    @property
    def last_heard_us(self) -> int | None:
        """When the last authentic frame from the peer arrived (the ``now_us`` it was given), or
        None before the first. A stimulation guard's watchdog reads it (``ione.culture``)."""
        return self._last_heard

    def statistics(self) -> LinkStatistics:
        """A snapshot of every counter (see :class:`LinkStatistics`)."""
        c, r = self._c, self._retired
        windows = [rx.window for rx in self._rx]
        rtts = np.fromiter(self._rtts, dtype=np.int64) if self._rtts else None
        est = self.clock.estimate(self._last_heard) if self._last_heard is not None else None
        return LinkStatistics(
            state=self.state,
            peer_site=self._peer_hello.site if self._peer_hello else None,
            sessions=self._sessions,
            frames_sent=c.frames_sent,
            events_frames_sent=c.events_frames_sent,
            events_sent=c.events_sent,
            bytes_sent=c.bytes_sent,
            frames_received=r.received + sum(w.received for w in windows),
            events_received=r.events_received + sum(w.events_received for w in windows),
            bytes_received=c.bytes_received,
            peer_frames_sent=r.known_sent + sum(w.known_sent for w in windows),
            frames_lost=r.lost + sum(w.lost for w in windows),
            frames_in_flight=sum(w.in_flight for w in windows),
            events_lost=r.events_lost + sum(w.events_lost for w in windows),
            duplicates=r.duplicates + sum(w.duplicates for w in windows),
            reordered=r.reordered + sum(w.reordered for w in windows),
            too_old=r.too_old + sum(w.too_old for w in windows),
            auth_failed=c.auth_failed,
            malformed=c.malformed,
            no_session=c.no_session,
            version_mismatch=c.version_mismatch,
            events_dropped=c.events_dropped,
            outbound_frames_lost=c.outbound_frames_lost + self._outbound_lost_session,
            rtt_min_us=int(rtts.min()) if rtts is not None else None,
            rtt_p50_us=float(np.median(rtts)) if rtts is not None else None,
            rtt_p99_us=float(np.percentile(rtts, 99)) if rtts is not None else None,
            rtt_samples=len(self._rtts),
            clock_offset_us=est.offset_us if est else None,
            clock_uncertainty_us=est.uncertainty_us if est else None,
            clock_drift_ppm=est.drift_ppm if est else None,
            rejected_by_reason=dict(c.by_reason),
        )


@dataclass(slots=True)
class _RetiredTotals:
    """Counters of sessions that are over, so statistics stay cumulative."""

    received: int = 0
    events_received: int = 0
    known_sent: int = 0
    lost: int = 0
    events_lost: int = 0
    duplicates: int = 0
    reordered: int = 0
    too_old: int = 0

    def add(self, w: ReceiveWindow) -> None:
        self.received += w.received
        self.events_received += w.events_received
        self.known_sent += w.known_sent
        self.lost += w.lost
        self.events_lost += w.events_lost
        self.duplicates += w.duplicates
        self.reordered += w.reordered
        self.too_old += w.too_old


def connect_in_memory(initiator: Link, responder: Link, now_us: int = 0) -> None:
    """Run the handshake of two links directly, without a network (simulations, tests, tools).

    Raises
    ------
    RuntimeError
        If the two do not establish a session (different keys or link ids, same role, ...).
    """
    initiator.handle_timer(now_us)
    for step in range(4):
        for datagram in initiator.datagrams_to_send():
            responder.receive_datagram(datagram, now_us + step)
        for datagram in responder.datagrams_to_send():
            initiator.receive_datagram(datagram, now_us + step)
    if not (initiator.state is responder.state is LinkState.ESTABLISHED):
        raise RuntimeError(
            f"links did not connect (initiator {initiator.state.value}, "
            f"responder {responder.state.value}): {responder.statistics().rejected_by_reason}"
        )
