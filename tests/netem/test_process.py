"""``python -m ione.netem`` as a real process: start line, control commands, signals, snapshot."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ione.netem import LAN, RelayClient, RelayOptions, run_relay

from .udp import Site

pytestmark = pytest.mark.integration


def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, tuple[str, int]]]:
    """Start a relay process and parse its start line (with a timeout)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ione.netem", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=30):
            proc.kill()
            raise AssertionError("the relay did not announce itself within 30 s")
    line = proc.stdout.readline()
    words = line.split()
    assert words[0] == "relay", (line, proc.stderr.read() if proc.stderr else "")
    addresses = {}
    for word in words[1:]:
        name, _, value = word.partition("=")
        host, _, port = value.rpartition(":")
        addresses[name] = (host, int(port))
    assert set(addresses) == {"a", "b", "control"}
    return proc, addresses


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    a, b = Site(), Site()
    yield a, b
    a.close()
    b.close()


def wait_snapshot(
    client: RelayClient, predicate: Callable[[dict[str, Any]], bool], tries: int = 200
) -> dict[str, Any]:
    """Ask for snapshots (each waits on the control socket) until ``predicate`` holds."""
    for _ in range(tries):
        snap = client.snapshot()
        if predicate(snap):
            return snap
    raise AssertionError(f"condition not met after {tries} snapshots: {snap}")


def test_the_process_obeys_control_commands_and_writes_its_snapshot(
    tmp_path: Path, sites: tuple[Site, Site]
) -> None:
    a, b = sites
    out = tmp_path / "relay.json"
    b_peer = f"{b.address[0]}:{b.address[1]}"
    proc, addr = start(
        "--profile", "lan", "--seed", "5", "--b-peer", b_peer, "--stats-out", str(out)
    )
    try:
        with RelayClient(addr["control"]) as client:
            client.ping()
            a.send(addr["a"], range(50))
            b.wait_count(50)
            b.send(addr["b"], range(20))
            a.wait_count(20)
            client.pause()
            a.send(addr["a"], range(50, 60))
            snap = wait_snapshot(client, lambda s: s["a_to_b"]["received"] == 60)
            assert snap["paused"] is True and snap["a_to_b"]["dropped_paused"] == 10
            client.resume()
            client.set_profile({"loss": 1.0}, direction="a_to_b")
            a.send(addr["a"], range(60, 70))
            snap = wait_snapshot(client, lambda s: s["a_to_b"]["received"] == 70)
            assert snap["a_to_b"]["dropped_loss"] == 10
            assert snap["profiles"]["a_to_b"]["loss"] == 1.0
            assert snap["profiles"]["b_to_a"]["name"] == "lan"
            client.set_profile("lan")
            a.send(addr["a"], range(70, 80))
            b.wait_count(60)
            client.stop()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    final = json.loads(out.read_text())
    ab, ba = final["a_to_b"], final["b_to_a"]
    assert (ab["received"], ab["forwarded"], ab["dropped"]) == (80, 60, 20)
    assert (ba["received"], ba["forwarded"]) == (20, 20)
    assert ab["balanced"] and ba["balanced"] and final["seed"] == 5
    assert final["a_peer"] == f"{a.address[0]}:{a.address[1]}" and final["b_peer"] == b_peer
    assert final["kernel_drops"]["a"] == 0 and final["kernel_drops"]["b"] == 0
    assert sorted(s for s, _ in b.got) == [*range(50), *range(70, 80)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_process_cleanly(
    tmp_path: Path, sites: tuple[Site, Site], sig: signal.Signals
) -> None:
    a, b = sites
    out = tmp_path / "relay.json"
    proc, addr = start(
        "--profile", "padova-southampton", "--loss", "0", "--b-peer",
        f"{b.address[0]}:{b.address[1]}", "--stats-out", str(out),
    )  # fmt: skip
    try:
        a.send(addr["a"], range(30))
        b.wait_count(30)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    final = json.loads(out.read_text())
    assert final["a_to_b"]["forwarded"] == 30
    assert final["profiles"]["a_to_b"]["delay_us"] == 15_000
    assert final["profiles"]["a_to_b"]["name"] == "padova-southampton+custom"
    assert min(d for _, d in b.got) >= 5_650  # the preset's floor


def test_a_duration_ends_the_process(tmp_path: Path) -> None:
    out = tmp_path / "relay.json"
    proc, _ = start("--duration", "0.2", "--stats-out", str(out), "--delay-ms", "3")
    assert proc.wait(timeout=30) == 0
    assert json.loads(out.read_text())["profiles"]["a_to_b"]["delay_us"] == 3_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "mars"], "unknown profile 'mars'"),
        (["--delay-ms", "1", "--min-delay-ms", "2"], "Profile.min_delay_us"),
        (["--burst", "0.1"], "--burst takes 2 or 4 numbers"),
        (["--reorder", "0.1"], "Profile.reorder_gap_us"),
        (["--trace", "/nonexistent/trace.txt"], "trace.txt"),
    ],
)
def test_bad_options_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ione.netem", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_run_relay_in_a_thread_announces_and_returns_its_snapshot(tmp_path: Path) -> None:
    lines: list[str] = []
    announced = threading.Event()
    result: dict[str, Any] = {}

    def announce(line: str) -> None:
        lines.append(line)
        announced.set()

    options = RelayOptions(profile=LAN, duration_us=30_000_000, stats_out=tmp_path / "s.json")
    thread = threading.Thread(target=lambda: result.update(run_relay(options, announce)))
    thread.start()
    assert announced.wait(30)
    control = lines[0].split()[3].removeprefix("control=")
    host, _, port = control.rpartition(":")
    with RelayClient((host, int(port))) as client:
        client.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert result["a_to_b"]["received"] == 0
    assert json.loads((tmp_path / "s.json").read_text()) == result
