"""A UDP relay that emulates one internet link between two sites on this machine.

::

    site A  ──►  relay a-socket ─┐  a_to_b: Impairment, heap  ┌─► relay b-socket ──►  site B
    site A  ◄──  relay a-socket ◄┘  b_to_a: Impairment, heap  └── relay b-socket ◄──  site B

Site A sends to the relay's A-facing address, which releases what the model keeps through the
B-facing socket to B, and the reverse. Each direction has its own :class:`Impairment` with its own
generator (both spawned from one seed). A site's address is given, or learned from the first
datagram arriving on its side; datagrams from any other address are counted as ``foreign`` and
ignored.

One thread runs one loop: it waits in ``select`` until a socket is readable or the earliest
release is due (a heap of due times; no sleep per datagram), receives, decides, schedules, and
releases. Lateness (actual send time − due time) is measured for every release. Control calls
from other threads (:meth:`Relay.pause`, :meth:`Relay.set_profile`, :meth:`Relay.statistics`,
...) run on the loop's thread, between datagrams, so the counters are always consistent:

    received + duplicated = forwarded + dropped_loss + dropped_overflow + dropped_paused
                            + dropped_no_peer + send_errors + queued
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Literal, TypeVar

import numpy as np

from ione.netem._counters import (
    LATE_BINS,
    Address,
    DirectionStatistics,
    RelayStatistics,
    Way,
    direction_json,
    fmt,
)
from ione.netem._proc import set_timer_slack_ns, socket_drops
from ione.netem.control import answer, handle_request
from ione.netem.model import Impairment
from ione.netem.profiles import Profile, profile_to_dict, resolve_profile

__all__ = [
    "Address",
    "Direction",
    "DirectionStatistics",
    "Relay",
    "RelayStatistics",
]

Direction = Literal["a_to_b", "b_to_a", "both"]
T = TypeVar("T")

RECEIVE_BUFFER_BYTES = 4 << 20
MAX_DATAGRAM = 65_535
#: Datagrams received from one socket per wake-up before due releases are served again.
RECEIVE_BATCH = 64
#: Longest wait in ``select`` when nothing is due (the loop re-checks its stop flag).
IDLE_WAIT_S = 0.5


def monotonic_us() -> int:
    """The host's monotonic clock in integer µs (the same clock as ``ione.node``)."""
    return time.monotonic_ns() // 1_000


def _numeric(address: Address | None) -> Address | None:
    """Resolve a (host, port) to the numeric IPv4 form ``recvfrom`` reports."""
    if address is None:
        return None
    host, port = address
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port must be in 1..65535, got {port!r}")
    info = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    return str(info[0][4][0]), port


