"""The watchdog with real processes: killing the controller stops stimulation within the timeout.

A culture-side process and a controlling process are linked by ione's authenticated UDP link on
127.0.0.1 (tests/culture/watchdog_peers.py). The controller sends a stimulation train as wire
events (one event every 100 ms, each a 390 ms pulse train on one of five electrodes); the culture
side feeds every authentic datagram to the guard's watchdog, checks each command and delivers it
through a SimulatedStimulator. Once the culture side reports delivered pulses (a line on its
stdout, not a sleep), the test kills the controller with SIGKILL.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ione.wire.keys import write_key_file

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SCRIPT = Path(__file__).with_name("watchdog_peers.py")


def read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """The next stdout line of ``proc``, waiting at most ``timeout_s``."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout_s):
            raise AssertionError(f"no output from {proc.args} within {timeout_s} s")
        line = proc.stdout.readline()
    finally:
        sel.close()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"{proc.args} ended early: {err}")
    return line.strip()


def test_killed_controller_stops_stimulation_within_the_timeout(tmp_path: Path) -> None:
    key = tmp_path / "link.key"
    write_key_file(key)
    out = tmp_path / "culture.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    culture = subprocess.Popen(
        [sys.executable, str(SCRIPT), "culture", "--key", str(key), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    controller = None
    try:
        listening = read_line(culture, 60)
        assert listening.startswith("listening "), listening
        controller = subprocess.Popen(
            [sys.executable, str(SCRIPT), "controller", "--key", str(key),
             "--peer", listening.split()[1]],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        delivered = read_line(culture, 60)  # the culture side has delivered remote pulses
        assert delivered.startswith("delivered "), delivered
        kill_us = time.monotonic_ns() // 1_000  # the clock both processes stamp with
        controller.kill()  # SIGKILL: no goodbye on the link
        controller.wait(10)
        _, err = culture.communicate(timeout=60)
        assert culture.returncode == 0, err
    finally:
        for p in (culture, controller):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
    r = json.loads(out.read_text())
    remote = r["remote_pulse_t_us"]
    timeout = r["timeout_us"]
    assert timeout == 200_000
    assert len([t for t in remote if t < kill_us]) >= 20  # stimulation ran before the kill
    # 0 pulses after kill time + timeout
    late = [t for t in remote if t >= kill_us + timeout]
    assert late == [], f"{len(late)} pulse(s) delivered more than 200 ms after the kill"
    # exactly: nothing at or after the last heartbeat + timeout, when the watchdog tripped
    assert r["trip_record_us"] == [r["tripped_at_us"]]  # one trip, and only after the kill
    assert r["tripped_at_us"] > kill_us
    assert max(remote) < r["last_heartbeat_us"] + timeout <= r["tripped_at_us"]
    assert r["cancelled"] > 0  # trains under way when the link died were cut short
    # outputs disabled: the stimulator was disarmed, and even a local command is refused
    assert r["armed_after_trip"] is False and r["enabled_after_trip"] is False
    assert r["local_before_rearm"] == "watchdog"
    # re-arming is needed, and refused while the controller stays silent
    assert "'controller' silent for" in r["rearm_while_silent"]
    assert r["armed_after_rearm"] is True and r["local_after_rearm"] == "ok"
    assert len(r["local_pulse_t_us"]) == 1 and r["local_pulse_t_us"][0] > r["rearmed_at_us"]
    assert r["decisions"].get("ok", 0) >= 1
