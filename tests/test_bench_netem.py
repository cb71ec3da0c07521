"""The netem benchmark keeps running: a quick pass prints every row (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_netem.py"
PATHS = (
    "UDP direct (floor)",
    "ione relay, no impairment",
    "ione relay, 15 ± 2 ms (actual − scheduled)",
    "ione relay, 15 ± 2 ms, --spin-us 100 (actual − scheduled)",
    "pyzmq PUSH→PULL direct (floor)",
    "pyzmq via Python PULL→PUSH hop",
    "pyzmq via zmq.proxy hop (C)",
)


@pytest.mark.integration
def test_quick_pass_prints_every_row() -> None:
    if find_spec("zmq") is None:
        pytest.skip("`pyzmq` is not installed: pip install -e '.[bench]' to compare with it")
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "Machine: " in out.stdout and "pyzmq " in out.stdout and "Command: " in out.stdout
    for name in PATHS:
        rows = [ln for ln in out.stdout.splitlines() if ln.startswith(f"| {name} |")]
        assert len(rows) == 2, (name, out.stdout)  # paced and burst
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert len(cells) == 12, row
            sent, received = int(cells[2]), int(cells[3])
            assert sent > 0 and received == sent, row  # nothing is lost on loopback here
            float(cells[4]), float(cells[5])  # one-way percentiles are numbers
            assert cells[10].lstrip("-").isdigit(), row  # kernel drops, reported apart
            if name.startswith("ione relay"):
                assert cells[9] == "0", row  # no emulated loss in these profiles
                assert "/" in cells[8] and cells[11] != "—", row
    assert "Goal (issue 5): ≤ 100 µs p99 added per hop" in out.stdout
    assert "Forwarding (no emulated delay): " in out.stdout
    assert "releases of delayed datagrams" in out.stdout
