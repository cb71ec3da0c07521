"""The benchmarks keep running: a quick pass of each prints its full table (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_wire_benchmark_quick_pass_prints_every_row() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / "bench_wire.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    for name in ("ione Link", "ione codec", "floor A", "floor B", "SpiNNaker EIEIO", "jAER"):
        rows = [ln for ln in out.stdout.splitlines() if ln.startswith(f"| {name}")]
        assert len(rows) == 4, (name, out.stdout)  # batches of 1, 16, 64 and 150


def test_synapse_benchmark_quick_pass_prints_its_tables() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / "bench_synapses.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "| triggers of a tick in one call |" in out.stdout
    assert "| one trigger per call |" in out.stdout
    assert "Largest bank in real time here:" in out.stdout
