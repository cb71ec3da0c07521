"""Netem benchmark: the latency an emulated link's relay adds per hop, against a ZeroMQ hop.

Small messages (64 bytes: sequence number, send time, padding) go from a sender to a receiver in
this process, paced at 1000 per second and in an unpaced burst, along these paths:

- **UDP direct**: sender socket → receiver socket (the floor of the UDP rows).
- **ione relay, no impairment**: sender → ``python -m ione.netem --profile none`` (its own
  process) → receiver. What the relay's forwarding step costs: receive, decide, schedule, send.
- **ione relay, 15 ± 2 ms**: the Padova–Southampton preset (SYSTEM.md §4) with independent jitter
  and no loss, so that every datagram's scheduled delay can be replayed here from the seed; its
  one-way figures are *actual minus scheduled* delay: how late the emulated delay is served.
  Twice: sleeping until each release is due (the default) and polling for the last 100 µs
  (``--spin-us 100``).
- **pyzmq PUSH → PULL direct**: the floor of the ZeroMQ rows (TCP on loopback).
- **pyzmq via a Python hop**: PUSH → [PULL, ``recv``/``send`` loop in Python, PUSH] → PULL, the hop
  in its own process: ZeroMQ's equivalent of the relay (a hop whose per-message step is Python).
  ZeroMQ is TCP, so it cannot pass through the UDP relay itself; this is the fair stand-in.
- **pyzmq via zmq.proxy**: the same hop forwarded by libzmq's C ``zmq.proxy`` (no Python per
  message): the floor of a ZeroMQ hop.

"Added per hop" is a path's percentile minus the same percentile of its transport's direct path.
Kernel drops (host-wide ``RcvbufErrors`` delta from /proc/net/snmp) are reported apart from
drops the emulator decided. Medians over repetitions; the processes are not pinned (the relay
needs a core of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from _common import cpu_model
from ione.netem import PADOVA_SOUTHAMPTON, Impairment, RelayClient
from ione.netem._proc import udp_rcvbuf_errors

MESSAGE = struct.Struct("<qq48x")  # sequence, send time (ns, monotonic), padding: 64 bytes
GOAL_P99_US = 100.0
DELAYED = PADOVA_SOUTHAMPTON.replace(jitter_tau_us=0, loss=0.0, name="padova-southampton-iid")
SEED = 12345


def now_ns() -> int:
    return time.monotonic_ns()


# ---------------------------------------------------------------------- receivers
class Sink:
    """Collects (sequence, receive time ns) from a receiving thread."""

    def __init__(self) -> None:
        self.got: list[tuple[int, int]] = []
        self.lock = threading.Condition()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        raise NotImplementedError

    def record(self, data: bytes) -> None:
        t = now_ns()
        seq, _ = MESSAGE.unpack(data)
        with self.lock:
            self.got.append((seq, t))
            self.lock.notify_all()

    def take(self, n: int, timeout_s: float) -> list[tuple[int, int]]:
        """Wait for ``n`` messages (or the timeout) and hand over what arrived."""
        with self.lock:
            self.lock.wait_for(lambda: len(self.got) >= n, timeout_s)
            got, self.got = self.got, []
        return got

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


class UdpSink(Sink):
    def __init__(self) -> None:
        super().__init__()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address: tuple[str, int] = self.sock.getsockname()
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(2048)
            except TimeoutError:
                continue
            self.record(data)

    def close(self) -> None:
        super().close()
        self.sock.close()


class ZmqSink(Sink):
    def __init__(self, ctx: zmq.Context[Any]) -> None:
        super().__init__()
        self.pull = ctx.socket(zmq.PULL)
        self.pull.setsockopt(zmq.LINGER, 0)
        port = self.pull.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            if self.pull.poll(100):
                self.record(self.pull.recv())

    def close(self) -> None:
        super().close()
        self.pull.close()


# ---------------------------------------------------------------------- hops in other processes
def start_process(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise RuntimeError(f"{args[:4]} did not start")
    return proc, line


def zmq_hop(mode: str, out_endpoint: str) -> int:
    """Run a PULL → PUSH hop until killed; prints its PULL endpoint first."""
    ctx = zmq.Context()
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push.connect(out_endpoint)
    print(f"tcp://127.0.0.1:{port}", flush=True)
    if mode == "proxy":
        zmq.proxy(pull, push)
    else:
        recv, send = pull.recv, push.send
        while True:
            send(recv())
    return 0


# ---------------------------------------------------------------------- measurement
@dataclass
class Result:
    path: str
    load: str
    sent: int = 0
    received: int = 0
    p50_us: list[float] = field(default_factory=list)
    p99_us: list[float] = field(default_factory=list)
    emulated_drops: int = 0
    kernel_drops: int = 0
    relay_cpu_us_per_dgram: list[float] = field(default_factory=list)
    late_p50_us: list[float] = field(default_factory=list)
    late_p99_us: list[float] = field(default_factory=list)
    note: str = ""


def histogram_delta(before: dict[str, int], after: dict[str, int]) -> np.ndarray:
    """The release lateness values (µs) a relay recorded between two snapshots."""
    values = {int(k): n - before.get(k, 0) for k, n in after.items()}
    return np.repeat(np.array(list(values), np.int64), np.array(list(values.values()), np.int64))


def send_paced(send: Callable[[bytes], object], n: int, rate_hz: float | None) -> None:
    """Send n messages, each stamped just before it leaves; paced by sleeping (or a burst)."""
    pack = MESSAGE.pack
    t0 = time.perf_counter()
    for i in range(n):
        if rate_hz is not None:
            wait = t0 + i / rate_hz - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        send(pack(i, now_ns()))


class Bench:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.duration_s = 0.3 if quick else 3.0
        self.rate_hz = 1000.0
        self.burst = 200 if quick else 1000
        self.reps = 1 if quick else 3
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.procs: list[subprocess.Popen[str]] = []
        self.sinks: list[Sink] = []
        self.clients: list[RelayClient] = []

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for s in self.sinks:
            s.close()
        for c in self.clients:
            c.close()
        self.ctx.destroy(linger=0)

    def relay(self, sink: UdpSink, *profile_args: str) -> tuple[tuple[str, int], RelayClient]:
        b_peer = f"{sink.address[0]}:{sink.address[1]}"
        proc, line = start_process(
            [sys.executable, "-m", "ione.netem", *profile_args, "--b-peer", b_peer,
             "--seed", str(SEED), "--queue-limit", "100000"]
        )  # fmt: skip
        self.procs.append(proc)
        fields = dict(w.split("=", 1) for w in line.split()[1:])
        a_host, a_port = fields["a"].rsplit(":", 1)
        c_host, c_port = fields["control"].rsplit(":", 1)
        return (a_host, int(a_port)), RelayClient((c_host, int(c_port)))

    def measure(
        self,
        result: Result,
        send: Callable[[bytes], object],
        sink: Sink,
        n: int,
        rate: float | None,
        relay: RelayClient | None = None,
        scheduled_us: Callable[[int], np.ndarray] | None = None,
    ) -> None:
        """One case: n messages, one-way times (minus any scheduled delay), drops."""
        before = relay.snapshot() if relay is not None else None
        k0 = udp_rcvbuf_errors() or 0
        sent_ns: list[int] = []

        def stamped(data: bytes) -> None:
            sent_ns.append(struct.unpack_from("<q", data, 8)[0])
            send(data)

        send_paced(stamped, n, rate)
        got = sink.take(n, timeout_s=5.0)
        result.kernel_drops += (udp_rcvbuf_errors() or 0) - k0
        result.sent += n
        result.received += len(got)
        sched = scheduled_us(n) if scheduled_us is not None else np.zeros(n, np.int64)
        seq = np.array([s for s, _ in got], np.int64)
        t_recv = np.array([t for _, t in got], np.int64)
        one_way = (t_recv - np.asarray(sent_ns, np.int64)[seq]) / 1e3 - sched[seq]
        if one_way.size:
            result.p50_us.append(float(np.percentile(one_way, 50)))
            result.p99_us.append(float(np.percentile(one_way, 99)))
        if relay is not None and before is not None:
            after = relay.snapshot()
            ab0, ab1 = before["a_to_b"], after["a_to_b"]
            result.emulated_drops += ab1["dropped"] - ab0["dropped"]
            forwarded = ab1["forwarded"] - ab0["forwarded"]
            if forwarded:
                cpu = after["process_cpu_us"] - before["process_cpu_us"]
                result.relay_cpu_us_per_dgram.append(cpu / forwarded)
            late = histogram_delta(ab0["late_histogram_us"], ab1["late_histogram_us"])
            if late.size:
                result.late_p50_us.append(float(np.percentile(late, 50)))
                result.late_p99_us.append(float(np.percentile(late, 99)))
            if ab1["received"] - ab0["received"] != n:
                result.note = "relay missed datagrams: scheduled delays misaligned"

    def run(self) -> list[Result]:
        n_paced = int(self.duration_s * self.rate_hz)
        # UDP receivers and paths
        udp_direct_sink = UdpSink()
        udp_relay_sink = UdpSink()
        udp_delay_sink = UdpSink()
        udp_spin_sink = UdpSink()
        self.sinks += [udp_direct_sink, udp_relay_sink, udp_delay_sink, udp_spin_sink]
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.bind(("127.0.0.1", 0))
        relay_addr, relay_ctl = self.relay(udp_relay_sink, "--profile", "none")
        delayed = ("--profile", "padova-southampton", "--jitter-tau-ms", "0", "--loss", "0")
        delay_addr, delay_ctl = self.relay(udp_delay_sink, *delayed)
        spin_addr, spin_ctl = self.relay(udp_spin_sink, *delayed, "--spin-us", "100")
        self.clients += [relay_ctl, delay_ctl, spin_ctl]

        def replay() -> Callable[[int], np.ndarray]:
            """The scheduled delays of the next n datagrams of a relay seeded with SEED."""
            rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(2)[0])
            model = Impairment(DELAYED, rng)
            return lambda n: model.decide(np.zeros(n, np.int64)).delay_us

        # ZeroMQ receivers and paths
        zmq_direct_sink = ZmqSink(self.ctx)
        zmq_hop_sink = ZmqSink(self.ctx)
        zmq_proxy_sink = ZmqSink(self.ctx)
        self.sinks += [zmq_direct_sink, zmq_hop_sink, zmq_proxy_sink]
        me = str(Path(__file__).resolve())
        hop, hop_in = start_process([sys.executable, me, "--zmq-hop", "python",
                                     zmq_hop_sink.endpoint])  # fmt: skip
        prox, prox_in = start_process([sys.executable, me, "--zmq-hop", "proxy",
                                       zmq_proxy_sink.endpoint])  # fmt: skip
        self.procs += [hop, prox]
        pushes = []
        for endpoint in (zmq_direct_sink.endpoint, hop_in, prox_in):
            push = self.ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, 0)
            push.connect(endpoint)
            pushes.append(push)

        paths: list[tuple[str, Callable[[bytes], object], Sink, RelayClient | None, Any]] = [
            ("UDP direct (floor)", lambda d: tx.sendto(d, udp_direct_sink.address),
             udp_direct_sink, None, None),
            ("ione relay, no impairment", lambda d: tx.sendto(d, relay_addr),
             udp_relay_sink, relay_ctl, None),
            ("ione relay, 15 ± 2 ms (actual − scheduled)",
             lambda d: tx.sendto(d, delay_addr),
             udp_delay_sink, delay_ctl, replay()),
            ("ione relay, 15 ± 2 ms, --spin-us 100 (actual − scheduled)",
             lambda d: tx.sendto(d, spin_addr), udp_spin_sink, spin_ctl, replay()),
            ("pyzmq PUSH→PULL direct (floor)", pushes[0].send, zmq_direct_sink, None, None),
            ("pyzmq via Python PULL→PUSH hop", pushes[1].send, zmq_hop_sink, None, None),
            ("pyzmq via zmq.proxy hop (C)", pushes[2].send, zmq_proxy_sink, None, None),
        ]  # fmt: skip
        # warm up every path (connections, caches), not measured
        for _, send, sink, relay, sched in paths:
            self.measure(Result("", ""), send, sink, 50, 2000.0, relay, sched)
        results: dict[tuple[str, str], Result] = {}
        for _ in range(self.reps):
            for load, n, rate in (
                (f"{self.rate_hz:.0f}/s", n_paced, self.rate_hz),
                (f"burst of {self.burst}", self.burst, None),
            ):
                for name, send, sink, relay, sched in paths:
                    res = results.setdefault((name, load), Result(name, load))
                    self.measure(res, send, sink, n, rate, relay, sched)
        tx.close()
        for p in pushes:
            p.close()
        return list(results.values())


def machine() -> str:
    model = cpu_model()
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy "
        f"{np.__version__}, pyzmq {zmq.__version__} (libzmq {zmq.zmq_version()})"
    )


def med(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def print_table(results: list[Result], quick: bool, reps: int) -> None:
    floors = {(r.load, "UDP"): r for r in results if r.path.startswith("UDP direct")} | {
        (r.load, "zmq"): r for r in results if r.path.startswith("pyzmq PUSH→PULL direct")
    }
    print(
        "| path | load | sent | received | one-way p50 µs | one-way p99 µs | added p50 µs "
        "| added p99 µs | relay release lateness p50 / p99 µs | emulated drops | kernel drops "
        "| relay CPU µs/datagram |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        floor = floors[(r.load, "zmq" if r.path.startswith("pyzmq") else "UDP")]
        is_floor = r is floor
        added50 = "—" if is_floor else f"{med(r.p50_us) - med(floor.p50_us):.1f}"
        added99 = "—" if is_floor else f"{med(r.p99_us) - med(floor.p99_us):.1f}"
        cpu = f"{med(r.relay_cpu_us_per_dgram):.1f}" if r.relay_cpu_us_per_dgram else "—"
        drops = str(r.emulated_drops) if r.path.startswith("ione relay") else "—"
        late = f"{med(r.late_p50_us):.0f} / {med(r.late_p99_us):.0f}" if r.late_p50_us else "—"
        note = f" ({r.note})" if r.note else ""
        print(
            f"| {r.path}{note} | {r.load} | {r.sent} | {r.received} | {med(r.p50_us):.1f} | "
            f"{med(r.p99_us):.1f} | {added50} | {added99} | {late} | {drops} | {r.kernel_drops} "
            f"| {cpu} |"
        )
    hop = next(
        (r for r in results if r.path == "ione relay, no impairment" and "/s" in r.load), None
    )
    delayed = next(
        (r for r in results if r.path.startswith("ione relay, 15 ± 2 ms (") and "/s" in r.load),
        None,
    )
    print()

    def verdict(r: Result, floor: Result) -> str:
        added = med(r.p99_us) - med(floor.p99_us)
        return f"{'met' if added <= GOAL_P99_US else 'NOT met'} ({added:.1f} µs)"

    if hop is not None:
        floor = floors[(hop.load, "UDP")]
        line = (
            f"Goal (issue 5): ≤ {GOAL_P99_US:.0f} µs p99 added per hop at {hop.load}. "
            f"Forwarding (no emulated delay): {verdict(hop, floor)}"
        )
        if delayed is not None:
            line += (
                f"; releases of delayed datagrams (actual − scheduled, 15 ± 2 ms): "
                f"{verdict(delayed, floor)}, of which the relay's own release lateness p99 is "
                f"{med(delayed.late_p99_us):.0f} µs"
            )
        print(line + "." + (" Quick pass: figures are indicative only." if quick else ""))
    print(
        f"Medians over {reps} repetition(s); 'added' is the path's percentile minus the same "
        "percentile of the direct path of its transport. Kernel drops: host-wide RcvbufErrors "
        "delta (/proc/net/snmp) during each case, apart from the drops the emulator decided."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short cases (smoke test)")
    parser.add_argument("--zmq-hop", nargs=2, metavar=("MODE", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if args.zmq_hop:
        return zmq_hop(*args.zmq_hop)
    bench = Bench(args.quick)
    print("## Netem: latency added per relay hop, ione UDP relay vs a ZeroMQ hop\n")
    print(f"Machine: {machine()}\n")
    print(
        f"Command: {' '.join([os.path.basename(sys.executable), *sys.argv])}; "
        f"{bench.duration_s:g} s at {bench.rate_hz:.0f} messages/s and a burst of {bench.burst} "
        f"per case, 64-byte messages, relays and hops in processes of their own (not pinned)\n"
    )
    try:
        results = bench.run()
    finally:
        bench.close()
    print_table(results, args.quick, bench.reps)
    if args.json is not None:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