class Relay:
    """An emulated link between site A and site B: two UDP sockets and a seeded model per way.

    The sockets are bound on construction (``a_address`` and ``b_address`` are known at once);
    :meth:`run` serves them in the calling thread, :meth:`start` in a thread of its own.

    Parameters
    ----------
    profile
        Profile (or preset name, or dict) of both directions.
    seed
        Seeds the two directions' generators (``numpy.random.SeedSequence(seed).spawn(2)``).
    host
        Address to bind the sockets to (keep it on 127.0.0.0/8 unless the sites are remote).
    a_port, b_port
        Ports of the A-facing and B-facing sockets (0: any free port).
    a_peer, b_peer
        The sites' addresses; None learns each from the first datagram on its side.
    profile_b_to_a
        A different profile for B → A (default: ``profile``).
    queue_limit
        Most copies waiting for release per direction; beyond it datagrams are dropped and
        counted (``dropped_overflow``).
    spin_us
        Wake this long before a release is due and poll the sockets until it is (0: sleep until
        due). Wake-ups from a timer come tens of µs late on a virtual machine; polling makes
        releases precise to a few µs but costs up to this much CPU per release, and a process
        that polls is scheduled later when the machine is busy: use it on a core of its own.
    control_port
        If not None, also serve the JSON control protocol (:meth:`command`) on this UDP port of
        ``host`` (0: any free port).
    clock
        Monotonic time in integer µs.
    """

    def __init__(
        self,
        profile: Profile | str | dict[str, Any] = "lan",
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        a_port: int = 0,
        b_port: int = 0,
        a_peer: Address | None = None,
        b_peer: Address | None = None,
        profile_b_to_a: Profile | str | dict[str, Any] | None = None,
        queue_limit: int = 10_000,
        control_port: int | None = None,
        spin_us: int = 0,
        clock: Callable[[], int] = monotonic_us,
    ) -> None:
        if isinstance(queue_limit, bool) or not isinstance(queue_limit, int) or queue_limit < 1:
            raise ValueError(f"queue_limit must be a positive int, got {queue_limit!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        p_ab = resolve_profile(profile)
        p_ba = p_ab if profile_b_to_a is None else resolve_profile(profile_b_to_a)
        if isinstance(spin_us, bool) or not isinstance(spin_us, int) or spin_us < 0:
            raise ValueError(f"spin_us must be a non-negative int, got {spin_us!r}")
        a_peer, b_peer = _numeric(a_peer), _numeric(b_peer)
        self.seed = seed
        self.queue_limit = queue_limit
        self.spin_us = spin_us
        self._clock = clock
        self._sockets: list[socket.socket] = []
        try:
            a_sock = self._bind(host, a_port, "a_port")
            b_sock = self._bind(host, b_port, "b_port")
            self._ctl: socket.socket | None = None
            if control_port is not None:
                self._ctl = self._bind(host, control_port, "control_port")
            self._wake_r, self._wake_w = socket.socketpair()
        except BaseException:
            self.close()
            raise
        for s in (self._wake_r, self._wake_w):
            s.setblocking(False)
            self._sockets.append(s)
        rng_ab, rng_ba = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self._ab = Way("a_to_b", a_sock, b_sock)
        self._ba = Way("b_to_a", b_sock, a_sock)
        self._ab.impairment = Impairment(p_ab, rng_ab)
        self._ba.impairment = Impairment(p_ba, rng_ba)
        self._ab.source = self._ba.dest = a_peer
        self._ba.source = self._ab.dest = b_peer
        self.a_address: Address = a_sock.getsockname()[:2]
        self.b_address: Address = b_sock.getsockname()[:2]
        self.control_address: Address | None = (
            None if self._ctl is None else self._ctl.getsockname()[:2]
        )
        self._heap: list[tuple[int, int, Way, int, bytes, int]] = []
        self._tiebreak = itertools.count()
        self._paused = False
        self._stop = False
        self._running = False
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = (
            queue.SimpleQueue()
        )
        self._cond = threading.Condition()
        self._gen = 0
        self._waiters = 0
        self._started_us = clock()
        self._wakeups = 0
        self._n_commands = 0
        self._socket_errors = 0
        self.timer_slack_set = False

    def _bind(self, host: str, port: int, what: str) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sockets.append(s)
        with contextlib.suppress(OSError):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RECEIVE_BUFFER_BYTES)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot bind the relay's {what} to {host}:{port}: {exc}"
            ) from None
        s.setblocking(False)
        return s

    # ------------------------------------------------------------------ life cycle
    def start(self) -> Relay:
        """Serve in a daemon thread (returns at once; :meth:`stop` ends it)."""
        if self._thread is not None:
            raise RuntimeError("the relay is already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self.run, kwargs={"on_start": ready.set}, name="ione-netem-relay", daemon=True
        )
        self._thread.start()
        if not ready.wait(10.0):
            raise RuntimeError("the relay thread did not start within 10 s")
        return self

    def run(
        self, duration_us: int | None = None, on_start: Callable[[], None] | None = None
    ) -> None:
        """Serve until :meth:`stop` (or for ``duration_us``), in the calling thread."""
        if self._running:
            raise RuntimeError("the relay is already running")
        self._loop_thread = threading.get_ident()
        self._running = True
        self._stop = False
        self.timer_slack_set = set_timer_slack_ns(1_000)
        deadline = None if duration_us is None else self._clock() + duration_us
        clock = self._clock
        heap = self._heap
        spin_us = self.spin_us
        handlers: dict[int, Callable[[], None]] = {
            self._ab.ingress.fileno(): self._receive_a,
            self._ba.ingress.fileno(): self._receive_b,
            self._wake_r.fileno(): self._drain_commands,
        }
        if self._ctl is not None:
            handlers[self._ctl.fileno()] = self._serve_control
        fds = list(handlers)
        marker = self._progress()
        if on_start is not None:
            on_start()
        try:
            while not self._stop:
                if heap:
                    self._release()
                if self._waiters and (now_marker := self._progress()) != marker:
                    marker = now_marker
                    with self._cond:
                        self._gen += 1
                        self._cond.notify_all()
                now = clock()
                if deadline is not None and now >= deadline:
                    break
                wait = IDLE_WAIT_S
                if heap:
                    # Wake spin_us early and poll until due: timer wake-ups are late by tens of µs.
                    wait = min(wait, max(0, heap[0][0] - now - spin_us) / 1e6)
                if deadline is not None:
                    wait = min(wait, max(0, deadline - now) / 1e6)
                ready = select.select(fds, [], [], wait)[0]
                self._wakeups += 1
                for fd in ready:
                    handlers[fd]()
        finally:
            self._running = False
            self._loop_thread = None
            self._drain_commands()

    def _progress(self) -> tuple[int | bool, ...]:
        """Changes whenever a datagram moved (what :meth:`wait_for` waits on)."""
        ab, ba = self._ab, self._ba
        return (
            ab.received,
            ab.foreign,
            ab.queued,
            ab.forwarded,
            ba.received,
            ba.foreign,
            ba.queued,
            ba.forwarded,
            self._paused,
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the loop to end and wait for its thread (if :meth:`start` made one)."""
        self.stop_soon()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise RuntimeError(f"the relay thread did not stop within {timeout_s} s")
            self._thread = None

    def stop_soon(self) -> None:
        """Ask the loop to end after the current step (safe in signal handlers)."""
        self._stop = True
        self._wake()

    def close(self) -> None:
        """Close every socket (after :meth:`stop`)."""
        for s in self._sockets:
            s.close()
        self._sockets.clear()

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.close()

    # ------------------------------------------------------------------ the datagram path
    def _receive_a(self) -> None:
        self._receive(self._ab, self._ba)

    def _receive_b(self) -> None:
        self._receive(self._ba, self._ab)

    def _receive(self, way: Way, back: Way) -> None:
        sock = way.ingress
        clock = self._clock
        decide = way.impairment.decide_one
        heap = self._heap
        limit = self.queue_limit
        for _ in range(RECEIVE_BATCH):
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:  # an ICMP error reported on this socket: nothing was received
                self._socket_errors += 1
                continue
            now = clock()
            src = way.source
            if src is None:
                way.source = back.dest = src = addr
            elif addr != src:
                way.foreign += 1
                continue
            way.received += 1
            way.bytes_in += len(data)
            if self._paused:
                way.dropped_paused += 1
                continue
            if way.dest is None:
                way.dropped_no_peer += 1
                continue
            copies, delay, held = decide(now)
            if not copies:
                way.dropped_loss += 1
                continue
            if way.queued + copies > limit:
                way.dropped_overflow += 1
                continue
            way.duplicated += copies - 1
            way.held += held
            way.queued += copies
            if way.queued > way.max_queued:
                way.max_queued = way.queued
            way.d_n += 1
            way.d_sum += delay
            way.d_sumsq += delay * delay
            if way.d_n == 1 or delay < way.d_min:
                way.d_min = delay
            if delay > way.d_max:
                way.d_max = delay
            heapq.heappush(heap, (now + delay, next(self._tiebreak), way, way.seq, data, copies))
            way.seq += 1
            if not delay:
                self._release()

    def _release(self) -> None:
        heap = self._heap
        clock = self._clock
        while heap:
            now = clock()
            if heap[0][0] > now:
                return
            due, _, way, seq, data, copies = heapq.heappop(heap)
            way.queued -= copies
            if self._paused:
                way.dropped_paused += copies
                continue
            dest = way.dest
            assert dest is not None  # datagrams are queued only once the destination is known
            late = now - due
            way.late_hist[late if late < LATE_BINS else LATE_BINS] += 1
            way.late_n += 1
            if late > way.late_max:
                way.late_max = late
            for _ in range(copies):
                try:
                    way.egress.sendto(data, dest)
                except OSError:
                    way.send_errors += 1
                    continue
                way.forwarded += 1
                way.bytes_fwd += len(data)
                if seq < way.max_seq:
                    way.reordered += 1
                else:
                    way.max_seq = seq

    # ------------------------------------------------------------------ control
    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError: a wake-up is pending anyway
            self._wake_w.send(b"\0")

    def _drain_commands(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        while True:
            try:
                fn, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as exc:
                    fut.set_exception(exc)

    def _call(self, fn: Callable[[], T], timeout_s: float = 10.0) -> T:
        """Run ``fn`` on the loop's thread (directly when not running or already there)."""
        if not self._running or self._loop_thread == threading.get_ident():
            return fn()
        fut: Future[T] = Future()
        self._commands.put((fn, fut))
        self._wake()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return fut.result(min(0.1, max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                if not self._running and fut.cancel():  # the loop ended before taking it
                    return fn()
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"the relay did not answer within {timeout_s} s") from None

    def pause(self) -> None:
        """Drop every datagram from now on, including those already queued (link down)."""

        def do() -> None:
            self._paused = True

        self._call(do)

    def resume(self) -> None:
        """Forward again after :meth:`pause`."""

        def do() -> None:
            self._paused = False

        self._call(do)

    @property
    def paused(self) -> bool:
        """Whether the relay is paused."""
        return self._paused

    def set_profile(
        self, profile: Profile | str | dict[str, Any], direction: Direction = "both"
    ) -> None:
        """Change the profile of one or both directions for the datagrams that arrive next.

        Datagrams already scheduled keep their release times.
        """
        p = resolve_profile(profile)
        ways = self._ways(direction)

        def do() -> None:
            for w in ways:
                w.impairment.set_profile(p)

        self._call(do)

    def _ways(self, direction: str) -> tuple[Way, ...]:
        if direction == "both":
            return (self._ab, self._ba)
        if direction == "a_to_b":
            return (self._ab,)
        if direction == "b_to_a":
            return (self._ba,)
        raise ValueError(f"direction must be 'a_to_b', 'b_to_a' or 'both', got {direction!r}")

    @property
    def profiles(self) -> dict[str, Profile]:
        """The profile in force for each direction."""
        return {"a_to_b": self._ab.impairment.profile, "b_to_a": self._ba.impairment.profile}

    def statistics(self) -> RelayStatistics:
        """A consistent snapshot of every counter (taken on the loop's thread)."""
        return self._call(self._statistics)

    def _statistics(self) -> RelayStatistics:
        return RelayStatistics(
            a_to_b=self._ab.statistics(),
            b_to_a=self._ba.statistics(),
            paused=self._paused,
            a_address=self.a_address,
            b_address=self.b_address,
            a_peer=self._ab.source,
            b_peer=self._ba.source,
            uptime_us=self._clock() - self._started_us,
            wakeups=self._wakeups,
            commands=self._n_commands,
            socket_errors=self._socket_errors,
        )

    def _statistics_and_histograms(
        self,
    ) -> tuple[RelayStatistics, dict[str, dict[str, int]]]:
        hists = {
            w.name: {str(k): n for k, n in enumerate(w.late_hist) if n}
            for w in (self._ab, self._ba)
        }
        return self._statistics(), hists

    def snapshot(self) -> dict[str, Any]:
        """Statistics, profiles and kernel drops of the relay's sockets as a JSON-ready dict."""
        st, hists = self._call(self._statistics_and_histograms)
        return {
            "a": fmt(st.a_address),
            "b": fmt(st.b_address),
            "control": None if self.control_address is None else fmt(self.control_address),
            "a_peer": None if st.a_peer is None else fmt(st.a_peer),
            "b_peer": None if st.b_peer is None else fmt(st.b_peer),
            "paused": st.paused,
            "seed": self.seed,
            "queue_limit": self.queue_limit,
            "uptime_us": st.uptime_us,
            "wakeups": st.wakeups,
            "commands": st.commands,
            "socket_errors": st.socket_errors,
            "timer_slack_1us": self.timer_slack_set,
            "spin_us": self.spin_us,
            # CPU time of the whole process (the relay's own when it runs as `python -m`)
            "process_cpu_us": time.process_time_ns() // 1_000,
            "profiles": {k: profile_to_dict(v) for k, v in self.profiles.items()},
            "a_to_b": direction_json(st.a_to_b, hists["a_to_b"]),
            "b_to_a": direction_json(st.b_to_a, hists["b_to_a"]),
            "kernel_drops": {
                "a": socket_drops(st.a_address[1]),
                "b": socket_drops(st.b_address[1]),
            },
        }

    def wait_for(
        self, predicate: Callable[[RelayStatistics], bool], timeout_s: float = 10.0
    ) -> RelayStatistics:
        """Block until ``predicate(statistics())`` holds; woken by the loop, never by polling.

        Raises
        ------
        TimeoutError
            After ``timeout_s``, with the last statistics in the message.
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._waiters += 1
        try:
            while True:
                with self._cond:
                    gen = self._gen
                st = self.statistics()
                if predicate(st):
                    return st
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"relay condition not met within {timeout_s} s: {st}")
                with self._cond:
                    if self._gen == gen:
                        self._cond.wait(remaining)
        finally:
            with self._cond:
                self._waiters -= 1

    def wait_idle(self, received: int, timeout_s: float = 10.0) -> RelayStatistics:
        """Wait until ``received`` datagrams (both ways) arrived and nothing is queued."""
        return self.wait_for(
            lambda s: (
                s.a_to_b.received + s.b_to_a.received >= received
                and s.a_to_b.queued + s.b_to_a.queued == 0
            ),
            timeout_s,
        )

    # ------------------------------------------------------------------ JSON control
    def command(self, request: dict[str, Any]) -> dict[str, Any]:
        """Execute one control request and return the reply (never raises on a bad request).

        See :func:`ione.netem.control.handle_request` and docs/netem.md for the commands.
        """
        return handle_request(self, request)

    def _serve_control(self) -> None:
        assert self._ctl is not None
        for _ in range(RECEIVE_BATCH):
            try:
                data, addr = self._ctl.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                continue
            self._n_commands += 1
            with contextlib.suppress(OSError):
                self._ctl.sendto(answer(self, data), addr)
