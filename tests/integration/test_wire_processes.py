"""Two sites as two real processes exchanging authenticated spikes over loopback UDP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ione.wire.keys import write_key_file

pytestmark = pytest.mark.integration


def peer(site: str, role: str, key: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ione",
        "wire-peer",
        "--site",
        site,
        "--role",
        role,
        "--bind",
        "127.0.0.1:0",
        "--key",
        str(key),
        "--stats-out",
        str(out),
        *extra,
    ]


def start_pair(tmp_path: Path, key_a: Path, key_b: Path, *extra: str) -> tuple[int, int, str]:
    responder = subprocess.Popen(
        peer("zurich", "responder", key_b, tmp_path / "b.json", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert responder.stdout is not None
        address = responder.stdout.readline().split()[1]
        initiator = subprocess.Popen(
            peer("padova", "initiator", key_a, tmp_path / "a.json", "--peer", address, *extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, err_a = initiator.communicate(timeout=60)
        _, err_b = responder.communicate(timeout=60)
    finally:
        for p in (responder,):
            if p.poll() is None:
                p.kill()
    return initiator.returncode, responder.returncode, err_a + err_b


def test_two_processes_exchange_spikes_with_exact_loss_accounting(tmp_path: Path) -> None:
    key = tmp_path / "k"
    write_key_file(key)
    code_a, code_b, err = start_pair(
        tmp_path,
        key,
        key,
        "--duration",
        "1.5",
        "--rate",
        "3000",
        "--drop",
        "0.02",
        "--forged",
        "50",
    )
    assert (code_a, code_b) == (0, 0), err
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    for rx, tx in ((a, b), (b, a)):
        st = rx["statistics"]
        assert st["peer_site"] == tx["site"]
        assert (
            st["frames_received"] + st["frames_lost"] + st["frames_in_flight"]
            == st["peer_frames_sent"]
        )
        assert st["events_received"] + st["events_lost"] == tx["statistics"]["events_sent"]
        if rx["kernel_drops"] == 0:
            assert st["frames_lost"] == tx["events_dropped_on_purpose_frames"] > 0
            assert st["auth_failed"] + st["malformed"] == tx["forged_sent"] == 50
        assert st["duplicates"] == 0
        assert st["rtt_samples"] > 0 and st["clock_uncertainty_us"] is not None


def test_wrong_key_never_joins_and_says_so(tmp_path: Path) -> None:
    key_a, key_b = tmp_path / "a.key", tmp_path / "b.key"
    write_key_file(key_a)
    write_key_file(key_b)
    code_a, code_b, err = start_pair(
        tmp_path, key_a, key_b, "--duration", "0.5", "--join-timeout", "1.5"
    )
    assert code_a == 1 and code_b == 1
    assert "no answer from the peer" in err
    assert "same key file" in err  # the responder saw HELLOs that failed authentication
    assert not (tmp_path / "a.json").exists()


def test_demo_command_passes_its_checks() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ione", "demo", "--duration", "1.5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all checks hold" in out.stdout and "✗" not in out.stdout
