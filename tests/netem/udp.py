"""Test helper: a site on 127.0.0.1 that sends numbered, time-stamped datagrams and records them."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter

import numpy as np

from ione.netem import Impairment, Profile

#: sequence number, send time (µs, monotonic), padding to a small spike frame's size
PAYLOAD = struct.Struct("<qq48x")


def monotonic_us() -> int:
    return time.monotonic_ns() // 1_000


class Site:
    """A UDP socket on loopback with a receiver thread recording (sequence, one-way delay µs)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.address: tuple[str, int] = self.sock.getsockname()
        self.got: list[tuple[int, int]] = []
        self.sources: set[tuple[str, int]] = set()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            now = monotonic_us()
            seq, sent = PAYLOAD.unpack(data)
            with self._cond:
                self.got.append((seq, now - sent))
                self.sources.add(addr)
                self._cond.notify_all()

    def send(self, to: tuple[str, int], seqs: range) -> None:
        for s in seqs:
            self.sock.sendto(PAYLOAD.pack(s, monotonic_us()), to)

    def wait_count(self, n: int, timeout_s: float = 10.0) -> list[tuple[int, int]]:
        """Wait until ``n`` datagrams arrived; returns a copy of what arrived."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.got) >= n, timeout_s)
            got = list(self.got)
        assert ok, f"only {len(got)} of {n} datagrams arrived within {timeout_s} s"
        return got

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def receiver_view(got: list[tuple[int, int]]) -> tuple[Counter[int], int]:
    """Copies per sequence number, and arrivals that came after a later-sent datagram."""
    copies: Counter[int] = Counter()
    reordered = 0
    highest = -1
    for seq, _ in got:
        copies[seq] += 1
        if seq < highest:
            reordered += 1
        else:
            highest = seq
    return copies, reordered


def replay_model(profile: Profile, seed: int, n: int, way: int = 0) -> Impairment:
    """The impairment a relay seeded with ``seed`` uses for way 0 (A→B) or 1 (B→A)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[way])
    return Impairment(profile, rng)
