"""The recording benchmark keeps running: a quick pass prints every row (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_record.py"
WRITERS = (
    "ione LogWriter",
    "h5py, one write per block",
    "floor: h5py, one slab per commit",
    "SQLite WAL, synchronous=NORMAL",
    "SQLite WAL, synchronous=FULL",
)


def test_quick_pass_prints_every_row() -> None:
    if find_spec("h5py") is None:
        pytest.skip("`h5py` is not installed: pip install -e '.[bench]' to compare with it")
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "Machine: " in out.stdout and "h5py " in out.stdout and "SQLite " in out.stdout
    assert "Command: " in out.stdout and "Files: " in out.stdout
    for name in WRITERS:
        rows = [ln for ln in out.stdout.splitlines() if ln.startswith(f"| {name} |")]
        assert len(rows) == 2, (name, out.stdout)  # blocks of 64 and 1024 events
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert len(cells) == 9, row
            assert float(cells[2]) > 0 and cells[7].endswith("×"), row
            assert cells[8].startswith("✓"), row  # every event read back, checksum equal
    assert "Goal 1: " in out.stdout and "Goal 2: " in out.stdout
